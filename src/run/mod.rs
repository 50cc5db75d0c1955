//! The parallel runner: the same steps on many devices, with a bounded number of threads.
//!
//! A [`Run`] starts `min(max_workers, targets)` OS threads (named `netrig-run-<n>`) that take
//! hosts from a shared counter; there is never a thread per host beyond `max_workers`, and no
//! async runtime. Every step runs with its own deadline on the device's read loop, so a hung
//! device costs one worker its step timeout, never the run. Cancelling (or a failure under
//! [`OnFailure::Abort`]) raises a flag linked to every device in use ([`Device::link_cancel`]),
//! which stops in-flight operations within one read slice; unstarted work is skipped.

mod job;
mod report;
mod worker;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

pub use job::{Action, Endpoint, OnFailure, RunOptions, Step, Strategy, Target, DEFAULT_MAX_WORKERS};
pub use report::{HostResult, Report, State, StepResult, Totals};
use worker::Session;

#[cfg(doc)]
use crate::device::Device;
use crate::error::{netrig_status, Error, Result};
use crate::pool::Pool;

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
            if let Some(t) = targets.iter().find(|t| matches!(t.endpoint, Endpoint::Key(_))) {
                return Err(Error::InvalidArg(format!(
                    "run: target {} is a pool key, but the run has no pool",
                    t.name()
                )));
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
                    name: t.name().to_owned(),
                    data: t.data().clone(),
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
        crate::log!(
            crate::log::Level::Info,
            crate::log::Target::Run,
            None,
            "run started: {} targets, {} steps, {workers} workers, {}",
            shared.targets.len(),
            shared.steps.len(),
            if shared.pool.is_some() { "sessions from a pool" } else { "a session per host" }
        );
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
