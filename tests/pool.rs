//! netrig's connection pool against the fake device fleet (real SSH servers on loopback, never
//! mocks). The fleet's per-device counters (`connections`, `active_connections`) are the device's
//! own view: they prove that a stampede opens no duplicate connections, that evicted, expired and
//! broken sessions are really closed, and that reused ones are really the same connection.
//!
//! Deadlines are checked from both sides: a wait that times out must not give up before its
//! deadline, and must return within the deadline + 10% + jitter. The tests of this binary take a
//! lock so that they run one at a time: their timings must not depend on each other's load.
//! Run with `--nocapture` to see the timings.
#![cfg(feature = "ssh")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use fakedev::{DeviceInfo, Faults, Fleet, Group, Inventory, Profile};
use netrig::device::DeviceOptions;
use netrig::pool::{Pool, PoolKey, PoolOptions};
use netrig::Error;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Loopback and scheduling jitter allowed on top of a deadline's 10% (a loaded 2-core box with
/// two CPU hogs beside the test).
const JITTER: Duration = Duration::from_millis(250);

/// How long the fake device may take to notice that netrig closed a connection.
const CLOSE_SEEN: Duration = Duration::from_secs(2);

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time (a failed test poisons the lock; the next ones still run).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn upper_bound(deadline: Duration) -> Duration {
    deadline + deadline / 10 + JITTER
}

#[track_caller]
fn assert_timed_out_at(took: Duration, deadline: Duration, what: &str) {
    eprintln!("timing: {what}: {} ms (deadline {} ms)", took.as_millis(), deadline.as_millis());
    assert!(took >= deadline, "{what}: gave up after {took:?}, before its deadline {deadline:?}");
    assert!(took <= upper_bound(deadline), "{what}: took {took:?}; deadline {deadline:?} + 10% + {JITTER:?}");
}

#[track_caller]
fn assert_within(took: Duration, bound: Duration, what: &str) {
    eprintln!("timing: {what}: {} ms (bound {} ms)", took.as_millis(), bound.as_millis());
    assert!(took <= bound, "{what}: took {took:?}, more than {bound:?}");
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn fleet(groups: Vec<Group>) -> Fleet {
    let inventory = groups.into_iter().fold(Inventory::default(), Inventory::group);
    Fleet::start_inventory(&inventory).unwrap()
}

fn ios(count: usize) -> Fleet {
    Fleet::start(Profile::builtin("cisco_ios").unwrap(), count).unwrap()
}

fn faulty(name: &str, count: usize, faults: Faults) -> Group {
    Group::new("cisco_ios", count).name(name).faults(faults)
}

fn opts(d: &DeviceInfo) -> DeviceOptions {
    let mut o = support::options(d, "cisco_ios");
    o.connect_timeout = Duration::from_secs(5);
    o.auth_timeout = Duration::from_secs(5);
    o
}

fn pool(opts: PoolOptions) -> Arc<Pool> {
    Arc::new(Pool::new(opts).unwrap())
}

fn limits(max_per_host: usize, max_total: usize) -> PoolOptions {
    PoolOptions { max_per_host, max_total, ..PoolOptions::default() }
}

/// Polls `cond` every 5 ms for up to `limit`; how long it took to hold, or None.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the device sees exactly `n` open connections.
#[track_caller]
fn assert_active(d: &DeviceInfo, n: u64, what: &str) -> Duration {
    match wait_for(CLOSE_SEEN, || d.stats().active_connections == n) {
        Some(took) => took,
        None => panic!("{what}: {} should have {n} open connections: {:?}", d.name, d.stats()),
    }
}

#[track_caller]
fn assert_clock(lease: &netrig::device::Device) {
    let out = lease.send_command("show clock", None).unwrap();
    assert_eq!(out.text, "*10:42:13.123 UTC Sat Nov 21 2026\n");
}

fn connections(d: &DeviceInfo) -> u64 {
    d.stats().connections
}

// ---------------------------------------------------------------------------------------------
// Single flight: no duplicate connections
// ---------------------------------------------------------------------------------------------

#[test]
fn a_stampede_of_32_threads_on_one_host_opens_at_most_max_per_host_connections() {
    let _serial = serial();
    const THREADS: usize = 32;
    for max in [1, 3] {
        let f = ios(1);
        let d = &f.devices()[0];
        let o = opts(d);
        let pool = pool(limits(max, 64));
        let barrier = Arc::new(Barrier::new(THREADS));
        let in_use = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (reused, took) = timed(|| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (pool, o, barrier, in_use, peak) =
                        (pool.clone(), o.clone(), barrier.clone(), in_use.clone(), peak.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        let lease = pool.checkout(&o, Some(Duration::from_secs(30))).unwrap();
                        let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        assert_clock(&lease);
                        thread::sleep(Duration::from_millis(5));
                        in_use.fetch_sub(1, Ordering::SeqCst);
                        lease.reused()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).filter(|r| *r).count()
        });
        eprintln!("timing: 32-thread stampede, max_per_host {max}: {} ms", took.as_millis());
        let s = pool.stats();
        eprintln!("max_per_host {max}: {s:?}; device {:?}", d.stats());
        // The device's own count: exactly max_per_host connections, no duplicate.
        assert_eq!(connections(d), max as u64, "max_per_host {max}: {:?}", d.stats());
        assert_eq!(d.stats().active_connections, max as u64, "the sessions stay open, idle in the pool");
        assert_eq!(s.created, max as u64);
        assert!(peak.load(Ordering::SeqCst) <= max, "{} leases out at once", peak.load(Ordering::SeqCst));
        assert!(s.peak_in_use <= max as u64 && s.peak_in_use >= 1, "{s:?}");
        // Every checkout was served: by a new session or a used one.
        assert_eq!(reused, THREADS - max);
        assert_eq!(s.reused, (THREADS - max) as u64);
        assert_eq!(s.hits + s.misses, THREADS as u64, "each checkout counts once: {s:?}");
        // A miss either connected or waited for a check-in.
        assert_eq!(s.misses, s.created + s.waits, "{s:?}");
        assert_eq!((s.timed_out_waits, s.connect_failures, s.discarded_broken), (0, 0, 0), "{s:?}");
        assert_eq!((s.in_use, s.idle, s.connecting), (0, max as u64, 0), "{s:?}");
    }
}

#[test]
fn a_stampede_on_a_failing_connect_shares_its_error() {
    let _serial = serial();
    const THREADS: usize = 32;
    for max in [1, 3] {
        // The refusal comes after 100 ms, so every caller arrives while the connect is in flight.
        let f =
            fleet(vec![faulty("auth", 1, Faults { auth_always_fails: true, auth_delay_ms: 100, ..Faults::default() })]);
        let d = &f.devices()[0];
        let o = opts(d);
        let pool = pool(limits(max, 64));
        let barrier = Arc::new(Barrier::new(THREADS));
        let (results, took) = timed(|| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (pool, o, barrier) = (pool.clone(), o.clone(), barrier.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        timed(|| pool.checkout(&o, Some(Duration::from_secs(30))).map(drop))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        });
        let s = pool.stats();
        eprintln!(
            "timing: 32 callers on a refusing device, max_per_host {max}: {} ms; {s:?}; {:?}",
            took.as_millis(),
            d.stats()
        );
        for (r, _) in &results {
            assert!(matches!(r, Err(Error::Auth(m)) if m.contains(&d.port.to_string())), "{r:?}");
        }
        // Nobody waited out its 30 s deadline: each got the error of a connect it waited on.
        let slowest = results.iter().map(|(_, t)| *t).max().unwrap();
        assert_within(slowest, Duration::from_secs(3), "the slowest caller sharing a failed connect");
        // A few attempts (the ones in flight together), never one per caller.
        let attempts = connections(d);
        assert!(
            attempts >= 1 && attempts <= max as u64,
            "max_per_host {max}: {attempts} connection attempts for 32 callers"
        );
        assert_eq!(s.connect_failures, attempts);
        assert_eq!(s.created, 0);
        assert_eq!(s.timed_out_waits, 0);
        assert_eq!((s.in_use, s.idle, s.connecting), (0, 0, 0), "{s:?}");
        assert_eq!(s.hits + s.misses, THREADS as u64);
        // The pool forgets the failure: a later checkout tries again.
        assert!(matches!(pool.checkout(&o, None), Err(Error::Auth(_))));
        assert_eq!(connections(d), attempts + 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting for a session
// ---------------------------------------------------------------------------------------------

#[test]
fn a_waiter_times_out_at_its_deadline_and_is_counted() {
    let _serial = serial();
    let f = ios(1);
    let d = &f.devices()[0];
    let o = opts(d);
    let checkout_timeout = Duration::from_millis(400);
    let pool = pool(PoolOptions { max_per_host: 1, checkout_timeout, ..PoolOptions::default() });
    let held = pool.checkout(&o, None).unwrap();

    let deadline = Duration::from_millis(300);
    let (r, took) = timed(|| pool.checkout(&o, Some(deadline)));
    let err = r.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout(m) if m.contains("within 300 ms") && m.contains("max_per_host 1") && m.contains(&d.port.to_string())),
        "{err}"
    );
    assert_timed_out_at(took, deadline, "a checkout waiting for the only session");
    // Without a timeout of its own a checkout waits the pool's checkout_timeout.
    let (r, took) = timed(|| pool.checkout(&o, None));
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    assert_timed_out_at(took, checkout_timeout, "a checkout with the pool's default timeout");

    let s = pool.stats();
    assert_eq!((s.timed_out_waits, s.waits, s.misses, s.created), (2, 2, 3, 1), "{s:?}");
    assert!(s.wait_time >= deadline + checkout_timeout, "{s:?}");
    assert_eq!(connections(d), 1, "waiting opened nothing");
    drop(held);
    let again = pool.checkout(&o, Some(deadline)).unwrap();
    assert!(again.reused());
    assert_clock(&again);
}

#[test]
fn a_waiter_gets_the_session_as_soon_as_it_is_checked_in() {
    let _serial = serial();
    let f = ios(1);
    let d = &f.devices()[0];
    let o = opts(d);
    let pool = pool(limits(1, 8));
    let held = pool.checkout(&o, None).unwrap();
    let waiter = {
        let (pool, o) = (pool.clone(), o.clone());
        thread::spawn(move || {
            let lease = pool.checkout(&o, Some(Duration::from_secs(10))).unwrap();
            (Instant::now(), lease.reused(), lease.send_command("show clock", None).unwrap().text)
        })
    };
    assert!(wait_for(Duration::from_secs(5), || pool.stats().waits == 1).is_some(), "the second checkout waits");
    thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "it waits while the session is out");
    let released = Instant::now();
    drop(held);
    let (got, reused, clock) = waiter.join().unwrap();
    assert_within(got - released, JITTER, "from check-in to the waiter holding the session");
    assert!(reused);
    assert!(clock.contains("10:42:13"), "{clock:?}");
    let s = pool.stats();
    assert_eq!((s.created, s.reused, s.waits, s.timed_out_waits), (1, 1, 1, 0), "{s:?}");
    assert!(s.wait_time >= Duration::from_millis(100), "{s:?}");
    assert_eq!(connections(d), 1);
}

/// A waiter shares the failure of a connect that fails while it waits, not one that failed
/// before: here B's connect (a 50 ms connect timeout against a 300 ms banner delay) fails before
/// D starts waiting on A's and C's; when A's session is discarded, D must connect, not answer
/// with B's old error.
#[test]
fn a_waiter_does_not_get_the_error_of_a_connect_that_failed_before_it_waited() {
    let _serial = serial();
    let f = fleet(vec![faulty("late", 1, Faults { banner_delay_ms: 300, ..Faults::default() })]);
    let d = &f.devices()[0];
    let o = opts(d);
    let pool = pool(limits(2, 8));
    let checkout = |o: &DeviceOptions| {
        let (pool, o) = (pool.clone(), o.clone());
        thread::spawn(move || pool.checkout(&o, Some(Duration::from_secs(10))))
    };
    let a = checkout(&o);
    assert!(wait_for(Duration::from_secs(5), || pool.stats().connecting == 1).is_some());
    let mut hasty = o.clone();
    hasty.connect_timeout = Duration::from_millis(50);
    let r = pool.checkout(&hasty, None);
    assert!(matches!(&r, Err(Error::Timeout(m)) if m.contains("50 ms")), "B: {r:?}");
    let c = checkout(&o);
    assert!(wait_for(Duration::from_secs(5), || pool.stats().connecting == 2).is_some());
    let d_waiter = checkout(&o);
    assert!(wait_for(Duration::from_secs(5), || pool.stats().waits == 1).is_some());
    assert!(!d_waiter.is_finished());

    a.join().unwrap().expect("A's slow connect succeeds").discard();
    let r = d_waiter.join().unwrap();
    assert!(r.is_ok(), "D got {r:?} after A's session was discarded");
    let lease = r.unwrap();
    assert_clock(&lease);
    assert!(c.join().unwrap().is_ok());
    let s = pool.stats();
    assert_eq!((s.connect_failures, s.discarded_broken, s.timed_out_waits), (1, 1, 0), "{s:?}");
}

#[test]
fn a_waiter_for_room_in_a_full_pool_gets_it_when_another_host_checks_in() {
    let _serial = serial();
    let f = ios(2);
    let (a, b) = (&f.devices()[0], &f.devices()[1]);
    let pool = pool(limits(4, 1));
    let held = pool.checkout(&opts(a), None).unwrap();
    // B's host has room but the pool has none, and nothing is idle to evict.
    let (r, took) = timed(|| pool.checkout(&opts(b), Some(Duration::from_millis(200))));
    assert!(matches!(&r, Err(Error::Timeout(m)) if m.contains("max_total 1")), "{r:?}");
    assert_timed_out_at(took, Duration::from_millis(200), "a checkout waiting for room in the pool");
    let waiter = {
        let (pool, o) = (pool.clone(), opts(b));
        thread::spawn(move || {
            let lease = pool.checkout(&o, Some(Duration::from_secs(10))).unwrap();
            assert_clock(&lease);
            Instant::now()
        })
    };
    assert!(wait_for(Duration::from_secs(5), || pool.stats().waits == 2).is_some());
    let released = Instant::now();
    drop(held);
    let got = waiter.join().unwrap();
    // The waiter evicts A's idle session and connects to B.
    assert_within(got - released, Duration::from_secs(2), "from A's check-in to the waiter's new session to B");
    assert_active(a, 0, "A's session made room for B");
    let s = pool.stats();
    assert_eq!((s.created, s.evicted_lru, s.idle), (2, 1, 1), "{s:?}");
}

// ---------------------------------------------------------------------------------------------
// Closing sessions: LRU, idle timeout, lifetime, health check, broken sessions, close_all
// ---------------------------------------------------------------------------------------------

#[test]
fn at_max_total_the_least_recently_used_idle_session_of_another_host_is_closed() {
    let _serial = serial();
    let f = ios(3);
    let (a, b, c) = (&f.devices()[0], &f.devices()[1], &f.devices()[2]);
    let pool = pool(limits(2, 2));
    let la = pool.checkout(&opts(a), None).unwrap();
    let lb = pool.checkout(&opts(b), None).unwrap();
    drop(la);
    drop(lb);
    // A is now the least recently used; using it again makes B the one.
    let la = pool.checkout(&opts(a), None).unwrap();
    assert!(la.reused());
    drop(la);
    assert_eq!(pool.stats().evicted_lru, 0);

    let lc = pool.checkout(&opts(c), None).unwrap();
    assert_clock(&lc);
    let s = pool.stats();
    assert_eq!((s.evicted_lru, s.created, s.idle, s.in_use), (1, 3, 1, 1), "{s:?}");
    assert_active(b, 0, "B, the least recently used, was closed");
    assert_eq!(a.stats().active_connections, 1, "A, used more recently, stays open");
    drop(lc);

    // A's session is the same connection as before.
    let la = pool.checkout(&opts(a), None).unwrap();
    assert!(la.reused());
    assert_clock(&la);
    assert_eq!(connections(a), 1);
    drop(la);
    // B needs a new one; now C is the least recently used.
    let lb = pool.checkout(&opts(b), None).unwrap();
    assert!(!lb.reused());
    assert_eq!(connections(b), 2);
    assert_active(c, 0, "C was then the least recently used");
    assert_eq!(a.stats().active_connections, 1);
    assert_eq!(pool.stats().evicted_lru, 2);
}

#[test]
fn the_reaper_closes_sessions_idle_past_idle_timeout_without_any_checkout() {
    let _serial = serial();
    let f = ios(1);
    let d = &f.devices()[0];
    let o = opts(d);
    // The waits below are 600 ms short of the timeout, room for a loaded machine's oversleep.
    let idle_timeout = Duration::from_millis(1000);
    let pool = pool(PoolOptions { idle_timeout, ..PoolOptions::default() });
    drop(pool.checkout(&o, None).unwrap());
    // Used again before the timeout: the clock starts over.
    thread::sleep(Duration::from_millis(400));
    let lease = pool.checkout(&o, None).unwrap();
    assert!(lease.reused());
    drop(lease);
    let checked_in = Instant::now();
    thread::sleep(Duration::from_millis(400));
    assert_eq!(d.stats().active_connections, 1, "400 ms after its last use the session is still open");
    assert_eq!(pool.stats().evicted_idle, 0);

    assert_active(d, 0, "the reaper closes the idle session");
    let closed = checked_in.elapsed();
    eprintln!("timing: idle session closed {} ms after check-in (idle_timeout 1000 ms)", closed.as_millis());
    assert!(closed >= idle_timeout, "closed after {closed:?}, before idle_timeout");
    assert!(closed <= upper_bound(idle_timeout) + Duration::from_millis(100), "closed after {closed:?}");
    let s = pool.stats();
    assert_eq!((s.evicted_idle, s.idle, s.evicted_lifetime), (1, 0, 0), "{s:?}");

    let lease = pool.checkout(&o, None).unwrap();
    assert!(!lease.reused());
    assert_eq!(connections(d), 2);
}

#[test]
fn a_session_past_max_lifetime_is_closed_at_check_in_or_while_idle() {
    let _serial = serial();
    let f = ios(1);
    let d = &f.devices()[0];
    let o = opts(d);
    let max_lifetime = Duration::from_millis(1000);
    let pool = pool(PoolOptions { max_lifetime, ..PoolOptions::default() });

    // Out on loan past its lifetime: closed when it comes back.
    let lease = pool.checkout(&o, None).unwrap();
    thread::sleep(max_lifetime + Duration::from_millis(50));
    assert_clock(&lease);
    drop(lease);
    let s = pool.stats();
    assert_eq!((s.evicted_lifetime, s.idle, s.discarded_broken), (1, 0, 0), "{s:?}");
    assert_active(d, 0, "closed at check-in");

    // Idle when its lifetime ends: the reaper closes it, though it was used recently.
    let lease = pool.checkout(&o, None).unwrap();
    let opened = Instant::now() - lease.age();
    drop(lease);
    thread::sleep(Duration::from_millis(300));
    let lease = pool.checkout(&o, None).unwrap();
    assert!(lease.reused(), "young enough to be reused");
    drop(lease);
    assert_active(d, 0, "the reaper closes the session at the end of its lifetime");
    let closed = opened.elapsed();
    eprintln!("timing: session closed {} ms after it opened (max_lifetime 1000 ms)", closed.as_millis());
    assert!(closed >= max_lifetime, "closed after {closed:?}, before max_lifetime");
    assert!(closed <= upper_bound(max_lifetime) + Duration::from_millis(100), "closed after {closed:?}");
    let s = pool.stats();
    assert_eq!((s.evicted_lifetime, s.evicted_idle, s.created), (2, 0, 2), "{s:?}");
    assert_eq!(connections(d), 2);
}

/// `hang_on: [""]` makes the device hang on a bare RETURN, which only the health check sends;
/// `drop_on: [""]` makes it cut the connection then, as if the device had been power-cycled.
#[test]
fn the_health_check_after_idle_discards_a_dead_session_and_the_checkout_gets_a_new_one() {
    let _serial = serial();
    let f = fleet(vec![
        faulty("hung", 1, Faults { hang_on: vec!["".into()], ..Faults::default() }),
        faulty("dropped", 1, Faults { drop_on: vec!["".into()], ..Faults::default() }),
        Group::new("cisco_ios", 1).name("healthy"),
    ]);
    let health_check_timeout = Duration::from_millis(300);
    for (i, d) in f.devices().iter().enumerate() {
        let o = opts(d);
        let pool = pool(PoolOptions {
            health_check_after: Duration::from_millis(150),
            health_check_timeout,
            ..PoolOptions::default()
        });
        let lease = pool.checkout(&o, None).unwrap();
        assert_clock(&lease);
        drop(lease);
        // Idle for a short while: handed out without a check.
        let lease = pool.checkout(&o, None).unwrap();
        assert!(lease.reused());
        drop(lease);
        assert_eq!(pool.stats().health_checks, 0, "{}", d.name);

        thread::sleep(Duration::from_millis(200));
        let (lease, took) = timed(|| pool.checkout(&o, None).unwrap());
        assert_clock(&lease);
        let s = pool.stats();
        eprintln!("timing: {}: checkout after the health check: {} ms; {s:?}", d.name, took.as_millis());
        assert_eq!(s.health_checks, 1, "{}: {s:?}", d.name);
        if i < 2 {
            assert!(!lease.reused(), "{}: a new session", d.name);
            assert_eq!((s.discarded_broken, s.created), (1, 2), "{}: {s:?}", d.name);
            assert_eq!(connections(d), 2, "{}", d.name);
            // Each checkout counts once, and the dead session served nobody.
            assert_eq!((s.hits, s.misses, s.reused), (1, 2, 1), "{}: {s:?}", d.name);
            assert_active(d, 1, "the dead session is closed, the new one open");
        } else {
            assert!(lease.reused(), "the healthy session passes");
            assert_eq!((s.discarded_broken, s.created, s.hits, s.reused), (0, 1, 2, 2), "{s:?}");
            assert_eq!(connections(d), 1);
        }
        if i == 0 {
            assert!(took >= health_check_timeout, "the hung session is given the health check's deadline: {took:?}");
        }
        assert_within(took, health_check_timeout + Duration::from_secs(2), "checkout with a health check");
    }
}

#[test]
fn broken_sessions_are_discarded_after_a_timeout_a_drop_or_a_discard() {
    let _serial = serial();
    let f = fleet(vec![
        faulty("hang", 1, Faults { hang_on: vec!["show clock".into()], ..Faults::default() }),
        faulty("drop", 1, Faults { drop_on: vec!["show clock".into()], ..Faults::default() }),
        Group::new("cisco_ios", 1).name("discard"),
    ]);
    for (i, d) in f.devices().iter().enumerate() {
        let o = opts(d);
        let pool = pool(PoolOptions::default());
        let before = pool.stats();
        let lease = pool.checkout(&o, None).unwrap();
        match i {
            0 => {
                let r = lease.send_command("show clock", Some(Duration::from_millis(300)));
                assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
                assert!(lease.is_broken());
                drop(lease);
            }
            1 => {
                let r = lease.send_command("show clock", None);
                assert!(matches!(r, Err(Error::Closed(_))), "{r:?}");
                assert!(lease.is_broken());
                drop(lease);
            }
            _ => {
                assert_clock(&lease);
                assert!(!lease.is_broken());
                lease.discard();
            }
        }
        let s = pool.stats();
        assert_eq!(s.discarded_broken, before.discarded_broken + 1, "{}: {s:?}", d.name);
        assert_eq!((s.idle, s.in_use), (0, 0), "{}: {s:?}", d.name);
        assert_active(d, 0, "a broken session is closed, not kept");

        let lease = pool.checkout(&o, None).unwrap();
        assert!(!lease.reused(), "{}", d.name);
        assert_eq!(pool.stats().created, before.created + 2, "{}", d.name);
        assert_eq!(connections(d), 2, "{}", d.name);
        if i == 2 {
            assert_clock(&lease);
        }
    }
}

#[test]
fn close_all_closes_idle_sessions_now_and_leases_out_when_they_return() {
    let _serial = serial();
    let f = ios(2);
    let (a, b) = (&f.devices()[0], &f.devices()[1]);
    let pool = pool(PoolOptions::default());
    let la = pool.checkout(&opts(a), None).unwrap();
    drop(pool.checkout(&opts(b), None).unwrap());
    assert_eq!(pool.stats().idle, 1);

    pool.close_all();
    assert_active(b, 0, "the idle session is closed at once");
    let s = pool.stats();
    assert_eq!((s.closed_by_close_all, s.idle, s.in_use), (1, 0, 1), "{s:?}");
    // The lease out stays usable until it returns.
    assert_clock(&la);
    assert_eq!(a.stats().active_connections, 1);
    drop(la);
    assert_active(a, 0, "the lease out at close_all is closed on return");
    assert_eq!(pool.stats().closed_by_close_all, 2);

    // The pool goes on with new sessions, kept as usual.
    let la = pool.checkout(&opts(a), None).unwrap();
    assert!(!la.reused());
    assert_clock(&la);
    drop(la);
    let s = pool.stats();
    assert_eq!((s.idle, s.created, s.closed_by_close_all), (1, 3, 2), "{s:?}");
    assert_eq!(connections(a), 2);

    drop(pool);
    assert_active(a, 0, "dropping the pool closes its idle sessions");
}

// ---------------------------------------------------------------------------------------------
// Prewarm, checkout by key, counters
// ---------------------------------------------------------------------------------------------

#[test]
fn prewarm_opens_sessions_in_parallel_and_reports_the_hosts_that_failed() {
    let _serial = serial();
    let f = fleet(vec![
        Group::new("cisco_ios", 6).name("ok"),
        faulty("auth", 2, Faults { auth_always_fails: true, ..Faults::default() }),
    ]);
    let targets: Vec<DeviceOptions> = f.devices().iter().map(opts).collect();
    let pool = pool(PoolOptions::default());
    let (results, took) = timed(|| pool.prewarm(&targets, 4));
    eprintln!("timing: prewarm of 8 hosts, 4 at a time: {} ms", took.as_millis());
    assert_eq!(results.len(), 8);
    for (d, r) in f.devices().iter().zip(&results) {
        if d.name.starts_with("auth") {
            assert!(matches!(r, Err(Error::Auth(m)) if m.contains(&d.port.to_string())), "{}: {r:?}", d.name);
        } else {
            assert!(r.is_ok(), "{}: {r:?}", d.name);
            assert_eq!(d.stats().active_connections, 1, "{}", d.name);
        }
    }
    let s = pool.stats();
    assert_eq!((s.created, s.connect_failures, s.idle, s.in_use), (6, 2, 6, 0), "{s:?}");

    // Checkouts by key get the prewarmed sessions: no new connection. They served nobody
    // before, so they are hits but not reuses.
    for d in &f.devices()[..6] {
        let lease = pool.checkout_key(&PoolKey::of(&opts(d)), None).unwrap();
        assert!(!lease.reused());
        assert_clock(&lease);
        assert_eq!(connections(d), 1);
    }
    let s = pool.stats();
    assert_eq!((s.hits, s.reused, s.created), (6, 0, 6), "{s:?}");
    // Once used and returned, they are.
    let lease = pool.checkout_key(&PoolKey::of(&opts(&f.devices()[0])), None).unwrap();
    assert!(lease.reused());
    drop(lease);
    assert_eq!(pool.stats().reused, 1);
    // The failed hosts' options are known: a checkout by key tries again.
    let auth = &f.devices()[6];
    assert!(matches!(pool.checkout_key(&PoolKey::of(&opts(auth)), None), Err(Error::Auth(_))));
    // A key the pool never saw has nothing to connect with.
    let unknown = PoolKey { username: "nobody".into(), ..PoolKey::of(&opts(auth)) };
    let r = pool.checkout_key(&unknown, None);
    assert!(matches!(&r, Err(Error::Absent(m)) if m.contains("nobody@")), "{r:?}");

    // At most `parallel` connects at a time: 8 devices that greet after 500 ms, 4 at a time, take
    // two rounds (one at a time would take eight, all at once one).
    let late = fleet(vec![faulty("late", 8, Faults { banner_delay_ms: 500, ..Faults::default() })]);
    let targets: Vec<DeviceOptions> = late.devices().iter().map(opts).collect();
    let pool = self::pool(PoolOptions::default());
    let (results, took) = timed(|| pool.prewarm(&targets, 4));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    eprintln!("timing: prewarm of 8 devices with a 500 ms banner delay, 4 at a time: {} ms", took.as_millis());
    assert!(took >= Duration::from_millis(1000), "more than 4 connects at a time: {took:?}");
    assert_within(took, Duration::from_millis(2500), "prewarm in two rounds (one at a time takes 4 s)");
    assert_eq!(pool.stats().idle, 8);
}

#[test]
fn the_counters_follow_a_known_sequence_of_checkouts() {
    let _serial = serial();
    let f = ios(1);
    let d = &f.devices()[0];
    let o = opts(d);
    let pool = pool(limits(2, 8));
    let a = pool.checkout(&o, None).unwrap(); // miss, new
    let b = pool.checkout(&o, None).unwrap(); // miss, new
    let s = pool.stats();
    assert_eq!((s.misses, s.created, s.in_use, s.peak_in_use), (2, 2, 2, 2), "{s:?}");
    let waiter = {
        let (pool, o) = (pool.clone(), o.clone());
        thread::spawn(move || pool.checkout(&o, Some(Duration::from_secs(10))).unwrap().reused())
        // miss, waits
    };
    assert!(wait_for(Duration::from_secs(5), || pool.stats().waits == 1).is_some());
    thread::sleep(Duration::from_millis(50));
    drop(a);
    assert!(waiter.join().unwrap(), "the waiter got A's session");
    drop(b);
    let c = pool.checkout(&o, None).unwrap(); // hit
    assert!(c.reused());
    drop(c);
    let s = pool.stats();
    eprintln!("{s:?}");
    assert_eq!(
        (s.hits, s.misses, s.created, s.reused, s.waits, s.timed_out_waits, s.connect_failures),
        (1, 3, 2, 2, 1, 0, 0),
        "{s:?}"
    );
    assert!(s.wait_time >= Duration::from_millis(50) && s.wait_time < Duration::from_secs(5), "{s:?}");
    assert_eq!((s.in_use, s.idle, s.connecting, s.peak_in_use), (0, 2, 0, 2), "{s:?}");
    assert_eq!(
        (s.evicted_lru, s.evicted_idle, s.evicted_lifetime, s.closed_by_close_all, s.discarded_broken, s.health_checks),
        (0, 0, 0, 0, 0, 0),
        "{s:?}"
    );
    assert_eq!(connections(d), 2);
}

#[test]
fn invalid_limits_are_refused() {
    let _serial = serial();
    for (h, t) in [(0, 1), (1, 0)] {
        let r = Pool::new(limits(h, t));
        assert!(matches!(r, Err(Error::InvalidArg(_))), "{r:?}");
    }
}
