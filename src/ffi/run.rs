//! `netrig_job_*` and `netrig_run_*`: the same steps on many devices with a bounded number of
//! worker threads, progress events, and the results by host and step.
//!
//! A job is a list of targets and steps built under its own mutex; `netrig_run_start` copies it,
//! so one job can start many runs and be changed or freed while they run. A run handle holds an
//! `Arc` of the C-side run: every call clones it and lets go of the handle table at once, so a
//! `netrig_run_wait` or `netrig_run_next_event` that blocks never holds up `netrig_run_free` or
//! `netrig_run_cancel` on another thread.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::args::str_array;
use super::args::{options_default, options_or_default, GrowableOptions};
use super::args::{str_arg, timeout_or_default, wait_arg, write_buf, Out};
use super::device::{config_options, netrig_device_options, netrig_output, protocol, COutput};
use super::guard::call;
use super::handle::CHandle;
use super::pool::{netrig_pool, read_device_options, read_key};
use crate::error::{netrig_status, Error, Result};
use crate::run::{
    Action, Event, EventKind, HostResult, NoEvent, OnFailure, Progress, Report, Run, RunOptions, State, Step,
    StepResult, Strategy, Target, Totals, DEFAULT_MAX_WORKERS,
};

/// A list of targets and steps to run. Create with `netrig_job_new`, free with
/// `netrig_job_free`. The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_job {
    pub id: u64,
}

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

/// The outcome of a finished run, counted by host and by step.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct netrig_run_totals {
    /// Targets in the run.
    pub hosts: usize,
    /// Hosts whose connect and every step succeeded.
    pub succeeded: usize,
    /// Hosts whose first failure was a failure (not a timeout).
    pub failed: usize,
    /// Hosts whose first failure was a timeout.
    pub timed_out: usize,
    /// Hosts cut short by a cancel or an abort.
    pub cancelled: usize,
    /// Hosts never started.
    pub skipped: usize,
    /// Steps over all hosts, by how they ended.
    pub steps_succeeded: usize,
    pub steps_failed: usize,
    pub steps_timed_out: usize,
    pub steps_cancelled: usize,
    pub steps_skipped: usize,
    /// Wall time of the run, in microseconds.
    pub wall_us: u64,
    /// 1 when the run was cancelled (`netrig_run_cancel` or `netrig_run_free`). (Not
    /// `cancelled`, which counts hosts.)
    pub run_cancelled: u8,
    /// 1 when a failure stopped the run under NETRIG_ON_FAILURE_ABORT; `netrig_run_json` has the
    /// reason.
    pub run_aborted: u8,
}

/// How one host of a finished run went.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_host_result {
    /// NETRIG_STATE_OK when the connect and every step succeeded; else the state of the first
    /// failure (NETRIG_STATE_SKIPPED when the host never started, NETRIG_STATE_CANCELLED when a
    /// cancel or abort cut it short).
    pub state: u32,
    /// The status of that first failure (NETRIG_E_CANCELLED for a host cut short), or NETRIG_OK.
    pub status: netrig_status,
    /// Time spent on the host, in microseconds.
    pub duration_us: u64,
    /// How opening (or checking out) the session ended: a NETRIG_STATE_* value.
    pub connect_state: u32,
    pub connect_status: netrig_status,
    /// Steps of the job (each has a result, also when skipped).
    pub steps: usize,
}

/// How one step of one host went.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_step_result {
    /// A NETRIG_STATE_* value.
    pub state: u32,
    /// NETRIG_OK, or the failure's status (an exec step that exits non-zero is
    /// NETRIG_E_COMMAND).
    pub status: netrig_status,
    /// Exec steps: the command's exit status; -1 for other steps or when there was none.
    pub exit_status: i32,
    /// In microseconds.
    pub duration_us: u64,
}

#[derive(Default)]
pub(crate) struct JobSpec {
    targets: Vec<Target>,
    steps: Vec<Step>,
}

/// A run as C sees it: the core's run plus what C accessors need at any time.
pub(crate) struct CRun {
    run: Run,
    /// "host:port" of each target, known from the start.
    names: Vec<String>,
    /// Which steps are exec steps (their output's exit status is -1 when they got none).
    exec_steps: Vec<bool>,
    /// Runs with a C callback: the identity `IN_CALLBACK` holds while that callback runs.
    callback: Option<Arc<()>>,
}

thread_local! {
    /// The identity of the run whose callback this thread is running (0: none), so that
    /// `netrig_run_wait` from inside that callback fails instead of waiting for itself.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

fn state_code(s: State) -> u32 {
    match s {
        State::Ok => NETRIG_STATE_OK,
        State::Failed => NETRIG_STATE_FAILED,
        State::TimedOut => NETRIG_STATE_TIMED_OUT,
        State::Cancelled => NETRIG_STATE_CANCELLED,
        State::Skipped => NETRIG_STATE_SKIPPED,
    }
}

fn us(d: Duration) -> u64 {
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

fn add_step(job: netrig_job, step: Step) -> Result<()> {
    job.with(|j| j.lock().steps.push(step))
}

fn add_target(job: netrig_job, target: Target) -> Result<()> {
    job.with(|j| j.lock().targets.push(target))
}

fn step_timeout(step: Step, timeout_ms: u32) -> Step {
    match timeout_or_default(timeout_ms) {
        Some(t) => step.timeout(t),
        None => step,
    }
}

/// Creates an empty job: add targets (`netrig_job_add_target*`) and steps
/// (`netrig_job_add_command`, ...), then start it with `netrig_run_start`, as often as you like.
///
/// Ownership: on success `*out` receives a handle the caller frees with `netrig_job_free`.
/// Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_new(out: *mut netrig_job) -> netrig_status {
    call("netrig_job_new", || {
        let out = Out::new(out, "out")?;
        out.set(netrig_job::insert(Mutex::new(JobSpec::default()))?);
        Ok(())
    })
}

/// Frees a job. Runs started from it are unaffected (each has its own copy).
///
/// Ownership: consumes the handle. Blocking: until calls on the job in other threads return
/// (microseconds). Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_job_free(job: netrig_job) -> netrig_status {
    call("netrig_job_free", || job.remove())
}

/// Adds a device to run on; a run opens its session with these options (or checks one out of
/// the run's pool). Hosts are numbered from 0 in the order they are added. The options are
/// checked now (NETRIG_E_INVALID_ARG, NETRIG_E_NULL_ARG, NETRIG_E_UTF8 as for
/// `netrig_device_open`); nothing is connected.
///
/// Ownership: `opts` and its strings are borrowed for the call; the job keeps copies
/// (passwords and secrets are wiped when the job and its runs are freed).
/// Blocking: never. Thread-safety: any thread; a job may be built from several threads.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_target(job: netrig_job, opts: *const netrig_device_options) -> netrig_status {
    call("netrig_job_add_target", || {
        job.with(|_| ())?;
        let opts = read_device_options(opts, "opts")?;
        add_target(job, Target::from(opts))
    })
}

/// Adds a device by pool key: the run checks a session out of its pool with the options the
/// pool has for (host, port, username, platform) from an earlier `netrig_pool_checkout` or
/// `netrig_pool_prewarm`. `platform` NULL means "generic". A run of such a job needs a pool
/// (`netrig_run_start` returns NETRIG_E_INVALID_ARG without one); a key the pool never saw
/// fails that host with NETRIG_E_NOT_FOUND.
///
/// Ownership: the strings are borrowed for the call and copied. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_target_key(
    job: netrig_job,
    host: *const c_char,
    port: u16,
    username: *const c_char,
    platform: *const c_char,
) -> netrig_status {
    call("netrig_job_add_target_key", || {
        job.with(|_| ())?;
        let key = read_key(host, port, username, platform)?;
        add_target(job, Target::Key(key))
    })
}

/// Adds a step that sends `command` and reads until the prompt (as
/// `netrig_device_send_command`; its output is the step's output).
/// `timeout_ms`: the step's deadline (0 = the device's timeout_ms).
///
/// Ownership: `command` is borrowed and copied. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_command(
    job: netrig_job,
    command: *const c_char,
    timeout_ms: u32,
) -> netrig_status {
    call("netrig_job_add_command", || {
        job.with(|_| ())?;
        let command = str_arg(command, "command")?;
        add_step(job, step_timeout(Step::command(command), timeout_ms))
    })
}

/// Adds a configuration set of `count` lines (as `netrig_device_send_config_set`; `flags` are
/// its NETRIG_CONFIG_* flags). A rejected line fails the step with NETRIG_E_COMMAND and the
/// step's error names it. `timeout_ms`: the step's deadline (0 = the device's timeout_ms).
///
/// Ownership: the array and strings are borrowed and copied. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_config(
    job: netrig_job,
    lines: *const *const c_char,
    count: usize,
    flags: u32,
    timeout_ms: u32,
) -> netrig_status {
    call("netrig_job_add_config", || {
        job.with(|_| ())?;
        if count == 0 {
            return Err(Error::InvalidArg("count is 0; a configuration step needs at least one line".into()));
        }
        let lines = str_array(lines, count, "lines")?;
        let opts = config_options(flags)?;
        add_step(job, step_timeout(Step::config(&lines, opts), timeout_ms))
    })
}

/// Adds a step that runs `command` on its own channel (as `netrig_device_exec`; Linux targets).
/// The step succeeds only with exit status 0; another exit status fails it with
/// NETRIG_E_COMMAND. Its output is stdout; `netrig_run_step_output` also gives stderr and the
/// exit status. `timeout_ms`: the step's deadline (0 = the device's timeout_ms).
///
/// Ownership: `command` is borrowed and copied. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_exec(
    job: netrig_job,
    command: *const c_char,
    timeout_ms: u32,
) -> netrig_status {
    call("netrig_job_add_exec", || {
        job.with(|_| ())?;
        let command = str_arg(command, "command")?;
        add_step(job, step_timeout(Step::exec(command), timeout_ms))
    })
}

/// Adds a step that copies the local file `local` to `remote` on each device (as
/// `netrig_device_put_file`, without progress), over `protocol` (NETRIG_PROTOCOL_*). The
/// step's output is "<bytes> bytes". `timeout_ms`: the step's deadline (0 = the device's
/// timeout_ms).
///
/// Ownership: the paths are borrowed and copied; the file is read when the step runs.
/// Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_put(
    job: netrig_job,
    local: *const c_char,
    remote: *const c_char,
    protocol_: u32,
    timeout_ms: u32,
) -> netrig_status {
    call("netrig_job_add_put", || {
        job.with(|_| ())?;
        let local = str_arg(local, "local")?;
        let remote = str_arg(remote, "remote")?;
        let protocol = protocol(protocol_)?;
        add_step(job, step_timeout(Step::put(PathBuf::from(local), remote, protocol), timeout_ms))
    })
}

/// Adds a step that copies `remote` from each device to the local path `local` (as
/// `netrig_device_get_file`), over `protocol` (NETRIG_PROTOCOL_*). `{host}` and `{port}` in
/// `local` are replaced by each target's, so hosts do not overwrite each other's files
/// ("/tmp/cfg-{host}-{port}.txt"). The step's output is "<bytes> bytes". `timeout_ms`: the
/// step's deadline (0 = the device's timeout_ms).
///
/// Ownership: the paths are borrowed and copied. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_get(
    job: netrig_job,
    remote: *const c_char,
    local: *const c_char,
    protocol_: u32,
    timeout_ms: u32,
) -> netrig_status {
    call("netrig_job_add_get", || {
        job.with(|_| ())?;
        let remote = str_arg(remote, "remote")?;
        let local = str_arg(local, "local")?;
        let protocol = protocol(protocol_)?;
        add_step(job, step_timeout(Step::get(remote, local, protocol), timeout_ms))
    })
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
        let names = targets.iter().map(Target::name).collect();
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

/// The report of a finished run, or NETRIG_E_BUSY.
fn report(run: netrig_run) -> Result<(Arc<CRun>, Arc<Report>)> {
    let c = run.get()?;
    let report = c.run.report().ok_or_else(|| {
        Error::Busy("the run is still running; its results are ready once netrig_run_wait returns NETRIG_OK".into())
    })?;
    Ok((c, report))
}

fn host_of(report: &Report, host: usize) -> Result<&HostResult> {
    report.hosts.get(host).ok_or(Error::IndexOutOfRange {
        what: "the run's host list",
        index: host,
        len: report.hosts.len(),
    })
}

fn step_of(h: &HostResult, step: usize) -> Result<&StepResult> {
    h.steps.get(step).ok_or(Error::IndexOutOfRange { what: "the job's step list", index: step, len: h.steps.len() })
}

/// The counts of a finished run by host and by step. NETRIG_E_BUSY while it is running.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_get_totals(run: netrig_run, out: *mut netrig_run_totals) -> netrig_status {
    call("netrig_run_get_totals", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        let (t, s): (&Totals, &Totals) = (&r.totals, &r.step_totals);
        out.set(netrig_run_totals {
            hosts: r.hosts.len(),
            succeeded: t.succeeded,
            failed: t.failed,
            timed_out: t.timed_out,
            cancelled: t.cancelled,
            skipped: t.skipped,
            steps_succeeded: s.succeeded,
            steps_failed: s.failed,
            steps_timed_out: s.timed_out,
            steps_cancelled: s.cancelled,
            steps_skipped: s.skipped,
            wall_us: us(r.wall),
            run_cancelled: u8::from(r.cancelled),
            run_aborted: u8::from(r.aborted.is_some()),
        });
        Ok(())
    })
}

/// How host `host` (its index in the job's targets) of a finished run went. NETRIG_E_BUSY while
/// the run is running; NETRIG_E_NOT_FOUND when `host` is past the last target.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_host(run: netrig_run, host: usize, out: *mut netrig_host_result) -> netrig_status {
    call("netrig_run_host", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        let h = host_of(&r, host)?;
        out.set(netrig_host_result {
            state: state_code(h.state),
            status: match h.state {
                State::Ok => netrig_status::NETRIG_OK,
                // The host's status is its first failure's, as its HOST_FINISHED event says.
                _ => std::iter::once(&h.connect).chain(&h.steps).find(|s| s.state != State::Ok).map_or(
                    netrig_status::NETRIG_OK,
                    |s| {
                        if s.state == State::Skipped {
                            netrig_status::NETRIG_E_CANCELLED
                        } else {
                            s.status
                        }
                    },
                ),
            },
            duration_us: us(h.duration),
            connect_state: state_code(h.connect.state),
            connect_status: h.connect.status,
            steps: h.steps.len(),
        });
        Ok(())
    })
}

/// The name of host `host` ("host:port", as the job's target gave them), copied with a NUL into
/// `buf` (capacity `buf_len`); `*out_len` receives its length without the NUL, also on
/// NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes (`buf` may be
/// NULL when `buf_len` is 0). Available at any time, also while the run is running (for event
/// callbacks). NETRIG_E_NOT_FOUND when `host` is past the last target.
///
/// Ownership: `buf` is the caller's. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_host_name(
    run: netrig_run,
    host: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_run_host_name", || {
        let out_len = Out::new(out_len, "out_len")?;
        let c = run.get()?;
        let name = c.names.get(host).ok_or(Error::IndexOutOfRange {
            what: "the run's host list",
            index: host,
            len: c.names.len(),
        })?;
        write_buf(buf.cast(), buf_len, name.as_bytes(), true, &out_len, &|| format!("name of host {host}"))
    })
}

/// How step `step` of host `host` of a finished run went (every step has a result; one that
/// never ran is NETRIG_STATE_SKIPPED). NETRIG_E_BUSY while the run is running;
/// NETRIG_E_NOT_FOUND when `host` or `step` is out of range.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_step(
    run: netrig_run,
    host: usize,
    step: usize,
    out: *mut netrig_step_result,
) -> netrig_status {
    call("netrig_run_step", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        let s = step_of(host_of(&r, host)?, step)?;
        out.set(netrig_step_result {
            state: state_code(s.state),
            status: s.status,
            exit_status: s.exit_status.unwrap_or(-1),
            duration_us: us(s.duration),
        });
        Ok(())
    })
}

/// The output of step `step` of host `host` as a result object: its text is the command's
/// output (exec: stdout; transfers: "<bytes> bytes"; empty for a step that failed or never
/// ran), `netrig_output_stderr` exec's stderr, `netrig_output_exit_status` exec's exit status
/// (-1 when it got none; 0 for other steps), `netrig_output_elapsed_us` the step's duration.
/// NETRIG_E_BUSY while the run is running; NETRIG_E_NOT_FOUND when `host` or `step` is out of
/// range.
///
/// Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`;
/// it is independent of the run handle. Blocking: never (copies the output).
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_step_output(
    run: netrig_run,
    host: usize,
    step: usize,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_run_step_output", || {
        let out = Out::new(out, "out")?;
        let (c, r) = report(run)?;
        let s = step_of(host_of(&r, host)?, step)?;
        let none = if c.exec_steps.get(step).copied().unwrap_or(false) { -1 } else { 0 };
        let o = COutput::new(
            s.output.clone().into_bytes(),
            s.stderr.clone().into_bytes(),
            s.exit_status.unwrap_or(none),
            s.duration,
        );
        out.set(netrig_output::insert(o)?);
        Ok(())
    })
}

/// The error text of host `host`'s connect (`step` -1) or of step `step`: "" when it
/// succeeded, else what failed with context ("127.0.0.1:2201 step 2 (command 'show clock'):
/// ..."; for a step that never ran, why: "not run: an earlier step of this host failed").
/// Copied with a NUL into `buf` (capacity `buf_len`); `*out_len` receives its length without
/// the NUL, also on NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes
/// (`buf` may be NULL when `buf_len` is 0). NETRIG_E_BUSY while the run is running;
/// NETRIG_E_NOT_FOUND when `host` or `step` is out of range; NETRIG_E_INVALID_ARG for a `step`
/// below -1.
///
/// Ownership: `buf` is the caller's. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_error(
    run: netrig_run,
    host: usize,
    step: i64,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_run_error", || {
        let out_len = Out::new(out_len, "out_len")?;
        if step < -1 {
            return Err(Error::InvalidArg(format!("step {step}: use -1 for the connect, or a step index from 0")));
        }
        let (_, r) = report(run)?;
        let h = host_of(&r, host)?;
        let s = if step == -1 { &h.connect } else { step_of(h, usize::try_from(step).unwrap_or(usize::MAX))? };
        write_buf(buf.cast(), buf_len, s.error.as_bytes(), true, &out_len, &|| {
            if step == -1 {
                format!("connect error of host {host}")
            } else {
                format!("error of host {host} step {step}")
            }
        })
    })
}

/// The whole report of a finished run as JSON, in the text of a result object: wall_ms,
/// cancelled, aborted (the reason or null), totals and step_totals (succeeded, failed,
/// timed_out, cancelled, skipped), failed_hosts (names), and hosts: name, state, duration_ms,
/// connect and steps (state, status, error, output, stderr, exit_status, duration_ms).
/// Durations are milliseconds rounded to the microsecond (`1234.567`); status is the NETRIG_
/// name; texts keep every character (device output that was not UTF-8 has U+FFFD in place of
/// the bad bytes). NETRIG_E_BUSY while the run is running.
///
/// Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`.
/// Blocking: never (builds the JSON). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_json(run: netrig_run, out: *mut netrig_output) -> netrig_status {
    call("netrig_run_json", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        out.set(netrig_output::insert(COutput::new(r.to_json().into_bytes(), Vec::new(), 0, r.wall))?);
        Ok(())
    })
}
