//! netrig's parallel runner against the fake device fleet (real SSH servers on loopback, never
//! mocks): hundreds of devices with hangs, drops, refused logins and slow links, with and without
//! a pool; cancel and abort while devices hang; the Free and Linear strategies; the failure
//! policies; the worker bound; the event stream, the progress callback and the JSON report.
//!
//! Deadlines are checked from both sides (not before the deadline, at most 10% + jitter after).
//! The tests of this binary take a lock so that they run one at a time: their timings must not
//! depend on each other's load. Run with `--nocapture` to see the timings.
#![cfg(feature = "ssh")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use fakedev::{DeviceInfo, Faults, Fleet, Group, Inventory, Profile};
use netrig::device::{ConfigOptions, DeviceOptions};
use netrig::netrig_status::{self, *};
use netrig::pool::{Pool, PoolKey, PoolOptions};
use netrig::run::{Event, EventKind, OnFailure, Progress, Report, Run, RunOptions, State, Step, Strategy, Target};
use netrig::Error;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Scheduling jitter allowed on top of a deadline's 10%: up to 32 workers and the fake devices
/// share two cores (with other builds, on a CI box), so a worker may get the CPU this late.
const JITTER: Duration = Duration::from_millis(250);

/// How long a run may take to end after a cancel or an abort: a read slice (25 ms) to stop each
/// in-flight step, then closing sessions and building the report, on a loaded 2-core machine
/// (the steps cancelled would otherwise run for 20 s).
const PROMPT_END: Duration = Duration::from_millis(1500);

const CLOCK: &str = "*10:42:13.123 UTC Sat Nov 21 2026\n";

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time (a failed test poisons the lock; the next ones still run).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn upper_bound(deadline: Duration) -> Duration {
    deadline + deadline / 10 + JITTER
}

fn fleet(groups: Vec<Group>) -> Fleet {
    let inventory = groups.into_iter().fold(Inventory::default(), Inventory::group);
    Fleet::start_inventory(&inventory).unwrap()
}

fn good(name: &str, count: usize) -> Group {
    Group::new("cisco_ios", count).name(name)
}

fn faulty(name: &str, count: usize, faults: Faults) -> Group {
    Group::new("cisco_ios", count).name(name).faults(faults)
}

fn hang_on(command: &str) -> Faults {
    Faults { hang_on: vec![command.into()], ..Faults::default() }
}

fn drop_on(command: &str) -> Faults {
    Faults { drop_on: vec![command.into()], ..Faults::default() }
}

fn refuse() -> Faults {
    Faults { auth_always_fails: true, ..Faults::default() }
}

fn slow(latency_ms: u64) -> Faults {
    Faults { latency_ms, ..Faults::default() }
}

fn opts(d: &DeviceInfo) -> DeviceOptions {
    let mut o = support::options(d, "cisco_ios");
    o.connect_timeout = Duration::from_secs(5);
    o.auth_timeout = Duration::from_secs(5);
    o
}

fn targets<'a>(devices: impl IntoIterator<Item = &'a DeviceInfo>) -> Vec<Target> {
    devices.into_iter().map(|d| Target::from(opts(d))).collect()
}

fn run_opts(max_workers: usize, strategy: Strategy, on_failure: OnFailure) -> RunOptions {
    RunOptions { max_workers, strategy, on_failure, events: false }
}

/// The devices' group: the name before "-0001".
fn group(d: &DeviceInfo) -> &str {
    d.name.rsplit_once('-').unwrap().0
}

/// What a command prints on cisco_ios, as netrig returns it.
fn expected(command: &str) -> String {
    let p = Profile::builtin("cisco_ios").unwrap();
    p.commands[command].replace("{host}", &p.hostname).replace("\r\n", "\n")
}

/// Records every progress callback: the event, the name of the thread it ran on, and when.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<(Event, String, Instant)>>>,
}

impl Recorder {
    fn progress(&self) -> Progress {
        let events = self.events.clone();
        Arc::new(move |e: &Event| {
            let name = thread::current().name().unwrap_or("?").to_owned();
            events.lock().unwrap().push((e.clone(), name, Instant::now()));
        })
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().iter().map(|(e, _, _)| e.clone()).collect()
    }
}

/// Position of the first event that matches.
fn position(events: &[Event], f: impl Fn(&Event) -> bool) -> usize {
    events.iter().position(f).expect("an event that matches")
}

fn is(kind: EventKind, host: usize, step: Option<usize>) -> impl Fn(&Event) -> bool {
    move |e| e.kind == kind && e.host == Some(host) && e.step == step
}

/// Polls `cond` every 5 ms for up to `limit`.
#[track_caller]
fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[track_caller]
fn assert_step(r: &netrig::run::StepResult, state: State, status: netrig_status, what: &str) {
    assert_eq!((r.state, r.status), (state, status), "{what}: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// Hundreds of devices with every kind of fault
// ---------------------------------------------------------------------------------------------

const STEP1: Duration = Duration::from_millis(1000);
const HANG: Duration = Duration::from_millis(800);
const LATENCY: Duration = Duration::from_millis(100);

/// Checks one host of the mixed fleet's run against what its faults must cause.
#[track_caller]
fn check_mixed_host(d: &DeviceInfo, h: &netrig::run::HostResult) {
    let what = format!("{} ({})", d.name, h.name);
    assert_eq!(h.name, d.addr());
    let step_timeouts = [STEP1, HANG];
    match group(d) {
        "ok" | "slow" => {
            assert_eq!((h.state, h.connect.state), (State::Ok, State::Ok), "{what}: {h:?}");
            assert_eq!(h.steps[0].output, expected("show version"), "{what}");
            assert_eq!(h.steps[1].output, CLOCK, "{what}");
            if group(d) == "slow" {
                for s in &h.steps {
                    assert!(s.duration >= LATENCY, "{what}: a step on a slow device took {:?}", s.duration);
                }
            }
        }
        "hang" => {
            assert_eq!(h.state, State::TimedOut, "{what}: {h:?}");
            assert_step(&h.steps[0], State::Ok, NETRIG_OK, &what);
            assert_step(&h.steps[1], State::TimedOut, NETRIG_E_TIMEOUT, &what);
            let s = &h.steps[1];
            assert!(
                s.error.contains(&h.name) && s.error.contains("step 2") && s.error.contains("show clock"),
                "{what}: {}",
                s.error
            );
            assert!(s.duration >= HANG, "{what}: the hung step gave up after {:?}, before {HANG:?}", s.duration);
        }
        "drop" => {
            assert_eq!(h.state, State::Failed, "{what}: {h:?}");
            assert_step(&h.steps[0], State::Ok, NETRIG_OK, &what);
            assert_step(&h.steps[1], State::Failed, NETRIG_E_CLOSED, &what);
            assert!(
                h.steps[1].duration < Duration::from_millis(500),
                "{what}: a drop is seen at once: {:?}",
                h.steps[1]
            );
        }
        "auth" => {
            assert_eq!(h.state, State::Failed, "{what}: {h:?}");
            assert_step(&h.connect, State::Failed, NETRIG_E_AUTH, &what);
            assert!(
                h.connect.error.contains(&h.name) && h.connect.error.contains("connect"),
                "{what}: {}",
                h.connect.error
            );
            for s in &h.steps {
                assert_eq!(s.state, State::Skipped, "{what}");
                assert_eq!(s.error, "not run: the connect failed", "{what}");
            }
        }
        other => unreachable!("group {other}"),
    }
    // Every step within its own deadline, and the host within its connect plus its steps'
    // deadlines.
    let mut budget = h.connect.duration;
    for (s, t) in h.steps.iter().zip(step_timeouts) {
        assert!(s.duration <= upper_bound(t), "{what}: a step took {:?}; its deadline is {t:?}", s.duration);
        if s.state != State::Skipped {
            budget += t;
        }
    }
    assert!(h.duration <= upper_bound(budget), "{what}: took {:?}; connect + step deadlines {budget:?}", h.duration);
    let spent = h.connect.duration + h.steps.iter().map(|s| s.duration).sum::<Duration>();
    assert!(h.duration >= spent, "{what}: host {:?} < connect + steps {spent:?}", h.duration);
}

#[test]
fn a_mixed_fleet_of_220_devices_ends_in_the_right_states_with_and_without_a_pool() {
    let _serial = serial();
    let f = fleet(vec![
        good("ok", 120),
        faulty("hang", 30, hang_on("show clock")),
        faulty("drop", 25, drop_on("show clock")),
        faulty("auth", 25, refuse()),
        faulty("slow", 20, slow(LATENCY.as_millis() as u64)),
    ]);
    let n = f.devices().len();
    assert_eq!(n, 220);
    let count = |g: &str| f.devices().iter().filter(|d| group(d) == g).count();
    // Spread the faults over the run: 7 and 220 are coprime.
    let order: Vec<&DeviceInfo> = (0..n).map(|i| &f.devices()[i * 7 % n]).collect();
    let steps = vec![Step::command("show version").timeout(STEP1), Step::command("show clock").timeout(HANG)];
    const WORKERS: usize = 32;

    // The bound on the run's wall time, from the deadlines: every host gets CONNECT for its
    // connect and its fast steps (debug build, two cores shared with the fake devices), a hung
    // one its step deadline on top, a slow one its latency on each of ~10 responses. Greedy
    // workers finish within (total work / workers) + (the longest host).
    const CONNECT: Duration = Duration::from_millis(300);
    let work = CONNECT * n as u32 + upper_bound(HANG) * count("hang") as u32 + LATENCY * 10 * count("slow") as u32;
    let longest = CONNECT + upper_bound(HANG).max(LATENCY * 10);
    let bound = work / WORKERS as u32 + longest;

    for with_pool in [false, true] {
        let pool = with_pool.then(|| Arc::new(Pool::new(PoolOptions::default()).unwrap()));
        let report = Run::run(
            targets(order.iter().copied()),
            steps.clone(),
            run_opts(WORKERS, Strategy::Free, OnFailure::SkipHost),
            pool.clone(),
            None,
        )
        .unwrap();
        let label = if with_pool { "with a pool" } else { "without a pool" };
        eprintln!(
            "timing: 220 devices {label}, {WORKERS} workers: wall {} ms (bound {} ms); connects up to {} ms",
            report.wall.as_millis(),
            bound.as_millis(),
            report.hosts.iter().map(|h| h.connect.duration).max().unwrap().as_millis()
        );
        let hung =
            order.iter().zip(&report.hosts).filter(|(d, _)| group(d) == "hang").map(|(_, h)| h.steps[1].duration);
        let (first, last) = (hung.clone().min().unwrap(), hung.max().unwrap());
        eprintln!(
            "timing: hung steps ended after {} to {} ms (deadline {} ms)",
            first.as_millis(),
            last.as_millis(),
            HANG.as_millis()
        );
        assert_eq!(report.hosts.len(), n);
        for (d, h) in order.iter().zip(&report.hosts) {
            check_mixed_host(d, h);
        }
        let (ok, hang, drop, auth, slow) = (count("ok"), count("hang"), count("drop"), count("auth"), count("slow"));
        let t = report.totals;
        assert_eq!((t.succeeded, t.timed_out, t.failed, t.cancelled, t.skipped), (ok + slow, hang, drop + auth, 0, 0));
        let s = report.step_totals;
        assert_eq!(
            (s.succeeded, s.timed_out, s.failed, s.cancelled, s.skipped),
            (2 * (ok + slow) + hang + drop, hang, drop, 0, 2 * auth)
        );
        let failed: BTreeSet<&str> = report.failed_hosts().into_iter().collect();
        let want: BTreeSet<String> =
            f.devices().iter().filter(|d| ["hang", "drop", "auth"].contains(&group(d))).map(DeviceInfo::addr).collect();
        assert_eq!(failed, want.iter().map(String::as_str).collect());
        assert!(!report.cancelled && report.aborted.is_none());
        assert!(report.wall <= bound, "{label}: the run took {:?}, more than {bound:?}", report.wall);

        // Sessions: closed at each host's end without a pool; kept (the healthy ones) with one.
        for d in f.devices() {
            let keep = with_pool && matches!(group(d), "ok" | "slow");
            wait_until(Duration::from_secs(5), &format!("{label}: {} open connections", d.name), || {
                d.stats().active_connections == keep as u64
            });
            assert_eq!(d.stats().connections, 1 + with_pool as u64, "{label}: {}: one connection per run", d.name);
        }
        if let Some(pool) = pool {
            let p = pool.stats();
            eprintln!("pool: {p:?}");
            assert_eq!(
                (p.created, p.connect_failures, p.discarded_broken, p.idle, p.in_use),
                ((n - auth) as u64, auth as u64, (hang + drop) as u64, (ok + slow) as u64, 0),
                "{p:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cancel and abort
// ---------------------------------------------------------------------------------------------

#[test]
fn cancel_while_hosts_hang_ends_the_run_promptly_and_skips_the_rest() {
    let _serial = serial();
    let f = fleet(vec![faulty("hang", 40, hang_on("show clock"))]);
    const WORKERS: usize = 8;
    let started = Arc::new(AtomicUsize::new(0));
    let progress: Progress = {
        let started = started.clone();
        Arc::new(move |e: &Event| {
            if e.kind == EventKind::StepStarted {
                started.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let steps = vec![Step::command("show clock").timeout(Duration::from_secs(20)), Step::command("show version")];
    let run = Run::start(
        targets(f.devices()),
        steps,
        run_opts(WORKERS, Strategy::Free, OnFailure::SkipHost),
        None,
        Some(progress),
    )
    .unwrap();
    wait_until(Duration::from_secs(20), "every worker in a hung step", || started.load(Ordering::SeqCst) == WORKERS);
    // Let the commands reach the devices.
    wait_until(Duration::from_secs(5), "the hung commands received", || {
        f.devices()[..WORKERS].iter().all(|d| d.stats().commands >= 4)
    });
    let (none, waited) = {
        let t = Instant::now();
        (run.wait(Some(Duration::from_millis(100))), t.elapsed())
    };
    assert!(none.is_none() && !run.is_finished(), "the hosts hang for 20 s");
    assert!(
        waited >= Duration::from_millis(100) && waited < Duration::from_millis(100 + 1000),
        "wait(100 ms) took {waited:?}"
    );
    let cancelled_at = Instant::now();
    run.cancel();
    let report = run.wait(Some(Duration::from_secs(10))).expect("the run ends after a cancel");
    let took = cancelled_at.elapsed();
    eprintln!("timing: from cancel to the report, 8 hung hosts: {} ms", took.as_millis());
    assert!(took <= PROMPT_END, "the run took {took:?} to end after the cancel");

    assert!(report.cancelled && report.aborted.is_none());
    for (i, h) in report.hosts.iter().enumerate() {
        let what = format!("host {i} {}", h.name);
        if i < WORKERS {
            // In flight: the hung step is cancelled, the next one never runs.
            assert_eq!(h.state, State::Cancelled, "{what}: {h:?}");
            assert_step(&h.connect, State::Ok, NETRIG_OK, &what);
            assert_step(&h.steps[0], State::Cancelled, NETRIG_E_CANCELLED, &what);
            assert!(h.steps[0].duration < Duration::from_secs(20), "{what}");
            assert_eq!(h.steps[1].state, State::Skipped, "{what}");
            assert_eq!(h.steps[1].error, "not run: the run was cancelled", "{what}");
        } else {
            assert_eq!(h.state, State::Skipped, "{what}: {h:?}");
            assert_eq!(h.connect.state, State::Skipped, "{what}");
            assert_eq!(h.connect.error, "not started: the run was cancelled", "{what}");
            assert!(h.steps.iter().all(|s| s.state == State::Skipped), "{what}");
        }
    }
    let t = report.totals;
    assert_eq!((t.cancelled, t.skipped, t.succeeded, t.failed, t.timed_out), (WORKERS, 40 - WORKERS, 0, 0, 0));
    let s = report.step_totals;
    assert_eq!((s.cancelled, s.skipped), (WORKERS, 80 - WORKERS));
    assert!(report.failed_hosts().is_empty(), "cancelled hosts did not fail");
    for d in f.devices() {
        wait_until(Duration::from_secs(5), "sessions closed", || d.stats().active_connections == 0);
        assert!(d.stats().connections <= 1);
    }
}

/// A worker waiting in the pool for a session (the host at its limit) is stopped by the cancel
/// too, instead of waiting out the pool's 30 s checkout timeout.
#[test]
fn cancel_stops_workers_waiting_in_the_pool() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 1)]);
    let d = &f.devices()[0];
    let pool = Arc::new(Pool::new(PoolOptions { max_per_host: 1, ..PoolOptions::default() }).unwrap());
    let held = pool.checkout(&opts(d), None).unwrap();
    let recorder = Recorder::default();
    let run = Run::start(
        targets([d, d, d]),
        vec![Step::command("show clock")],
        run_opts(3, Strategy::Free, OnFailure::SkipHost),
        Some(pool.clone()),
        Some(recorder.progress()),
    )
    .unwrap();
    wait_until(Duration::from_secs(5), "three checkouts waiting", || pool.stats().waits == 3);
    assert!(run.wait(Some(Duration::from_millis(100))).is_none(), "the only session is held");
    let cancelled_at = Instant::now();
    run.cancel();
    let report = run.wait(Some(Duration::from_secs(10))).expect("the run ends after a cancel");
    let took = cancelled_at.elapsed();
    eprintln!("timing: from cancel to the report, 3 workers waiting in the pool: {} ms", took.as_millis());
    assert!(took <= PROMPT_END, "the run took {took:?} to end after the cancel");
    for h in &report.hosts {
        assert_eq!(h.state, State::Cancelled, "{h:?}");
        assert_step(&h.connect, State::Cancelled, NETRIG_E_CANCELLED, &h.name);
        assert!(h.connect.error.contains("pool: checkout of") && h.connect.error.contains("cancelled"), "{h:?}");
        assert_eq!(h.steps[0].error, "not run: the run was cancelled");
    }
    // The held session was never disturbed, and nothing new was opened.
    assert_eq!(held.send_command("show clock", None).unwrap().text, expected("show clock"));
    assert_eq!((pool.stats().created, d.stats().connections), (1, 1));
}

/// Linear with a pool: hosts whose step ended wait at the barrier holding their sessions; a
/// cancel must settle them too, and give their (healthy) sessions back to the pool.
#[test]
fn cancel_in_a_linear_run_settles_hosts_waiting_between_steps() {
    let _serial = serial();
    let f = fleet(vec![faulty("hang", 6, hang_on("show clock")), good("ok", 10)]);
    let recorder = Recorder::default();
    let pool = Arc::new(Pool::new(PoolOptions::default()).unwrap());
    let steps = vec![
        Step::command("show version"),
        Step::command("show clock").timeout(Duration::from_secs(20)),
        Step::command("show ip interface brief"),
    ];
    let run = Run::start(
        targets(f.devices()),
        steps,
        run_opts(16, Strategy::Linear, OnFailure::SkipHost),
        Some(pool.clone()),
        Some(recorder.progress()),
    )
    .unwrap();
    let count = |kind: EventKind, step: usize| {
        recorder.events().iter().filter(|e| e.kind == kind && e.step == Some(step)).count()
    };
    wait_until(Duration::from_secs(20), "step 2 started everywhere and done on the healthy hosts", || {
        count(EventKind::StepStarted, 1) == 16 && count(EventKind::StepFinished, 1) == 10
    });
    thread::sleep(Duration::from_millis(100));
    let cancelled_at = Instant::now();
    run.cancel();
    let report = run.wait(Some(Duration::from_secs(10))).expect("the run ends after a cancel");
    let took = cancelled_at.elapsed();
    eprintln!("timing: from cancel to the report, linear run: {} ms", took.as_millis());
    assert!(took <= PROMPT_END, "the run took {took:?} to end after the cancel");

    assert!(report.cancelled);
    for (d, h) in f.devices().iter().zip(&report.hosts) {
        let what = &d.name;
        assert_eq!(h.state, State::Cancelled, "{what}: {h:?}");
        assert_step(&h.steps[0], State::Ok, NETRIG_OK, what);
        if group(d) == "hang" {
            assert_step(&h.steps[1], State::Cancelled, NETRIG_E_CANCELLED, what);
        } else {
            assert_step(&h.steps[1], State::Ok, NETRIG_OK, what);
        }
        assert_eq!(h.steps[2].state, State::Skipped, "{what}");
        assert_eq!(h.steps[2].error, "not run: the run was cancelled", "{what}");
    }
    assert_eq!(count(EventKind::StepStarted, 2), 0, "no host started step 3");
    assert_eq!(recorder.events().iter().filter(|e| e.kind == EventKind::HostFinished).count(), 16);
    let p = pool.stats();
    assert_eq!((p.in_use, p.idle, p.discarded_broken, p.created), (0, 10, 6, 16), "{p:?}");
    for d in f.devices() {
        let open = (group(d) == "ok") as u64;
        wait_until(Duration::from_secs(5), "pooled sessions kept, cancelled ones closed", || {
            d.stats().active_connections == open
        });
    }
}

/// A host that cannot be reached is a failure too: under Abort it stops the run; under the
/// other policies only that host is affected.
#[test]
fn a_failed_connect_aborts_an_abort_run_and_only_its_host_otherwise() {
    let _serial = serial();
    let f = fleet(vec![faulty("refused", 1, refuse()), good("ok", 5)]);
    let refused = &f.devices()[0];
    let steps = vec![Step::command("show clock")];
    let report =
        Run::run(targets(f.devices()), steps.clone(), run_opts(1, Strategy::Free, OnFailure::Abort), None, None)
            .unwrap();
    let aborted = report.aborted.as_deref().expect("the run says why it stopped");
    assert!(aborted.contains(&refused.addr()) && aborted.contains("connect"), "{aborted}");
    assert_step(&report.hosts[0].connect, State::Failed, NETRIG_E_AUTH, "refused host");
    assert_eq!(report.hosts[0].steps[0].error, "not run: the run was aborted");
    assert_eq!((report.totals.failed, report.totals.skipped), (1, 5), "{:?}", report.totals);
    for d in &f.devices()[1..] {
        assert_eq!(d.stats().connections, 0, "{}: nothing runs after the abort", d.name);
    }
    for policy in [OnFailure::Continue, OnFailure::SkipHost] {
        let report =
            Run::run(targets(f.devices()), steps.clone(), run_opts(1, Strategy::Free, policy), None, None).unwrap();
        assert!(report.aborted.is_none(), "{policy:?}");
        assert_eq!((report.totals.failed, report.totals.succeeded), (1, 5), "{policy:?}");
        assert_eq!(report.hosts[0].steps[0].error, "not run: the connect failed", "{policy:?}");
    }
}

#[test]
fn abort_stops_the_whole_run_at_the_first_failure() {
    let _serial = serial();
    // The failing host is slow to connect, so that the hung hosts are in their step when it fails.
    let f = fleet(vec![
        faulty("hang", 3, hang_on("show clock")),
        faulty("drop", 1, Faults { latency_ms: 150, ..drop_on("show clock") }),
        good("ok", 4),
    ]);
    let dropped = &f.devices()[3];
    let steps = vec![Step::command("show clock").timeout(Duration::from_secs(20)), Step::command("show version")];
    for strategy in [Strategy::Free, Strategy::Linear] {
        let recorder = Recorder::default();
        let report = Run::run(
            targets(f.devices()),
            steps.clone(),
            run_opts(4, strategy, OnFailure::Abort),
            None,
            Some(recorder.progress()),
        )
        .unwrap();
        // From the failure to the end of the run: long before the hung steps' 20 s.
        let recorded = recorder.events.lock().unwrap().clone();
        let at = |f: &dyn Fn(&Event) -> bool| recorded.iter().find(|(e, _, _)| f(e)).map(|(_, _, t)| *t).unwrap();
        let failed_at = at(&|e| e.kind == EventKind::StepFinished && e.host == Some(3));
        let ended_at = at(&|e| e.kind == EventKind::RunFinished);
        let took = ended_at - failed_at;
        eprintln!("timing: {strategy:?}: from the failure to the end of the aborted run: {} ms", took.as_millis());
        assert!(took <= PROMPT_END, "{strategy:?}: the run took {took:?} to end after the failure");

        let aborted = report.aborted.as_deref().expect("the run says why it stopped");
        assert!(aborted.contains(&dropped.addr()) && aborted.contains("show clock"), "{aborted}");
        assert!(!report.cancelled);
        for (i, (d, h)) in f.devices().iter().zip(&report.hosts).enumerate() {
            let what = format!("{strategy:?} {}", d.name);
            match group(d) {
                "hang" => {
                    assert_eq!(h.state, State::Cancelled, "{what}: {h:?}");
                    assert_step(&h.steps[0], State::Cancelled, NETRIG_E_CANCELLED, &what);
                    assert_eq!(h.steps[1].error, "not run: the run was aborted", "{what}");
                }
                "drop" => {
                    assert_eq!(h.state, State::Failed, "{what}: {h:?}");
                    assert_step(&h.steps[0], State::Failed, NETRIG_E_CLOSED, &what);
                    assert_eq!(h.steps[1].state, State::Skipped);
                }
                _ => {
                    assert!(i >= 4);
                    assert_eq!(h.state, State::Skipped, "{what}: never started: {h:?}");
                    assert_eq!(h.connect.error, "not started: the run was aborted", "{what}");
                }
            }
        }
        assert_eq!(report.failed_hosts(), vec![dropped.addr().as_str()]);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["aborted"], aborted);
        assert_eq!(json["cancelled"], false);
        assert_eq!(json["totals"]["skipped"], 4);
        assert_eq!(json["totals"]["cancelled"], 3);
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies and failure policies
// ---------------------------------------------------------------------------------------------

#[test]
fn linear_finishes_step_k_on_every_host_before_step_k_plus_1_starts_anywhere() {
    let _serial = serial();
    let f = fleet(vec![faulty("slow", 4, slow(100)), good("fast", 8)]);
    let steps = vec![Step::command("show clock"), Step::command("show version"), Step::command("show clock")];
    let run = Run::start(
        targets(f.devices()),
        steps,
        RunOptions { events: true, ..run_opts(4, Strategy::Linear, OnFailure::SkipHost) },
        None,
        None,
    )
    .unwrap();
    let mut events = Vec::new();
    while let Some(e) = run.next_event(Duration::from_secs(20)) {
        events.push(e);
    }
    assert!(run.is_finished());
    let report = run.wait(None).unwrap();
    assert_eq!(report.totals.succeeded, 12, "{:?}", report.totals);
    for k in 0..2 {
        let finished: Vec<usize> = (0..events.len())
            .filter(|&i| events[i].kind == EventKind::StepFinished && events[i].step == Some(k))
            .collect();
        assert_eq!(finished.len(), 12);
        let next_started = position(&events, |e| e.kind == EventKind::StepStarted && e.step == Some(k + 1));
        assert!(
            finished.iter().all(|&i| i < next_started),
            "step {} started (event {next_started}) before step {} finished everywhere ({finished:?})",
            k + 2,
            k + 1
        );
    }
}

/// The same two hosts, one slow: under Free the fast one is done before the slow one has
/// finished its first step; under Linear it waits for it at every step.
#[test]
fn free_lets_a_fast_host_finish_while_a_slow_one_is_on_its_first_step() {
    let _serial = serial();
    let f = fleet(vec![faulty("slow", 1, slow(150)), good("fast", 1)]);
    let steps = vec![Step::command("show clock"), Step::command("show clock"), Step::command("show clock")];
    let (slow_host, fast_host) = (0, 1);
    for strategy in [Strategy::Free, Strategy::Linear] {
        let recorder = Recorder::default();
        let report = Run::run(
            targets(f.devices()),
            steps.clone(),
            run_opts(2, strategy, OnFailure::SkipHost),
            None,
            Some(recorder.progress()),
        )
        .unwrap();
        assert_eq!(report.totals.succeeded, 2, "{strategy:?}: {report:?}");
        let events = recorder.events();
        let slow_step1_done = position(&events, is(EventKind::StepFinished, slow_host, Some(0)));
        match strategy {
            Strategy::Free => {
                let fast_done = position(&events, is(EventKind::HostFinished, fast_host, None));
                assert!(fast_done < slow_step1_done, "Free: the fast host waited for the slow one");
                assert!(report.hosts[fast_host].duration * 2 < report.hosts[slow_host].duration);
            }
            Strategy::Linear => {
                for k in 1..3 {
                    let fast_next = position(&events, is(EventKind::StepStarted, fast_host, Some(k)));
                    let slow_prev = position(&events, is(EventKind::StepFinished, slow_host, Some(k - 1)));
                    assert!(
                        fast_next > slow_prev,
                        "Linear: the fast host ran step {} before the slow one finished step {k}",
                        k + 1
                    );
                }
            }
        }
    }
}

#[test]
fn on_failure_continue_runs_the_remaining_steps() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 3), faulty("drop", 1, drop_on("show clock"))]);
    // The fake IOS rejects config lines starting with "bogus"; the session stays usable.
    let steps = vec![Step::config(&["bogus thing"], ConfigOptions::default()), Step::command("show clock")];
    let report =
        Run::run(targets(f.devices()), steps, run_opts(4, Strategy::Free, OnFailure::Continue), None, None).unwrap();
    for (d, h) in f.devices().iter().zip(&report.hosts) {
        let what = &d.name;
        assert_eq!((h.state, h.connect.state), (State::Failed, State::Ok), "{what}: {h:?}");
        assert_step(&h.steps[0], State::Failed, NETRIG_E_COMMAND, what);
        assert!(h.steps[0].error.contains("'bogus thing' was rejected"), "{what}: {}", h.steps[0].error);
        if group(d) == "ok" {
            assert_step(&h.steps[1], State::Ok, NETRIG_OK, what);
            assert_eq!(h.steps[1].output, CLOCK, "{what}: back out of config mode after the error");
        } else {
            assert_step(&h.steps[1], State::Failed, NETRIG_E_CLOSED, what);
        }
    }
    let s = report.step_totals;
    assert_eq!((s.failed, s.succeeded, s.skipped), (5, 3, 0));
}

#[test]
fn on_failure_skip_host_skips_that_hosts_remaining_steps_only() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 3), faulty("drop", 1, drop_on("show clock"))]);
    let steps = vec![Step::command("show clock"), Step::command("show version")];
    for strategy in [Strategy::Free, Strategy::Linear] {
        let report =
            Run::run(targets(f.devices()), steps.clone(), run_opts(2, strategy, OnFailure::SkipHost), None, None)
                .unwrap();
        for (d, h) in f.devices().iter().zip(&report.hosts) {
            let what = format!("{strategy:?} {}", d.name);
            if group(d) == "ok" {
                assert_eq!(h.state, State::Ok, "{what}: {h:?}");
                assert_eq!(h.steps[1].output, expected("show version"));
            } else {
                assert_eq!(h.state, State::Failed, "{what}: {h:?}");
                assert_step(&h.steps[0], State::Failed, NETRIG_E_CLOSED, &what);
                assert_eq!(h.steps[1].state, State::Skipped, "{what}");
                assert_eq!(h.steps[1].error, "not run: an earlier step of this host failed", "{what}");
            }
        }
        assert!(report.aborted.is_none() && !report.cancelled);
        let t = report.totals;
        assert_eq!((t.succeeded, t.failed), (3, 1), "{strategy:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Workers, callbacks, events, report
// ---------------------------------------------------------------------------------------------

#[test]
fn max_workers_bounds_the_threads_and_callbacks_run_on_worker_threads() {
    let _serial = serial();
    let f = fleet(vec![faulty("slow", 24, slow(20))]);
    let steps = vec![Step::command("show clock"), Step::command("show version")];
    for (max_workers, hosts) in [(3, 24), (64, 5)] {
        let recorder = Recorder::default();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let record = recorder.progress();
        let progress: Progress = {
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            Arc::new(move |e: &Event| {
                match e.kind {
                    EventKind::HostStarted => {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                    }
                    EventKind::HostFinished => {
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    }
                    _ => {}
                }
                record(e);
            })
        };
        let report = Run::run(
            targets(&f.devices()[..hosts]),
            steps.clone(),
            run_opts(max_workers, Strategy::Free, OnFailure::SkipHost),
            None,
            Some(progress),
        )
        .unwrap();
        assert_eq!(report.totals.succeeded, hosts);
        let threads = max_workers.min(hosts);
        let recorded = recorder.events.lock().unwrap().clone();
        let mut workers = BTreeSet::new();
        for (e, name, _) in &recorded {
            assert_eq!(name, &format!("netrig-run-{}", e.worker), "{e:?} ran on thread {name}");
            workers.insert(e.worker);
        }
        eprintln!(
            "max_workers {max_workers}, {hosts} hosts: workers {workers:?}, peak hosts in flight {}",
            peak.load(Ordering::SeqCst)
        );
        assert!(workers.len() <= threads && workers.iter().all(|&w| w < threads), "{workers:?}");
        // Every worker took part: the hosts were worked on `threads` at a time.
        assert_eq!(workers.len(), threads, "{workers:?}");
        assert!(peak.load(Ordering::SeqCst) <= threads);
        assert_eq!(recorded.last().unwrap().0.kind, EventKind::RunFinished);
    }
    let r =
        Run::start(targets(f.devices()), steps.clone(), run_opts(0, Strategy::Free, OnFailure::SkipHost), None, None);
    assert!(matches!(r, Err(Error::InvalidArg(_))), "{r:?}");
    // No targets: a report at once.
    let report = Run::run(Vec::new(), steps, RunOptions::default(), None, None).unwrap();
    assert_eq!((report.hosts.len(), report.totals.succeeded), (0, 0));
}

/// `wait` returns only after the last callback has returned: a C caller frees the callback's
/// user_data then.
#[test]
fn the_run_finished_callback_returns_before_wait_does() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 2)]);
    let recorder = Recorder::default();
    let record = recorder.progress();
    let progress: Progress = Arc::new(move |e: &Event| {
        if e.kind == EventKind::RunFinished {
            thread::sleep(Duration::from_millis(200));
        }
        record(e);
    });
    let report =
        Run::run(targets(f.devices()), vec![Step::command("show clock")], RunOptions::default(), None, Some(progress))
            .unwrap();
    assert_eq!(report.totals.succeeded, 2);
    let events = recorder.events();
    assert_eq!(events.last().map(|e| e.kind), Some(EventKind::RunFinished), "{events:?}");
}

#[test]
fn the_event_stream_delivers_every_event_once_with_run_finished_last() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 5), faulty("auth", 2, refuse())]);
    let recorder = Recorder::default();
    let steps = vec![Step::command("show clock"), Step::command("show version")];
    let run = Run::start(
        targets(f.devices()),
        steps,
        RunOptions { events: true, ..run_opts(3, Strategy::Free, OnFailure::SkipHost) },
        None,
        Some(recorder.progress()),
    )
    .unwrap();
    let mut stream = Vec::new();
    while let Some(e) = run.next_event(Duration::from_secs(20)) {
        stream.push(e);
    }
    assert!(run.is_finished(), "the stream ended because the run did");
    let (none, took) = {
        let t = Instant::now();
        (run.next_event(Duration::from_secs(5)), t.elapsed())
    };
    assert!(none.is_none() && took < Duration::from_secs(1), "after the end, no event and no wait (of 5 s): {took:?}");

    assert_eq!(stream.last().unwrap().kind, EventKind::RunFinished);
    assert_eq!(stream.iter().filter(|e| e.kind == EventKind::RunFinished).count(), 1);
    let run_finished = stream.last().unwrap();
    assert_eq!((run_finished.host, run_finished.step, run_finished.state), (None, None, None));
    // Each host's events, in order, each once.
    type Seen = (EventKind, Option<usize>, Option<State>, netrig_status);
    let mut by_host: BTreeMap<usize, Vec<Seen>> = BTreeMap::new();
    for e in &stream[..stream.len() - 1] {
        by_host
            .entry(e.host.expect("host events name the host"))
            .or_default()
            .push((e.kind, e.step, e.state, e.status));
    }
    use EventKind::*;
    for (i, d) in f.devices().iter().enumerate() {
        let want = if group(d) == "ok" {
            vec![
                (HostStarted, None, None, NETRIG_OK),
                (Connected, None, Some(State::Ok), NETRIG_OK),
                (StepStarted, Some(0), None, NETRIG_OK),
                (StepFinished, Some(0), Some(State::Ok), NETRIG_OK),
                (StepStarted, Some(1), None, NETRIG_OK),
                (StepFinished, Some(1), Some(State::Ok), NETRIG_OK),
                (HostFinished, None, Some(State::Ok), NETRIG_OK),
            ]
        } else {
            vec![
                (HostStarted, None, None, NETRIG_OK),
                (Connected, None, Some(State::Failed), NETRIG_E_AUTH),
                (HostFinished, None, Some(State::Failed), NETRIG_E_AUTH),
            ]
        };
        assert_eq!(by_host[&i], want, "{}", d.name);
    }
    // The callback saw the same events.
    let key = |e: &Event| format!("{e:?}");
    let mut a: Vec<String> = stream.iter().map(key).collect();
    let mut b: Vec<String> = recorder.events().iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // Without `events`, there is no stream to wait on.
    let quiet = Run::start(targets(&f.devices()[..1]), vec![], RunOptions::default(), None, None).unwrap();
    let t = Instant::now();
    assert!(quiet.next_event(Duration::from_secs(5)).is_none());
    assert!(t.elapsed() < Duration::from_secs(1), "waited {:?} of 5 s", t.elapsed());
    quiet.wait(None).unwrap();
}

#[test]
fn the_json_report_parses_and_says_what_the_report_says() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 2), faulty("auth", 1, refuse()), faulty("hang", 1, hang_on("show clock"))]);
    let steps = vec![Step::command("show version"), Step::command("show clock").timeout(Duration::from_millis(300))];
    let report: Arc<Report> =
        Run::run(targets(f.devices()), steps, run_opts(4, Strategy::Free, OnFailure::SkipHost), None, None).unwrap();
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the report is valid JSON");
    let ms = |v: &serde_json::Value| v.as_f64().expect("a number of milliseconds");
    assert!((ms(&json["wall_ms"]) - report.wall.as_secs_f64() * 1e3).abs() < 0.01);
    assert_eq!(json["cancelled"], false);
    assert!(json["aborted"].is_null());
    for (name, t) in [("totals", report.totals), ("step_totals", report.step_totals)] {
        let j = &json[name];
        assert_eq!(
            [&j["succeeded"], &j["failed"], &j["timed_out"], &j["cancelled"], &j["skipped"]],
            [t.succeeded, t.failed, t.timed_out, t.cancelled, t.skipped].map(serde_json::Value::from).each_ref(),
            "{name}"
        );
    }
    let failed: Vec<&str> = json["failed_hosts"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(failed, report.failed_hosts());
    assert_eq!(failed.len(), 2);
    let hosts = json["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 4);
    for (j, h) in hosts.iter().zip(&report.hosts) {
        assert_eq!(j["name"], h.name.as_str());
        assert_eq!(j["state"], h.state.name());
        assert!((ms(&j["duration_ms"]) - h.duration.as_secs_f64() * 1e3).abs() < 0.01);
        let steps = j["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 2);
        for (js, s) in std::iter::once(&j["connect"]).chain(steps).zip(std::iter::once(&h.connect).chain(&h.steps)) {
            assert_eq!(js["state"], s.state.name());
            assert_eq!(js["status"], s.status.name().to_str().unwrap());
            // Multi-line outputs and error texts survive the escaping.
            assert_eq!(js["output"], s.output.as_str());
            assert_eq!(js["error"], s.error.as_str());
            assert_eq!(js["stderr"], "");
            assert!(js["exit_status"].is_null());
        }
    }
    assert_eq!(hosts[0]["steps"][0]["output"], expected("show version").as_str());
    assert_eq!(hosts[2]["state"], "failed");
    assert_eq!(hosts[2]["connect"]["status"], "NETRIG_E_AUTH");
    assert_eq!(hosts[3]["state"], "timed_out");
    assert_eq!(hosts[3]["steps"][1]["status"], "NETRIG_E_TIMEOUT");
}

#[test]
fn named_targets_give_their_names_to_results_events_errors_and_the_report_with_their_data() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 1), faulty("hang", 1, hang_on("show clock")), good("plain", 1)]);
    let d = f.devices();
    let targets = vec![
        Target::from(opts(&d[0])).named("sw1").with_data(serde_json::json!({"site": "lab", "rack": {"row": 3}})),
        Target::from(opts(&d[1])).named("sw2"),
        Target::from(opts(&d[2])),
    ];
    let steps = vec![Step::command("show clock").timeout(Duration::from_millis(1500))];
    let rec = Recorder::default();
    let report =
        Run::run(targets, steps, run_opts(3, Strategy::Free, OnFailure::SkipHost), None, Some(rec.progress())).unwrap();
    let names: Vec<&str> = report.hosts.iter().map(|h| h.name.as_str()).collect();
    let plain = format!("127.0.0.1:{}", d[2].port);
    assert_eq!(names, ["sw1", "sw2", plain.as_str()]);
    assert_eq!(report.failed_hosts(), ["sw2"]);
    let err = &report.hosts[1].steps[0].error;
    assert!(err.starts_with("sw2 step 1 (command 'show clock'): "), "{err}");
    assert_eq!(report.hosts[0].data["rack"]["row"], 3);
    assert_eq!(report.hosts[1].data, serde_json::json!({}));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["hosts"][0]["name"], "sw1");
    assert_eq!(json["hosts"][0]["data"]["site"], "lab");
    assert_eq!(json["hosts"][2]["name"], plain.as_str());
    assert_eq!(json["hosts"][2]["data"], serde_json::json!({}));
    assert_eq!(json["failed_hosts"], serde_json::json!(["sw2"]));
    // Events carry the host's index, which names it through the report.
    let events = rec.events.lock().unwrap();
    let finished: BTreeSet<&str> = events
        .iter()
        .filter(|(e, _, _)| e.kind == EventKind::HostFinished)
        .map(|(e, _, _)| report.hosts[e.host.unwrap()].name.as_str())
        .collect();
    assert_eq!(finished, BTreeSet::from(["sw1", "sw2", plain.as_str()]));
}

#[test]
fn a_get_step_puts_the_target_name_into_its_local_path() {
    let _serial = serial();
    let f = fleet(vec![Group::new("linux", 2).name("board")]);
    let dir = std::env::temp_dir().join(format!("netrig-named-get-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src.txt");
    std::fs::write(&src, "named\n").unwrap();
    let targets: Vec<Target> = f
        .devices()
        .iter()
        .enumerate()
        .map(|(i, d)| Target::from(support::options(d, "linux")).named(format!("board{i}")))
        .collect();
    let steps = vec![
        Step::put(&src, "/tmp/named.txt", netrig::device::Protocol::Sftp),
        Step::get("/tmp/named.txt", &format!("{}/{{name}}.txt", dir.display()), netrig::device::Protocol::Sftp),
    ];
    let report = Run::run(targets, steps, run_opts(2, Strategy::Free, OnFailure::SkipHost), None, None).unwrap();
    for h in &report.hosts {
        assert_eq!(h.state, State::Ok, "{h:?}");
        assert_eq!(std::fs::read_to_string(dir.join(format!("{}.txt", h.name))).unwrap(), "named\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Runs with a pool
// ---------------------------------------------------------------------------------------------

#[test]
fn pool_keys_run_on_prewarmed_sessions_without_new_connections() {
    let _serial = serial();
    let f = fleet(vec![good("ok", 10), good("unknown", 1)]);
    let (known, unknown) = f.devices().split_at(10);
    let pool = Arc::new(Pool::new(PoolOptions::default()).unwrap());
    let warm: Vec<DeviceOptions> = known.iter().map(opts).collect();
    assert!(pool.prewarm(&warm, 4).iter().all(Result::is_ok));
    let mut keys: Vec<Target> = warm.iter().map(|o| Target::key(PoolKey::of(o))).collect();
    keys.push(Target::key(PoolKey::of(&opts(&unknown[0]))));

    let r = Run::start(keys.clone(), vec![Step::command("show clock")], RunOptions::default(), None, None);
    assert!(matches!(&r, Err(Error::InvalidArg(m)) if m.contains("no pool")), "{r:?}");

    let report =
        Run::run(keys, vec![Step::command("show clock")], RunOptions::default(), Some(pool.clone()), None).unwrap();
    for (d, h) in known.iter().zip(&report.hosts) {
        assert_eq!(h.state, State::Ok, "{}: {h:?}", d.name);
        assert_eq!(h.steps[0].output, CLOCK);
        assert_eq!(d.stats().connections, 1, "{}: the prewarmed session served the run", d.name);
    }
    let h = &report.hosts[10];
    assert_eq!(h.name, unknown[0].addr());
    assert_step(&h.connect, State::Failed, NETRIG_E_NOT_FOUND, "a key the pool never saw");
    assert_eq!(unknown[0].stats().connections, 0);
    let p = pool.stats();
    // Hits on sessions that served nobody before (prewarmed): no reuse yet.
    assert_eq!((p.created, p.hits, p.reused, p.idle, p.in_use), (10, 10, 0, 10, 0), "{p:?}");
}
