//! `netrig_job_*`: the targets and steps of a run, built before it starts.
//!
//! A job is a list of targets and steps built under its own mutex; `netrig_run_start` copies it,
//! so one job can start many runs and be changed or freed while they run.

use std::ffi::c_char;
use std::path::PathBuf;

use parking_lot::Mutex;

use super::args::{opt_str, str_arg, str_array, timeout_or_default, Out};
use super::device::{config_options, protocol};
use super::device_options::netrig_device_options;
use super::guard::call;
use super::handle::CHandle;
use super::pool::{read_device_options, read_key};
use crate::error::{netrig_status, Error, Result};
use crate::run::{Step, Target};

/// A list of targets and steps to run. Create with `netrig_job_new`, free with
/// `netrig_job_free`. The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_job {
    pub id: u64,
}

/// What a job handle holds: the targets and steps `netrig_run_start` copies.
#[derive(Default)]
pub(crate) struct JobSpec {
    pub(super) targets: Vec<Target>,
    pub(super) steps: Vec<Step>,
}

fn add_step(job: netrig_job, step: Step) -> Result<()> {
    job.with(|j| j.lock().steps.push(step))
}

fn add_target(job: netrig_job, target: Target) -> Result<()> {
    job.with(|j| j.lock().targets.push(target))
}

/// Adds all of `targets` at once: another thread adding to the job never lands among them.
pub(super) fn add_targets(job: netrig_job, targets: Vec<Target>) -> Result<()> {
    job.with(|j| j.lock().targets.extend(targets))
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

/// Adds a device as `netrig_job_add_target` does, under a name and with data. `name` (NULL:
/// "host:port") is what the run's results, events (`netrig_run_host_name`), error texts and
/// JSON report call the host; it must not be empty, and need not be unique. `data_json` (NULL:
/// an empty object) is any JSON value, kept as given and carried into `netrig_run_json` as the
/// host's "data"; text that is not JSON is NETRIG_E_INVALID_ARG naming the line and column.
///
/// Ownership: `opts`, `name`, `data_json` and their strings are borrowed for the call; the job
/// keeps copies. Blocking: never. Thread-safety: any thread; a job may be built from several
/// threads.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_target_named(
    job: netrig_job,
    name: *const c_char,
    opts: *const netrig_device_options,
    data_json: *const c_char,
) -> netrig_status {
    call("netrig_job_add_target_named", || {
        job.with(|_| ())?;
        let name = opt_str(name, "name")?;
        let data = opt_str(data_json, "data_json")?.map(parse_data).transpose()?;
        let opts = read_device_options(opts, "opts")?;
        let mut target = Target::from(opts);
        if let Some(name) = name {
            if name.is_empty() {
                return Err(Error::InvalidArg("name is empty; pass NULL for the default \"host:port\"".into()));
            }
            target = target.named(name);
        }
        if let Some(data) = data {
            target = target.with_data(data);
        }
        add_target(job, target)
    })
}

fn parse_data(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::InvalidArg(format!("data_json is not JSON: {e}")))
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
        add_target(job, Target::key(key))
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

/// Adds a step like `netrig_job_add_command` whose output is also parsed with its TextFSM
/// template (as `netrig_output_parse`; templates from the target's
/// `netrig_device_options.templates`, else `NETRIG_TEMPLATES`): the run's JSON report
/// (`netrig_run_json`) carries the records as the step's `records`. No template for the
/// platform and command, or a broken one, fails the step with that error.
///
/// Ownership: `command` is borrowed and copied. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_job_add_command_parsed(
    job: netrig_job,
    command: *const c_char,
    timeout_ms: u32,
) -> netrig_status {
    call("netrig_job_add_command_parsed", || {
        job.with(|_| ())?;
        let command = str_arg(command, "command")?;
        add_step(job, step_timeout(Step::parsed(command), timeout_ms))
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
