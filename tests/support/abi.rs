//! Helpers of every C ABI test binary: the last error, C strings and status assertions. No SSH:
//! the store and queue binaries include this file alone (`#[path]`), the device binaries through
//! `support`.
#![allow(dead_code)] // each binary uses its own subset

use std::ffi::{CStr, CString};

use netrig::ffi::netrig_last_error;
use netrig::netrig_status::{self, NETRIG_OK};

/// The last error text of this thread. Every text read here is also checked for Rust `Debug`
/// output and raw libssh2 codes (see [`assert_readable`]), so each failing path a C ABI test
/// looks at is checked too.
#[track_caller]
pub fn last_error() -> String {
    // SAFETY: netrig_last_error returns a NUL-terminated string valid until the next failing call.
    let text = unsafe { CStr::from_ptr(netrig_last_error()) }.to_string_lossy().into_owned();
    assert_readable(&text);
    text
}

/// Fragments that only Rust `Debug` output or ssh2's `[Session(-18)]` prefix produce.
pub const DEBUG_FRAGMENTS: &[&str] = &["(..)", "Some(", "Session(", "SFTP(", "Err(", "Ok(", "{ "];

/// The first `Debug`-shaped fragment of `text`, if any.
pub fn debug_fragment(text: &str) -> Option<&'static str> {
    DEBUG_FRAGMENTS.iter().copied().find(|f| text.contains(f))
}

/// Asserts that an error text reads as words: no `Debug` output, no raw libssh2 codes.
#[track_caller]
pub fn assert_readable(text: &str) {
    if let Some(f) = debug_fragment(text) {
        panic!("error text shows Rust Debug output or a raw libssh2 code ({f:?}): {text}");
    }
}

pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A string that is not UTF-8, NUL-terminated.
pub const BAD_UTF8: &[u8] = b"show \xff\xfe\0";

/// Asserts a status and that the last error names the function and contains `needle`.
#[track_caller]
pub fn expect(status: netrig_status, want: netrig_status, needle: &str) {
    let err = last_error();
    assert_eq!(status, want, "last error: {err}");
    assert!(err.starts_with("netrig_"), "error text lacks the function name: {err}");
    assert!(err.contains(needle), "error text {err:?} lacks {needle:?}");
}

#[track_caller]
pub fn ok(status: netrig_status) {
    assert_eq!(status, NETRIG_OK, "{}", last_error());
}

/// An options struct filled by its `netrig_*_options_default(out, sizeof *out)`, as a C caller
/// does.
pub fn options_default<T>(fill: unsafe extern "C" fn(*mut T, usize) -> netrig_status) -> T {
    let mut o = std::mem::MaybeUninit::<T>::uninit();
    // SAFETY: a live out pointer to a T and its size.
    assert_eq!(unsafe { fill(o.as_mut_ptr(), std::mem::size_of::<T>()) }, NETRIG_OK, "{}", last_error());
    // SAFETY: the call returned NETRIG_OK, so it wrote all size_of::<T>() bytes of defaults.
    unsafe { o.assume_init() }
}
