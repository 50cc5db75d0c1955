//! The parallel runner: the same steps on many devices, with a bounded number of threads.
//!
//! A [`Run`] starts `min(max_workers, targets)` OS threads (named `netrig-run-<n>`) that take
//! hosts from a shared counter; there is never a thread per host beyond `max_workers`, and no
//! async runtime. Every step runs with its own deadline on the device's read loop, so a hung
//! device costs one worker its step timeout, never the run. Cancelling (or a failure under
//! [`OnFailure::Abort`]) raises a flag linked to every device in use ([`Device::link_cancel`]),
//! which stops in-flight operations within one read slice; unstarted work is skipped.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde::Serialize;

use crate::device::{ConfigOptions, Device, DeviceOptions, Protocol};
use crate::error::{netrig_status, Error, Result};
use crate::pool::{Lease, Pool, PoolKey};

/// A device to run on: options to open it with, or the key of a pool that has seen it.
#[derive(Debug, Clone)]
pub enum Target {
    Options(Box<DeviceOptions>),
    /// Needs a pool that was given the options for this key before (a checkout or prewarm).
    Key(PoolKey),
}

impl Target {
    /// "host:port", as results and events name the host.
    pub fn name(&self) -> String {
        match self {
            Target::Options(o) => format!("{}:{}", o.host, o.port),
            Target::Key(k) => format!("{}:{}", k.host, k.port),
        }
    }

    fn host_port(&self) -> (&str, u16) {
        match self {
            Target::Options(o) => (&o.host, o.port),
            Target::Key(k) => (&k.host, k.port),
        }
    }
}

impl From<DeviceOptions> for Target {
    fn from(o: DeviceOptions) -> Target {
        Target::Options(Box::new(o))
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Command(String),
    Config {
        lines: Vec<String>,
        opts: ConfigOptions,
    },
    /// Succeeds only with exit status 0.
    Exec(String),
    Put {
        local: PathBuf,
        remote: String,
        protocol: Protocol,
    },
    /// `local` may hold `{host}` and `{port}`, replaced per target, so hosts do not overwrite
    /// each other's files.
    Get {
        remote: String,
        local: String,
        protocol: Protocol,
    },
}

/// One step of a job: an action with its own deadline (`None`: the device's default).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    pub timeout: Option<Duration>,
}

impl Step {
    pub fn command(command: &str) -> Step {
        Step { action: Action::Command(command.into()), timeout: None }
    }

    pub fn config(lines: &[&str], opts: ConfigOptions) -> Step {
        Step { action: Action::Config { lines: lines.iter().map(|l| l.to_string()).collect(), opts }, timeout: None }
    }

    pub fn exec(command: &str) -> Step {
        Step { action: Action::Exec(command.into()), timeout: None }
    }

    pub fn put(local: impl Into<PathBuf>, remote: &str, protocol: Protocol) -> Step {
        Step { action: Action::Put { local: local.into(), remote: remote.into(), protocol }, timeout: None }
    }

    pub fn get(remote: &str, local: &str, protocol: Protocol) -> Step {
        Step { action: Action::Get { remote: remote.into(), local: local.into(), protocol }, timeout: None }
    }

    pub fn timeout(mut self, timeout: Duration) -> Step {
        self.timeout = Some(timeout);
        self
    }

    /// "command 'show clock'", as error messages name the step.
    pub fn describe(&self) -> String {
        match &self.action {
            Action::Command(c) => format!("command '{c}'"),
            Action::Config { lines, .. } => format!("config set of {} lines", lines.len()),
            Action::Exec(c) => format!("exec '{c}'"),
            Action::Put { local, remote, .. } => format!("put {} -> {remote}", local.display()),
            Action::Get { remote, local, .. } => format!("get {remote} -> {local}"),
        }
    }
}

/// How steps are ordered across hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Each host runs all its steps as fast as it can, independently of the others.
    #[default]
    Free,
    /// Step k runs on every host before step k+1 starts on any.
    Linear,
}

/// What a failed step does to the rest of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Go on with the host's next step.
    Continue,
    /// Skip the host's remaining steps; other hosts go on.
    #[default]
    SkipHost,
    /// Stop the whole run: in-flight steps are cancelled, unstarted ones skipped.
    Abort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads at most (and so devices worked on at once).
    pub max_workers: usize,
    pub strategy: Strategy,
    pub on_failure: OnFailure,
    /// Keep every event in a queue for [`Run::next_event`] (for callers that cannot take
    /// callbacks on foreign threads).
    pub events: bool,
}

/// Devices answer in milliseconds, so a worker mostly waits: with 5 ms of device latency, 500
/// devices took 537 ms with 32 workers and 162 ms with 128 (`cargo bench --bench run`); on a
/// loopback fleet with no latency 128 costs about the same as the best (8-16). Threads are
/// created per run, at most one per target.
pub const DEFAULT_MAX_WORKERS: usize = 128;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_workers: DEFAULT_MAX_WORKERS,
            strategy: Strategy::Free,
            on_failure: OnFailure::SkipHost,
            events: false,
        }
    }
}

/// How a step (or a host, or the connect) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Failed,
    TimedOut,
    /// Stopped in flight by a cancel or an abort.
    Cancelled,
    /// Never started.
    Skipped,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Failed => "failed",
            State::TimedOut => "timed_out",
            State::Cancelled => "cancelled",
            State::Skipped => "skipped",
        }
    }

    fn of(e: &Error) -> State {
        match e {
            Error::Timeout(_) => State::TimedOut,
            Error::Cancelled(_) => State::Cancelled,
            _ => State::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub state: State,
    /// NETRIG_OK, or the status of the error.
    pub status: netrig_status,
    /// The command's output (exec: stdout; transfers: a byte count).
    pub output: String,
    /// exec only.
    pub stderr: String,
    /// exec only.
    pub exit_status: Option<i32>,
    /// Empty when the step succeeded; else names the host, the step and the cause.
    pub error: String,
    pub duration: Duration,
}

impl StepResult {
    fn skipped(why: &str) -> StepResult {
        StepResult {
            state: State::Skipped,
            status: netrig_status::NETRIG_OK,
            output: String::new(),
            stderr: String::new(),
            exit_status: None,
            error: why.into(),
            duration: Duration::ZERO,
        }
    }

    fn ok(output: String, duration: Duration) -> StepResult {
        StepResult { state: State::Ok, error: String::new(), ..StepResult::skipped("") }.with(output, duration)
    }

    fn with(mut self, output: String, duration: Duration) -> StepResult {
        self.output = output;
        self.duration = duration;
        self
    }

    fn failed(e: &Error, prefix: &str, duration: Duration) -> StepResult {
        StepResult {
            state: State::of(e),
            status: e.status(),
            error: format!("{prefix}: {e}"),
            duration,
            ..StepResult::skipped("")
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostResult {
    /// "host:port".
    pub name: String,
    /// Ok when the connect and every step succeeded; else the state of the first failure (or
    /// Skipped when the host never started, Cancelled when a cancel stopped it).
    pub state: State,
    /// Opening the session (or checking it out of the pool).
    pub connect: StepResult,
    pub steps: Vec<StepResult>,
    pub duration: Duration,
}

/// Hosts (or steps) by how they ended. Serializes as the `totals` objects of
/// [`Report::to_json`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub succeeded: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub cancelled: usize,
    pub skipped: usize,
}

impl Totals {
    fn add(&mut self, state: State) {
        match state {
            State::Ok => self.succeeded += 1,
            State::Failed => self.failed += 1,
            State::TimedOut => self.timed_out += 1,
            State::Cancelled => self.cancelled += 1,
            State::Skipped => self.skipped += 1,
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub hosts: Vec<HostResult>,
    /// By host.
    pub totals: Totals,
    /// By step, over all hosts.
    pub step_totals: Totals,
    pub wall: Duration,
    pub cancelled: bool,
    /// Why an [`OnFailure::Abort`] run stopped.
    pub aborted: Option<String>,
}

impl Report {
    /// Hosts that failed or timed out.
    pub fn failed_hosts(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| matches!(h.state, State::Failed | State::TimedOut))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// The report as one JSON object: `wall_ms`, `cancelled`, `aborted` (the reason or null),
    /// `totals` and `step_totals` ([`Totals`]' fields), `failed_hosts` (names, as
    /// [`Report::failed_hosts`]) and `hosts`: `name`, `state`, `duration_ms`, `connect` and
    /// `steps` (`state`, `status` as its NETRIG_ name, `error`, `output`, `stderr`,
    /// `exit_status` or null, `duration_ms`). Durations are milliseconds as numbers rounded to
    /// the microsecond (`1234.567`, `0.0`). Texts keep every character (device output that was
    /// not UTF-8 was already replaced with U+FFFD when it became a `String`); JSON escapes what
    /// it must.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Doc<'a> {
            wall_ms: f64,
            cancelled: bool,
            aborted: Option<&'a str>,
            totals: &'a Totals,
            step_totals: &'a Totals,
            failed_hosts: Vec<&'a str>,
            hosts: Vec<HostJson<'a>>,
        }
        crate::json::to_string(&Doc {
            wall_ms: millis(self.wall),
            cancelled: self.cancelled,
            aborted: self.aborted.as_deref(),
            totals: &self.totals,
            step_totals: &self.step_totals,
            failed_hosts: self.failed_hosts(),
            hosts: self
                .hosts
                .iter()
                .map(|h| HostJson {
                    name: &h.name,
                    state: h.state.name(),
                    duration_ms: millis(h.duration),
                    connect: StepJson::of(&h.connect),
                    steps: h.steps.iter().map(StepJson::of).collect(),
                })
                .collect(),
        })
    }
}

#[derive(Serialize)]
struct HostJson<'a> {
    name: &'a str,
    state: &'static str,
    duration_ms: f64,
    connect: StepJson<'a>,
    steps: Vec<StepJson<'a>>,
}

#[derive(Serialize)]
struct StepJson<'a> {
    state: &'static str,
    status: &'static str,
    error: &'a str,
    output: &'a str,
    stderr: &'a str,
    exit_status: Option<i32>,
    duration_ms: f64,
}

impl StepJson<'_> {
    fn of(s: &StepResult) -> StepJson<'_> {
        StepJson {
            state: s.state.name(),
            status: s.status.name().to_str().unwrap_or("?"),
            error: &s.error,
            output: &s.output,
            stderr: &s.stderr,
            exit_status: s.exit_status,
            duration_ms: millis(s.duration),
        }
    }
}

/// `d` in milliseconds, rounded to the microsecond, so that the JSON number reads like
/// `1234.567` rather than a binary fraction's 17 digits.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// What happened, as the run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    HostStarted,
    /// The session is open (or checked out); `state` says whether it worked.
    Connected,
    StepStarted,
    StepFinished,
    HostFinished,
    /// The last event of a run.
    RunFinished,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// Index into the job's targets (None for RunFinished).
    pub host: Option<usize>,
    /// Index into the job's steps (StepStarted, StepFinished).
    pub step: Option<usize>,
    /// How the connect, step or host ended (Connected, StepFinished, HostFinished).
    pub state: Option<State>,
    pub status: netrig_status,
    /// Duration of what ended (connect, step, host, run).
    pub elapsed: Duration,
    /// The worker thread that sent the event: `netrig-run-<worker>`.
    pub worker: usize,
}

/// Called on the worker thread that produced the event, never under a netrig lock. It must
/// not block for long: the worker waits for it. Every call has returned by the time
/// [`Run::wait`] returns the report (RunFinished is the last).
pub type Progress = Arc<dyn Fn(&Event) + Send + Sync>;

#[derive(Default)]
struct Finish {
    report: Option<Arc<Report>>,
    ended: bool,
}

/// Events not yet taken, and whether RunFinished is among those sent.
#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    ended: bool,
}

/// A session in use by a worker: opened by the run, or lent by a pool.
enum Session {
    Owned(Box<Device>),
    Leased(Lease),
}

impl std::ops::Deref for Session {
    type Target = Device;
    fn deref(&self) -> &Device {
        match self {
            Session::Owned(d) => d,
            Session::Leased(l) => l,
        }
    }
}

struct Shared {
    targets: Vec<Target>,
    steps: Vec<Step>,
    opts: RunOptions,
    pool: Option<Arc<Pool>>,
    /// Raised by cancel or abort; linked to every device in use.
    stop: Arc<AtomicBool>,
    cancelled: AtomicBool,
    aborted: Mutex<Option<String>>,
    hosts: Vec<Mutex<HostResult>>,
    /// Linear: sessions kept between steps (runs without a pool).
    sessions: Vec<Mutex<Option<Session>>>,
    /// Next host to take, per phase (Free has one phase).
    next: Vec<AtomicUsize>,
    /// Linear: next host whose leftover session to close after the last phase.
    cleanup: AtomicUsize,
    barrier: Barrier,
    progress: Option<Progress>,
    queue: Option<(Mutex<Queue>, Condvar)>,
    workers_left: AtomicUsize,
    /// The report once built, and whether the run has ended (the RunFinished callback returned).
    report: Mutex<Finish>,
    done: Condvar,
    started: Instant,
}

/// A running (or finished) job. Dropping it cancels the run without waiting for it.
pub struct Run {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("targets", &self.shared.targets.len())
            .field("steps", &self.shared.steps.len())
            .finish()
    }
}

impl Run {
    /// Starts `steps` on every target and returns at once. `pool`: take sessions from it (and
    /// return them); without one every host gets a session of its own, closed at its end.
    pub fn start(
        targets: Vec<Target>,
        steps: Vec<Step>,
        opts: RunOptions,
        pool: Option<Arc<Pool>>,
        progress: Option<Progress>,
    ) -> Result<Run> {
        if opts.max_workers == 0 {
            return Err(Error::InvalidArg("run: max_workers must be at least 1".into()));
        }
        if pool.is_none() {
            if let Some(Target::Key(k)) = targets.iter().find(|t| matches!(t, Target::Key(_))) {
                return Err(Error::InvalidArg(format!("run: target {k} is a pool key, but the run has no pool")));
            }
        }
        let workers = opts.max_workers.min(targets.len());
        let phases = match opts.strategy {
            Strategy::Free => 1,
            Strategy::Linear => steps.len().max(1),
        };
        let hosts = targets
            .iter()
            .map(|t| {
                Mutex::new(HostResult {
                    name: t.name(),
                    state: State::Skipped,
                    connect: StepResult::skipped("not started"),
                    steps: steps.iter().map(|_| StepResult::skipped("not started")).collect(),
                    duration: Duration::ZERO,
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            sessions: targets.iter().map(|_| Mutex::new(None)).collect(),
            targets,
            steps,
            opts,
            pool,
            stop: Arc::new(AtomicBool::new(false)),
            cancelled: AtomicBool::new(false),
            aborted: Mutex::new(None),
            hosts,
            next: (0..phases).map(|_| AtomicUsize::new(0)).collect(),
            cleanup: AtomicUsize::new(0),
            barrier: Barrier::new(workers.max(1)),
            progress,
            queue: opts.events.then(|| (Mutex::new(Queue::default()), Condvar::new())),
            workers_left: AtomicUsize::new(workers),
            report: Mutex::new(Finish::default()),
            done: Condvar::new(),
            started: Instant::now(),
        });
        if workers == 0 {
            shared.finish(0);
        }
        for w in 0..workers {
            let s = Arc::clone(&shared);
            let spawned = std::thread::Builder::new().name(format!("netrig-run-{w}")).spawn(move || s.work(w));
            if let Err(e) = spawned {
                // The workers already started do all the work; the missing ones just never come.
                shared.stop.store(true, Ordering::SeqCst);
                for _ in w..workers {
                    shared.worker_done(w);
                }
                return Err(Error::Io(format!("run: cannot start worker thread {w}: {e}")));
            }
        }
        Ok(Run { shared })
    }

    /// Starts a run and waits for its report.
    pub fn run(
        targets: Vec<Target>,
        steps: Vec<Step>,
        opts: RunOptions,
        pool: Option<Arc<Pool>>,
        progress: Option<Progress>,
    ) -> Result<Arc<Report>> {
        let run = Run::start(targets, steps, opts, pool, progress)?;
        Ok(run.wait(None).expect("a run without a deadline ends with a report"))
    }

    /// Stops the run from any thread: in-flight steps return Cancelled within one read slice
    /// (connects in flight finish or time out first), unstarted work is skipped. Returns at
    /// once; `wait` for the report.
    pub fn cancel(&self) {
        self.shared.cancelled.store(true, Ordering::SeqCst);
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// Waits up to `timeout` (forever with `None`) for the run to end: every worker done and
    /// the last progress callback returned.
    pub fn wait(&self, timeout: Option<Duration>) -> Option<Arc<Report>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut finish = self.shared.report.lock();
        while !finish.ended {
            match deadline {
                Some(d) => {
                    if self.shared.done.wait_until(&mut finish, d).timed_out() {
                        return None;
                    }
                }
                None => self.shared.done.wait(&mut finish),
            }
        }
        finish.report.clone()
    }

    pub fn is_finished(&self) -> bool {
        self.shared.report.lock().ended
    }

    /// The report as soon as the last worker has built it: also inside the RunFinished
    /// callback, where [`Run::wait`] would wait for the callback itself.
    pub fn report(&self) -> Option<Arc<Report>> {
        self.shared.report.lock().report.clone()
    }

    /// The next event of a run started with `events: true`, waiting up to `timeout` for one.
    /// `None` when none came in time, or when the run has ended and every event was taken
    /// (tell them apart with [`Run::is_finished`]), or when events were not asked for.
    pub fn next_event(&self, timeout: Duration) -> Option<Event> {
        self.wait_event(Some(timeout)).ok()
    }

    /// The next event of a run started with `events: true`, waiting up to `timeout` (None: no
    /// limit) for one, or why there is none. Decided under the queue's lock, so that of several
    /// threads waiting when the run ends, the one that does not get the last event learns
    /// [`NoEvent::Ended`] too.
    pub fn wait_event(&self, timeout: Option<Duration>) -> std::result::Result<Event, NoEvent> {
        let (queue, cond) = self.shared.queue.as_ref().ok_or(NoEvent::NotQueued)?;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut q = queue.lock();
        loop {
            if let Some(e) = q.events.pop_front() {
                return Ok(e);
            }
            if q.ended {
                return Err(NoEvent::Ended);
            }
            match deadline {
                Some(at) if cond.wait_until(&mut q, at).timed_out() => {
                    return q.events.pop_front().ok_or(if q.ended { NoEvent::Ended } else { NoEvent::TimedOut })
                }
                Some(_) => {}
                None => cond.wait(&mut q),
            }
        }
    }
}

/// Why [`Run::wait_event`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoEvent {
    /// None came within the timeout; the run goes on.
    TimedOut,
    /// The run has ended and every event, [`EventKind::RunFinished`] last, was taken.
    Ended,
    /// The run was started without `events`.
    NotQueued,
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.is_finished() {
            self.cancel();
        }
    }
}

impl Shared {
    fn emit(&self, e: Event) {
        self.call_back(&e);
        self.enqueue(e);
    }

    fn call_back(&self, e: &Event) {
        if let Some(progress) = &self.progress {
            // A panicking callback must not take the worker (and the run's end) with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| progress(e)));
        }
    }

    fn enqueue(&self, e: Event) {
        if let Some((queue, cond)) = &self.queue {
            let mut q = queue.lock();
            q.ended |= e.kind == EventKind::RunFinished;
            q.events.push_back(e);
            drop(q);
            cond.notify_all();
        }
    }

    fn event(
        &self,
        kind: EventKind,
        host: usize,
        step: Option<usize>,
        state: Option<(State, netrig_status)>,
        elapsed: Duration,
        worker: usize,
    ) {
        let (state, status) = match state {
            Some((s, st)) => (Some(s), st),
            None => (None, netrig_status::NETRIG_OK),
        };
        self.emit(Event { kind, host: Some(host), step, state, status, elapsed, worker });
    }

    fn work(&self, w: usize) {
        match self.opts.strategy {
            Strategy::Free => loop {
                let i = self.next[0].fetch_add(1, Ordering::Relaxed);
                if i >= self.targets.len() || self.stop.load(Ordering::SeqCst) {
                    break;
                }
                self.guarded(i, w, || self.run_host(i, w));
            },
            Strategy::Linear => {
                for k in 0..self.next.len() {
                    loop {
                        let i = self.next[k].fetch_add(1, Ordering::Relaxed);
                        if i >= self.targets.len() || self.stop.load(Ordering::SeqCst) {
                            break;
                        }
                        self.guarded(i, w, || self.linear_step(i, k, w));
                    }
                    self.barrier.wait();
                }
                // After a cancel or abort, sessions of hosts that did not reach the last step
                // are still open: close them and settle those hosts.
                loop {
                    let i = self.cleanup.fetch_add(1, Ordering::Relaxed);
                    if i >= self.targets.len() {
                        break;
                    }
                    let session = self.sessions[i].lock().take();
                    if let Some(session) = session {
                        self.release(session);
                        let took = self.hosts[i].lock().duration;
                        self.finish_host(i, took, w);
                    }
                }
            }
        }
        self.worker_done(w);
    }

    /// Runs a host's work so that a panic (a bug in netrig) fails that host instead of leaving
    /// the run without its worker.
    fn guarded(&self, i: usize, w: usize, f: impl FnOnce()) {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            let e = Error::Panic(crate::error::panic_text(&*panic));
            let mut h = self.hosts[i].lock();
            h.connect = StepResult::failed(&e, &self.targets[i].name(), Duration::ZERO);
            drop(h);
            self.sessions[i].lock().take();
            self.finish_host(i, Duration::ZERO, w);
        }
    }

    fn worker_done(&self, w: usize) {
        if self.workers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.finish(w);
        }
    }

    /// Opens the host's session: a pool checkout, or a device of its own.
    fn connect(&self, i: usize, w: usize) -> Option<Session> {
        let start = Instant::now();
        let target = &self.targets[i];
        let result = match (&self.pool, target) {
            // A wait in the pool ends when the run is cancelled.
            (Some(pool), Target::Options(o)) => {
                pool.checkout_or_stop(&PoolKey::of(o), Some(o), None, &self.stop).map(Session::Leased)
            }
            (Some(pool), Target::Key(k)) => pool.checkout_or_stop(k, None, None, &self.stop).map(Session::Leased),
            (None, Target::Options(o)) => Device::open(o).map(|d| Session::Owned(Box::new(d))),
            (None, Target::Key(_)) => unreachable!("checked by Run::start"),
        };
        let elapsed = start.elapsed();
        let (connect, session) = match result {
            Ok(s) => {
                s.link_cancel(Some(Arc::clone(&self.stop)));
                (StepResult::ok(String::new(), elapsed), Some(s))
            }
            Err(e) => {
                let failed = StepResult::failed(&e, &format!("{}: connect", target.name()), elapsed);
                // A host that cannot be reached is a failure like a failed step; under the
                // other policies it simply has nothing left to run.
                if self.opts.on_failure == OnFailure::Abort && failed.state != State::Cancelled {
                    self.abort(failed.error.clone());
                }
                (failed, None)
            }
        };
        let ev = (connect.state, connect.status);
        self.hosts[i].lock().connect = connect;
        self.event(EventKind::Connected, i, None, Some(ev), elapsed, w);
        session
    }

    /// Gives the session back (or closes it) without the run's cancel flag.
    fn release(&self, session: Session) {
        session.link_cancel(None);
        drop(session);
    }

    /// Free strategy: all of one host's steps.
    fn run_host(&self, i: usize, w: usize) {
        let start = Instant::now();
        self.event(EventKind::HostStarted, i, None, None, Duration::ZERO, w);
        if let Some(session) = self.connect(i, w) {
            for k in 0..self.steps.len() {
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                if !self.step(&session, i, k, w) {
                    break;
                }
            }
            self.release(session);
        }
        self.finish_host(i, start.elapsed(), w);
    }

    /// Linear strategy: step `k` of host `i`, opening its session first at step 0. Between
    /// steps the session waits in the host's slot (no lock is held while a step runs).
    fn linear_step(&self, i: usize, k: usize, w: usize) {
        let session = if k == 0 {
            self.event(EventKind::HostStarted, i, None, None, Duration::ZERO, w);
            let start = Instant::now();
            let session = self.connect(i, w);
            self.hosts[i].lock().duration = start.elapsed();
            session
        } else {
            self.sessions[i].lock().take()
        };
        let Some(session) = session else {
            if k == 0 {
                let took = self.hosts[i].lock().duration;
                self.finish_host(i, took, w);
            }
            return;
        };
        let start = Instant::now();
        let go_on = self.steps.is_empty() || self.step(&session, i, k, w);
        let took = {
            let mut h = self.hosts[i].lock();
            h.duration += start.elapsed();
            h.duration
        };
        if go_on && k + 1 < self.next.len() {
            *self.sessions[i].lock() = Some(session);
        } else {
            self.release(session);
            self.finish_host(i, took, w);
        }
    }

    /// Runs step `k` on host `i`; false when the host should stop (per the failure policy).
    fn step(&self, dev: &Device, i: usize, k: usize, w: usize) -> bool {
        let step = &self.steps[k];
        self.event(EventKind::StepStarted, i, Some(k), None, Duration::ZERO, w);
        let start = Instant::now();
        let prefix = format!("{} step {} ({})", self.targets[i].name(), k + 1, step.describe());
        let result = match self.perform(dev, step, &self.targets[i]) {
            Ok(r) => r,
            Err(e) => StepResult::failed(&e, &prefix, Duration::ZERO),
        };
        let result = StepResult { duration: start.elapsed(), ..result };
        let failed = result.state != State::Ok;
        let ev = (result.state, result.status);
        let error = result.error.clone();
        self.hosts[i].lock().steps[k] = result;
        self.event(EventKind::StepFinished, i, Some(k), Some(ev), start.elapsed(), w);
        if !failed {
            return true;
        }
        match self.opts.on_failure {
            OnFailure::Continue => true,
            OnFailure::SkipHost => false,
            OnFailure::Abort => {
                self.abort(if error.is_empty() { prefix } else { error });
                false
            }
        }
    }

    /// Stops the run because of `why` (the first failure under [`OnFailure::Abort`]).
    fn abort(&self, why: String) {
        let mut aborted = self.aborted.lock();
        if aborted.is_none() && !self.cancelled.load(Ordering::SeqCst) {
            *aborted = Some(why);
        }
        drop(aborted);
        self.stop.store(true, Ordering::SeqCst);
    }

    fn perform(&self, dev: &Device, step: &Step, target: &Target) -> Result<StepResult> {
        let t = step.timeout;
        Ok(match &step.action {
            Action::Command(c) => StepResult::ok(dev.send_command(c, t)?.text, Duration::ZERO),
            Action::Config { lines, opts } => {
                let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
                StepResult::ok(dev.send_config_set(&lines, *opts, t)?.text, Duration::ZERO)
            }
            Action::Exec(c) => {
                let out = dev.exec(c, t)?;
                let mut r = StepResult::ok(String::from_utf8_lossy(&out.stdout).into_owned(), Duration::ZERO);
                r.stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                r.exit_status = Some(out.exit_status);
                if out.exit_status != 0 {
                    r.state = State::Failed;
                    r.status = netrig_status::NETRIG_E_COMMAND;
                    r.error = format!("{}: exec '{c}' exited with status {}", dev.name(), out.exit_status);
                }
                r
            }
            Action::Put { local, remote, protocol } => {
                let done = dev.put_file(local, remote, *protocol, None, t)?;
                StepResult::ok(format!("{} bytes", done.bytes), Duration::ZERO)
            }
            Action::Get { remote, local, protocol } => {
                let (host, port) = target.host_port();
                let local = local.replace("{host}", host).replace("{port}", &port.to_string());
                let done = dev.get_file(remote, std::path::Path::new(&local), *protocol, None, t)?;
                StepResult::ok(format!("{} bytes", done.bytes), Duration::ZERO)
            }
        })
    }

    /// Settles the host's state and the steps it never ran, and says so.
    fn finish_host(&self, i: usize, took: Duration, w: usize) {
        let (state, status, took) = {
            let mut h = self.hosts[i].lock();
            let why = if self.cancelled.load(Ordering::SeqCst) {
                "not run: the run was cancelled"
            } else if self.aborted.lock().is_some() {
                "not run: the run was aborted"
            } else if h.connect.state != State::Ok {
                "not run: the connect failed"
            } else {
                "not run: an earlier step of this host failed"
            };
            for s in h.steps.iter_mut().filter(|s| s.state == State::Skipped) {
                s.error = why.into();
            }
            let first_bad = std::iter::once(&h.connect).chain(h.steps.iter()).find(|s| s.state != State::Ok);
            let (state, status) = match first_bad {
                None => (State::Ok, netrig_status::NETRIG_OK),
                // A cancel that stopped no step of this host still cut its work short.
                Some(s) if s.state == State::Skipped => (State::Cancelled, netrig_status::NETRIG_E_CANCELLED),
                Some(s) => (s.state, s.status),
            };
            h.state = state;
            h.duration = took;
            (state, status, took)
        };
        self.event(EventKind::HostFinished, i, None, Some((state, status)), took, w);
    }

    /// Builds the report (the last worker does), then says RunFinished.
    fn finish(&self, w: usize) {
        let hosts: Vec<HostResult> = self
            .hosts
            .iter()
            .map(|h| {
                let mut h = h.lock().clone();
                if h.connect.state == State::Skipped {
                    let why = if self.cancelled.load(Ordering::SeqCst) {
                        "not started: the run was cancelled"
                    } else {
                        "not started: the run was aborted"
                    };
                    h.connect.error = why.into();
                    for s in &mut h.steps {
                        s.error = why.into();
                    }
                }
                h
            })
            .collect();
        let mut totals = Totals::default();
        let mut step_totals = Totals::default();
        for h in &hosts {
            totals.add(h.state);
            for s in &h.steps {
                step_totals.add(s.state);
            }
        }
        let wall = self.started.elapsed();
        let report = Arc::new(Report {
            hosts,
            totals,
            step_totals,
            wall,
            cancelled: self.cancelled.load(Ordering::SeqCst),
            aborted: self.aborted.lock().clone(),
        });
        let event = Event {
            kind: EventKind::RunFinished,
            host: None,
            step: None,
            state: None,
            status: netrig_status::NETRIG_OK,
            elapsed: wall,
            worker: w,
        };
        // The report is readable from the RunFinished callback (`Run::report`) ...
        self.report.lock().report = Some(report);
        // ... and that last callback returns before `wait` does: a C caller frees its user_data
        // then.
        self.call_back(&event);
        // RunFinished joins the stream as the run ends, so that a reader who took it sees
        // `is_finished`, and one who sees `is_finished` finds it queued.
        let mut finish = self.report.lock();
        finish.ended = true;
        self.enqueue(event);
        drop(finish);
        self.done.notify_all();
    }
}
