//! `netrig_device_*`: SSH sessions to devices under test. The results of their operations are
//! `netrig_output` objects (`output.rs`).
//!
//! A device handle is usable from any thread. Its operations run one at a time (the device's
//! lock is held for the whole operation); a caller that finds it busy waits up to its own
//! deadline, or gets NETRIG_E_BUSY at once from a `try_` form. A long operation does not keep
//! the handle table busy: the call takes its own reference to the device and lets go of the
//! table, so `netrig_device_cancel` and `netrig_device_free` from other threads never wait for it.

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::Arc;

use super::args::{ms, opt_str, str_arg, str_array, timeout_or_default, write_buf, Out};
use super::args::{options_arg, options_default, options_or_default, GrowableOptions};
use super::device_options::netrig_device_options;
use super::guard::call;
use super::handle::CHandle;
use super::output::{clear_last_failed, keep_failed, netrig_output, COutput};
use crate::device::{Check, CliMode, Commit, ConfigOptions, Device, Protocol};
use crate::error::{netrig_status, Error, Result};
use crate::pool::Lease;

/// An open SSH session to a device. Free with `netrig_device_free`.
/// The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_device {
    pub id: u64,
}

/// File transfer over SFTP.
pub const NETRIG_PROTOCOL_SFTP: u32 = 0;
/// File transfer over SCP.
pub const NETRIG_PROTOCOL_SCP: u32 = 1;

/// `netrig_device_send_config_set` flag: stay in configuration mode at the end.
pub const NETRIG_CONFIG_STAY: u32 = 1;
/// `netrig_device_send_config_set` flag: `commit` after the lines (Junos-style platforms).
pub const NETRIG_CONFIG_COMMIT: u32 = 2;
/// `netrig_device_send_config_set` flag: `commit check` after the lines (Junos-style platforms).
pub const NETRIG_CONFIG_COMMIT_CHECK: u32 = 4;

/// Called during a file transfer, on the thread that called put/get, after each chunk, with the
/// bytes done so far and the total. Return true to go on, false to cancel the transfer (it then
/// returns NETRIG_E_CANCELLED). It runs while the device's operation lock is held: calling
/// another operation on the same device from it waits out that call's deadline (or gets
/// NETRIG_E_BUSY from a `try_` form); `netrig_device_cancel` is fine. It must not unwind
/// (no C++ exception, no longjmp) through netrig.
#[allow(non_camel_case_types)]
pub type netrig_progress_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, done: u64, total: u64) -> bool>;

/// What a device handle holds: a session of its own (`netrig_device_open`), or a session lent by
/// a pool (`netrig_pool_checkout`), which `netrig_device_free` gives back instead of closing.
pub(crate) enum DeviceSlot {
    Owned(Arc<Device>),
    Leased(Lease),
}

impl DeviceSlot {
    /// The device, by reference count, so that an operation holds its own reference and the
    /// table's hazard slot is released at once (free and cancel never wait for a long
    /// operation): `dev.with(DeviceSlot::device)?`. A lease's check-in counts those
    /// references: a session still in use by a call is discarded.
    fn device(&self) -> Arc<Device> {
        match self {
            DeviceSlot::Owned(d) => Arc::clone(d),
            DeviceSlot::Leased(l) => Arc::clone(l.device_arc()),
        }
    }
}

/// Opens a session: TCP connect, SSH handshake, host key check, authentication, PTY and shell;
/// then finds the prompt, turns paging off, sets the width, and enters enable mode when a
/// secret is given. Failures: NETRIG_E_CONNECT, NETRIG_E_TIMEOUT (no banner, no auth answer, no
/// prompt), NETRIG_E_HOSTKEY (message has both fingerprints when the key changed),
/// NETRIG_E_AUTH (also a refused enable secret), NETRIG_E_INVALID_ARG (options).
///
/// Ownership: `options` and its strings are borrowed for the call; netrig keeps copies of what
/// it needs and wipes its copies of passwords and secrets when they are no longer needed. On
/// success `*out` receives a handle the caller frees with `netrig_device_free`.
/// Blocking: up to connect_timeout_ms + auth_timeout_ms + timeout_ms.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_open(
    options: *const netrig_device_options,
    out: *mut netrig_device,
) -> netrig_status {
    call("netrig_device_open", || {
        let out = Out::new(out, "out")?;
        let opts = options_arg(options, "options")?.to_options()?;
        let device = Device::open(&opts)?;
        out.set(netrig_device::insert(DeviceSlot::Owned(Arc::new(device)))?);
        Ok(())
    })
}

/// Frees a device handle: cancels the operation running on it (which returns
/// NETRIG_E_CANCELLED within 100 ms in its own thread), makes operations queued behind it return
/// NETRIG_E_CLOSED, and closes the session once the last of them has returned. Later calls with
/// the handle get NETRIG_E_INVALID_HANDLE.
///
/// A handle from `netrig_pool_checkout` is returned to its pool instead: the session goes back
/// idle for the next checkout, unless it is broken (an operation on it timed out, was
/// cancelled or lost the connection), it is past the pool's max_lifetime, the pool was freed or
/// closed (`netrig_pool_close_all`) meanwhile, or another thread's operation is still running on
/// it; then that operation is cancelled as above and the session is closed, not reused.
/// `netrig_pool_discard` closes a leased session on purpose.
///
/// Ownership: consumes the handle. Blocking: never waits for a running operation (returning a
/// session to a pool takes the pool's bookkeeping lock for microseconds).
/// Thread-safety: any thread, including while another thread runs an operation on the device.
#[no_mangle]
pub extern "C" fn netrig_device_free(dev: netrig_device) -> netrig_status {
    call("netrig_device_free", || {
        // A leased session is not retired: the lease's check-in decides (back to the pool, or
        // discarded when a call of another thread still uses it or it is broken).
        dev.with(|slot| {
            if let DeviceSlot::Owned(d) = slot {
                d.retire()
            }
        })?;
        dev.remove()
    })
}

/// Closes the session; later operations return NETRIG_E_CLOSED. The handle stays valid until
/// `netrig_device_free`.
///
/// Ownership: borrows the handle. Blocking: waits for a running operation to end, up to the
/// device's operation timeout (then NETRIG_E_TIMEOUT), plus up to 1 s for the disconnect.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_device_close(dev: netrig_device) -> netrig_status {
    call("netrig_device_close", || dev.with(DeviceSlot::device)?.close())
}

/// Cancels the operation running on the device: it returns NETRIG_E_CANCELLED within 100 ms,
/// and the device stays usable (or reports NETRIG_E_CLOSED if the connection was lost). A
/// cancel with no operation running has no effect on later operations.
///
/// Ownership: borrows the handle. Blocking: never. Thread-safety: any thread; this is the call
/// meant to be made from another thread than the one running the operation.
#[no_mangle]
pub extern "C" fn netrig_device_cancel(dev: netrig_device) -> netrig_status {
    call("netrig_device_cancel", || dev.with(DeviceSlot::device).map(|d| d.cancel()))
}

/// Runs an operation that returns an output. A refused command's output is kept for
/// `netrig_last_failed_output` (and the one kept before is forgotten as the operation starts).
fn run_op(out: *mut netrig_output, op: impl FnOnce() -> Result<COutput>) -> Result<()> {
    clear_last_failed();
    let out = Out::new(out, "out")?;
    let result = op().map_err(keep_failed)?;
    out.set(netrig_output::insert(result)?);
    Ok(())
}

/// `netrig_command_options.check`: the device's `check_errors` decides.
pub const NETRIG_CHECK_DEFAULT: u32 = 0;
/// `netrig_command_options.check`: an output with an error line fails with NETRIG_E_COMMAND.
pub const NETRIG_CHECK_ON: u32 = 1;
/// `netrig_command_options.check`: an output with an error line is returned, with
/// `netrig_output_failed` true.
pub const NETRIG_CHECK_OFF: u32 = 2;

/// Options of one command (`netrig_device_send_command_with` and the other `_with` calls).
/// Start from `netrig_command_options_default(&o, sizeof o)`; string fields are borrowed for
/// the call and NULL means "not given".
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_command_options {
    /// `sizeof` this struct in the caller's netrig.h (OPTIONS in the preamble).
    pub struct_size: usize,
    /// The operation's deadline in ms; 0 (the default) means the device's.
    pub timeout_ms: u32,
    /// A regex: read until it matches the newest output instead of until the prompt
    /// (`netrig_device_send_command_with` only).
    pub expect: *const c_char,
    /// Non-zero: read until the device has sent nothing for this many ms instead of until the
    /// prompt (`netrig_device_send_command_with` only; not with `expect`).
    pub quiet_ms: u32,
    /// One of NETRIG_CHECK_* (default NETRIG_CHECK_DEFAULT).
    pub check: u32,
    /// A regex matched on each line of the output (case-insensitive unless it starts with
    /// `(?-i)`) that replaces the error patterns (the platform's, or the device's
    /// `error_pattern`) for this call.
    pub error_pattern: *const c_char,
}

// SAFETY: #[repr(C)], `struct_size: usize` first, and every other field an integer or a raw
// pointer (valid for any bits).
unsafe impl GrowableOptions for netrig_command_options {
    const NAME: &'static str = "netrig_command_options";
    fn defaults() -> Self {
        netrig_command_options {
            struct_size: std::mem::size_of::<netrig_command_options>(),
            timeout_ms: 0,
            expect: std::ptr::null(),
            quiet_ms: 0,
            check: NETRIG_CHECK_DEFAULT,
            error_pattern: std::ptr::null(),
        }
    }
}

/// Fills `*out` with the default command options: the device's timeout, read until the
/// prompt, the device's check of the output. `struct_size` is `sizeof *out` (see OPTIONS in
/// the preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this
/// library's struct.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_command_options_default(
    out: *mut netrig_command_options,
    struct_size: usize,
) -> netrig_status {
    call("netrig_command_options_default", || options_default(out, struct_size))
}

/// A call's options, read: the timeout, the expect pattern, the quiet period and the check.
struct CommandArgs<'a> {
    timeout: Option<std::time::Duration>,
    expect: Option<&'a str>,
    quiet: Option<std::time::Duration>,
    check: Check,
}

/// Reads `netrig_command_options` (NULL: the defaults). `reads` says whether the call takes
/// `expect` and `quiet_ms` (only `netrig_device_send_command_with` does).
fn command_args<'a>(opts: *const netrig_command_options, function: &str, reads: bool) -> Result<CommandArgs<'a>> {
    let o = options_or_default(opts, "options")?;
    let expect = opt_str(o.expect, "options.expect")?;
    let quiet = (o.quiet_ms > 0).then(|| ms(o.quiet_ms));
    if !reads && (expect.is_some() || quiet.is_some()) {
        return Err(Error::InvalidArg(format!(
            "{function}: options.expect and options.quiet_ms are for netrig_device_send_command_with only"
        )));
    }
    if expect.is_some() && quiet.is_some() {
        return Err(Error::InvalidArg("options.expect and options.quiet_ms: give one of them".into()));
    }
    let fail = match o.check {
        NETRIG_CHECK_DEFAULT => None,
        NETRIG_CHECK_ON => Some(true),
        NETRIG_CHECK_OFF => Some(false),
        other => return Err(Error::InvalidArg(format!("options.check {other} is not a NETRIG_CHECK_*"))),
    };
    let error_pattern = opt_str(o.error_pattern, "options.error_pattern")?.map(str::to_owned);
    Ok(CommandArgs { timeout: timeout_or_default(o.timeout_ms), expect, quiet, check: Check { fail, error_pattern } })
}

/// Sends one command and reads until the prompt returns. The output has the echoed command and
/// the trailing prompt removed, ANSI escapes removed, "\n" line endings, and paging answered.
/// `timeout_ms` 0 means the device's default. Failures: NETRIG_E_TIMEOUT (message ends with the
/// last bytes received), NETRIG_E_CANCELLED, NETRIG_E_CLOSED, and NETRIG_E_COMMAND when the
/// device refused the command: a line of the output matches the error patterns (the
/// platform's, or `options.error_pattern`) and the device's `check_errors` is on. The last
/// error names the device and the command and quotes the line; `netrig_last_failed_output`
/// gives the whole output. The same check applies to every call below that returns an output
/// (not to exec); `netrig_device_send_command_with` and the other `_with` calls change it.
///
/// Ownership: `command` is borrowed for the call. On success `*out` receives a result the caller
/// frees with `netrig_output_free`.
/// Blocking: up to `timeout_ms`, including the wait for another operation on the same device
/// to finish. Thread-safety: any thread; operations on one device run one at a time, on
/// different devices in parallel.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_command(
    dev: netrig_device,
    command: *const c_char,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_command", || {
        run_op(out, || {
            let command = str_arg(command, "command")?;
            Ok(dev.with(DeviceSlot::device)?.send_command(command, timeout_or_default(timeout_ms))?.into())
        })
    })
}

/// `netrig_device_send_command` with options (`options` may be NULL for the defaults): a
/// timeout, an `expect` pattern or a `quiet_ms` period to read to instead of the prompt (as
/// `netrig_device_send_command_expect` and `_timing`), and the check of the output: with
/// NETRIG_CHECK_OFF a refused command's output is returned with `netrig_output_failed` true;
/// `error_pattern` replaces the error patterns. NETRIG_E_INVALID_ARG for a bad pattern or
/// both `expect` and `quiet_ms`.
///
/// Ownership: `command`, `options` and its strings are borrowed for the call; `*out` as for
/// `netrig_device_send_command`. Blocking: up to the timeout, as `netrig_device_send_command`.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_command_with(
    dev: netrig_device,
    command: *const c_char,
    options: *const netrig_command_options,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_command_with", || {
        run_op(out, || {
            let command = str_arg(command, "command")?;
            let a = command_args(options, "netrig_device_send_command_with", true)?;
            let d = dev.with(DeviceSlot::device)?;
            Ok(match (a.expect, a.quiet) {
                (Some(expect), _) => d.send_command_expect_with(command, expect, a.timeout, &a.check)?,
                (None, Some(quiet)) => d.send_command_timing_with(command, quiet, a.timeout, &a.check)?,
                (None, None) => d.send_command_with(command, a.timeout, &a.check)?,
            }
            .into())
        })
    })
}

/// Like `netrig_device_send_command`, but returns NETRIG_E_BUSY at once when another operation
/// is running on the device.
///
/// Ownership: `command` is borrowed; `*out` as for `netrig_device_send_command`.
/// Blocking: never waits for another operation; then up to `timeout_ms` for the device.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_try_send_command(
    dev: netrig_device,
    command: *const c_char,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_try_send_command", || {
        run_op(out, || {
            let command = str_arg(command, "command")?;
            Ok(dev.with(DeviceSlot::device)?.try_send_command(command, timeout_or_default(timeout_ms))?.into())
        })
    })
}

/// Sends one command and reads until `expect` (a regex, matched on the newest output as it
/// arrives) matches, instead of until the prompt. NETRIG_E_INVALID_ARG for a bad pattern.
///
/// Ownership: `command` and `expect` are borrowed; `*out` as for `netrig_device_send_command`.
/// Blocking: up to `timeout_ms` (0 = the device's default). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_command_expect(
    dev: netrig_device,
    command: *const c_char,
    expect: *const c_char,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_command_expect", || {
        run_op(out, || {
            let command = str_arg(command, "command")?;
            let expect = str_arg(expect, "expect")?;
            Ok(dev
                .with(DeviceSlot::device)?
                .send_command_expect(command, expect, timeout_or_default(timeout_ms))?
                .into())
        })
    })
}

/// Sends one command and reads until the device has sent nothing for `quiet_ms`.
///
/// Ownership: `command` is borrowed; `*out` as for `netrig_device_send_command`.
/// Blocking: up to `timeout_ms` (0 = the device's default); NETRIG_E_TIMEOUT if output never
/// pauses for `quiet_ms` before then. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_command_timing(
    dev: netrig_device,
    command: *const c_char,
    quiet_ms: u32,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_command_timing", || {
        run_op(out, || {
            let command = str_arg(command, "command")?;
            let quiet = ms(quiet_ms);
            Ok(dev
                .with(DeviceSlot::device)?
                .send_command_timing(command, quiet, timeout_or_default(timeout_ms))?
                .into())
        })
    })
}

/// Answers a dialogue ("[confirm]", "[yes/no]", "Password:"): for each i < n, sends `sends[i]`
/// and a newline, then reads until the regex `expects[i]` matches, or until the prompt when
/// `expects[i]` is "". Answers to password prompts are redacted in the session log. The result
/// holds the whole transcript.
///
/// Ownership: the arrays and strings are borrowed; `*out` as for `netrig_device_send_command`.
/// Blocking: up to `timeout_ms` (0 = the device's default) for the whole dialogue.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_interactive(
    dev: netrig_device,
    sends: *const *const c_char,
    expects: *const *const c_char,
    n: usize,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_interactive", || {
        run_op(out, || {
            let sends = str_array(sends, n, "sends")?;
            let expects = str_array(expects, n, "expects")?;
            let steps: Vec<(&str, &str)> = sends.into_iter().zip(expects).collect();
            Ok(dev.with(DeviceSlot::device)?.send_interactive(&steps, timeout_or_default(timeout_ms))?.into())
        })
    })
}

/// `netrig_device_send_interactive` with options (`options` may be NULL): the timeout, and the
/// check of each step's answer (`check`, `error_pattern`); `expect` and `quiet_ms` must be
/// unset (NETRIG_E_INVALID_ARG).
///
/// Ownership: the arrays, strings and `options` are borrowed; `*out` as for
/// `netrig_device_send_command`. Blocking: up to the timeout for the whole dialogue.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_interactive_with(
    dev: netrig_device,
    sends: *const *const c_char,
    expects: *const *const c_char,
    n: usize,
    options: *const netrig_command_options,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_interactive_with", || {
        run_op(out, || {
            let sends = str_array(sends, n, "sends")?;
            let expects = str_array(expects, n, "expects")?;
            let a = command_args(options, "netrig_device_send_interactive_with", false)?;
            let steps: Vec<(&str, &str)> = sends.into_iter().zip(expects).collect();
            Ok(dev.with(DeviceSlot::device)?.send_interactive_with(&steps, a.timeout, &a.check)?.into())
        })
    })
}

/// Enters configuration mode, sends the `n` lines and checks each line's output for error
/// output ("% Invalid input", "syntax error", ...). The first rejected line stops the set with
/// NETRIG_E_COMMAND; the last error names the line (number and text) and quotes the device.
/// `flags`: NETRIG_CONFIG_COMMIT or NETRIG_CONFIG_COMMIT_CHECK (Junos-style platforms, else
/// NETRIG_E_INVALID_ARG), NETRIG_CONFIG_STAY to stay in configuration mode (by default it is
/// left at the end, also after an error). The result holds each line followed by its output.
///
/// Ownership: the array and strings are borrowed; `*out` as for `netrig_device_send_command`.
/// Blocking: up to `timeout_ms` (0 = the device's default) for the whole set.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_config_set(
    dev: netrig_device,
    lines: *const *const c_char,
    n: usize,
    flags: u32,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_config_set", || {
        run_op(out, || {
            let lines = str_array(lines, n, "lines")?;
            let opts = config_options(flags)?;
            Ok(dev.with(DeviceSlot::device)?.send_config_set(&lines, opts, timeout_or_default(timeout_ms))?.into())
        })
    })
}

/// `netrig_device_send_config_set` with options (`options` may be NULL): the timeout, and the
/// check of each line's output. With NETRIG_CHECK_OFF every line is sent and the result has
/// `netrig_output_failed` true when one was rejected (`netrig_output_failure` quotes the
/// first); `error_pattern` replaces the error patterns. `expect` and `quiet_ms` must be unset.
///
/// Ownership: the array, strings and `options` are borrowed; `*out` as for
/// `netrig_device_send_command`. Blocking: up to the timeout for the whole set.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_send_config_set_with(
    dev: netrig_device,
    lines: *const *const c_char,
    n: usize,
    flags: u32,
    options: *const netrig_command_options,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_send_config_set_with", || {
        run_op(out, || {
            let lines = str_array(lines, n, "lines")?;
            let opts = config_options(flags)?;
            let a = command_args(options, "netrig_device_send_config_set_with", false)?;
            Ok(dev.with(DeviceSlot::device)?.send_config_set_with(&lines, opts, a.timeout, &a.check)?.into())
        })
    })
}

/// The `NETRIG_CONFIG_*` flags of a configuration set.
pub(super) fn config_options(flags: u32) -> Result<ConfigOptions> {
    let known = NETRIG_CONFIG_STAY | NETRIG_CONFIG_COMMIT | NETRIG_CONFIG_COMMIT_CHECK;
    if flags & !known != 0 || flags & NETRIG_CONFIG_COMMIT != 0 && flags & NETRIG_CONFIG_COMMIT_CHECK != 0 {
        return Err(Error::InvalidArg(format!(
            "flags {flags:#x}: use NETRIG_CONFIG_STAY and one of NETRIG_CONFIG_COMMIT, NETRIG_CONFIG_COMMIT_CHECK"
        )));
    }
    let commit = if flags & NETRIG_CONFIG_COMMIT != 0 {
        Commit::Commit
    } else if flags & NETRIG_CONFIG_COMMIT_CHECK != 0 {
        Commit::Check
    } else {
        Commit::No
    };
    Ok(ConfigOptions { exit: flags & NETRIG_CONFIG_STAY == 0, commit })
}

/// Saves the running configuration (`write memory`, `copy running-config startup-config` or a
/// Junos `commit`), answering its confirmation questions. NETRIG_E_COMMAND if the device
/// reports an error; NETRIG_E_INVALID_ARG on a platform without a save command (linux).
///
/// Ownership: `*out` as for `netrig_device_send_command`.
/// Blocking: up to `timeout_ms` (0 = the device's default). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_save_config(
    dev: netrig_device,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_save_config", || {
        run_op(out, || Ok(dev.with(DeviceSlot::device)?.save_config(timeout_or_default(timeout_ms))?.into()))
    })
}

/// Enters privileged mode with the secret given at open (nothing to do when already there).
/// NETRIG_E_AUTH when the secret is refused or none was given.
///
/// Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_device_enable(dev: netrig_device, timeout_ms: u32) -> netrig_status {
    call("netrig_device_enable", || dev.with(DeviceSlot::device)?.enable(timeout_or_default(timeout_ms)))
}

/// Leaves privileged mode (leaving configuration mode first if needed).
///
/// Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_device_exit_enable(dev: netrig_device, timeout_ms: u32) -> netrig_status {
    call("netrig_device_exit_enable", || dev.with(DeviceSlot::device)?.exit_enable(timeout_or_default(timeout_ms)))
}

/// Enters configuration mode (entering privileged mode first if needed). NETRIG_E_PROMPT if
/// the prompt does not show configuration mode afterwards.
///
/// Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_device_config_mode(dev: netrig_device, timeout_ms: u32) -> netrig_status {
    call("netrig_device_config_mode", || dev.with(DeviceSlot::device)?.config_mode(timeout_or_default(timeout_ms)))
}

/// Leaves configuration mode from any sub-mode (nothing to do when not in it).
///
/// Ownership: borrows the handle. Blocking: up to `timeout_ms` (0 = the device's default).
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_device_exit_config_mode(dev: netrig_device, timeout_ms: u32) -> netrig_status {
    call("netrig_device_exit_config_mode", || {
        dev.with(DeviceSlot::device)?.exit_config_mode(timeout_or_default(timeout_ms))
    })
}

/// `netrig_device_prompt` mode: unprivileged (user) mode, a prompt such as "R1>".
pub const NETRIG_MODE_USER: u32 = 0;
/// `netrig_device_prompt` mode: privileged mode ("R1#"); also a platform with no user mode.
pub const NETRIG_MODE_PRIVILEGED: u32 = 1;
/// `netrig_device_prompt` mode: configuration mode, any sub-mode ("R1(config-if)#").
pub const NETRIG_MODE_CONFIG: u32 = 2;

/// The prompt line the device showed last, as netmiko's `find_prompt` returns it ("R1#": ANSI
/// escapes removed, surrounding whitespace trimmed), and the mode it means (NETRIG_MODE_*, by
/// the platform's prompt patterns). Every operation ends on a prompt, so this is the CLI's
/// state now; nothing is sent to the device. The prompt is copied with a NUL into `buf`
/// (capacity `buf_len`); `*out_len` receives its length without the NUL, also on
/// NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes (`buf` may be
/// NULL when `buf_len` is 0). NETRIG_E_CLOSED when the session is closed.
///
/// Ownership: `buf` is the caller's; `mode` (NULL when not wanted) is written on success.
/// Blocking: waits up to `timeout_ms` (0 = the device's default) for an operation running on
/// the device to end (the prompt is settled only then; NETRIG_E_TIMEOUT after that); no I/O.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_prompt(
    dev: netrig_device,
    timeout_ms: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
    mode: *mut u32,
) -> netrig_status {
    call("netrig_device_prompt", || {
        let out_len = Out::new(out_len, "out_len")?;
        let mode_out = Out::optional(mode);
        let (prompt, mode) = dev.with(DeviceSlot::device)?.prompt(timeout_or_default(timeout_ms))?;
        write_buf(buf.cast(), buf_len, prompt.as_bytes(), true, &out_len, &|| "the prompt".to_owned())?;
        mode_out.set(match mode {
            CliMode::User => NETRIG_MODE_USER,
            CliMode::Privileged => NETRIG_MODE_PRIVILEGED,
            CliMode::Config => NETRIG_MODE_CONFIG,
        });
        Ok(())
    })
}

/// Checks the session with a real round trip (RETURN, then the prompt). `*alive` is true when
/// the prompt came back within `timeout_ms`, false when it did not or the session is closed.
/// NETRIG_E_TIMEOUT only when another operation held the device until the deadline.
///
/// Ownership: `alive` is written on success. Blocking: up to `timeout_ms` (0 = the device's
/// default). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_is_alive(
    dev: netrig_device,
    timeout_ms: u32,
    alive: *mut bool,
) -> netrig_status {
    call("netrig_device_is_alive", || {
        let alive = Out::new(alive, "alive")?;
        alive.set(dev.with(DeviceSlot::device)?.is_alive(timeout_or_default(timeout_ms))?);
        Ok(())
    })
}

/// The name of the platform the device is driven with, NUL-terminated, into `buf` (`buf_len`
/// bytes): the one the options named, or the one detected when they said "autodetect".
/// `*out_len` gets the name's length without the NUL, also with NETRIG_E_BUFFER_TOO_SMALL (retry
/// with `*out_len + 1`); `buf` may be NULL when `buf_len` is 0, to ask for the length.
///
/// Ownership: `buf` and `out_len` are the caller's; the handle is borrowed. Blocking: never (it
/// does not wait for a running operation). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_platform(
    dev: netrig_device,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_device_platform", || {
        let out_len = Out::new(out_len, "out_len")?;
        let d = dev.with(DeviceSlot::device)?;
        let name = &d.platform().name;
        write_buf(buf.cast(), buf_len, name.as_bytes(), true, &out_len, &|| format!("platform name of {}", d.name()))
    })
}

/// Runs `command` on its own channel without a PTY (Linux targets). The result's text is stdout
/// (bytes as received, NUL-terminated), with stderr and the exit status beside it
/// (`netrig_output_stderr`, `netrig_output_exit_status`). A non-zero exit status is not an error.
///
/// Ownership: `command` is borrowed; `*out` as for `netrig_device_send_command`.
/// Blocking: up to `timeout_ms` (0 = the device's default). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_exec(
    dev: netrig_device,
    command: *const c_char,
    timeout_ms: u32,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_device_exec", || {
        run_op(out, || {
            let command = str_arg(command, "command")?;
            Ok(dev.with(DeviceSlot::device)?.exec(command, timeout_or_default(timeout_ms))?.into())
        })
    })
}

pub(super) fn protocol(p: u32) -> Result<Protocol> {
    match p {
        NETRIG_PROTOCOL_SFTP => Ok(Protocol::Sftp),
        NETRIG_PROTOCOL_SCP => Ok(Protocol::Scp),
        other => Err(Error::InvalidArg(format!("protocol {other} is not a NETRIG_PROTOCOL_*"))),
    }
}

/// Runs a transfer with the C progress callback wrapped as a Rust closure.
fn transfer(
    progress: netrig_progress_fn,
    user_data: *mut c_void,
    bytes: *mut u64,
    run: impl FnOnce(Option<&mut dyn FnMut(u64, u64) -> bool>) -> Result<crate::device::Transfer>,
) -> Result<()> {
    let bytes = Out::optional(bytes);
    let mut report = |done: u64, total: u64| match progress {
        // SAFETY: the caller passed a function of this signature, and vouches for `user_data`
        // for the duration of the call; it runs on this thread.
        Some(f) => unsafe { f(user_data, done, total) },
        None => true,
    };
    let t = run(progress.is_some().then_some(&mut report as &mut dyn FnMut(u64, u64) -> bool))?;
    bytes.set(t.bytes);
    Ok(())
}

/// Copies the local file `local_path` to `remote_path` on the device over SFTP or SCP
/// (`protocol`: NETRIG_PROTOCOL_*), calling `progress` (may be NULL) after each chunk. At the
/// end the remote size is checked against the local size (NETRIG_E_IO on a mismatch).
/// `*bytes` (may be NULL) receives the bytes sent. NETRIG_E_IO for a missing local file or a
/// remote path the device refuses.
///
/// Ownership: the paths are borrowed; `user_data` is passed to `progress` untouched and must
/// stay valid for the call. Blocking: up to `timeout_ms` (0 = the device's default) for the
/// whole transfer. Thread-safety: any thread; `progress` runs on the calling thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_put_file(
    dev: netrig_device,
    local_path: *const c_char,
    remote_path: *const c_char,
    protocol_: u32,
    progress: netrig_progress_fn,
    user_data: *mut c_void,
    timeout_ms: u32,
    bytes: *mut u64,
) -> netrig_status {
    call("netrig_device_put_file", || {
        let local = str_arg(local_path, "local_path")?;
        let remote = str_arg(remote_path, "remote_path")?;
        let protocol = protocol(protocol_)?;
        let d = dev.with(DeviceSlot::device)?;
        transfer(progress, user_data, bytes, |p| {
            d.put_file(Path::new(local), remote, protocol, p, timeout_or_default(timeout_ms))
        })
    })
}

/// Copies `remote_path` on the device to the local file `local_path` over SFTP or SCP. The data
/// goes to `<local_path>.part`, renamed to `local_path` only when the byte count matches the
/// remote size; on any failure no file is left under either name. `progress`, `user_data`,
/// `*bytes` and the statuses as for `netrig_device_put_file`.
///
/// Ownership: the paths are borrowed; `user_data` is passed to `progress` untouched.
/// Blocking: up to `timeout_ms` (0 = the device's default) for the whole transfer.
/// Thread-safety: any thread; `progress` runs on the calling thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_get_file(
    dev: netrig_device,
    remote_path: *const c_char,
    local_path: *const c_char,
    protocol_: u32,
    progress: netrig_progress_fn,
    user_data: *mut c_void,
    timeout_ms: u32,
    bytes: *mut u64,
) -> netrig_status {
    call("netrig_device_get_file", || {
        let remote = str_arg(remote_path, "remote_path")?;
        let local = str_arg(local_path, "local_path")?;
        let protocol = protocol(protocol_)?;
        let d = dev.with(DeviceSlot::device)?;
        transfer(progress, user_data, bytes, |p| {
            d.get_file(remote, Path::new(local), protocol, p, timeout_or_default(timeout_ms))
        })
    })
}
