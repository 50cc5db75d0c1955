//! A checkout's way to a session: [`Inner::plan`] decides under the pool's lock, in steps
//! (refuse when closed or stopped, lend an idle session, share a failed connect, evict to make
//! room, reserve a connect slot, give up at the deadline, wait), and [`Inner::checkout`] does
//! what was decided outside it (a health check, a connect). Kept apart from the pool's
//! bookkeeping in `mod.rs`, which check-ins and the reaper share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;

#[cfg(doc)]
use super::Pool;
use super::{ms, Host, Idle, Inner, Lease, PoolKey, State};
use crate::device::{Device, DeviceOptions, SLICE};
use crate::error::{Error, Result};
use crate::log::{Level, Target};

/// An idle session handed out (after its health check when `checked`).
fn log_lent(lease: &Lease, checked: bool) {
    crate::log!(
        Level::Info,
        Target::Pool,
        Some(lease.log_name()),
        "{} an idle session for {} (age {:.3} s{})",
        if lease.reused() { "reuses" } else { "lends" },
        lease.key(),
        lease.age().as_secs_f64(),
        if checked { ", health check passed" } else { "" }
    );
}

/// What a checkout does once it has decided, outside the pool's lock.
enum Plan {
    /// Hand out this idle session; `check` asks for a health check first. `expired` are
    /// sessions found past their time on the way, to close.
    Idle { lease: Lease, check: bool, expired: Vec<Arc<Device>> },
    /// Open a new session, after closing `evicted`.
    Connect { opts: Arc<DeviceOptions>, evicted: Vec<Arc<Device>> },
}

/// A flag a checkout watches while it waits, besides its deadline.
#[derive(Clone, Copy)]
pub(super) enum Watch<'a> {
    /// A run's cancel flag: raised without a wake-up, so the wait looks at it every SLICE.
    Stop(&'a AtomicBool),
    /// A C handle's freed flag: raised before [`Pool::wake_waiters`], so no polling is needed.
    Closed(&'a AtomicBool),
}

/// A checkout's progress through waits.
struct Checkout {
    key: PoolKey,
    start: Instant,
    deadline: Instant,
    first: bool,
    /// When this checkout began waiting.
    waited: Option<Instant>,
    /// Set when this checkout began waiting on a connect in flight: the number the host's next
    /// failure would get. That failure, or a later one, is its answer; a connect that failed
    /// before it waited is not (failures are numbered as they end, not as connects start,
    /// because a connect started later may fail first).
    waited_on: Option<u64>,
}

impl Inner {
    pub(super) fn checkout(
        self: &Arc<Self>,
        key: PoolKey,
        opts: Option<&DeviceOptions>,
        timeout: Option<Duration>,
        watch: Option<Watch<'_>>,
    ) -> Result<Lease> {
        let start = Instant::now();
        let mut c = Checkout {
            key,
            start,
            deadline: start + timeout.unwrap_or(self.opts.checkout_timeout),
            first: true,
            waited: None,
            waited_on: None,
        };
        loop {
            match self.plan(&mut c, opts, watch)? {
                Plan::Idle { lease, check: false, expired } => {
                    super::log_evicted(&expired, "expired (idle timeout or lifetime)");
                    drop(expired);
                    log_lent(&lease, false);
                    return Ok(lease);
                }
                Plan::Idle { lease, check: true, expired } => {
                    super::log_evicted(&expired, "expired (idle timeout or lifetime)");
                    drop(expired);
                    let left = c.deadline.saturating_duration_since(Instant::now());
                    let limit = self.opts.health_check_timeout.min(left.max(Duration::from_millis(1)));
                    if lease.is_alive(Some(limit)).unwrap_or(false) {
                        log_lent(&lease, true);
                        return Ok(lease);
                    }
                    crate::log!(
                        Level::Info,
                        Target::Pool,
                        Some(lease.log_name()),
                        "idle session failed its health check: discarded"
                    );
                    // Dead: the lease's check-in closes it and counts it; look again. The dead
                    // session served nobody: take back its hit (`c.first` is still set when
                    // `plan` counted one) and its reuse, so that each checkout counts once.
                    let mut st = self.state.lock();
                    if lease.reused {
                        st.stats.reused -= 1;
                    }
                    if c.first {
                        st.stats.hits -= 1;
                    }
                    drop(st);
                    let mut lease = lease;
                    lease.discard = true;
                }
                Plan::Connect { opts: connect_opts, evicted } => {
                    super::log_evicted(&evicted, "evicted to make room (least recently used, or expired)");
                    drop(evicted);
                    let opening = Instant::now();
                    let result = Device::open(&connect_opts);
                    let result = self.connected(&c.key, result);
                    let name = format!("{}:{}", connect_opts.host, connect_opts.port);
                    match &result {
                        Ok(_) => crate::log!(
                            Level::Info,
                            Target::Pool,
                            Some(&name),
                            "created a session for {} in {:.1} ms",
                            c.key,
                            crate::device::ms(opening.elapsed())
                        ),
                        Err(e) => crate::log!(
                            Level::Info,
                            Target::Pool,
                            Some(&name),
                            "creating a session for {} failed: {e}",
                            c.key
                        ),
                    }
                    return result;
                }
            }
        }
    }

    /// Decides under the lock what the checkout does, waiting (up to its deadline) while the
    /// host or the pool is at its limit.
    fn plan(
        self: &Arc<Self>,
        c: &mut Checkout,
        opts: Option<&DeviceOptions>,
        watch: Option<Watch<'_>>,
    ) -> Result<Plan> {
        let mut guard = self.state.lock();
        loop {
            let st = &mut *guard;
            Self::refuse_if_closed_or_stopped(st, c, watch)?;
            let now = Instant::now();
            let (found, expired) = self.take_fresh(st, &c.key, now);
            if let Some(idle) = found {
                return Ok(self.lend_idle(st, c, idle, expired, now));
            }
            if c.first {
                st.stats.misses += 1;
                c.first = false;
            }
            let host = st.hosts.entry(c.key.clone()).or_default();
            if let Some(e) = Self::failure_waited_on(host, c) {
                Self::end_wait(st, c);
                return Err(e);
            }
            let below_host = host.count() < self.opts.max_per_host;
            let mut evicted = expired;
            if below_host && st.total >= self.opts.max_total {
                evicted.extend(self.evict_lru(st));
            }
            if below_host && st.total < self.opts.max_total {
                return self.reserve_connect(st, c, opts, evicted);
            }
            if !evicted.is_empty() {
                MutexGuard::unlocked(&mut guard, || drop(evicted));
                continue;
            }
            self.refuse_if_past_deadline(st, c, now)?;
            self.wait_for_session_or_room(&mut guard, c, watch, now, below_host);
        }
    }

    /// Ends the checkout when the pool is closed, or when the flag it watches is raised: a
    /// run's cancel ([`Error::Cancelled`]) or the C handle's free ([`Error::Closed`]).
    fn refuse_if_closed_or_stopped(st: &mut State, c: &mut Checkout, watch: Option<Watch<'_>>) -> Result<()> {
        if st.closed {
            return Err(Error::Closed(format!("pool: closed; cannot check out {}", c.key)));
        }
        match watch {
            Some(Watch::Stop(s)) if s.load(Ordering::SeqCst) => {
                Self::end_wait(st, c);
                return Err(Error::Cancelled(format!("pool: checkout of {} cancelled", c.key)));
            }
            Some(Watch::Closed(f)) if f.load(Ordering::SeqCst) => {
                Self::end_wait(st, c);
                return Err(Error::Closed(format!(
                    "pool: closed (its handle was freed) while waiting to check out {}",
                    c.key
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Lends the idle session found for the checkout (a hit on its first look, a reuse when
    /// it served before) and decides whether it gets a health check first: when it sat idle
    /// longer than `health_check_after`.
    fn lend_idle(
        self: &Arc<Self>,
        st: &mut State,
        c: &mut Checkout,
        idle: Idle,
        expired: Vec<Arc<Device>>,
        now: Instant,
    ) -> Plan {
        st.hosts.get_mut(&c.key).expect("the host of an idle session is known").in_use += 1;
        if c.first {
            st.stats.hits += 1;
        }
        if idle.used {
            st.stats.reused += 1;
        }
        Self::lent(st);
        Self::end_wait(st, c);
        let check = now.duration_since(idle.since) > self.opts.health_check_after;
        if check {
            st.stats.health_checks += 1;
        }
        let lease = self.lease(idle.device, c.key.clone(), idle.created, idle.epoch, idle.used);
        Plan::Idle { lease, check, expired }
    }

    /// The error this checkout shares: the host's newest failed connect, if it is the connect
    /// the checkout began waiting on or a later one.
    fn failure_waited_on(host: &Host, c: &Checkout) -> Option<Error> {
        if let (Some(mine), Some((failed, e))) = (c.waited_on, &host.failure) {
            if *failed >= mine {
                return Some(e.clone());
            }
        }
        None
    }

    /// Takes a connect slot for the checkout (the host is below `max_per_host` and the pool
    /// below `max_total`) with the options to connect with: the checkout's own, remembered for
    /// `checkout_key`, or else the remembered ones ([`Error::Absent`] when there are none).
    fn reserve_connect(
        &self,
        st: &mut State,
        c: &mut Checkout,
        opts: Option<&DeviceOptions>,
        evicted: Vec<Arc<Device>>,
    ) -> Result<Plan> {
        let host = st.hosts.get_mut(&c.key).expect("entered above");
        let connect_opts = match (opts, &host.opts) {
            (Some(o), _) => {
                // Remembered for checkout_key: the options of the newest connect.
                let o = Arc::new(o.clone());
                host.opts = Some(Arc::clone(&o));
                o
            }
            (None, Some(o)) => Arc::clone(o),
            (None, None) => {
                return Err(Error::Absent(format!(
                    "pool: {} was never checked out with options; nothing to connect with",
                    c.key
                )))
            }
        };
        host.connecting += 1;
        st.total += 1;
        Self::end_wait(st, c);
        Ok(Plan::Connect { opts: connect_opts, evicted })
    }

    /// Ends the checkout with [`Error::Timeout`] once its deadline has passed.
    fn refuse_if_past_deadline(&self, st: &mut State, c: &mut Checkout, now: Instant) -> Result<()> {
        if now >= c.deadline {
            st.stats.timed_out_waits += 1;
            Self::end_wait(st, c);
            let host = &st.hosts[&c.key];
            return Err(Error::Timeout(format!(
                "pool: no session to {} free within {} ms ({} in use, {} connecting; max_per_host {}; {} of max_total {} open)",
                c.key,
                ms(c.deadline - c.start),
                host.in_use,
                host.connecting,
                self.opts.max_per_host,
                st.total,
                self.opts.max_total
            )));
        }
        Ok(())
    }

    /// Waits, the lock released meanwhile, until the deadline (or the next SLICE, to look at a
    /// stop flag): for room in the pool when only the pool is full (`below_host`), else for
    /// the host's check-ins and connects. Counts the wait once, and notes the connect in
    /// flight whose failure would be this checkout's answer.
    fn wait_for_session_or_room(
        &self,
        guard: &mut MutexGuard<'_, State>,
        c: &mut Checkout,
        watch: Option<Watch<'_>>,
        now: Instant,
        below_host: bool,
    ) {
        let st = &mut **guard;
        if c.waited.is_none() {
            c.waited = Some(now);
            st.stats.waits += 1;
        }
        let host = st.hosts.get_mut(&c.key).expect("entered above");
        if host.connecting > 0 && c.waited_on.is_none() {
            c.waited_on = Some(host.failures + 1);
        }
        // With a stop flag, wake every slice to look at it.
        let until = if matches!(watch, Some(Watch::Stop(_))) { c.deadline.min(now + SLICE) } else { c.deadline };
        if below_host {
            // The host has room but the pool has none, and no session is idle to evict.
            st.total_waiters += 1;
            let _ = self.room.wait_until(guard, until);
            guard.total_waiters -= 1;
        } else {
            host.waiters += 1;
            let cond = Arc::clone(&host.cond);
            let _ = cond.wait_until(guard, until);
            guard.hosts.get_mut(&c.key).expect("hosts are never removed").waiters -= 1;
        }
    }

    /// Books the end of a connect: a lease on success; on failure the error, which the
    /// checkouts waiting on this connect share.
    fn connected(self: &Arc<Self>, key: &PoolKey, result: Result<Device>) -> Result<Lease> {
        let mut st = self.state.lock();
        let st = &mut *st;
        let host = st.hosts.get_mut(key).expect("hosts are never removed");
        host.connecting -= 1;
        match result {
            Ok(device) => {
                host.in_use += 1;
                st.stats.created += 1;
                Self::lent(st);
                let epoch = st.epoch;
                Ok(self.lease(Arc::new(device), key.clone(), Instant::now(), epoch, false))
            }
            Err(e) => {
                host.failures += 1;
                host.failure = Some((host.failures, e.clone()));
                st.total -= 1;
                st.stats.connect_failures += 1;
                self.wake(st, key);
                Err(e)
            }
        }
    }

    fn lease(self: &Arc<Self>, device: Arc<Device>, key: PoolKey, created: Instant, epoch: u64, reused: bool) -> Lease {
        Lease {
            device: Some(device),
            key,
            created,
            epoch,
            reused,
            discard: false,
            unused: false,
            pool: Arc::clone(self),
        }
    }

    fn lent(st: &mut State) {
        st.stats.in_use += 1;
        st.stats.peak_in_use = st.stats.peak_in_use.max(st.stats.in_use);
    }

    fn end_wait(st: &mut State, c: &mut Checkout) {
        if let Some(since) = c.waited.take() {
            st.stats.wait_time += since.elapsed();
        }
    }
}
