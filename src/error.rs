//! The one error type of the crate and its mapping to the stable C status codes.
//!
//! Rust callers see [`Error`]; C callers see [`netrig_status`] plus the error's text through
//! `netrig_last_error()`. The text always carries enough context (the key, the sizes, the handle)
//! to act on without a debugger.

/// Status returned by every netrig function that can fail.
///
/// The numbers are stable: a code is never renumbered or reused. `NETRIG_OK` is 0; every other
/// value names one cause. `netrig_status_str()` gives a static name for each, and
/// `netrig_last_error()` the text of the last failure on the calling thread.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum netrig_status {
    /// Success.
    NETRIG_OK = 0,
    /// A required pointer argument was NULL.
    NETRIG_E_NULL_ARG = 1,
    /// A handle was zero, freed, freed twice, forged, or of another kind.
    NETRIG_E_INVALID_HANDLE = 2,
    /// A string argument was not valid UTF-8.
    NETRIG_E_UTF8 = 3,
    /// An argument was out of its allowed range (an empty or over-long key, a negative TTL, ...).
    NETRIG_E_INVALID_ARG = 4,
    /// The key (or item) does not exist, or has expired.
    NETRIG_E_NOT_FOUND = 5,
    /// The key holds a value of another type than the one asked for.
    NETRIG_E_TYPE = 6,
    /// The operation would exceed a bound (entries or bytes). Nothing was changed.
    NETRIG_E_FULL = 7,
    /// The object is in use and the `try_` form was asked not to wait.
    NETRIG_E_BUSY = 8,
    /// The deadline passed before the operation finished.
    NETRIG_E_TIMEOUT = 9,
    /// The operation was cancelled from another thread.
    NETRIG_E_CANCELLED = 10,
    /// Authentication was refused by the device.
    NETRIG_E_AUTH = 11,
    /// The device's host key did not match policy.
    NETRIG_E_HOSTKEY = 12,
    /// The TCP or SSH connection could not be established.
    NETRIG_E_CONNECT = 13,
    /// The connection or object is closed.
    NETRIG_E_CLOSED = 14,
    /// The device's prompt was not found.
    NETRIG_E_PROMPT = 15,
    /// The caller's buffer is too small; the needed size was written to the length out-parameter.
    NETRIG_E_BUFFER_TOO_SMALL = 16,
    /// A bug inside netrig panicked; the panic was caught at the boundary.
    NETRIG_E_PANIC = 17,
    /// A compare-and-set (or a batch precondition) found another version than expected.
    /// Nothing was changed.
    NETRIG_E_CONFLICT = 18,
    /// An integer operation would overflow int64. Nothing was changed.
    NETRIG_E_OVERFLOW = 19,
    /// The device answered a command with error output ("% Invalid input", "syntax error", a
    /// failed commit). The message names the command and quotes the device's answer.
    NETRIG_E_COMMAND = 20,
    /// A local file or a file transfer failed: a missing or unwritable file, or a size that does
    /// not match at the end of a transfer.
    NETRIG_E_IO = 21,
    /// A subscriber's event queue overflowed: events were dropped at this point of its stream.
    /// The message gives how many; take a snapshot to resynchronise. Later events follow.
    NETRIG_E_LAGGED = 22,
    /// A queue item's lease is no longer held by this claim: it expired (the item went back to
    /// pending and may be claimed again) or the item was already completed or failed.
    /// Nothing was changed.
    NETRIG_E_LEASE = 23,
}

/// Every status, in numeric order.
const ALL_STATUSES: [netrig_status; 24] = [
    netrig_status::NETRIG_OK,
    netrig_status::NETRIG_E_NULL_ARG,
    netrig_status::NETRIG_E_INVALID_HANDLE,
    netrig_status::NETRIG_E_UTF8,
    netrig_status::NETRIG_E_INVALID_ARG,
    netrig_status::NETRIG_E_NOT_FOUND,
    netrig_status::NETRIG_E_TYPE,
    netrig_status::NETRIG_E_FULL,
    netrig_status::NETRIG_E_BUSY,
    netrig_status::NETRIG_E_TIMEOUT,
    netrig_status::NETRIG_E_CANCELLED,
    netrig_status::NETRIG_E_AUTH,
    netrig_status::NETRIG_E_HOSTKEY,
    netrig_status::NETRIG_E_CONNECT,
    netrig_status::NETRIG_E_CLOSED,
    netrig_status::NETRIG_E_PROMPT,
    netrig_status::NETRIG_E_BUFFER_TOO_SMALL,
    netrig_status::NETRIG_E_PANIC,
    netrig_status::NETRIG_E_CONFLICT,
    netrig_status::NETRIG_E_OVERFLOW,
    netrig_status::NETRIG_E_COMMAND,
    netrig_status::NETRIG_E_IO,
    netrig_status::NETRIG_E_LAGGED,
    netrig_status::NETRIG_E_LEASE,
];

impl netrig_status {
    /// Every status, in numeric order (index = number).
    pub fn all() -> &'static [netrig_status] {
        &ALL_STATUSES
    }

    /// The constant's name, as a static NUL-terminated string.
    pub const fn name(self) -> &'static std::ffi::CStr {
        use netrig_status::*;
        match self {
            NETRIG_OK => c"NETRIG_OK",
            NETRIG_E_NULL_ARG => c"NETRIG_E_NULL_ARG",
            NETRIG_E_INVALID_HANDLE => c"NETRIG_E_INVALID_HANDLE",
            NETRIG_E_UTF8 => c"NETRIG_E_UTF8",
            NETRIG_E_INVALID_ARG => c"NETRIG_E_INVALID_ARG",
            NETRIG_E_NOT_FOUND => c"NETRIG_E_NOT_FOUND",
            NETRIG_E_TYPE => c"NETRIG_E_TYPE",
            NETRIG_E_FULL => c"NETRIG_E_FULL",
            NETRIG_E_BUSY => c"NETRIG_E_BUSY",
            NETRIG_E_TIMEOUT => c"NETRIG_E_TIMEOUT",
            NETRIG_E_CANCELLED => c"NETRIG_E_CANCELLED",
            NETRIG_E_AUTH => c"NETRIG_E_AUTH",
            NETRIG_E_HOSTKEY => c"NETRIG_E_HOSTKEY",
            NETRIG_E_CONNECT => c"NETRIG_E_CONNECT",
            NETRIG_E_CLOSED => c"NETRIG_E_CLOSED",
            NETRIG_E_PROMPT => c"NETRIG_E_PROMPT",
            NETRIG_E_BUFFER_TOO_SMALL => c"NETRIG_E_BUFFER_TOO_SMALL",
            NETRIG_E_PANIC => c"NETRIG_E_PANIC",
            NETRIG_E_CONFLICT => c"NETRIG_E_CONFLICT",
            NETRIG_E_OVERFLOW => c"NETRIG_E_OVERFLOW",
            NETRIG_E_COMMAND => c"NETRIG_E_COMMAND",
            NETRIG_E_IO => c"NETRIG_E_IO",
            NETRIG_E_LAGGED => c"NETRIG_E_LAGGED",
            NETRIG_E_LEASE => c"NETRIG_E_LEASE",
        }
    }
}

/// Everything that can go wrong in netrig, with the context a test engineer needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("argument '{0}' is NULL")]
    NullArg(&'static str),
    #[error("invalid handle: {0}")]
    InvalidHandle(String),
    #[error("argument '{what}' is not valid UTF-8 (first bad byte at offset {offset})")]
    Utf8 { what: &'static str, offset: usize },
    #[error("{0}")]
    InvalidArg(String),
    #[error("key '{0}' not found")]
    NotFound(String),
    #[error("{what} has {len} entries; index {index} is past the end")]
    IndexOutOfRange { what: &'static str, index: usize, len: usize },
    #[error("key '{key}' has type {actual}, not {expected}")]
    Type { key: String, expected: &'static str, actual: &'static str },
    #[error("{0}")]
    Full(String),
    #[error("key '{key}': expected version {expected}, found {found}")]
    Conflict { key: String, expected: u64, found: u64 },
    #[error("key '{key}': {value} + {delta} overflows int64")]
    Overflow { key: String, value: i64, delta: i64 },
    #[error("{what} needs {needed} bytes; the buffer holds {capacity}")]
    BufferTooSmall { what: String, needed: usize, capacity: usize },
    #[error("internal panic (caught at the C boundary): {0}")]
    Panic(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    HostKey(String),
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Closed(String),
    #[error("{0}")]
    Prompt(String),
    #[error("{0}")]
    Command(String),
    /// The device answered with a line that matches its error patterns: the message names the
    /// device and the command and quotes the line; the output is kept for the caller to read.
    #[cfg(feature = "ssh")]
    #[error("{}", .0.message)]
    CommandFailed(Box<CommandFailure>),
    #[error("{0}")]
    Io(String),
    /// A subscriber missed this many events because its queue was full.
    #[error("subscription '{prefix}' lagged: {missed} events dropped because its queue (capacity {capacity}) was full; take a snapshot to resynchronise")]
    Lagged { prefix: String, missed: u64, capacity: usize },
    #[error("{0}")]
    Lease(String),
    /// Something other than a key is missing (no test running, no such service or queue item);
    /// the text says what.
    #[error("{0}")]
    Absent(String),
}

impl Error {
    /// The stable C status for this error.
    pub fn status(&self) -> netrig_status {
        use netrig_status::*;
        match self {
            Error::NullArg(_) => NETRIG_E_NULL_ARG,
            Error::InvalidHandle(_) => NETRIG_E_INVALID_HANDLE,
            Error::Utf8 { .. } => NETRIG_E_UTF8,
            Error::InvalidArg(_) => NETRIG_E_INVALID_ARG,
            Error::NotFound(_) | Error::IndexOutOfRange { .. } => NETRIG_E_NOT_FOUND,
            Error::Type { .. } => NETRIG_E_TYPE,
            Error::Full(_) => NETRIG_E_FULL,
            Error::Conflict { .. } => NETRIG_E_CONFLICT,
            Error::Overflow { .. } => NETRIG_E_OVERFLOW,
            Error::BufferTooSmall { .. } => NETRIG_E_BUFFER_TOO_SMALL,
            Error::Panic(_) => NETRIG_E_PANIC,
            Error::Busy(_) => NETRIG_E_BUSY,
            Error::Timeout(_) => NETRIG_E_TIMEOUT,
            Error::Cancelled(_) => NETRIG_E_CANCELLED,
            Error::Auth(_) => NETRIG_E_AUTH,
            Error::HostKey(_) => NETRIG_E_HOSTKEY,
            Error::Connect(_) => NETRIG_E_CONNECT,
            Error::Closed(_) => NETRIG_E_CLOSED,
            Error::Prompt(_) => NETRIG_E_PROMPT,
            Error::Command(_) => NETRIG_E_COMMAND,
            #[cfg(feature = "ssh")]
            Error::CommandFailed(_) => NETRIG_E_COMMAND,
            Error::Io(_) => NETRIG_E_IO,
            Error::Lagged { .. } => NETRIG_E_LAGGED,
            Error::Lease(_) => NETRIG_E_LEASE,
            Error::Absent(_) => NETRIG_E_NOT_FOUND,
        }
    }
}

/// A command whose output the device's error patterns matched.
#[cfg(feature = "ssh")]
#[derive(Debug, Clone, PartialEq)]
pub struct CommandFailure {
    pub message: String,
    /// What the device answered, with `failure` set to the line that matched.
    pub output: crate::device::Output,
}

#[cfg(feature = "ssh")]
impl Error {
    /// The output of a command the device refused, when this error is one.
    pub fn output(&self) -> Option<&crate::device::Output> {
        match self {
            Error::CommandFailed(f) => Some(&f.output),
            _ => None,
        }
    }

    /// The output of a command the device refused, taken out of the error.
    pub fn into_output(self) -> Option<crate::device::Output> {
        match self {
            Error::CommandFailed(f) => Some(f.output),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message of a caught panic.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_are_dense_stable_and_named() {
        for (i, s) in netrig_status::all().iter().enumerate() {
            assert_eq!(*s as usize, i, "{s:?} moved");
            let name = s.name().to_str().unwrap();
            assert_eq!(name, format!("{s:?}"));
        }
    }
}
