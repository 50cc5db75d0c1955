//! The work queue: prioritised items claimed under leases, retried up to a bound, optionally
//! durable in a SQLite file.
//!
//! An item is pushed as *pending*. [`Queue::claim`] moves the next pending item (highest
//! priority first, then lowest id) to *processing* under a lease: an id plus a token that is new
//! for every claim, and a deadline. The claimer settles it with [`Queue::complete`] (the item is
//! removed and counted), [`Queue::fail`] (back to pending while attempts remain, else *failed*)
//! or keeps it with [`Queue::extend`]. A lease that passes its deadline ends by itself: the item
//! is pending again (failed once its attempts are used up), so a crashed or hung worker loses
//! nothing, and a late `complete` from that worker is refused with [`Error::Lease`]. Every claim
//! is an attempt, whether it ends in `fail`, an expired lease or a crash of the process.
//!
//! Locking (THREAD_SAFETY.md, "The work queue"): one `parking_lot::Mutex` around the state, held
//! for bookkeeping only. Claimers wait on one `Condvar`, woken by pushes, by items returning to
//! pending, by `close`, and by their own timed wait, which never sleeps past the earliest lease
//! deadline: an expired lease is taken back by a waiting claimer the moment it expires (a lease
//! that begins or shortens while no waiter is due to wake by its deadline wakes them all to
//! look again). There is no background thread; every operation first takes back the leases that expired (a peek at the
//! earliest deadline when none did).
//!
//! Durable queues ([`Queue::open`]) append the records of a change to the journal
//! (`crate::journal`) under the state mutex, so the file sees changes in memory order, release
//! the mutex, and wait for the commit before they return `Ok`. Claims are journaled too (their
//! attempt count), so an item that crashes its worker's process on every attempt still reaches
//! `max_attempts` and fails instead of looping forever. On reopen, items that were processing
//! are pending again (failed if their attempts are used up).

#[cfg(feature = "durable")]
mod durable;
mod snapshot;
mod state;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

pub use snapshot::{Counts, ItemInfo, QueueSnapshot};
use state::{Change, Effects, Ended, Item, State, Status};

use crate::error::{Error, Result};

/// Longest `last_error` kept per item, in bytes; longer texts are cut at a character boundary.
pub const MAX_ERROR_LEN: usize = 4096;

/// Bounds and defaults of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Most items held at once: pending, processing, suspended and failed together (completed
    /// items are not held). A push past it fails with [`Error::Full`].
    pub max_items: usize,
    /// Claims an item gets. A failed (retry) or expired claim returns the item to pending while
    /// it has had fewer; after that it is failed.
    pub max_attempts: u32,
    /// Lease of [`Queue::claim`]: how long a claimer holds an item before it is taken back.
    pub lease: Duration,
    /// Largest payload, in bytes.
    pub max_payload: usize,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions { max_items: 100_000, max_attempts: 3, lease: Duration::from_secs(30), max_payload: 16 << 20 }
    }
}

impl QueueOptions {
    fn validate(&self) -> Result<()> {
        let zero = if self.max_items == 0 {
            Some("max_items")
        } else if self.max_attempts == 0 {
            Some("max_attempts")
        } else if self.lease.is_zero() {
            Some("lease")
        } else if self.max_payload == 0 {
            Some("max_payload")
        } else {
            None
        };
        match zero {
            Some(field) => Err(Error::InvalidArg(format!("queue option {field} is 0; it must be at least 1"))),
            None => lease_ok(self.lease, "lease"),
        }
    }
}

/// A lease must last and end at a representable instant (anything up to centuries does).
fn lease_ok(lease: Duration, what: &str) -> Result<()> {
    lease_from(Instant::now(), lease, what).map(drop)
}

/// The deadline of a lease that starts at `now`.
fn lease_from(now: Instant, lease: Duration, what: &str) -> Result<Instant> {
    if lease.is_zero() {
        return Err(Error::InvalidArg(format!("{what} is 0; a lease must last at least 1 ms")));
    }
    now.checked_add(lease)
        .ok_or_else(|| Error::InvalidArg(format!("{what} of {} s is too long for the clock", lease.as_secs())))
}

/// Where an item is. Completed items are not held, only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    Pending,
    Processing,
    Suspended,
    Failed,
}

impl ItemStatus {
    pub fn name(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Processing => "processing",
            ItemStatus::Suspended => "suspended",
            ItemStatus::Failed => "failed",
        }
    }

    #[cfg(feature = "durable")]
    fn from_name(name: &str) -> Option<ItemStatus> {
        [ItemStatus::Pending, ItemStatus::Processing, ItemStatus::Suspended, ItemStatus::Failed]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// An item handed to a claimer. `id` and `token` together are the lease: pass both to
/// [`Queue::complete`], [`Queue::fail`] or [`Queue::extend`].
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: u64,
    /// New for every claim (unique in the process), so a claim whose lease ended can never
    /// settle a later claim of the same item.
    pub token: u64,
    pub payload: Arc<[u8]>,
    pub priority: i32,
    /// 1 for the first claim of the item, 2 for the second, ...
    pub attempt: u32,
    /// When the lease ends unless extended.
    pub lease_deadline: Instant,
}

/// A thread-safe work queue. Share it by reference or in an `Arc`; every method takes `&self`.
pub struct Queue {
    name: Arc<str>,
    opts: QueueOptions,
    state: Mutex<State>,
    ready: Condvar,
    #[cfg(feature = "durable")]
    durable: Option<durable::Durable>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Queue");
        d.field("name", &self.name).field("options", &self.opts);
        #[cfg(feature = "durable")]
        if let Some(durable) = &self.durable {
            d.field("file", &durable.path());
        }
        d.finish_non_exhaustive()
    }
}

/// Tokens are unique in the process: each queue draws its first from here, 2^40 apart.
static TOKEN_BASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

impl Queue {
    /// An empty in-memory queue (named "memory" in messages).
    pub fn new(opts: QueueOptions) -> Result<Queue> {
        opts.validate()?;
        Ok(Queue::with_state(Arc::from("memory"), opts, State::empty()))
    }

    /// Opens the queue `name` in the SQLite file at `path`, creating the file and the queue if
    /// needed, and loads its items: pending, suspended and failed ones as they were; processing
    /// ones (their process ended while they were claimed) pending again with their attempts
    /// kept, or failed when those attempts are used up. Completed count and next id continue.
    ///
    /// Several queues (and other netrig objects) may share one file, each under its own name;
    /// a name already open in this process is refused with [`Error::Busy`] (share that
    /// `Queue` instead: it is `Sync`). Only one process at a time may work a queue name (a
    /// second would take the first one's claimed items for abandoned ones). Every operation
    /// that returns `Ok` is in the file by then, surviving what `durability` says.
    #[cfg(feature = "durable")]
    pub fn open(
        path: &std::path::Path,
        name: &str,
        opts: QueueOptions,
        durability: crate::journal::Durability,
    ) -> Result<Queue> {
        opts.validate()?;
        if name.is_empty() || name.len() > 256 || name.contains('\0') {
            return Err(Error::InvalidArg(format!(
                "queue name {:?} ({} bytes) must be 1 to 256 bytes without NUL",
                cut(name, 64),
                name.len()
            )));
        }
        let (d, loaded) = durable::Durable::open(path, name, &opts, durability)?;
        let mut st = State::empty();
        st.next_id = loaded.next_id;
        st.completed = loaded.completed;
        for it in loaded.items {
            let status = match it.status {
                ItemStatus::Pending => {
                    st.pending.insert((Reverse(it.priority), it.id));
                    Status::Pending
                }
                ItemStatus::Suspended => {
                    st.suspended.insert(it.id);
                    Status::Suspended
                }
                // Processing rows were turned into pending or failed rows when loading.
                ItemStatus::Failed | ItemStatus::Processing => {
                    st.failed.insert(it.id);
                    Status::Failed
                }
            };
            let item = Item {
                priority: it.priority,
                payload: it.payload,
                status,
                attempts: it.attempts,
                last_error: it.last_error,
                ended: None,
            };
            st.items.insert(it.id, item);
        }
        let mut q = Queue::with_state(Arc::from(name), opts, st);
        q.durable = Some(d);
        Ok(q)
    }

    fn with_state(name: Arc<str>, opts: QueueOptions, mut st: State) -> Queue {
        st.next_token = TOKEN_BASE.fetch_add(1 << 40, std::sync::atomic::Ordering::Relaxed);
        Queue {
            name,
            opts,
            state: Mutex::new(st),
            ready: Condvar::new(),
            #[cfg(feature = "durable")]
            durable: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn options(&self) -> &QueueOptions {
        &self.opts
    }

    /// The file of a durable queue.
    #[cfg(feature = "durable")]
    pub fn path(&self) -> Option<&std::path::Path> {
        self.durable.as_ref().map(|d| d.path())
    }

    fn effects(&self) -> Effects {
        #[cfg(feature = "durable")]
        let changes = self.durable.as_ref().map(|_| Vec::new());
        #[cfg(not(feature = "durable"))]
        let changes = None;
        Effects { ready: 0, changes }
    }

    /// Locks the state and takes back the leases that expired.
    fn lock(&self) -> (MutexGuard<'_, State>, Effects, Instant) {
        let mut st = self.state.lock();
        let mut fx = self.effects();
        let now = Instant::now();
        self.reclaim(&mut st, now, &mut fx);
        (st, fx, now)
    }

    /// Ends every lease whose deadline is not after `now`: the item is pending again, or failed
    /// when that was its last attempt.
    fn reclaim(&self, st: &mut State, now: Instant, fx: &mut Effects) {
        while let Some(&(deadline, id)) = st.leases.first() {
            if deadline > now {
                break;
            }
            st.end_lease(id, Ended::Expired { deadline });
            let max = self.opts.max_attempts;
            let item = st.items.get_mut(&id).expect("a lease belongs to a held item");
            let attempts = item.attempts;
            let again = attempts < max;
            item.last_error = Some(Arc::from(format!(
                "lease of attempt {attempts} of {max} expired: the claimer did not complete, fail or extend it in time"
            )));
            if again {
                st.make_pending(id, fx);
            } else {
                item.status = Status::Failed;
                st.failed.insert(id);
            }
            fx.record(Change::Update(id));
        }
    }

    /// Ends an operation: journals its changes (still under the lock, so the file sees them in
    /// memory order), releases the lock, wakes claimers for the items that became claimable,
    /// and returns the journal ticket to wait for.
    fn settle(&self, st: MutexGuard<'_, State>, mut fx: Effects) -> Option<u64> {
        let ticket = self.log(&st, &mut fx);
        let wake = fx.ready.min(st.waiters);
        // Waking every waiter lets each pick its wake-up time again, from the new deadline.
        let all = (wake > 0 && wake == st.waiters) || st.lease_unwatched();
        drop(st);
        if all {
            self.ready.notify_all();
        } else {
            for _ in 0..wake {
                self.ready.notify_one();
            }
        }
        ticket
    }

    /// Appends the records of `fx`'s changes to the journal (a durable queue, under the state
    /// lock) and returns the ticket to wait for.
    fn log(&self, st: &State, fx: &mut Effects) -> Option<u64> {
        #[cfg(feature = "durable")]
        if let (Some(d), Some(changes)) = (&self.durable, &mut fx.changes) {
            if !changes.is_empty() {
                let ticket = d.append(&self.name, st, changes);
                changes.clear();
                return Some(ticket);
            }
        }
        let _ = (st, fx);
        None
    }

    /// Waits until the records up to `ticket` are committed.
    fn durable_wait(&self, ticket: Option<u64>) -> Result<()> {
        #[cfg(feature = "durable")]
        if let (Some(d), Some(t)) = (&self.durable, ticket) {
            return d.wait(t);
        }
        let _ = ticket;
        Ok(())
    }

    /// Runs `f` on the state with expired leases taken back, then settles and, when `f`
    /// succeeded, waits for the journal.
    fn op<T>(&self, f: impl FnOnce(&mut State, &mut Effects, Instant) -> Result<T>) -> Result<T> {
        let (mut st, mut fx, now) = self.lock();
        let result = f(&mut st, &mut fx, now);
        let ticket = self.settle(st, fx);
        let value = result?;
        self.durable_wait(ticket)?;
        Ok(value)
    }

    fn closed(&self) -> Error {
        Error::Closed(format!("queue '{}' is closed", self.name))
    }

    /// An id that is not held: never issued, or completed or purged.
    fn not_found(&self, id: u64) -> Error {
        Error::Absent(format!("queue '{}': item {id} is not there (completed, purged or never pushed)", self.name))
    }

    /// Appends an item with the next id. Higher `priority` is claimed first; equal priorities
    /// in push order. [`Error::Full`] when `max_items` are held, [`Error::InvalidArg`] for a
    /// payload over `max_payload`, [`Error::Closed`] after [`Queue::close`]; nothing changes
    /// then.
    pub fn push(&self, payload: &[u8], priority: i32) -> Result<u64> {
        if payload.len() > self.opts.max_payload {
            return Err(Error::InvalidArg(format!(
                "queue '{}': payload of {} bytes is over max_payload {}",
                self.name,
                payload.len(),
                self.opts.max_payload
            )));
        }
        let payload = crate::mem::try_shared(payload, &|| format!("queue '{}': payload", self.name))?;
        self.op(|st, fx, _| {
            if st.closed {
                return Err(self.closed());
            }
            if st.items.len() >= self.opts.max_items {
                return Err(self.full(st.counts()));
            }
            let id = st.next_id;
            st.next_id += 1;
            let item = Item { priority, payload, status: Status::Pending, attempts: 0, last_error: None, ended: None };
            st.items.insert(id, item);
            st.pending.insert((Reverse(priority), id));
            fx.ready += 1;
            fx.record(Change::Insert(id));
            Ok(id)
        })
    }

    fn full(&self, c: Counts) -> Error {
        let hint = if c.failed > 0 {
            "retry_failed() or purge_failed() makes room"
        } else if c.suspended > 0 {
            "resume suspended items so that workers can drain them"
        } else {
            "workers must complete items first"
        };
        Error::Full(format!(
            "queue '{}' full: {} of {} items ({} pending, {} processing, {} suspended, {} failed); {hint}",
            self.name,
            c.held(),
            self.opts.max_items,
            c.pending,
            c.processing,
            c.suspended,
            c.failed
        ))
    }

    /// Claims the next pending item under the queue's lease. `timeout`: `None` waits without
    /// limit, `Some(Duration::ZERO)` only looks. See [`Queue::claim_with_lease`].
    pub fn claim(&self, timeout: Option<Duration>) -> Result<Claim> {
        self.claim_with_lease(timeout, self.opts.lease)
    }

    /// Claims the next pending item (highest priority, then lowest id) for `lease`, waiting up
    /// to `timeout` for one: on a condition variable, woken by a push, by an item returning to
    /// pending (fail, resume, retry, an expired lease: the wait never outlasts the earliest
    /// lease deadline) and by `close`. [`Error::Timeout`] when none came, [`Error::Closed`]
    /// after [`Queue::close`].
    pub fn claim_with_lease(&self, timeout: Option<Duration>, lease: Duration) -> Result<Claim> {
        let start = Instant::now();
        lease_from(start, lease, "lease")?;
        let until = timeout.and_then(|t| start.checked_add(t));
        let mut st = self.state.lock();
        loop {
            let now = Instant::now();
            let mut fx = self.effects();
            self.reclaim(&mut st, now, &mut fx);
            if st.closed {
                self.settle(st, fx);
                return Err(self.closed());
            }
            if let Some(claim) = self.take_next(&mut st, now, lease, &mut fx) {
                // Items left for other waiters (a barging claimer can leave a woken waiter
                // with nothing): wake one more, who passes it on in turn.
                fx.ready += usize::from(!st.pending.is_empty());
                let ticket = self.settle(st, fx);
                self.durable_wait(ticket)?;
                return Ok(claim);
            }
            if until.is_some_and(|u| now >= u) {
                let c = st.counts();
                self.settle(st, fx);
                let waited = match timeout {
                    Some(t) if t.is_zero() => "none pending".to_owned(),
                    _ => format!("none came within {} ms", ms(now - start)),
                };
                return Err(Error::Timeout(format!(
                    "queue '{}': no item to claim, {waited} ({} processing, {} suspended, {} failed)",
                    self.name, c.processing, c.suspended, c.failed
                )));
            }
            let lease_end = st.leases.first().map(|l| l.0);
            let wake_at = match (until, lease_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // Leases taken back above whose items failed (nothing became claimable, or we
            // would have claimed it): journal them before sleeping; nobody waits for that.
            self.log(&st, &mut fx);
            st.waiters += 1;
            match wake_at {
                Some(at) => {
                    *st.wakeups.entry(at).or_default() += 1;
                    let _ = self.ready.wait_until(&mut st, at);
                    match st.wakeups.get_mut(&at) {
                        Some(n) if *n > 1 => *n -= 1,
                        _ => {
                            st.wakeups.remove(&at);
                        }
                    }
                }
                None => self.ready.wait(&mut st),
            }
            st.waiters -= 1;
        }
    }

    fn take_next(&self, st: &mut State, now: Instant, lease: Duration, fx: &mut Effects) -> Option<Claim> {
        let (_, id) = st.pending.pop_first()?;
        st.next_token += 1;
        let token = st.next_token;
        // The claim checked that a lease starting when it began ends at a representable
        // instant, so this one, microseconds later, can fail only against a centuries-long
        // lease at the very end of the clock's range; never panic for it.
        let deadline = now.checked_add(lease).unwrap_or(now);
        let item = st.items.get_mut(&id).expect("a pending id names a held item");
        item.attempts = item.attempts.saturating_add(1);
        item.status = Status::Processing { token, deadline };
        let claim = Claim {
            id,
            token,
            payload: Arc::clone(&item.payload),
            priority: item.priority,
            attempt: item.attempts,
            lease_deadline: deadline,
        };
        st.leases.insert((deadline, id));
        fx.record(Change::Update(id));
        Some(claim)
    }

    /// The item `id` if `token` holds its lease now, else why not ([`Error::Lease`]) or
    /// [`Error::Absent`] for an id never pushed.
    fn held<'a>(&self, st: &'a mut State, id: u64, token: u64, now: Instant) -> Result<&'a mut Item> {
        let next_id = st.next_id;
        let Some(item) = st.items.get_mut(&id) else {
            if id == 0 || id >= next_id {
                return Err(self.not_found(id));
            }
            return Err(Error::Lease(format!(
                "queue '{}' item {id} is no longer in the queue: it was completed (or failed and purged); \
                 this claim has ended",
                self.name
            )));
        };
        if matches!(item.status, Status::Processing { token: t, .. } if t == token) {
            return Ok(item);
        }
        Err(self.lease_error(id, token, item, now))
    }

    fn lease_error(&self, id: u64, token: u64, item: &Item, now: Instant) -> Error {
        let max = self.opts.max_attempts;
        let state = match item.status {
            Status::Pending => "the item is pending again".to_owned(),
            Status::Processing { .. } => format!("the item is processing again under claim {}", item.attempts),
            Status::Suspended => "the item is suspended".to_owned(),
            Status::Failed => format!("the item failed ({} of {max} attempts used)", item.attempts),
        };
        let what = match item.ended {
            Some((t, attempt, how)) if t == token => match how {
                Ended::Expired { deadline } => {
                    format!("lease of claim {attempt} expired {} ms ago", ms(now.saturating_duration_since(deadline)))
                }
                Ended::Failed => format!("claim {attempt} already ended with fail()"),
                Ended::Suspended => format!("claim {attempt} was revoked by suspend()"),
            },
            _ => "this token holds no lease on it (a stale claim, or a claim of another queue)".to_owned(),
        };
        Error::Lease(format!("queue '{}' item {id}: {what}; {state}", self.name))
    }

    /// Settles a claim: the item is removed and counted as completed. [`Error::Lease`] (and
    /// nothing changes) when the lease is no longer this claim's: it expired, even if no one
    /// has taken the item back yet, or the claim was failed or revoked.
    pub fn complete(&self, id: u64, token: u64) -> Result<()> {
        self.op(|st, fx, now| {
            self.held(st, id, token, now)?;
            st.remove_from_status_index(id);
            st.items.remove(&id);
            st.completed += 1;
            fx.record(Change::Delete(id));
            Ok(())
        })
    }

    /// Settles a claim as failed, keeping `error` (cut to [`MAX_ERROR_LEN`] bytes) as the item's
    /// last error. With `retry` and attempts left the item is pending again, else failed; the
    /// new status is returned. Errors as for [`Queue::complete`].
    pub fn fail(&self, id: u64, token: u64, retry: bool, error: &str) -> Result<ItemStatus> {
        let error: Arc<str> = Arc::from(cut(error, MAX_ERROR_LEN));
        self.op(|st, fx, now| {
            let item = self.held(st, id, token, now)?;
            item.last_error = Some(error);
            let again = retry && item.attempts < self.opts.max_attempts;
            st.end_lease(id, Ended::Failed);
            let status = if again {
                st.make_pending(id, fx);
                ItemStatus::Pending
            } else {
                st.items.get_mut(&id).expect("held above").status = Status::Failed;
                st.failed.insert(id);
                ItemStatus::Failed
            };
            fx.record(Change::Update(id));
            Ok(status)
        })
    }

    /// Renews a claim's lease to end `lease` from now (a heartbeat) and returns the new
    /// deadline. Errors as for [`Queue::complete`].
    pub fn extend(&self, id: u64, token: u64, lease: Duration) -> Result<Instant> {
        lease_ok(lease, "lease")?;
        self.op(|st, _, now| {
            let deadline = lease_from(now, lease, "lease")?;
            let item = self.held(st, id, token, now)?;
            let Status::Processing { deadline: old, .. } = item.status else { unreachable!("held") };
            item.status = Status::Processing { token, deadline };
            st.leases.remove(&(old, id));
            st.leases.insert((deadline, id));
            Ok(deadline)
        })
    }

    /// Keeps an item from being claimed until [`Queue::resume`]. A processing item's lease is
    /// revoked (its claimer's settle gets [`Error::Lease`]). A suspended item stays so;
    /// a failed one is refused ([`Error::InvalidArg`]: [`Queue::retry_failed`] first).
    pub fn suspend(&self, id: u64) -> Result<()> {
        self.op(|st, fx, _| {
            let item = st.items.get(&id).ok_or_else(|| self.not_found(id))?;
            match item.status {
                Status::Suspended => return Ok(()),
                Status::Failed => {
                    return Err(Error::InvalidArg(format!(
                        "queue '{}' item {id} is failed, not pending or processing; retry_failed() makes it pending",
                        self.name
                    )))
                }
                Status::Pending | Status::Processing { .. } => {}
            }
            st.end_lease(id, Ended::Suspended);
            st.remove_from_status_index(id);
            st.items.get_mut(&id).expect("checked above").status = Status::Suspended;
            st.suspended.insert(id);
            fx.record(Change::Update(id));
            Ok(())
        })
    }

    /// Makes a suspended item pending again. A pending or processing item is left as it is; a
    /// failed one is refused ([`Error::InvalidArg`]).
    pub fn resume(&self, id: u64) -> Result<()> {
        self.op(|st, fx, _| {
            let item = st.items.get(&id).ok_or_else(|| self.not_found(id))?;
            match item.status {
                Status::Suspended => {
                    st.suspended.remove(&id);
                    st.make_pending(id, fx);
                    fx.record(Change::Update(id));
                    Ok(())
                }
                Status::Pending | Status::Processing { .. } => Ok(()),
                Status::Failed => Err(Error::InvalidArg(format!(
                    "queue '{}' item {id} is failed, not suspended; retry_failed() makes it pending",
                    self.name
                ))),
            }
        })
    }

    /// Makes every suspended item pending; returns how many.
    pub fn resume_all(&self) -> Result<usize> {
        self.op(|st, fx, _| {
            let ids = std::mem::take(&mut st.suspended);
            for &id in &ids {
                st.make_pending(id, fx);
                fx.record(Change::Update(id));
            }
            Ok(ids.len())
        })
    }

    /// Makes every failed item pending with its attempts reset to 0 (its last error is kept);
    /// returns how many.
    pub fn retry_failed(&self) -> Result<usize> {
        self.op(|st, fx, _| {
            if st.closed {
                return Err(self.closed());
            }
            let ids = std::mem::take(&mut st.failed);
            for &id in &ids {
                st.items.get_mut(&id).expect("a failed id names a held item").attempts = 0;
                st.make_pending(id, fx);
                fx.record(Change::Update(id));
            }
            Ok(ids.len())
        })
    }

    /// Removes every failed item; returns how many. They are not counted as completed.
    pub fn purge_failed(&self) -> Result<usize> {
        self.op(|st, fx, _| {
            let ids = std::mem::take(&mut st.failed);
            for &id in &ids {
                st.items.remove(&id);
                fx.record(Change::Delete(id));
            }
            Ok(ids.len())
        })
    }

    /// Items in each state, after taking back expired leases.
    pub fn counts(&self) -> Counts {
        let (st, fx, _) = self.lock();
        let c = st.counts();
        self.settle(st, fx);
        c
    }

    /// Every held item and the counts, at one instant (the lock is held while the items are
    /// copied: an `Arc` clone per payload, never a payload copy).
    pub fn snapshot(&self) -> QueueSnapshot {
        let (st, fx, now) = self.lock();
        let info = |id: u64| {
            let it = &st.items[&id];
            ItemInfo {
                id,
                priority: it.priority,
                status: it.status.public(),
                attempts: it.attempts,
                last_error: it.last_error.clone(),
                payload: Arc::clone(&it.payload),
                lease_remaining: match it.status {
                    Status::Processing { deadline, .. } => Some(deadline.saturating_duration_since(now)),
                    _ => None,
                },
            }
        };
        let items = st
            .pending
            .iter()
            .map(|k| k.1)
            .chain(st.leases.iter().map(|l| l.1))
            .chain(st.suspended.iter().copied())
            .chain(st.failed.iter().copied())
            .map(info)
            .collect();
        let snapshot = QueueSnapshot { name: self.name.to_string(), counts: st.counts(), items };
        self.settle(st, fx);
        snapshot
    }

    /// Stops the queue: claimers waiting now and later get [`Error::Closed`], and so do
    /// `push`, `claim` and `retry_failed`. Claims already out can still be settled
    /// (`complete`, `fail`, `extend`), and the other calls keep working, so workers can finish
    /// what they hold. A durable queue commits what is not committed yet. Closing twice is
    /// harmless.
    pub fn close(&self) -> Result<()> {
        let mut st = self.state.lock();
        st.closed = true;
        drop(st);
        self.ready.notify_all();
        #[cfg(feature = "durable")]
        if let Some(d) = &self.durable {
            return d.flush();
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Why a durable queue stopped writing its file, if a commit failed. From then on every
    /// operation that changes the queue still changes it in memory but returns [`Error::Io`].
    #[cfg(feature = "durable")]
    pub fn durable_failure(&self) -> Option<String> {
        self.durable.as_ref().and_then(|d| d.failed())
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
