//! The C ABI. The only module with `extern "C"`; it checks arguments, looks up handles, calls the
//! core and turns results into statuses. The header's preamble (cbindgen.toml) states the
//! conventions every function here follows.

// The safety contract of every `unsafe extern "C"` function here is the one in the header's
// preamble (non-NULL pointers valid for the access the doc describes, for the call), stated once
// there instead of in a `# Safety` section per function.
#![allow(clippy::missing_safety_doc)]

mod args;
mod batch;
#[cfg(feature = "ssh")]
mod device;
#[cfg(feature = "ssh")]
mod device_options;
mod events;
mod guard;
pub mod handle;
#[cfg(feature = "ssh")]
mod inventory;
#[cfg(feature = "ssh")]
mod job;
mod log;
#[cfg(feature = "ssh")]
mod output;
#[cfg(feature = "ssh")]
mod parse;
#[cfg(feature = "ssh")]
mod pool;
mod queue;
#[cfg(feature = "ssh")]
mod report;
#[cfg(feature = "ssh")]
mod run;
mod snapshot;
mod state;
mod store;

use std::ffi::{c_char, c_int};

/// `timeout_ms` of the functions that wait (`netrig_run_wait`, `netrig_run_next_event`,
/// `netrig_subscription_poll`, `netrig_queue_claim`): no limit.
pub const NETRIG_WAIT_FOREVER: u32 = 0xFFFF_FFFF;

pub use batch::*;
#[cfg(feature = "ssh")]
pub use device::*;
#[cfg(feature = "ssh")]
pub use device_options::*;
pub use events::*;
#[cfg(feature = "ssh")]
pub use inventory::*;
#[cfg(feature = "ssh")]
pub use job::*;
pub use log::*;
#[cfg(feature = "ssh")]
pub use output::*;
#[cfg(feature = "ssh")]
pub use parse::*;
#[cfg(feature = "ssh")]
pub use pool::*;
pub use queue::*;
#[cfg(feature = "ssh")]
pub use report::*;
#[cfg(feature = "ssh")]
pub use run::*;
pub use snapshot::*;
pub use state::*;
pub use store::*;

use crate::error::{netrig_status, Error};
use crate::store::Value;
use args::{bytes_arg, str_arg};
use guard::{call, call_value};

/// The type of a stored value.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum netrig_type {
    NETRIG_TYPE_BOOL = 1,
    NETRIG_TYPE_INT = 2,
    NETRIG_TYPE_DOUBLE = 3,
    NETRIG_TYPE_STR = 4,
    NETRIG_TYPE_BYTES = 5,
}

impl From<crate::store::ValueType> for netrig_type {
    fn from(t: crate::store::ValueType) -> Self {
        use crate::store::ValueType as T;
        match t {
            T::Bool => netrig_type::NETRIG_TYPE_BOOL,
            T::Int => netrig_type::NETRIG_TYPE_INT,
            T::Double => netrig_type::NETRIG_TYPE_DOUBLE,
            T::Str => netrig_type::NETRIG_TYPE_STR,
            T::Bytes => netrig_type::NETRIG_TYPE_BYTES,
        }
    }
}

/// A typed value passed by pointer (compare-and-set, batches) or read from a snapshot.
///
/// `kind` is a `netrig_type` and selects the one field that is read: `b`, `i`, `d`, `str`
/// (NUL-terminated UTF-8) or `bytes` + `bytes_len`. With designated initialisers:
/// `netrig_value v = { .kind = NETRIG_TYPE_INT, .i = 42 };`
///
/// Values netrig fills in (snapshot entries) point into the snapshot and stay valid until
/// `netrig_snapshot_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_value {
    /// A `netrig_type`. Any other number is rejected with NETRIG_E_INVALID_ARG.
    pub kind: u32,
    /// For NETRIG_TYPE_BOOL: 0 is false, any other value true. (A byte rather than C `bool`, so
    /// that no byte a C caller leaves here can be an invalid Rust value.)
    pub b: u8,
    pub i: i64,
    pub d: f64,
    pub str: *const c_char,
    pub bytes: *const u8,
    pub bytes_len: usize,
}

impl netrig_value {
    /// The kind and, for scalars, the value; string and bytes pointers are left NULL for the
    /// caller to point at storage that outlives the struct.
    fn scalar(value: &Value) -> netrig_value {
        let mut v = netrig_value {
            kind: netrig_type::from(value.value_type()) as u32,
            b: 0,
            i: 0,
            d: 0.0,
            str: std::ptr::null(),
            bytes: std::ptr::null(),
            bytes_len: 0,
        };
        match *value {
            Value::Bool(b) => v.b = u8::from(b),
            Value::Int(i) => v.i = i,
            Value::Double(d) => v.d = d,
            Value::Str(_) | Value::Bytes(_) => {}
        }
        v
    }

    /// The length of the bytes a bytes value points to, for checking before they are copied (0
    /// for other kinds, whose size is their own).
    fn payload_len(&self) -> usize {
        if self.kind == netrig_type::NETRIG_TYPE_BYTES as u32 {
            self.bytes_len
        } else {
            0
        }
    }

    /// Converts a caller's value, checking its kind, pointers and UTF-8. A copy the allocator
    /// cannot give is [`Error::Full`].
    fn read_value(&self) -> crate::Result<Value> {
        match self.kind {
            k if k == netrig_type::NETRIG_TYPE_BOOL as u32 => Ok(Value::Bool(self.b != 0)),
            k if k == netrig_type::NETRIG_TYPE_INT as u32 => Ok(Value::Int(self.i)),
            k if k == netrig_type::NETRIG_TYPE_DOUBLE as u32 => Ok(Value::Double(self.d)),
            k if k == netrig_type::NETRIG_TYPE_STR as u32 => Value::str(str_arg(self.str, "value.str")?),
            k if k == netrig_type::NETRIG_TYPE_BYTES as u32 => {
                Value::try_bytes(bytes_arg(self.bytes, self.bytes_len, "value.bytes")?)
            }
            k => Err(Error::InvalidArg(format!("value.kind {k} is not a netrig_type (1..=5)"))),
        }
    }
}

/// The library version as "MAJOR.MINOR.PATCH".
///
/// Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_version() -> *const c_char {
    const VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version has a NUL"),
        };
    VERSION.as_ptr()
}

/// What this library was built with, one line for bug reports: its version, the features
/// compiled in and the versions of the libraries bundled into it, e.g. "netrig 0.1.0 (ssh,
/// durable; SQLite 3.50.2 bundled)". A program that links its own SQLite (or libssh2) next to
/// libnetrig gets its own copy: the bundled ones are internal to libnetrig (README, "Install").
///
/// Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_build_info() -> *const c_char {
    static INFO: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    call_value("netrig_build_info", c"".as_ptr(), || {
        INFO.get_or_init(|| {
            // A version string has no NUL; if one ever did, the text would stop before it.
            std::ffi::CString::new(crate::build_info()).unwrap_or_default()
        })
        .as_ptr()
    })
}

/// The name of a status ("NETRIG_E_TYPE"), or "NETRIG_E_UNKNOWN" for a number that is not one.
///
/// Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_status_str(status: c_int) -> *const c_char {
    call_value("netrig_status_str", c"NETRIG_E_UNKNOWN".as_ptr(), || {
        usize::try_from(status)
            .ok()
            .and_then(|i| netrig_status::all().get(i))
            .map_or(c"NETRIG_E_UNKNOWN".as_ptr(), |s| s.name().as_ptr())
    })
}

/// The text of the last error on the calling thread, with context ("netrig_store_get_int: key
/// 'x' not found"), or "" if no netrig call on this thread has failed. A text longer than 2047
/// bytes is cut and ends with "...".
///
/// Ownership: the string belongs to the calling thread; do not free it. It stays valid until
/// the next netrig call on this thread that fails; copy it to keep it. Blocking: never.
/// Thread-safety: any thread; each thread sees only its own errors.
#[no_mangle]
pub extern "C" fn netrig_last_error() -> *const c_char {
    call_value("netrig_last_error", c"".as_ptr(), guard::last_error_ptr)
}

/// Panics inside the library on purpose and returns what the panic guard makes of it:
/// NETRIG_E_PANIC, with `message` in the last error (NETRIG_E_UTF8, without panicking, if
/// `message` is not UTF-8). Bindings and test rigs use it to
/// check that a netrig panic can never take their process down.
///
/// Ownership: `message` is borrowed (may be NULL). Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_debug_panic(message: *const c_char) -> netrig_status {
    call("netrig_debug_panic", || {
        let text = if message.is_null() { "netrig_debug_panic" } else { str_arg(message, "message")? };
        panic!("{text}")
    })
}
