//! A pool of device sessions, keyed by (host, port, user, platform).
//!
//! A checkout hands out an exclusive [`Lease`]; dropping the lease checks the session back in.
//! The pool's bookkeeping lives under one mutex that is held only for a few map and counter
//! updates: connecting, health checks and closing sessions all happen outside it, so a slow or
//! hung device never holds up checkouts of other hosts.
//!
//! Creation is single-flight: a checkout opens a connection only while the host is below
//! `max_per_host` counting the connections being opened, so a stampede of callers for one
//! host opens at most that many; the others wait (up to their deadline) for a check-in, or
//! share the error of the connect they waited on.

mod checkout;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use checkout::Watch;

use crate::device::{Device, DeviceOptions};
use crate::error::{Error, Result};
use crate::log::{Level, Target};

/// Which sessions are interchangeable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolKey {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub platform: String,
}

impl PoolKey {
    pub fn of(opts: &DeviceOptions) -> PoolKey {
        PoolKey {
            host: opts.host.clone(),
            port: opts.port,
            username: opts.username.clone(),
            platform: opts.platform.name.clone(),
        }
    }
}

impl std::fmt::Display for PoolKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{} ({})", self.username, self.host, self.port, self.platform)
    }
}

/// Limits of a pool. The defaults suit a test station: a few sessions per device, room for
/// hundreds of devices, and sessions recycled before devices or firewalls drop them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Sessions open to one key at most (idle, in use and being opened).
    pub max_per_host: usize,
    /// Sessions open in the whole pool at most; at the limit the least recently used idle
    /// session of any host is closed to make room.
    pub max_total: usize,
    /// An idle session is closed after this long unused.
    pub idle_timeout: Duration,
    /// A session is closed at its first check-in (or while idle) after this long open.
    pub max_lifetime: Duration,
    /// How long a checkout waits for a session when the limits are reached (the default of
    /// `checkout`'s `timeout`).
    pub checkout_timeout: Duration,
    /// A session idle for longer than this gets a real round trip (RETURN, prompt) before it is
    /// handed out; one that fails it is discarded and the checkout goes on.
    pub health_check_after: Duration,
    /// Deadline of that round trip.
    pub health_check_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_per_host: 4,
            max_total: 512,
            idle_timeout: Duration::from_secs(300),
            max_lifetime: Duration::from_secs(3600),
            checkout_timeout: Duration::from_secs(30),
            health_check_after: Duration::from_secs(10),
            health_check_timeout: Duration::from_secs(5),
        }
    }
}

/// Counters since the pool was made (the last four are gauges: now and the peak).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
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
    /// Time spent waiting, over all checkouts.
    pub wait_time: Duration,
    /// Checkouts that waited until their deadline and gave up.
    pub timed_out_waits: u64,
    /// Idle sessions closed to make room under `max_total`.
    pub evicted_lru: u64,
    /// Idle sessions closed after `idle_timeout`.
    pub evicted_idle: u64,
    /// Sessions closed after `max_lifetime`.
    pub evicted_lifetime: u64,
    /// Sessions closed by `close_all` (idle at the time, or checked in afterwards).
    pub closed_by_close_all: u64,
    /// Health checks made on checkout.
    pub health_checks: u64,
    /// Sessions discarded as broken: a failed health check, or checked in after a timeout,
    /// cancel, lost connection or I/O error.
    pub discarded_broken: u64,
    pub in_use: u64,
    pub idle: u64,
    pub connecting: u64,
    pub peak_in_use: u64,
}

struct Idle {
    device: Arc<Device>,
    created: Instant,
    since: Instant,
    seq: u64,
    epoch: u64,
    used: bool,
}

#[derive(Default)]
struct Host {
    /// The options of the last checkout by options: `checkout_key` and reconnects use them.
    opts: Option<Arc<DeviceOptions>>,
    /// Idle sessions, most recently checked in last.
    idle: Vec<Idle>,
    in_use: usize,
    connecting: usize,
    waiters: usize,
    cond: Arc<Condvar>,
    /// Connects to this host that failed so far; numbers each failure.
    failures: u64,
    /// The newest failed connect: its number among the failures and its error, shared with the
    /// checkouts that were waiting on a connect when it failed.
    failure: Option<(u64, Error)>,
}

impl Host {
    fn count(&self) -> usize {
        self.idle.len() + self.in_use + self.connecting
    }
}

struct State {
    hosts: HashMap<PoolKey, Host>,
    /// Idle sessions of all hosts by check-in order: the first is the least recently used.
    lru: BTreeMap<u64, PoolKey>,
    seq: u64,
    /// Sessions idle, in use or being opened.
    total: usize,
    /// Checkouts waiting because the pool as a whole is full.
    total_waiters: usize,
    /// Bumped by `close_all`: sessions of an older epoch are closed when they come back.
    epoch: u64,
    closed: bool,
    stats: PoolStats,
    /// When the reaper plans to wake next.
    reaper_at: Option<Instant>,
}

pub(crate) struct Inner {
    opts: PoolOptions,
    state: Mutex<State>,
    /// Waiters for room in the whole pool.
    room: Condvar,
    reaper: Condvar,
}

/// A pool of device sessions. Share it between threads behind an `Arc`; dropping the pool
/// closes every idle session (leases still out close when they are returned).
pub struct Pool {
    inner: Arc<Inner>,
    reaper: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("opts", &self.inner.opts).finish()
    }
}

/// An exclusive loan of a pooled session. Derefs to [`Device`]. Dropping it checks the session
/// back in; a session that is broken ([`Device::is_broken`]), past its lifetime, or returned
/// after `close_all` is closed instead.
pub struct Lease {
    device: Option<Arc<Device>>,
    key: PoolKey,
    created: Instant,
    epoch: u64,
    reused: bool,
    discard: bool,
    /// Check the session in as never used (a prewarm's lease).
    unused: bool,
    pool: Arc<Inner>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("key", &self.key).field("reused", &self.reused).finish()
    }
}

impl std::ops::Deref for Lease {
    type Target = Device;
    fn deref(&self) -> &Device {
        self.device.as_ref().expect("a lease holds its device until dropped")
    }
}

impl Lease {
    pub fn key(&self) -> &PoolKey {
        &self.key
    }

    /// Whether the session served an earlier lease.
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// How long the session has been open.
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }

    /// Closes the session instead of returning it to the pool.
    pub fn discard(mut self) {
        self.discard = true;
    }

    /// The shared device, for the C API's handle table.
    #[allow(dead_code)] // used by the C API (next commit)
    pub(crate) fn device_arc(&self) -> &Arc<Device> {
        self.device.as_ref().expect("a lease holds its device until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(device) = self.device.take() {
            self.pool.check_in(device, &self.key, self.created, self.epoch, self.discard, !self.unused);
        }
    }
}

/// Logs each session closed for `why`; called after the pool's lock is dropped.
fn log_evicted(devices: &[Arc<Device>], why: &str) {
    for d in devices {
        crate::log!(Level::Info, Target::Pool, Some(d.log_name()), "{why}");
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

impl Pool {
    pub fn new(opts: PoolOptions) -> Result<Pool> {
        if opts.max_per_host == 0 || opts.max_total == 0 {
            return Err(Error::InvalidArg("pool: max_per_host and max_total must be at least 1".into()));
        }
        let inner = Arc::new(Inner {
            opts,
            state: Mutex::new(State {
                hosts: HashMap::new(),
                lru: BTreeMap::new(),
                seq: 0,
                total: 0,
                total_waiters: 0,
                epoch: 0,
                closed: false,
                stats: PoolStats::default(),
                reaper_at: None,
            }),
            room: Condvar::new(),
            reaper: Condvar::new(),
        });
        let reaper_inner = Arc::clone(&inner);
        let reaper = std::thread::Builder::new()
            .name("netrig-pool-reaper".into())
            .spawn(move || reaper_inner.reap())
            .map_err(|e| Error::Io(format!("pool: cannot start the reaper thread: {e}")))?;
        Ok(Pool { inner, reaper: Mutex::new(Some(reaper)) })
    }

    pub fn options(&self) -> &PoolOptions {
        &self.inner.opts
    }

    /// Lends a session to `opts`' key: an idle one (health-checked when it sat idle longer than
    /// `health_check_after`), or a new one when the host is below its limit, or the next one
    /// checked in. Waits up to `timeout` (default `checkout_timeout`), then
    /// [`Error::Timeout`]. When the connect this checkout waited on fails, it gets that error.
    pub fn checkout(&self, opts: &DeviceOptions, timeout: Option<Duration>) -> Result<Lease> {
        self.inner.checkout(PoolKey::of(opts), Some(opts), timeout, None)
    }

    /// Like [`Pool::checkout`], with the options of the last checkout or prewarm of `key`
    /// ([`Error::NotFound`] when the pool has never seen it).
    pub fn checkout_key(&self, key: &PoolKey, timeout: Option<Duration>) -> Result<Lease> {
        self.inner.checkout(key.clone(), None, timeout, None)
    }

    /// A checkout (by options, or by key when `opts` is None) that also gives up with
    /// [`Error::Cancelled`] within [`crate::device::SLICE`] once `stop` is raised: the parallel
    /// runner's workers wait in the pool this way, so cancelling a run does not wait for them.
    pub(crate) fn checkout_or_stop(
        &self,
        key: &PoolKey,
        opts: Option<&DeviceOptions>,
        timeout: Option<Duration>,
        stop: &AtomicBool,
    ) -> Result<Lease> {
        self.inner.checkout(key.clone(), opts, timeout, Some(Watch::Stop(stop)))
    }

    /// A checkout (by options, or by key when `opts` is None) that gives up with
    /// [`Error::Closed`] once `closed` is raised and [`Pool::wake_waiters`] called: the C
    /// handle's checkouts, which `netrig_pool_free` ends while runs keep using the pool.
    pub(crate) fn checkout_unless_closed(
        &self,
        key: &PoolKey,
        opts: Option<&DeviceOptions>,
        timeout: Option<Duration>,
        closed: &AtomicBool,
    ) -> Result<Lease> {
        self.inner.checkout(key.clone(), opts, timeout, Some(Watch::Closed(closed)))
    }

    /// Wakes every waiting checkout to look at its flags again (after raising a `closed`).
    pub(crate) fn wake_waiters(&self) {
        self.inner.wake_all(&self.inner.state.lock());
    }

    /// Opens a session to each target in parallel (at most `parallel` connects at a time, each
    /// bounded by its connect and auth timeouts) and leaves them idle in the pool. Returns one
    /// result per target, in order: the hosts that failed, and why.
    pub fn prewarm(&self, targets: &[DeviceOptions], parallel: usize) -> Vec<Result<()>> {
        let results: Vec<Mutex<Option<Result<()>>>> = targets.iter().map(|_| Mutex::new(None)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = parallel.clamp(1, targets.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(opts) = targets.get(i) else { break };
                    let result = self.checkout(opts, None).map(|mut lease| {
                        // A session opened here has served nobody yet.
                        lease.unused = !lease.reused;
                    });
                    *results[i].lock() = Some(result);
                });
            }
        });
        results.into_iter().map(|r| r.into_inner().expect("every target was tried")).collect()
    }

    pub fn stats(&self) -> PoolStats {
        let st = self.inner.state.lock();
        let mut stats = st.stats.clone();
        stats.idle = st.lru.len() as u64;
        stats.connecting = st.hosts.values().map(|h| h.connecting as u64).sum();
        stats
    }

    /// Closes every idle session now; sessions on loan are closed when they are checked in.
    /// The pool stays usable: later checkouts open new sessions.
    pub fn close_all(&self) {
        let doomed = {
            let mut st = self.inner.state.lock();
            st.epoch += 1;
            self.inner.take_idle(&mut st, |_| Some(|s| s.closed_by_close_all += 1))
        };
        drop(doomed);
        self.inner.wake_all(&self.inner.state.lock());
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let doomed = {
            let mut st = self.inner.state.lock();
            st.closed = true;
            st.epoch += 1;
            self.inner.reaper.notify_all();
            self.inner.take_idle(&mut st, |_| Some(|s| s.closed_by_close_all += 1))
        };
        self.inner.wake_all(&self.inner.state.lock());
        drop(doomed);
        if let Some(reaper) = self.reaper.lock().take() {
            let _ = reaper.join();
        }
    }
}

/// Counts a closed session under its cause.
type Cause = fn(&mut PoolStats);

impl Inner {
    fn expired(&self, idle: &Idle, now: Instant) -> Option<Cause> {
        if now.duration_since(idle.created) >= self.opts.max_lifetime {
            Some(|s| s.evicted_lifetime += 1)
        } else if now.duration_since(idle.since) >= self.opts.idle_timeout {
            Some(|s| s.evicted_idle += 1)
        } else {
            None
        }
    }

    /// Takes the most recently used idle session of `key` that has not expired; the expired
    /// ones met on the way are removed and returned for closing outside the lock.
    fn take_fresh(&self, st: &mut State, key: &PoolKey, now: Instant) -> (Option<Idle>, Vec<Arc<Device>>) {
        let mut expired = Vec::new();
        let Some(host) = st.hosts.get_mut(key) else { return (None, expired) };
        while let Some(idle) = host.idle.pop() {
            st.lru.remove(&idle.seq);
            if let Some(count) = self.expired(&idle, now) {
                count(&mut st.stats);
                st.total -= 1;
                expired.push(idle.device);
                continue;
            }
            return (Some(idle), expired);
        }
        (None, expired)
    }

    /// Removes the least recently used idle session of any host, to make room.
    fn evict_lru(&self, st: &mut State) -> Option<Arc<Device>> {
        let (seq, key) = st.lru.pop_first()?;
        let host = st.hosts.get_mut(&key).expect("an idle session's host is known");
        let at = host.idle.iter().position(|i| i.seq == seq).expect("the LRU index matches the idle lists");
        let idle = host.idle.remove(at);
        st.total -= 1;
        st.stats.evicted_lru += 1;
        let cond = Arc::clone(&host.cond);
        cond.notify_all();
        Some(idle.device)
    }

    /// Removes the idle sessions for which `doomed` gives a cause, counting each under it.
    fn take_idle(&self, st: &mut State, doomed: impl Fn(&Idle) -> Option<Cause>) -> Vec<Arc<Device>> {
        let mut out = Vec::new();
        for host in st.hosts.values_mut() {
            let mut i = 0;
            while i < host.idle.len() {
                if let Some(count) = doomed(&host.idle[i]) {
                    let idle = host.idle.remove(i);
                    st.lru.remove(&idle.seq);
                    count(&mut st.stats);
                    out.push(idle.device);
                } else {
                    i += 1;
                }
            }
        }
        st.total -= out.len();
        out
    }

    /// Tells waiters that `key` has a session to give or room to connect, and waiters for room
    /// in the whole pool that there may be some.
    fn wake(&self, st: &State, key: &PoolKey) {
        if let Some(host) = st.hosts.get(key) {
            if host.waiters > 0 {
                host.cond.notify_all();
            }
        }
        if st.total_waiters > 0 {
            self.room.notify_all();
        }
    }

    fn wake_all(&self, st: &State) {
        for host in st.hosts.values() {
            host.cond.notify_all();
        }
        self.room.notify_all();
    }

    fn check_in(&self, device: Arc<Device>, key: &PoolKey, created: Instant, epoch: u64, discard: bool, used: bool) {
        // A C caller may free a leased handle while one of its own calls still runs on the
        // device: that call holds another reference. Stop it; the session is not reusable.
        let shared = Arc::strong_count(&device) > 1;
        if shared {
            device.retire();
        }
        let broken = discard || shared || device.is_broken();
        let now = Instant::now();
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let host = st.hosts.get_mut(key).expect("hosts are never removed");
        host.in_use -= 1;
        st.stats.in_use -= 1;
        let doomed = if broken {
            st.stats.discarded_broken += 1;
            true
        } else if st.closed || epoch != st.epoch {
            st.stats.closed_by_close_all += 1;
            true
        } else if now.duration_since(created) >= self.opts.max_lifetime {
            st.stats.evicted_lifetime += 1;
            true
        } else {
            false
        };
        if doomed {
            st.total -= 1;
            self.wake(st, key);
            drop(guard);
            let why = if broken { "discarded a broken session" } else { "closed a session checked in" };
            crate::log!(Level::Info, Target::Pool, Some(device.log_name()), "{why} ({key})");
            drop(device);
            return;
        }
        st.seq += 1;
        let seq = st.seq;
        host.idle.push(Idle { device, created, since: now, seq, epoch, used });
        st.lru.insert(seq, key.clone());
        let expiry = (now + self.opts.idle_timeout).min(created + self.opts.max_lifetime);
        if st.reaper_at.is_none_or(|at| expiry < at) {
            self.reaper.notify_all();
        }
        self.wake(st, key);
    }

    /// The reaper thread: closes idle sessions when they pass their idle timeout or lifetime,
    /// sleeping until the next one is due. Ends when the pool is dropped.
    fn reap(&self) {
        let mut st = self.state.lock();
        loop {
            if st.closed {
                return;
            }
            let now = Instant::now();
            let doomed = self.take_idle(&mut st, |i| self.expired(i, now));
            if !doomed.is_empty() {
                for host in st.hosts.values() {
                    host.cond.notify_all();
                }
                self.room.notify_all();
                MutexGuard::unlocked(&mut st, || {
                    log_evicted(&doomed, "evicted (idle timeout or lifetime)");
                    drop(doomed)
                });
                continue;
            }
            let next = st
                .hosts
                .values()
                .flat_map(|h| h.idle.iter())
                .map(|i| (i.since + self.opts.idle_timeout).min(i.created + self.opts.max_lifetime))
                .min();
            st.reaper_at = next;
            match next {
                Some(at) => {
                    let _ = self.reaper.wait_until(&mut st, at);
                }
                None => self.reaper.wait(&mut st),
            }
            st.reaper_at = None;
        }
    }
}
