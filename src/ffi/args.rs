//! Checked conversions of C arguments: strings and bytes in, out-parameters and buffers out.
//!
//! Every function here is only called with pointers received by an `extern "C"` entry point,
//! whose documented contract is that a non-NULL pointer is valid for the access described
//! (readable NUL-terminated string, `len` readable bytes, a writable `T`). NULL is always
//! checked here and reported by argument name.

use std::ffi::{c_char, CStr};

use crate::error::{Error, Result};

/// A borrowed NUL-terminated UTF-8 string argument.
pub(crate) fn str_arg<'a>(p: *const c_char, what: &'static str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    // SAFETY: non-NULL, and the entry point's contract makes it a readable NUL-terminated string
    // that outlives the call.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| Error::Utf8 { what, offset: e.valid_up_to() })
}

/// A borrowed `(pointer, length)` byte argument. NULL is allowed only with length 0.
pub(crate) fn bytes_arg<'a>(p: *const u8, len: usize, what: &'static str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    if len > isize::MAX as usize {
        return Err(Error::InvalidArg(format!("{what}: length {len} is larger than any buffer can be")));
    }
    // SAFETY: non-NULL, `len` fits in isize, and the contract makes `len` bytes readable for
    // the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A required out-parameter: checked for NULL before any work, written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn new(p: *mut T, what: &'static str) -> Result<Out<T>> {
        if p.is_null() {
            Err(Error::NullArg(what))
        } else {
            Ok(Out(p))
        }
    }

    /// An optional out-parameter: NULL means the caller does not want this value.
    pub(crate) fn optional(p: *mut T) -> Out<T> {
        Out(p)
    }

    pub(crate) fn set(&self, value: T) {
        if !self.0.is_null() {
            // SAFETY: non-NULL, and the contract makes it valid and aligned for writing a `T`.
            // `write` does not read or drop the (possibly uninitialised) old contents.
            unsafe { self.0.write(value) }
        }
    }
}

/// Copies `data` into the caller's buffer `(buf, cap)`, plus a NUL when `nul` (strings).
///
/// `*out_len` receives the data's length without the NUL, on success and also on
/// `BufferTooSmall`, so the caller can retry with `*out_len + 1` (strings) or `*out_len`
/// (bytes). A NULL `buf` with `cap` 0 asks for the length only.
pub(crate) fn write_buf(
    buf: *mut u8,
    cap: usize,
    data: &[u8],
    nul: bool,
    out_len: &Out<usize>,
    what: &dyn Fn() -> String,
) -> Result<()> {
    let needed = data.len() + nul as usize;
    if buf.is_null() && cap > 0 {
        return Err(Error::NullArg("buf"));
    }
    if cap < needed {
        out_len.set(data.len());
        return Err(Error::BufferTooSmall { what: what(), needed, capacity: cap });
    }
    if buf.is_null() {
        // cap == 0 == needed: an empty bytes value, nothing to copy.
        out_len.set(0);
        return Ok(());
    }
    // SAFETY: `buf` is non-NULL and the contract makes `cap >= needed` bytes writable; `data` is
    // a Rust slice, so the regions cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        if nul {
            *buf.add(data.len()) = 0;
        }
    }
    out_len.set(data.len());
    Ok(())
}

/// An array of `n` NUL-terminated UTF-8 strings (NULL is fine when `n` is 0).
pub(crate) fn str_array<'a>(p: *const *const c_char, n: usize, what: &'static str) -> Result<Vec<&'a str>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    if n > 1 << 20 {
        return Err(Error::InvalidArg(format!("{what}: {n} entries is more than 1048576")));
    }
    // SAFETY: non-NULL, and the contract makes `n` readable pointers at `p` for the call.
    let ptrs = unsafe { std::slice::from_raw_parts(p, n) };
    ptrs.iter().map(|&s| str_arg(s, what)).collect()
}
