//! `netrig_run_*`: the same steps on many devices with a bounded number of worker threads, and
//! its progress events. The results by host and step are read in `report.rs`.
//!
//! A run handle holds an `Arc` of the C-side run: every call clones it and lets go of the handle
//! table at once, so a `netrig_run_wait` or `netrig_run_next_event` that blocks never holds up
//! `netrig_run_free` or `netrig_run_cancel` on another thread.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use super::args::{options_default, options_or_default, wait_arg, GrowableOptions, Out};
use super::guard::call;
use super::handle::CHandle;
use super::job::netrig_job;
use super::pool::netrig_pool;
use crate::error::{netrig_status, Error, Result};
use crate::run::{
    Action, Event, EventKind, NoEvent, OnFailure, Progress, Run, RunOptions, State, Strategy, DEFAULT_MAX_WORKERS,
};

/// A running or finished run of a job. Create with `netrig_run_start`, free with
/// `netrig_run_free`. The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_run {
    pub id: u64,
}

/// `netrig_run_options.strategy`: each host runs all its steps as fast as it can.
pub const NETRIG_STRATEGY_FREE: u32 = 0;
/// `netrig_run_options.strategy`: step k runs on every host before step k+1 starts on any.
pub const NETRIG_STRATEGY_LINEAR: u32 = 1;

/// `netrig_run_options.on_failure`: a failed step does not stop the host's next steps.
pub const NETRIG_ON_FAILURE_CONTINUE: u32 = 0;
/// `netrig_run_options.on_failure` (the default): a failed step skips the rest of that host's
/// steps; other hosts go on.
pub const NETRIG_ON_FAILURE_SKIP_HOST: u32 = 1;
/// `netrig_run_options.on_failure`: a failed step stops the whole run: steps in flight are
/// cancelled, unstarted ones skipped.
pub const NETRIG_ON_FAILURE_ABORT: u32 = 2;

/// `netrig_event.kind`: a worker took the host.
pub const NETRIG_EVENT_HOST_STARTED: u32 = 1;
/// `netrig_event.kind`: the host's session is open (or checked out); `state` and `status` say
/// whether that worked.
pub const NETRIG_EVENT_CONNECTED: u32 = 2;
/// `netrig_event.kind`: step `step` starts on the host.
pub const NETRIG_EVENT_STEP_STARTED: u32 = 3;
/// `netrig_event.kind`: step `step` ended on the host, with `state` and `status`.
pub const NETRIG_EVENT_STEP_FINISHED: u32 = 4;
/// `netrig_event.kind`: the host is done, with its overall `state` and `status`.
pub const NETRIG_EVENT_HOST_FINISHED: u32 = 5;
/// `netrig_event.kind`: the last event of a run; the results are ready (`host` and `step` -1).
pub const NETRIG_EVENT_RUN_FINISHED: u32 = 6;

/// A state that does not apply (events that end nothing).
pub const NETRIG_STATE_NONE: u32 = 0;
/// Succeeded.
pub const NETRIG_STATE_OK: u32 = 1;
/// Failed (the status says why).
pub const NETRIG_STATE_FAILED: u32 = 2;
/// Its deadline passed.
pub const NETRIG_STATE_TIMED_OUT: u32 = 3;
/// Stopped in flight by `netrig_run_cancel`, `netrig_run_free` or an abort.
pub const NETRIG_STATE_CANCELLED: u32 = 4;
/// Never started (an earlier step failed, or the run was cancelled or aborted first).
pub const NETRIG_STATE_SKIPPED: u32 = 5;

/// How a run goes. Start from `netrig_run_options_default(&o, sizeof o)` and change what you
/// need, so fields added later keep their defaults.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_run_options {
    /// `sizeof` this struct in the caller's netrig.h, set by `netrig_run_options_default(&o,
    /// sizeof o)`. The library reads only that many bytes, so the fields a newer header added
    /// take their defaults for a program built against an older one (OPTIONS in the preamble).
    pub struct_size: usize,
    /// Worker threads at most, and so devices worked on at once (default 128; at least 1). A run
    /// never starts more threads than it has targets.
    pub max_workers: u32,
    /// NETRIG_STRATEGY_FREE (default) or NETRIG_STRATEGY_LINEAR.
    pub strategy: u32,
    /// NETRIG_ON_FAILURE_CONTINUE, NETRIG_ON_FAILURE_SKIP_HOST (default) or
    /// NETRIG_ON_FAILURE_ABORT.
    pub on_failure: u32,
    /// Non-zero: keep every event in a queue for `netrig_run_next_event` (for callers that
    /// cannot take callbacks on foreign threads). Default 0.
    pub events: u8,
}

/// One thing that happened in a run, given to the `netrig_event_fn` callback or by
/// `netrig_run_next_event`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_event {
    /// A NETRIG_EVENT_* value.
    pub kind: u32,
    /// Index of the host in the job's targets (in the order they were added), -1 for
    /// NETRIG_EVENT_RUN_FINISHED.
    pub host: i64,
    /// Index of the step in the job's steps for STEP_STARTED and STEP_FINISHED, else -1.
    pub step: i64,
    /// How the connect, step or host ended (CONNECTED, STEP_FINISHED, HOST_FINISHED): a
    /// NETRIG_STATE_* value; NETRIG_STATE_NONE for the other kinds.
    pub state: u32,
    /// NETRIG_OK, or the status of the failure.
    pub status: netrig_status,
    /// How long what ended took (connect, step, host, run), in microseconds; 0 for the
    /// *_STARTED kinds.
    pub elapsed_us: u64,
    /// The worker that sent the event: its thread is named "netrig-run-<worker>".
    pub worker: u32,
}

/// Called for each event of a run (see `netrig_run_start` for what it may do).
///
/// Ownership: `event` is borrowed for the call only (copy what you keep); `user_data` is the
/// pointer given to `netrig_run_start`, untouched. Blocking: the worker that calls it waits for
/// it, so keep it quick. Thread-safety: called on the run's worker threads, several at once.
#[allow(non_camel_case_types)]
pub type netrig_event_fn = Option<unsafe extern "C" fn(event: *const netrig_event, user_data: *mut c_void)>;

/// A run as C sees it: the core's run plus what C accessors need at any time.
pub(crate) struct CRun {
    pub(super) run: Run,
    /// The name of each target, known from the start.
    pub(super) names: Vec<String>,
    /// Which steps are exec steps (their output's exit status is -1 when they got none).
    pub(super) exec_steps: Vec<bool>,
    /// Runs with a C callback: the identity `IN_CALLBACK` holds while that callback runs.
    callback: Option<Arc<()>>,
}

thread_local! {
    /// The identity of the run whose callback this thread is running (0: none), so that
    /// `netrig_run_wait` from inside that callback fails instead of waiting for itself.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

pub(super) fn state_code(s: State) -> u32 {
    match s {
        State::Ok => NETRIG_STATE_OK,
        State::Failed => NETRIG_STATE_FAILED,
        State::TimedOut => NETRIG_STATE_TIMED_OUT,
        State::Cancelled => NETRIG_STATE_CANCELLED,
        State::Skipped => NETRIG_STATE_SKIPPED,
    }
}

pub(super) fn us(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}

fn index(v: Option<usize>) -> i64 {
    v.map_or(-1, |i| i as i64)
}

impl From<&Event> for netrig_event {
    fn from(e: &Event) -> Self {
        netrig_event {
            kind: match e.kind {
                EventKind::HostStarted => NETRIG_EVENT_HOST_STARTED,
                EventKind::Connected => NETRIG_EVENT_CONNECTED,
                EventKind::StepStarted => NETRIG_EVENT_STEP_STARTED,
                EventKind::StepFinished => NETRIG_EVENT_STEP_FINISHED,
                EventKind::HostFinished => NETRIG_EVENT_HOST_FINISHED,
                EventKind::RunFinished => NETRIG_EVENT_RUN_FINISHED,
            },
            host: index(e.host),
            step: index(e.step),
            state: e.state.map_or(NETRIG_STATE_NONE, state_code),
            status: e.status,
            elapsed_us: us(e.elapsed),
            worker: e.worker.min(u32::MAX as usize) as u32,
        }
    }
}

impl netrig_run_options {
    fn to_options(self) -> Result<RunOptions> {
        if self.max_workers == 0 {
            return Err(Error::InvalidArg("opts.max_workers is 0; a run needs at least one worker".into()));
        }
        let strategy = match self.strategy {
            NETRIG_STRATEGY_FREE => Strategy::Free,
            NETRIG_STRATEGY_LINEAR => Strategy::Linear,
            other => return Err(Error::InvalidArg(format!("opts.strategy {other} is not a NETRIG_STRATEGY_*"))),
        };
        let on_failure = match self.on_failure {
            NETRIG_ON_FAILURE_CONTINUE => OnFailure::Continue,
            NETRIG_ON_FAILURE_SKIP_HOST => OnFailure::SkipHost,
            NETRIG_ON_FAILURE_ABORT => OnFailure::Abort,
            other => return Err(Error::InvalidArg(format!("opts.on_failure {other} is not a NETRIG_ON_FAILURE_*"))),
        };
        Ok(RunOptions { max_workers: self.max_workers as usize, strategy, on_failure, events: self.events != 0 })
    }
}

/// The C callback and its `user_data`, carried to the run's worker threads.
struct EventCallback {
    f: unsafe extern "C" fn(event: *const netrig_event, user_data: *mut c_void),
    user_data: *mut c_void,
    /// The run's identity for `IN_CALLBACK`.
    id: Arc<()>,
}

// SAFETY: `EventCallback` is a C function pointer plus the caller's opaque `user_data`, which
// netrig never dereferences; it only passes it back to `f`. netrig_run_start's documented
// contract makes the caller guarantee that `f` may be called with `user_data` from any thread,
// concurrently from several, until netrig_run_wait has returned NETRIG_OK. See THREAD_SAFETY.md.
unsafe impl Send for EventCallback {}
// SAFETY: as for Send: `&EventCallback` only reads the two pointers; the concurrency of the
// calls is what the caller vouched for.
unsafe impl Sync for EventCallback {}

impl EventCallback {
    fn call(&self, e: &Event) {
        let event = netrig_event::from(e);
        let me = Arc::as_ptr(&self.id) as usize;
        let outer = IN_CALLBACK.try_with(|c| c.replace(me)).unwrap_or(0);
        // SAFETY: `f` is a function of this signature (the caller passed it as one), `event` is
        // a live local for the call, and the caller vouches for `user_data` on any thread until
        // netrig_run_wait returned NETRIG_OK, which it does only after the core's `Run::wait`
        // returned, and that waits for the RUN_FINISHED call to return (netrig_run_start's
        // contract).
        unsafe { (self.f)(&event, self.user_data) };
        let _ = IN_CALLBACK.try_with(|c| c.set(outer));
    }
}

/// Fills `*out` with the run defaults: max_workers 128, NETRIG_STRATEGY_FREE,
/// NETRIG_ON_FAILURE_SKIP_HOST, events 0. `struct_size` is `sizeof *out` (see OPTIONS in the
/// preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this
/// library's struct.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_options_default(out: *mut netrig_run_options, struct_size: usize) -> netrig_status {
    call("netrig_run_options_default", || options_default(out, struct_size))
}

// SAFETY: #[repr(C)], `struct_size: usize` first, and every other field an integer.
unsafe impl GrowableOptions for netrig_run_options {
    const NAME: &'static str = "netrig_run_options";
    fn defaults() -> Self {
        let d = RunOptions::default();
        netrig_run_options {
            struct_size: std::mem::size_of::<netrig_run_options>(),
            max_workers: DEFAULT_MAX_WORKERS as u32,
            strategy: match d.strategy {
                Strategy::Free => NETRIG_STRATEGY_FREE,
                Strategy::Linear => NETRIG_STRATEGY_LINEAR,
            },
            on_failure: match d.on_failure {
                OnFailure::Continue => NETRIG_ON_FAILURE_CONTINUE,
                OnFailure::SkipHost => NETRIG_ON_FAILURE_SKIP_HOST,
                OnFailure::Abort => NETRIG_ON_FAILURE_ABORT,
            },
            events: u8::from(d.events),
        }
    }
}

/// Starts the job's steps on every target of the job and returns at once. The run uses
/// min(max_workers, targets) threads of its own, named "netrig-run-<n>", which take hosts in
/// order; each host gets a session (a checkout of `pool`, or its own, closed at the host's end),
/// runs the steps with their deadlines, and gives the session back. A failure of one host
/// (connect or step) never stops the others, except under NETRIG_ON_FAILURE_ABORT.
///
/// `callback` (may be NULL) is called with each event and `user_data`:
/// - Thread: the run's worker threads ("netrig-run-<event->worker>"), from several at once, so
///   it must be thread-safe, and quick (the worker waits for it). A job with no targets
///   delivers its only event, RUN_FINISHED, on the thread calling `netrig_run_start`, before
///   that returns.
/// - No netrig lock is held while it runs: it may call any netrig function (cancel or free
///   this run, read `netrig_run_host_name`), except `netrig_run_wait` on its own run, which
///   would wait for the callback itself and returns NETRIG_E_INVALID_ARG instead. At
///   NETRIG_EVENT_RUN_FINISHED, the last call, the results can already be read.
/// - `user_data` must stay valid, and the callback callable, until `netrig_run_wait` on this
///   run has returned NETRIG_OK: from then on the callback is never called again (it has
///   returned from RUN_FINISHED). A run freed while running is cancelled but its workers still
///   finish the steps in flight and call the callback until they end; as the handle is gone,
///   nothing tells when. So free a run with a callback only after `netrig_run_wait` returned
///   NETRIG_OK (after `netrig_run_cancel` if you want it to stop), or keep `user_data` valid
///   for the rest of the process. When `netrig_run_start` fails, the callback is not called
///   after it returned.
/// - It may run before `netrig_run_start` has written `*out`. It must not unwind (no C++
///   exception, no longjmp) through netrig.
///
/// Failures: NETRIG_E_INVALID_ARG for options out of range, or a job with pool-key targets
/// and no pool. An empty job is fine (a run that finishes at once); targets without steps
/// only connect.
///
/// Ownership: `job` is borrowed: its targets and steps are copied, so it may be changed or
/// freed at once. `pool` is borrowed (`{0}` = no pool): the run keeps the pool alive until it
/// ends, also after `netrig_pool_free`. `opts` is borrowed (NULL = the defaults). On success
/// `*out` receives a handle the caller frees with `netrig_run_free`.
/// Blocking: never waits for devices; it starts the worker threads.
/// Thread-safety: any thread; a job and a pool may be used by several runs at once.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_start(
    job: netrig_job,
    pool: netrig_pool,
    opts: *const netrig_run_options,
    callback: netrig_event_fn,
    user_data: *mut c_void,
    out: *mut netrig_run,
) -> netrig_status {
    call("netrig_run_start", || {
        let out = Out::new(out, "out")?;
        let (targets, steps) = job.with(|j| {
            let j = j.lock();
            (j.targets.clone(), j.steps.clone())
        })?;
        let pool = if pool.id == 0 { None } else { Some(pool.with(|c| c.pool())?) };
        let opts = options_or_default(opts, "opts")?.to_options()?;
        let callback_id = callback.map(|_| Arc::new(()));
        let progress = callback.zip(callback_id.clone()).map(|(f, id)| {
            let cb = EventCallback { f, user_data, id };
            Arc::new(move |e: &Event| cb.call(e)) as Progress
        });
        let names = targets.iter().map(|t| t.name().to_owned()).collect();
        let exec_steps = steps.iter().map(|s| matches!(s.action, Action::Exec(_))).collect();
        let run = Run::start(targets, steps, opts, pool, progress)?;
        let c = Arc::new(CRun { run, names, exec_steps, callback: callback_id });
        match netrig_run::insert(Arc::clone(&c)) {
            Ok(run) => {
                out.set(run);
                Ok(())
            }
            Err(e) => {
                // No handle to give: stop the run, and keep the promise that the callback is
                // not called after a failed start returns.
                c.run.cancel();
                c.run.wait(None);
                Err(e)
            }
        }
    })
}

/// Waits up to `timeout_ms` for the run to end: NETRIG_OK once it has ended (its results are
/// ready and its callback has returned from its last call, NETRIG_EVENT_RUN_FINISHED, and will
/// not be called again), NETRIG_E_TIMEOUT if it is still running. `timeout_ms` 0 only checks;
/// NETRIG_WAIT_FOREVER waits without limit. NETRIG_E_INVALID_ARG when called from the run's
/// own callback (it would wait for itself).
///
/// Ownership: borrows the handle. Blocking: up to `timeout_ms`. Thread-safety: any thread,
/// several at once; `netrig_run_free` or `netrig_run_cancel` from another thread make it
/// return soon (NETRIG_OK once the cancelled run has ended).
#[no_mangle]
pub extern "C" fn netrig_run_wait(run: netrig_run, timeout_ms: u32) -> netrig_status {
    call("netrig_run_wait", || {
        let c = run.get()?;
        if let Some(id) = &c.callback {
            if IN_CALLBACK.try_with(Cell::get).unwrap_or(0) == Arc::as_ptr(id) as usize {
                return Err(Error::InvalidArg(
                    "called from the run's own event callback, it would wait for that callback to return".into(),
                ));
            }
        }
        let timeout = wait_arg(timeout_ms);
        // The core's wait also waits for the callback to return from RUN_FINISHED.
        let still = || Error::Timeout(format!("the run is still running after {timeout_ms} ms"));
        c.run.wait(timeout).map(drop).ok_or_else(still)
    })
}

/// Cancels the run: steps in flight return NETRIG_E_CANCELLED within about 100 ms (connects in
/// flight finish or time out first), unstarted hosts and steps are skipped. No effect on a
/// finished run. `netrig_run_wait` tells when it has ended.
///
/// Ownership: borrows the handle. Blocking: never. Thread-safety: any thread, including the
/// run's own callback.
#[no_mangle]
pub extern "C" fn netrig_run_cancel(run: netrig_run) -> netrig_status {
    call("netrig_run_cancel", || {
        run.get()?.run.cancel();
        Ok(())
    })
}

/// Takes the next event of a run started with `events` set in its options, waiting up to
/// `timeout_ms` for one (0 = only check, NETRIG_WAIT_FOREVER = no limit). NETRIG_OK with the
/// event in `*out`; NETRIG_E_TIMEOUT when none came in time; NETRIG_E_CLOSED once the run has
/// ended and every event, NETRIG_EVENT_RUN_FINISHED last, was taken; NETRIG_E_INVALID_ARG when
/// the run was started without `events`. Events are kept until taken (the callback, if any,
/// gets them too). With several threads taking events, each event goes to one of them.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: up to `timeout_ms`.
/// Thread-safety: any thread; `netrig_run_free` from another thread does not wait for it.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_next_event(
    run: netrig_run,
    timeout_ms: u32,
    out: *mut netrig_event,
) -> netrig_status {
    call("netrig_run_next_event", || {
        let out = Out::new(out, "out")?;
        let c = run.get()?;
        match c.run.wait_event(wait_arg(timeout_ms)) {
            Ok(e) => {
                out.set(netrig_event::from(&e));
                Ok(())
            }
            Err(NoEvent::TimedOut) => Err(Error::Timeout(format!("no event within {timeout_ms} ms"))),
            Err(NoEvent::Ended) => Err(Error::Closed("the run has ended and all its events were taken".into())),
            Err(NoEvent::NotQueued) => Err(Error::InvalidArg(
                "the run was started without events; set netrig_run_options.events to queue them".into(),
            )),
        }
    })
}

/// Frees a run handle. A run still running is cancelled first (as `netrig_run_cancel`); its
/// workers end in the background, returning their sessions, and may still call the callback
/// until they do (see `netrig_run_start`).
///
/// Ownership: consumes the handle; results read from it (netrig_output objects) stay valid
/// until their own `netrig_output_free`. Blocking: never waits for the run. Thread-safety: any
/// thread, including the run's own callback, and while other threads wait on the run (their
/// `netrig_run_wait` returns NETRIG_OK when the cancelled run has ended).
#[no_mangle]
pub extern "C" fn netrig_run_free(run: netrig_run) -> netrig_status {
    call("netrig_run_free", || {
        // Other threads may hold the run (waiting on it), so dropping the handle's reference
        // alone would not stop it.
        run.with(|c| {
            if !c.run.is_finished() {
                c.run.cancel()
            }
        })?;
        run.remove()
    })
}
