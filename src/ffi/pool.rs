//! `netrig_pool_*`: a pool of device sessions keyed by (host, port, username, platform).
//!
//! A checkout is an ordinary `netrig_device` handle that holds the pool's lease; every
//! `netrig_device_*` function works on it, and `netrig_device_free` gives the session back.
//! The pool handle holds an `Arc<Pool>`: calls clone it and let go of the handle table at once,
//! so a checkout that waits for a session never holds up `netrig_pool_free` on another thread,
//! and a run started with the pool keeps it alive until the run ends.

use std::ffi::c_char;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::args::{ms, opt_str, str_arg, timeout_or_default, Out, OutArray};
use super::args::{options_arg, options_array_arg, options_default, options_or_default, GrowableOptions};
use super::device::{netrig_device, DeviceSlot};
use super::device_options::netrig_device_options;
use super::guard::call;
use super::handle::CHandle;
use crate::device::DeviceOptions;
use crate::error::{netrig_status, Error, Result};
use crate::pool::{Lease, Pool, PoolKey, PoolOptions, PoolStats};

/// A pool of device sessions. Create with `netrig_pool_new`, free with `netrig_pool_free`.
/// The zero value `{0}` is never a valid handle (and means "no pool" to `netrig_run_start`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_pool {
    pub id: u64,
}

/// Limits of a pool. Start from `netrig_pool_options_default(&o, sizeof o)` and change what you
/// need, so fields added later keep their defaults. Every field must be at least 1.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_pool_options {
    /// `sizeof` this struct in the caller's netrig.h, set by `netrig_pool_options_default(&o,
    /// sizeof o)`. The library reads only that many bytes, so the fields a newer header added
    /// take their defaults for a program built against an older one (OPTIONS in the preamble).
    pub struct_size: usize,
    /// Sessions open to one (host, port, username, platform) at most, counting idle, in use and
    /// being opened (default 4). Checkouts beyond it wait for a check-in.
    pub max_per_host: u32,
    /// Sessions open in the whole pool at most (default 512); at the limit the least recently
    /// used idle session of any host is closed to make room.
    pub max_total: u32,
    /// An idle session is closed after this many ms unused (default 300000).
    pub idle_timeout_ms: u32,
    /// A session is closed at its first check-in (or while idle) after this many ms open
    /// (default 3600000).
    pub max_lifetime_ms: u32,
    /// How long a checkout waits for a session when the limits are reached, in ms (default
    /// 30000); the `timeout_ms` 0 of `netrig_pool_checkout` means this.
    pub checkout_timeout_ms: u32,
    /// A session idle for longer than this (ms, default 10000) gets a round trip (RETURN, then
    /// the prompt) before it is handed out; one that fails it is closed and the checkout goes on.
    pub health_check_after_ms: u32,
    /// Deadline of that round trip, in ms (default 5000).
    pub health_check_timeout_ms: u32,
}

/// Counters of a pool since it was made; the last four are gauges (now, and the peak of in_use).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct netrig_pool_stats {
    /// Checkouts that found an idle session at once.
    pub hits: u64,
    /// Checkouts that found none and had to connect or wait.
    pub misses: u64,
    /// Sessions opened.
    pub created: u64,
    /// Checkouts served with a session that had been used before.
    pub reused: u64,
    /// Connects that failed.
    pub connect_failures: u64,
    /// Checkouts that had to wait for a session or a connect in flight.
    pub waits: u64,
    /// Time spent waiting, over all checkouts, in microseconds.
    pub wait_time_us: u64,
    /// Checkouts that waited until their deadline and gave up (NETRIG_E_TIMEOUT).
    pub timed_out_waits: u64,
    /// Idle sessions closed to make room under max_total.
    pub evicted_lru: u64,
    /// Idle sessions closed after idle_timeout_ms.
    pub evicted_idle: u64,
    /// Sessions closed after max_lifetime_ms.
    pub evicted_lifetime: u64,
    /// Sessions closed by `netrig_pool_close_all` or `netrig_pool_free` (idle then, or returned
    /// afterwards).
    pub closed_by_close_all: u64,
    /// Health checks made on checkout.
    pub health_checks: u64,
    /// Sessions closed instead of reused: a failed health check, `netrig_pool_discard`, or
    /// returned after a timeout, cancel, lost connection, I/O error, or while another thread's
    /// operation still ran on the handle.
    pub discarded_broken: u64,
    /// Sessions checked out now.
    pub in_use: u64,
    /// Sessions idle in the pool now.
    pub idle: u64,
    /// Connects in flight now.
    pub connecting: u64,
    /// The most sessions checked out at once so far.
    pub peak_in_use: u64,
}

/// A pool as its C handle holds it: the pool, which runs started on it share, and the flag
/// `netrig_pool_free` raises to end the checkouts still waiting through this handle (the runs'
/// own checkouts go on).
pub(crate) struct CPool {
    pool: Arc<Pool>,
    freed: AtomicBool,
}

impl CPool {
    /// The pool itself, for calls and runs that go on after they let go of the handle table.
    pub(super) fn pool(&self) -> Arc<Pool> {
        Arc::clone(&self.pool)
    }
}

fn to_ms(d: Duration) -> u32 {
    d.as_millis().min(u32::MAX as u128) as u32
}

impl netrig_pool_options {
    fn to_options(self) -> Result<PoolOptions> {
        let fields = [
            ("max_per_host", self.max_per_host),
            ("max_total", self.max_total),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("max_lifetime_ms", self.max_lifetime_ms),
            ("checkout_timeout_ms", self.checkout_timeout_ms),
            ("health_check_after_ms", self.health_check_after_ms),
            ("health_check_timeout_ms", self.health_check_timeout_ms),
        ];
        if let Some((name, _)) = fields.iter().find(|(_, v)| *v == 0) {
            return Err(Error::InvalidArg(format!(
                "options.{name} is 0; every netrig_pool_options field must be at least 1 \
                 (start from netrig_pool_options_default)"
            )));
        }
        Ok(PoolOptions {
            max_per_host: self.max_per_host as usize,
            max_total: self.max_total as usize,
            idle_timeout: ms(self.idle_timeout_ms),
            max_lifetime: ms(self.max_lifetime_ms),
            checkout_timeout: ms(self.checkout_timeout_ms),
            health_check_after: ms(self.health_check_after_ms),
            health_check_timeout: ms(self.health_check_timeout_ms),
        })
    }
}

impl From<PoolStats> for netrig_pool_stats {
    fn from(s: PoolStats) -> Self {
        netrig_pool_stats {
            hits: s.hits,
            misses: s.misses,
            created: s.created,
            reused: s.reused,
            connect_failures: s.connect_failures,
            waits: s.waits,
            wait_time_us: s.wait_time.as_micros().min(u64::MAX as u128) as u64,
            timed_out_waits: s.timed_out_waits,
            evicted_lru: s.evicted_lru,
            evicted_idle: s.evicted_idle,
            evicted_lifetime: s.evicted_lifetime,
            closed_by_close_all: s.closed_by_close_all,
            health_checks: s.health_checks,
            discarded_broken: s.discarded_broken,
            in_use: s.in_use,
            idle: s.idle,
            connecting: s.connecting,
            peak_in_use: s.peak_in_use,
        }
    }
}

/// Reads a caller's `netrig_device_options` (NULL checked) into the core's options.
pub(super) fn read_device_options(p: *const netrig_device_options, what: &'static str) -> Result<DeviceOptions> {
    options_arg(p, what)?.to_options()
}

/// A pool key from C strings; a NULL platform is "generic", as in `netrig_device_options`.
pub(super) fn read_key(
    host: *const c_char,
    port: u16,
    username: *const c_char,
    platform: *const c_char,
) -> Result<PoolKey> {
    let host = str_arg(host, "host")?;
    let username = str_arg(username, "username")?;
    let platform = opt_str(platform, "platform")?.unwrap_or("generic");
    if host.is_empty() {
        return Err(Error::InvalidArg("host is empty".into()));
    }
    if port == 0 {
        return Err(Error::InvalidArg("port is 0".into()));
    }
    Ok(PoolKey { host: host.into(), port, username: username.into(), platform: platform.into() })
}

/// `e` with the text `text` and the same status. Errors whose text is fixed (a NULL or
/// non-UTF-8 argument names a static field) keep their own.
pub(super) fn retext(e: &Error, text: String) -> Error {
    match e {
        Error::InvalidHandle(_) => Error::InvalidHandle(text),
        Error::InvalidArg(_) => Error::InvalidArg(text),
        Error::NotFound(_) => Error::NotFound(text),
        Error::Full(_) => Error::Full(text),
        Error::Panic(_) => Error::Panic(text),
        Error::Busy(_) => Error::Busy(text),
        Error::Timeout(_) => Error::Timeout(text),
        Error::Cancelled(_) => Error::Cancelled(text),
        Error::Auth(_) => Error::Auth(text),
        Error::HostKey(_) => Error::HostKey(text),
        Error::Connect(_) => Error::Connect(text),
        Error::Closed(_) => Error::Closed(text),
        Error::Prompt(_) => Error::Prompt(text),
        Error::Command(_) => Error::Command(text),
        Error::Io(_) => Error::Io(text),
        other => other.clone(),
    }
}

/// Puts a lease in the device table; on failure the lease goes back to the pool.
fn lend(lease: Lease, out: &Out<netrig_device>) -> Result<()> {
    out.set(netrig_device::insert(DeviceSlot::Leased(lease))?);
    Ok(())
}

/// Fills `*out` with the pool defaults: max_per_host 4, max_total 512, idle_timeout_ms 300000
/// (5 min), max_lifetime_ms 3600000 (1 h), checkout_timeout_ms 30000, health_check_after_ms
/// 10000, health_check_timeout_ms 5000. `struct_size` is `sizeof *out` (see OPTIONS in the
/// preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this
/// library's struct.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_pool_options_default(
    out: *mut netrig_pool_options,
    struct_size: usize,
) -> netrig_status {
    call("netrig_pool_options_default", || options_default(out, struct_size))
}

// SAFETY: #[repr(C)], `struct_size: usize` first, and every other field a u32.
unsafe impl GrowableOptions for netrig_pool_options {
    const NAME: &'static str = "netrig_pool_options";
    fn defaults() -> Self {
        let d = PoolOptions::default();
        netrig_pool_options {
            struct_size: std::mem::size_of::<netrig_pool_options>(),
            max_per_host: d.max_per_host.min(u32::MAX as usize) as u32,
            max_total: d.max_total.min(u32::MAX as usize) as u32,
            idle_timeout_ms: to_ms(d.idle_timeout),
            max_lifetime_ms: to_ms(d.max_lifetime),
            checkout_timeout_ms: to_ms(d.checkout_timeout),
            health_check_after_ms: to_ms(d.health_check_after),
            health_check_timeout_ms: to_ms(d.health_check_timeout),
        }
    }
}

/// Creates a pool of device sessions, with a background thread ("netrig-pool-reaper") that
/// closes sessions past idle_timeout_ms or max_lifetime_ms. NETRIG_E_INVALID_ARG when a field
/// of `opts` is 0.
///
/// Ownership: `opts` is borrowed for the call (NULL = the defaults). On success `*out` receives
/// a handle the caller frees with `netrig_pool_free`.
/// Blocking: never (no connection is opened). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_pool_new(opts: *const netrig_pool_options, out: *mut netrig_pool) -> netrig_status {
    call("netrig_pool_new", || {
        let out = Out::new(out, "out")?;
        let opts = options_or_default(opts, "opts")?.to_options()?;
        out.set(netrig_pool::insert(Arc::new(CPool {
            pool: Arc::new(Pool::new(opts)?),
            freed: AtomicBool::new(false),
        }))?);
        Ok(())
    })
}

/// Frees a pool handle. Idle sessions are closed; sessions checked out stay usable and are
/// closed when their handles are freed (`netrig_device_free`) instead of going back. A run
/// started with the pool keeps using it until the run ends, and the pool closes then.
///
/// Ownership: consumes the handle. Blocking: never waits for checked-out sessions, runs or
/// checkouts in progress on other threads; closing an idle session sends its disconnect
/// without waiting for an answer. Thread-safety: any thread, also while other threads check
/// out from the pool: a checkout waiting for a session fails at once with NETRIG_E_CLOSED, one
/// already opening or health-checking its session completes.
#[no_mangle]
pub extern "C" fn netrig_pool_free(pool: netrig_pool) -> netrig_status {
    call("netrig_pool_free", || {
        let c = pool.take()?;
        // Checkouts waiting through this handle hold the pool, so dropping the handle's
        // reference alone would leave them waiting for their full timeout.
        c.freed.store(true, Ordering::SeqCst);
        c.pool.wake_waiters();
        Ok(())
    })
}

/// Lends a session to the device `opts` describes: an idle one of the same (host, port,
/// username, platform) if there is one (health-checked first when it sat idle longer than
/// health_check_after_ms), else a new one when the host is below max_per_host (and the pool
/// below max_total, after closing the least recently used idle session if needed), else the
/// next one checked in. The credentials and other options of a new session are those of `opts`;
/// an idle session is handed out whatever credentials it was opened with.
///
/// Failures: NETRIG_E_TIMEOUT when no session came free within the timeout (the last error
/// gives the host's counts and the limits); the connect's own status (NETRIG_E_CONNECT,
/// NETRIG_E_AUTH, ...) when the connect this checkout made, or waited on, failed;
/// NETRIG_E_CLOSED after `netrig_pool_free`; argument errors as for `netrig_device_open`.
///
/// Ownership: `opts` and its strings are borrowed for the call; the pool keeps copies (for
/// `netrig_pool_checkout_key` and reconnects). On success `*out` receives an ordinary device
/// handle: every `netrig_device_*` function works on it, and `netrig_device_free` returns the
/// session to the pool (`netrig_pool_discard` closes it instead). The handle stays valid after
/// `netrig_pool_free`.
/// Blocking: up to `timeout_ms` (0 = the pool's checkout_timeout_ms) waiting for a session,
/// plus, when it opens one, up to the connect_timeout_ms + auth_timeout_ms + timeout_ms of
/// `opts`, or, for an idle session, up to health_check_timeout_ms.
/// Thread-safety: any thread; checkouts of other hosts never wait for this one's connect.
#[no_mangle]
pub unsafe extern "C" fn netrig_pool_checkout(
    pool: netrig_pool,
    opts: *const netrig_device_options,
    timeout_ms: u32,
    out: *mut netrig_device,
) -> netrig_status {
    call("netrig_pool_checkout", || {
        let out = Out::new(out, "out")?;
        let p = pool.get()?;
        let opts = read_device_options(opts, "opts")?;
        lend(
            p.pool.checkout_unless_closed(
                &PoolKey::of(&opts),
                Some(&opts),
                timeout_or_default(timeout_ms),
                &p.freed,
            )?,
            &out,
        )
    })
}

/// Like `netrig_pool_checkout`, by key: (host, port, username, platform) must be a device the
/// pool has seen in a `netrig_pool_checkout` or `netrig_pool_prewarm` (its options from then
/// are used to open new sessions); NETRIG_E_NOT_FOUND otherwise. `platform` NULL means
/// "generic", as in `netrig_device_options`.
///
/// Ownership: the strings are borrowed for the call; `*out` as for `netrig_pool_checkout`.
/// Blocking: as `netrig_pool_checkout`. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_pool_checkout_key(
    pool: netrig_pool,
    host: *const c_char,
    port: u16,
    username: *const c_char,
    platform: *const c_char,
    timeout_ms: u32,
    out: *mut netrig_device,
) -> netrig_status {
    call("netrig_pool_checkout_key", || {
        let out = Out::new(out, "out")?;
        let p = pool.get()?;
        let key = read_key(host, port, username, platform)?;
        lend(p.pool.checkout_unless_closed(&key, None, timeout_or_default(timeout_ms), &p.freed)?, &out)
    })
}

/// Frees a handle from `netrig_pool_checkout` and closes its session instead of returning it
/// (a session the caller knows is in a bad state). An operation still running on it in another
/// thread is cancelled. On a handle from `netrig_device_open`: NETRIG_E_INVALID_ARG, and the
/// handle is untouched (free it with `netrig_device_free`).
///
/// Ownership: consumes the handle (on success). Blocking: never waits for a running operation.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_pool_discard(dev: netrig_device) -> netrig_status {
    call("netrig_pool_discard", || {
        let leased = dev.with(|slot| matches!(slot, DeviceSlot::Leased(_)))?;
        if !leased {
            return Err(Error::InvalidArg(format!(
                "device handle {:#x} was opened with netrig_device_open, not checked out of a pool; \
                 free it with netrig_device_free",
                dev.id
            )));
        }
        match dev.take()? {
            DeviceSlot::Leased(lease) => lease.discard(),
            // The id was checked above and an id never changes what it holds.
            DeviceSlot::Owned(d) => d.retire(),
        }
        Ok(())
    })
}

/// Opens a session to each of the `count` targets, at most `parallel` at a time, and leaves
/// them idle in the pool, so that a run or checkouts that follow find them ready. Returns
/// NETRIG_OK when every target opened; otherwise the status of the first target (in array
/// order) that failed, with a last error that lists every failed host and why
/// ("netrig_pool_prewarm: 2 of 50 targets failed: 127.0.0.1:2201: ...; 127.0.0.1:2207: ...").
///
/// Out-parameters, an exception to the library's rule: once the arguments are valid (and the
/// connects were tried), `statuses` (may be NULL; else `count` entries: NETRIG_OK or the
/// target's failure) and `*failed` (may be NULL: how many failed) are written whether the call
/// returns NETRIG_OK or a failure. On an argument error (NULL, bad options, `parallel` 0,
/// invalid pool) nothing is connected and neither is written.
///
/// Ownership: `targets` and their strings are borrowed for the call; the pool keeps copies.
/// Blocking: at most about ceil(count / parallel) times the longest connect_timeout_ms +
/// auth_timeout_ms + timeout_ms of the targets (a host already at max_per_host is waited for up
/// to the pool's checkout_timeout_ms). It uses `parallel` threads of its own, ended on return.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_pool_prewarm(
    pool: netrig_pool,
    targets: *const netrig_device_options,
    count: usize,
    parallel: u32,
    statuses: *mut netrig_status,
    failed: *mut usize,
) -> netrig_status {
    call("netrig_pool_prewarm", || {
        let p = pool.with(|c| c.pool())?;
        if parallel == 0 {
            return Err(Error::InvalidArg("parallel is 0; at least one connect must run at a time".into()));
        }
        if count > 1 << 20 {
            return Err(Error::InvalidArg(format!("count {count} is more than 1048576 targets")));
        }
        let opts: Vec<DeviceOptions> = options_array_arg(targets, count, "targets")?
            .iter()
            .enumerate()
            .map(|(i, t)| t.to_options().map_err(|e| retext(&e, format!("targets[{i}]: {e}"))))
            .collect::<Result<_>>()?;
        let results = p.prewarm(&opts, parallel as usize);
        let statuses = OutArray::optional(statuses, count);
        let mut first: Option<Error> = None;
        let mut text = String::new();
        let mut n_failed = 0usize;
        for (i, (o, r)) in opts.iter().zip(&results).enumerate() {
            let status = match r {
                Ok(()) => netrig_status::NETRIG_OK,
                Err(e) => {
                    n_failed += 1;
                    if n_failed <= 20 {
                        let _ = write!(text, "{}{}:{}: {e}", if n_failed > 1 { "; " } else { "" }, o.host, o.port);
                    }
                    first.get_or_insert_with(|| e.clone());
                    e.status()
                }
            };
            statuses.set(i, status);
        }
        Out::optional(failed).set(n_failed);
        match first {
            None => Ok(()),
            Some(e) => {
                if n_failed > 20 {
                    let _ = write!(text, "; and {} more", n_failed - 20);
                }
                Err(retext(&e, format!("{n_failed} of {} targets failed: {text}", opts.len())))
            }
        }
    })
}

/// The pool's counters and gauges.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: takes the pool's
/// bookkeeping lock for microseconds; never waits for a connect. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_pool_get_stats(pool: netrig_pool, out: *mut netrig_pool_stats) -> netrig_status {
    call("netrig_pool_get_stats", || {
        let out = Out::new(out, "out")?;
        out.set(pool.with(|c| c.pool())?.stats().into());
        Ok(())
    })
}

/// Closes every idle session now; sessions checked out are closed when they are returned. The
/// pool stays usable: later checkouts open new sessions. For a test step that changed device
/// credentials or rebooted devices.
///
/// Ownership: borrows the handle. Blocking: sends each idle session's disconnect without
/// waiting for an answer; never waits for checked-out sessions. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_pool_close_all(pool: netrig_pool) -> netrig_status {
    call("netrig_pool_close_all", || {
        pool.with(|c| c.pool())?.close_all();
        Ok(())
    })
}
