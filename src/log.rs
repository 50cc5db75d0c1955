//! The library's own log: records with a level, a target (device, pool, run, store, queue), the
//! device name where one applies, and a message.
//!
//! Where records go (the "sink"): a callback set with [`set_callback`], or, without one, stderr
//! when the `NETRIG_LOG` environment variable names a level (error, warn, info, debug, trace;
//! case-insensitive), or nowhere. The min level of the current sink is one atomic: a log site
//! whose level is off costs one relaxed load and a compare, before anything is formatted,
//! allocated or locked. Until the first record is asked for, the atomic holds a sentinel higher
//! than every level, which sends that first call through [`init`], which reads `NETRIG_LOG` once.
//!
//! Delivery to a callback: each record is copied into a bounded queue, and one netrig logging
//! thread ("netrig-log") calls the callback, one record at a time, in the order the records
//! were made. So the callback never runs under a netrig lock or on a thread doing I/O for
//! netrig, and it may call any netrig function, including ones that log. [`set_callback`] and
//! [`flush`] called from the callback itself cannot wait for it: they return without waiting.
//! When the queue is full a record is dropped and counted; the next record queued is delivered
//! after a WARN record "N log records dropped (queue full)".
//!
//! The stderr sink writes each record synchronously as one line with one write:
//! `2026-12-04T18:40:01.123456Z DEBUG netrig::device 127.0.0.1:2201: message`.

use std::collections::VecDeque;
use std::ffi::CStr;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

/// How much a record matters; a sink takes records at its min level and above (a lower number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// As a min level: nothing.
    Off = 0,
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    /// The level of a number (0..=5).
    pub fn from_number(n: u32) -> Option<Level> {
        Some(match n {
            0 => Level::Off,
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }

    /// The level `NETRIG_LOG` names ("error" .. "trace", case-insensitive; "off" too).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" => Level::Off,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            "trace" => Level::Trace,
            _ => return None,
        })
    }

    /// "ERROR", "WARN", ... as the stderr lines print it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// What part of netrig made a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Device,
    Pool,
    Run,
    Store,
    Queue,
}

impl Target {
    /// "device", "pool", "run", "store", "queue".
    pub fn name(self) -> &'static str {
        self.c_name().to_str().expect("ASCII")
    }

    pub(crate) fn c_name(self) -> &'static CStr {
        match self {
            Target::Device => c"device",
            Target::Pool => c"pool",
            Target::Run => c"run",
            Target::Store => c"store",
            Target::Queue => c"queue",
        }
    }
}

/// One log record as a callback sees it. Its strings live for the call only.
#[derive(Debug)]
pub struct Record<'a> {
    inner: &'a Owned,
}

impl Record<'_> {
    pub fn level(&self) -> Level {
        self.inner.level
    }
    pub fn target(&self) -> Target {
        self.inner.target
    }
    /// The device the record is about ("127.0.0.1:2201"), when there is one.
    pub fn device(&self) -> Option<&str> {
        self.inner.device.as_deref().map(|d| &d[..d.len() - 1])
    }
    /// The message: UTF-8, no trailing newline.
    pub fn message(&self) -> &str {
        &self.inner.message[..self.inner.message.len() - 1]
    }
    /// When the record was made, in microseconds since the Unix epoch.
    pub fn unix_time_us(&self) -> u64 {
        self.inner.unix_time_us
    }
    /// A number for the thread that made the record (stable per thread, never 0).
    pub fn thread_id(&self) -> u64 {
        self.inner.thread_id
    }
    /// The device name NUL-terminated, for the C ABI.
    pub(crate) fn device_c(&self) -> Option<&CStr> {
        self.inner.device.as_deref().map(|d| CStr::from_bytes_with_nul(d.as_bytes()).expect("one NUL, at the end"))
    }
    /// The message NUL-terminated, for the C ABI.
    pub(crate) fn message_c(&self) -> &CStr {
        CStr::from_bytes_with_nul(self.inner.message.as_bytes()).expect("one NUL, at the end")
    }
}

/// A record as queued: the strings end in one NUL (interior NULs are escaped when made).
#[derive(Debug)]
struct Owned {
    /// Records dropped (queue full) just before this one was made: a WARN saying so is
    /// delivered first.
    dropped_before: u64,
    level: Level,
    target: Target,
    device: Option<String>,
    message: String,
    unix_time_us: u64,
    thread_id: u64,
}

/// What a callback is.
pub type Callback = Box<dyn Fn(&Record<'_>) + Send + Sync>;

/// Records queued for the callback at most; more are dropped and counted.
pub const QUEUE_LIMIT: usize = 8192;

/// The min level before anything set one or read `NETRIG_LOG`: higher than every level, so that
/// the first log call takes the slow path.
const UNINIT: u8 = u8::MAX;

static MIN: AtomicU8 = AtomicU8::new(UNINIT);

enum Sink {
    Nowhere,
    Stderr,
    Callback(Arc<Callback>),
}

struct State {
    sink: Sink,
    queue: VecDeque<(Owned, Arc<Callback>)>,
    /// Records dropped since the last one queued.
    dropped: u64,
    /// Records queued so far, and delivered (or given up) so far, both counted from the start.
    queued: u64,
    delivered: u64,
    thread_started: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Tells the logging thread a record is queued.
    work: Condvar,
    /// Tells flushes a record was delivered.
    done: Condvar,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        state: Mutex::new(State {
            sink: Sink::Nowhere,
            queue: VecDeque::new(),
            dropped: 0,
            queued: 0,
            delivered: 0,
            thread_started: false,
        }),
        work: Condvar::new(),
        done: Condvar::new(),
    })
}

thread_local! {
    /// Set on the logging thread: calls from the callback that would wait for it do not.
    static ON_LOG_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static THREAD_ID: u64 = {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

/// What `NETRIG_LOG` asks for, read once: `None` when unset or not understood.
fn env_level() -> Option<Level> {
    static ENV: OnceLock<Option<Level>> = OnceLock::new();
    *ENV.get_or_init(|| {
        let value = std::env::var_os("NETRIG_LOG")?;
        let text = value.to_string_lossy();
        if text.trim().is_empty() {
            return None;
        }
        match Level::parse(&text) {
            Some(level) => Some(level),
            None => {
                let line = format!(
                    "netrig: NETRIG_LOG='{text}' is not understood (use error, warn, info, debug or trace); logging is off\n"
                );
                let _ = std::io::stderr().write_all(line.as_bytes());
                None
            }
        }
    })
}

/// Whether a record at `level` goes anywhere. The fast path: one relaxed load and a compare.
#[inline(always)]
pub fn enabled(level: Level) -> bool {
    let min = MIN.load(Ordering::Relaxed);
    (level as u8) <= min && (min != UNINIT || init(level))
}

/// The first call: sets the sink from `NETRIG_LOG` unless something set one already.
#[cold]
#[inline(never)]
fn init(level: Level) -> bool {
    let shared = shared();
    let mut st = shared.state.lock();
    if MIN.load(Ordering::Relaxed) == UNINIT {
        default_sink(&mut st);
    }
    drop(st);
    level as u8 <= MIN.load(Ordering::Relaxed)
}

/// The sink without a callback: stderr at `NETRIG_LOG`'s level, or nowhere.
fn default_sink(st: &mut State) {
    match env_level() {
        Some(level) if level != Level::Off => {
            st.sink = Sink::Stderr;
            MIN.store(level as u8, Ordering::Relaxed);
        }
        _ => {
            st.sink = Sink::Nowhere;
            MIN.store(Level::Off as u8, Ordering::Relaxed);
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Makes a record and hands it to the sink. Called by [`log!`](crate::log!) after
/// [`enabled`] said yes.
#[cold]
#[inline(never)]
pub fn emit(level: Level, target: Target, device: Option<&str>, args: std::fmt::Arguments<'_>) {
    let mut message = std::fmt::format(args);
    if message.contains('\0') {
        message = message.replace('\0', "\\0");
    }
    let unix_time_us = now_us();
    let thread_id = THREAD_ID.with(|id| *id);
    let shared = shared();
    let mut st = shared.state.lock();
    // The level may have changed since `enabled`.
    if level as u8 > MIN.load(Ordering::Relaxed) {
        return;
    }
    match &st.sink {
        Sink::Nowhere => {}
        Sink::Stderr => {
            drop(st);
            let mut line = String::with_capacity(message.len() + 64);
            line.push_str(&format_time(unix_time_us));
            line.push(' ');
            line.push_str(level.name());
            line.push_str(" netrig::");
            line.push_str(target.name());
            if let Some(d) = device {
                line.push(' ');
                line.push_str(d);
            }
            line.push_str(": ");
            // One record, one line.
            if message.contains(['\n', '\r']) {
                line.push_str(&message.replace('\r', "\\r").replace('\n', "\\n"));
            } else {
                line.push_str(&message);
            }
            line.push('\n');
            // One write: lines from threads writing at once do not interleave.
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        Sink::Callback(callback) => {
            if st.queue.len() >= QUEUE_LIMIT {
                st.dropped += 1;
                return;
            }
            let callback = Arc::clone(callback);
            message.push('\0');
            let device = device.map(|d| {
                let mut d = d.replace('\0', "\\0");
                d.push('\0');
                d
            });
            let dropped_before = std::mem::take(&mut st.dropped);
            st.queue.push_back((
                Owned { dropped_before, level, target, device, message, unix_time_us, thread_id },
                callback,
            ));
            st.queued += 1;
            drop(st);
            shared.work.notify_one();
        }
    }
}

/// Logs a record when its level is on: `log!(Level::Debug, Target::Device, Some(name), "...", args)`.
/// With the level off, nothing is formatted.
#[macro_export]
#[doc(hidden)]
macro_rules! log {
    ($level:expr, $target:expr, $device:expr, $($arg:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::emit($level, $target, $device, format_args!($($arg)+))
        }
    };
}

/// UTC time as `2026-12-04T18:40:01.123456Z`.
pub fn format_time(unix_time_us: u64) -> String {
    let secs = unix_time_us / 1_000_000;
    let micros = unix_time_us % 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The current time in that format.
pub fn now_text() -> String {
    format_time(now_us())
}

/// The logging thread: delivers queued records one at a time, outside the state lock.
fn deliver() {
    ON_LOG_THREAD.with(|t| t.set(true));
    let shared = shared();
    let mut st = shared.state.lock();
    loop {
        let Some((record, callback)) = st.queue.pop_front() else {
            shared.work.wait(&mut st);
            continue;
        };
        drop(st);
        let dropped = record.dropped_before;
        if dropped > 0 {
            let warn = Owned {
                dropped_before: 0,
                level: Level::Warn,
                target: record.target,
                device: None,
                message: format!("{dropped} log records dropped (queue full)\0"),
                unix_time_us: record.unix_time_us,
                thread_id: record.thread_id,
            };
            // A panicking callback loses its record, not the logging thread.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&Record { inner: &warn })));
        }
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&Record { inner: &record })));
        // The callback's last reference (when it was replaced) goes before the record counts as
        // delivered, so that a replacement that waited for it finds it gone.
        drop(callback);
        drop(record);
        st = shared.state.lock();
        st.delivered += 1;
        shared.done.notify_all();
    }
}

/// Waits until every record queued up to `upto` is delivered, or `deadline`.
fn wait_delivered(st: &mut parking_lot::MutexGuard<'_, State>, upto: u64, deadline: Option<Instant>) -> bool {
    let shared = shared();
    while st.delivered < upto {
        match deadline {
            Some(at) => {
                if shared.done.wait_until(st, at).timed_out() && st.delivered < upto {
                    return false;
                }
            }
            None => shared.done.wait(st),
        }
    }
    true
}

/// Sends records at `min_level` and above to `callback`, on the netrig logging thread; `None`
/// or [`Level::Off`] clears the callback, leaving the default sink (stderr when `NETRIG_LOG`
/// names a level, else nowhere). Records made before the call that are still queued go to the
/// callback that was current when they were made, and the call returns only once they are
/// delivered: after it returns, an old callback is never called again. From inside a callback
/// (on the logging thread) it cannot wait for itself and returns at once; the old callback may
/// then still get the records queued before.
pub fn set_callback(min_level: Level, callback: Option<Callback>) -> Result<()> {
    let shared = shared();
    let mut st = shared.state.lock();
    match callback {
        Some(callback) if min_level != Level::Off => {
            if !st.thread_started {
                std::thread::Builder::new()
                    .name("netrig-log".into())
                    .spawn(deliver)
                    .map_err(|e| Error::Io(format!("log: cannot start the logging thread: {e}")))?;
                st.thread_started = true;
            }
            st.sink = Sink::Callback(Arc::new(callback));
            MIN.store(min_level as u8, Ordering::Relaxed);
        }
        _ => default_sink(&mut st),
    }
    let upto = st.queued;
    if !ON_LOG_THREAD.with(|t| t.get()) {
        wait_delivered(&mut st, upto, None);
    }
    Ok(())
}

/// Sets the min level of the current sink. Without a callback, a level other than Off sends
/// records to stderr (as `NETRIG_LOG` would); Off stops them.
pub fn set_level(level: Level) {
    let shared = shared();
    let mut st = shared.state.lock();
    if matches!(st.sink, Sink::Nowhere) && level != Level::Off {
        st.sink = Sink::Stderr;
    }
    MIN.store(level as u8, Ordering::Relaxed);
}

/// The current min level.
pub fn level() -> Level {
    let min = MIN.load(Ordering::Relaxed);
    if min == UNINIT {
        init(Level::Trace);
    }
    Level::from_number(u32::from(MIN.load(Ordering::Relaxed))).unwrap_or(Level::Off)
}

/// Waits until every record queued before the call has reached the callback, up to `timeout`
/// ([`Error::Timeout`] then). From inside the callback it returns at once.
pub fn flush(timeout: Duration) -> Result<()> {
    if ON_LOG_THREAD.with(|t| t.get()) {
        return Ok(());
    }
    let shared = shared();
    let mut st = shared.state.lock();
    let upto = st.queued;
    let deadline = Instant::now().checked_add(timeout);
    if wait_delivered(&mut st, upto, deadline) {
        Ok(())
    } else {
        Err(Error::Timeout(format!(
            "log flush: {} records still queued after {} ms",
            upto - st.delivered,
            timeout.as_millis()
        )))
    }
}

/// Text with control characters escaped (`\r`, `\n`, `\t`, `\xNN`), for trace records of bytes.
pub fn escape(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_iso_8601_with_microseconds() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000000Z");
        // 2026-12-04T18:40:01.123456Z
        assert_eq!(format_time(1_796_409_601_123_456), "2026-12-04T18:40:01.123456Z");
        assert_eq!(format_time(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
    }

    #[test]
    fn levels_parse_and_escape() {
        assert_eq!(Level::parse("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::parse("verbose"), None);
        assert_eq!(escape(b"a\r\n\x1b[K\\"), "a\\r\\n\\x1b[K\\\\");
    }
}
