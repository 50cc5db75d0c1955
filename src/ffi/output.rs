//! `netrig_output_*`: the result of a device operation (or of a run's step, or a run's JSON
//! report), made once and immutable, so its accessors only hand out pointers into it.

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
    /// The command and platform of a CLI operation's output: what `netrig_output_parse`
    /// looks the template up by. `None` for exec output and JSON results.
    pub(super) parse_key: Option<(String, std::sync::Arc<str>)>,
}

impl COutput {
    pub(super) fn new(mut text: Vec<u8>, mut stderr: Vec<u8>, exit_status: i32, elapsed: Duration) -> COutput {
        text.push(0);
        stderr.push(0);
        COutput { text, stderr, exit_status, elapsed_us: elapsed.as_micros() as u64, parse_key: None }
    }
}

impl From<Output> for COutput {
    fn from(o: Output) -> COutput {
        let mut c = COutput::new(o.text.into_bytes(), Vec::new(), 0, o.elapsed);
        c.parse_key = Some((o.command, o.platform));
        c
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

/// Frees a result. Pointers obtained from it become invalid.
///
/// Ownership: consumes the handle. Blocking: until in-flight accessor calls on it return.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_output_free(out: netrig_output) -> netrig_status {
    call("netrig_output_free", || out.remove())
}
