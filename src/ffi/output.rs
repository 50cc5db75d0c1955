//! `netrig_output_*`: the result of a device operation (or of a run's step, or a run's JSON
//! report), made once and immutable, so its accessors only hand out pointers into it.

use std::cell::RefCell;
use std::ffi::c_char;
use std::time::Duration;

use super::args::Out;
use super::guard::call;
use super::handle::CHandle;
use crate::device::{ExecOutput, Output};
use crate::error::{netrig_status, Result};

/// The result of a device operation: output text (or exec's stdout), exec's stderr and exit
/// status, and the elapsed time. Free with `netrig_output_free`.
/// The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_output {
    pub id: u64,
}

/// The C form of an operation's result, made once so accessors only hand out pointers.
pub(crate) struct COutput {
    /// Output text (or exec's stdout), NUL-terminated (the NUL is not counted).
    text: Vec<u8>,
    /// Exec's stderr, NUL-terminated.
    stderr: Vec<u8>,
    exit_status: i32,
    elapsed_us: u64,
    /// The device's line that matched an error pattern, NUL-terminated; `None` when none did.
    failure: Option<Vec<u8>>,
    /// What was sent and the platform's name, NUL-terminated ("" for exec results).
    command: Vec<u8>,
    platform: Vec<u8>,
}

fn nul_terminated(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(0);
    bytes
}

impl COutput {
    pub(super) fn new(mut text: Vec<u8>, mut stderr: Vec<u8>, exit_status: i32, elapsed: Duration) -> COutput {
        text.push(0);
        stderr.push(0);
        COutput {
            text,
            stderr,
            exit_status,
            elapsed_us: elapsed.as_micros() as u64,
            failure: None,
            command: vec![0],
            platform: vec![0],
        }
    }
}

impl From<Output> for COutput {
    fn from(o: Output) -> COutput {
        COutput {
            failure: o.failure.as_deref().map(nul_terminated),
            command: nul_terminated(&o.command),
            platform: nul_terminated(&o.platform),
            ..COutput::new(o.text.into_bytes(), Vec::new(), 0, o.elapsed)
        }
    }
}

thread_local! {
    /// The output of this thread's last operation that failed with NETRIG_E_COMMAND because the
    /// device refused it (`netrig_last_failed_output`). It has a destructor, unlike the last
    /// error's text: a netrig call made from a pthread key destructor after the thread's
    /// thread-locals are gone skips it (`try_with`), and such a failure leaves nothing to read.
    static LAST_FAILED: RefCell<Option<Output>> = const { RefCell::new(None) };
}

/// Forgets this thread's failed output: every device operation that returns an output does,
/// as it starts.
pub(super) fn clear_last_failed() {
    let _ = LAST_FAILED.try_with(|slot| slot.borrow_mut().take());
}

/// Keeps the output of a refused command for `netrig_last_failed_output`, and gives back the
/// error with its message only (the status is the same).
pub(super) fn keep_failed(e: crate::Error) -> crate::Error {
    match e {
        crate::Error::CommandFailed(f) => {
            let f = *f;
            let _ = LAST_FAILED.try_with(|slot| *slot.borrow_mut() = Some(f.output));
            crate::Error::Command(f.message)
        }
        other => other,
    }
}

impl From<ExecOutput> for COutput {
    fn from(o: ExecOutput) -> COutput {
        COutput::new(o.stdout, o.stderr, o.exit_status, o.elapsed)
    }
}

impl COutput {
    /// The text without its NUL.
    pub(super) fn text_bytes(&self) -> &[u8] {
        &self.text[..self.text.len() - 1]
    }

    /// The command and platform that `netrig_output_parse` looks a template up by ("" for
    /// exec output and JSON results).
    pub(super) fn parse_key(&self) -> (String, String) {
        let s = |b: &[u8]| String::from_utf8_lossy(&b[..b.len() - 1]).into_owned();
        (s(&self.command), s(&self.platform))
    }
}

/// Hands out a pointer to one of a result's NUL-terminated buffers and its length without the NUL.
fn output_bytes(
    out: netrig_output,
    text: *mut *const c_char,
    len: *mut usize,
    which: impl FnOnce(&COutput) -> &Vec<u8>,
) -> Result<()> {
    let text = Out::new(text, "text")?;
    let (ptr, n) = out.with(|o| {
        let bytes = which(o);
        (bytes.as_ptr() as *const c_char, bytes.len() - 1)
    })?;
    text.set(ptr);
    Out::optional(len).set(n);
    Ok(())
}

/// The output text (exec: stdout). `*text` points to NUL-terminated bytes inside the result and
/// `*len` (may be NULL) receives their length without the NUL (exec output may hold NULs).
///
/// Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
/// Thread-safety: any thread; results are immutable.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_text(
    out: netrig_output,
    text: *mut *const c_char,
    len: *mut usize,
) -> netrig_status {
    call("netrig_output_text", || output_bytes(out, text, len, |o| &o.text))
}

/// Exec's stderr (empty for CLI operations), as `netrig_output_text`.
///
/// Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_stderr(
    out: netrig_output,
    text: *mut *const c_char,
    len: *mut usize,
) -> netrig_status {
    call("netrig_output_stderr", || output_bytes(out, text, len, |o| &o.stderr))
}

/// Exec's exit status (-1 if the server sent none; 0 for CLI operations).
///
/// Ownership: `*status` is written on success. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_exit_status(out: netrig_output, status: *mut i32) -> netrig_status {
    call("netrig_output_exit_status", || {
        let status = Out::new(status, "status")?;
        status.set(out.with(|o| o.exit_status)?);
        Ok(())
    })
}

/// How long the operation took, in microseconds (including any wait for the device's lock).
///
/// Ownership: `*us` is written on success. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_elapsed_us(out: netrig_output, us: *mut u64) -> netrig_status {
    call("netrig_output_elapsed_us", || {
        let us = Out::new(us, "us")?;
        us.set(out.with(|o| o.elapsed_us)?);
        Ok(())
    })
}

/// What the operation sent: the command; a dialogue's sends or a configuration set's lines
/// joined with "\n" (answers to password prompts as "<secret>"); the save command; "" for exec
/// results. As `netrig_output_text`.
///
/// Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_command(
    out: netrig_output,
    text: *mut *const c_char,
    len: *mut usize,
) -> netrig_status {
    call("netrig_output_command", || output_bytes(out, text, len, |o| &o.command))
}

/// The name of the platform that read the output ("cisco_ios"); "" for exec results. As
/// `netrig_output_text`.
///
/// Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_platform(
    out: netrig_output,
    text: *mut *const c_char,
    len: *mut usize,
) -> netrig_status {
    call("netrig_output_platform", || output_bytes(out, text, len, |o| &o.platform))
}

/// Whether the device answered with a line that matches its error patterns: `*failed` is true
/// for an output of a call made with the check off (NETRIG_CHECK_OFF, or a device opened with
/// `check_errors` 0), and for the output `netrig_last_failed_output` hands out; false for exec
/// results and outputs without such a line.
///
/// Ownership: `*failed` is written on success. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_failed(out: netrig_output, failed: *mut bool) -> netrig_status {
    call("netrig_output_failed", || {
        let failed = Out::new(failed, "failed")?;
        failed.set(out.with(|o| o.failure.is_some())?);
        Ok(())
    })
}

/// The device's line that matched an error pattern (the first, without its newline), as
/// `netrig_output_text`; "" (length 0) when the output did not fail (`netrig_output_failed`).
///
/// Ownership: the pointer stays valid until `netrig_output_free`. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_output_failure(
    out: netrig_output,
    line: *mut *const c_char,
    len: *mut usize,
) -> netrig_status {
    static NONE: [u8; 1] = [0];
    call("netrig_output_failure", || {
        let line = Out::new(line, "line")?;
        let (ptr, n) = out.with(|o| match &o.failure {
            Some(bytes) => (bytes.as_ptr() as *const c_char, bytes.len() - 1),
            None => (NONE.as_ptr() as *const c_char, 0),
        })?;
        line.set(ptr);
        Out::optional(len).set(n);
        Ok(())
    })
}

/// The output of the last operation on this thread that failed with NETRIG_E_COMMAND because
/// the device answered with an error line (`netrig_device_send_command` and the other
/// operations that return an output): the text the device printed, with
/// `netrig_output_failed` true and `netrig_output_failure` giving the line. The last error
/// names the command and quotes that line; this is the rest of what the device said. The
/// output is moved into `*out`, so a second call finds none. It is forgotten when the next
/// device operation that returns an output starts on this thread (whatever its result), and
/// when the thread ends. NETRIG_E_NOT_FOUND when there is none (a failure of another kind
/// keeps none: a rejected exec, a timeout).
///
/// Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`.
/// Blocking: never. Thread-safety: any thread; each thread has its own.
#[no_mangle]
pub unsafe extern "C" fn netrig_last_failed_output(out: *mut netrig_output) -> netrig_status {
    call("netrig_last_failed_output", || {
        let out = Out::new(out, "out")?;
        let kept = LAST_FAILED.try_with(|slot| slot.borrow_mut().take()).ok().flatten().ok_or_else(|| {
            crate::Error::Absent(
                "no failed output on this thread: the last operation that returns an output did not fail \
                 because of the device's answer"
                    .into(),
            )
        })?;
        out.set(netrig_output::insert(COutput::from(kept))?);
        Ok(())
    })
}

/// Frees a result. Pointers obtained from it become invalid.
///
/// Ownership: consumes the handle. Blocking: until in-flight accessor calls on it return.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_output_free(out: netrig_output) -> netrig_status {
    call("netrig_output_free", || out.remove())
}
