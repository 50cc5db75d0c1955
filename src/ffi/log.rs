//! `netrig_set_log_callback`, `netrig_set_log_level`, `netrig_get_log_level`, `netrig_log_flush`:
//! the library's log (`src/log.rs`) for C callers.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::guard::{call, call_value};
use crate::error::{netrig_status, Error, Result};
use crate::log::{self, Level, Record};

/// How much a log record matters; as a min level, records at it and above (lower numbers) are
/// made, and NETRIG_LOG_OFF makes none.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum netrig_log_level {
    NETRIG_LOG_OFF = 0,
    NETRIG_LOG_ERROR = 1,
    NETRIG_LOG_WARN = 2,
    NETRIG_LOG_INFO = 3,
    NETRIG_LOG_DEBUG = 4,
    NETRIG_LOG_TRACE = 5,
}

impl From<Level> for netrig_log_level {
    fn from(l: Level) -> Self {
        match l {
            Level::Off => netrig_log_level::NETRIG_LOG_OFF,
            Level::Error => netrig_log_level::NETRIG_LOG_ERROR,
            Level::Warn => netrig_log_level::NETRIG_LOG_WARN,
            Level::Info => netrig_log_level::NETRIG_LOG_INFO,
            Level::Debug => netrig_log_level::NETRIG_LOG_DEBUG,
            Level::Trace => netrig_log_level::NETRIG_LOG_TRACE,
        }
    }
}

/// One log record, as the log callback gets it. Every pointer in it is valid only during the
/// callback; copy what you keep.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_log_record {
    /// `sizeof` the record this library fills; fields are only ever added at the end, so read a
    /// field only when `struct_size` covers it.
    pub struct_size: usize,
    pub level: netrig_log_level,
    /// "device", "pool", "run", "store" or "queue".
    pub target: *const c_char,
    /// The device the record is about ("127.0.0.1:2201"), or NULL when none applies.
    pub device: *const c_char,
    /// UTF-8, NUL-terminated, without a trailing newline.
    pub message: *const c_char,
    /// When the record was made, in microseconds since the Unix epoch (UTC).
    pub unix_time_us: u64,
    /// A number for the thread that made the record: the same for every record of one thread,
    /// different between threads, never 0.
    pub thread_id: u64,
}

/// The log callback. See `netrig_set_log_callback` for the thread it runs on and what it may do.
#[allow(non_camel_case_types)]
pub type netrig_log_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, record: *const netrig_log_record)>;

/// The caller's callback and `user_data`, carried to the netrig logging thread.
struct LogCallback {
    f: unsafe extern "C" fn(*mut c_void, *const netrig_log_record),
    user_data: *mut c_void,
}

// SAFETY: netrig never reads or writes through `user_data`; it only passes it back to `f`, and
// only from the one netrig logging thread, one call at a time. netrig_set_log_callback's
// contract makes the caller keep `f` callable with `user_data` from that thread until a later
// netrig_set_log_callback (from outside the callback) has returned, and that call returns only
// after every record queued for this callback was delivered (core `log::set_callback`), so no
// call runs or starts after it. Exercised by tests/log.rs::c_callback_gets_records_and_replacing_it_drains.
unsafe impl Send for LogCallback {}
// SAFETY: shared only as `&self` by the logging thread (the core keeps the callback in an `Arc`
// that other threads clone but never call); see the Send above.
unsafe impl Sync for LogCallback {}

impl LogCallback {
    fn deliver(&self, r: &Record<'_>) {
        let record = netrig_log_record {
            struct_size: std::mem::size_of::<netrig_log_record>(),
            level: r.level().into(),
            target: r.target().c_name().as_ptr(),
            device: r.device_c().map_or(std::ptr::null(), |d| d.as_ptr()),
            message: r.message_c().as_ptr(),
            unix_time_us: r.unix_time_us(),
            thread_id: r.thread_id(),
        };
        // SAFETY: `f` is the caller's non-NULL function pointer, called with a record whose
        // strings live until it returns, and with `user_data` as given (see the Send above).
        unsafe { (self.f)(self.user_data, &record) };
    }
}

fn level_arg(n: u32, what: &str) -> Result<Level> {
    Level::from_number(n).ok_or_else(|| {
        Error::InvalidArg(format!("{what} {n} is not a netrig_log_level (0 NETRIG_LOG_OFF ..= 5 NETRIG_LOG_TRACE)"))
    })
}

/// Sends log records at `min_level` (a netrig_log_level) and above to `callback`. `callback` NULL or
/// `min_level` NETRIG_LOG_OFF clears the callback; records then go to stderr when the
/// NETRIG_LOG environment variable names a level (error, warn, info, debug, trace), else
/// nowhere. A `min_level` that is not a netrig_log_level is NETRIG_E_INVALID_ARG.
///
/// The callback runs on one netrig logging thread ("netrig-log"), never on the caller's thread,
/// never on a thread doing I/O for netrig and never under a netrig lock: it gets one record at
/// a time, in the order the records were made. It may call any netrig function, including ones
/// that log (their records are queued behind the current one). It should return promptly: while
/// it runs, records queue up (at most 8192; beyond that they are dropped, and the next record
/// delivered is preceded by a NETRIG_LOG_WARN record "N log records dropped (queue full)"). It
/// must not unwind (no C++ exception, no longjmp) through netrig.
///
/// Replacing or clearing the callback first delivers every record still queued to the callback
/// that was current when it was made, then returns: after it returns, the old callback is never
/// called again and its `user_data` may be freed. Called from inside the callback it cannot
/// wait for itself: it switches at once and returns without waiting (the old callback may then
/// still get the records queued before the call).
///
/// Ownership: `user_data` is the caller's, passed back to `callback` untouched; it must stay valid
/// until a later netrig_set_log_callback (from outside the callback) has returned. Blocking:
/// while the records queued before the call are delivered. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_set_log_callback(
    min_level: u32,
    callback: netrig_log_fn,
    user_data: *mut c_void,
) -> netrig_status {
    call("netrig_set_log_callback", || {
        let level = level_arg(min_level, "min_level")?;
        let boxed: Option<log::Callback> = callback.map(|f| {
            let cb = LogCallback { f, user_data };
            Box::new(move |r: &Record<'_>| cb.deliver(r)) as log::Callback
        });
        log::set_callback(level, boxed)
    })
}

/// Sets the min level of the current log sink (the callback, or stderr). Without a callback,
/// a level other than NETRIG_LOG_OFF sends records to stderr, one line each, as NETRIG_LOG
/// would. A `level` that is not a netrig_log_level is NETRIG_E_INVALID_ARG.
///
/// Ownership: nothing to own. Blocking: never. Thread-safety: any thread, also from inside the
/// log callback.
#[no_mangle]
pub extern "C" fn netrig_set_log_level(level: u32) -> netrig_status {
    call("netrig_set_log_level", || {
        log::set_level(level_arg(level, "level")?);
        Ok(())
    })
}

/// The current min log level (NETRIG_LOG_OFF when nothing is logged). (Named `get` because C
/// does not allow a function named like the type `netrig_log_level`.)
///
/// Ownership: nothing to own. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_get_log_level() -> netrig_log_level {
    call_value("netrig_get_log_level", netrig_log_level::NETRIG_LOG_OFF, || log::level().into())
}

/// Waits until every record queued for the log callback before the call has been delivered,
/// up to `timeout_ms` (NETRIG_WAIT_FOREVER: no limit); NETRIG_E_TIMEOUT when some are still
/// queued then. From inside the log callback it returns NETRIG_OK at once (it cannot wait for
/// itself).
///
/// Ownership: nothing to own. Blocking: up to `timeout_ms`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_log_flush(timeout_ms: u32) -> netrig_status {
    call("netrig_log_flush", || {
        let timeout = if timeout_ms == super::NETRIG_WAIT_FOREVER {
            Duration::from_secs(u64::MAX / 4)
        } else {
            Duration::from_millis(u64::from(timeout_ms))
        };
        log::flush(timeout)
    })
}
