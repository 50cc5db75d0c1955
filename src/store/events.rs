//! Change events: subscribers to a key prefix get every set, delete and expiry of a matching key.
//!
//! Each subscriber has its own bounded queue. A write pushes its event into the queues of the
//! matching subscribers while it still holds its shard lock, so the events of one key reach every
//! subscriber in version order and a batch's events arrive together. Pushing never waits: a full
//! queue drops the event and counts it, and the subscriber reads [`Error::Lagged`] at that point
//! of its stream. A slow subscriber therefore costs writers one short lock of its queue, never a
//! stall.
//!
//! The subscriber lists live in the shards themselves (the same list in every shard, replaced
//! under all shard locks), so a write to a store without subscribers checks an empty slice it
//! already holds and touches nothing shared.
//!
//! Expiry is lazy in the store (a key past its TTL is invisible, and removed when purged or
//! overwritten). For subscribers to hear of an expiry when it happens, the first subscription of
//! a store starts one timer thread, `netrig-expiry`, that sleeps until the earliest expiry of any
//! key written while someone listens and then purges, which emits the Expire events.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{Snapshot, Store, Value};
use crate::error::{Error, Result};

/// Queue capacity used when a subscriber asks for 0.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The key was written; the event carries the new value and version.
    Set,
    /// The key was deleted (by `delete`, a batch or `clear`); the event carries the removed
    /// value and its version.
    Delete,
    /// The key's TTL ran out; the event carries the value it had and its version.
    Expire,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Set => "set",
            EventKind::Delete => "delete",
            EventKind::Expire => "expire",
        }
    }
}

/// One change of one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub key: Arc<str>,
    pub value: Value,
    pub version: u64,
}

/// Counters of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionStats {
    /// Events handed to the consumer so far.
    pub delivered: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// Events waiting in the queue now.
    pub queued: usize,
}

enum Slot {
    Event(Event),
    /// This many events were dropped here.
    Lagged(u64),
}

#[derive(Default)]
struct Inbox {
    slots: VecDeque<Slot>,
    /// Events (not lag marks) in `slots`; the capacity bounds this.
    events: usize,
    delivered: u64,
    dropped: u64,
    closed: bool,
}

/// The store's side of a subscription: what writers push into.
pub(super) struct Subscriber {
    id: u64,
    prefix: Box<str>,
    capacity: usize,
    inbox: Mutex<Inbox>,
    ready: Condvar,
}

impl Subscriber {
    pub(super) fn matches(&self, key: &str) -> bool {
        key.starts_with(&*self.prefix)
    }

    /// Queues an event, or counts it as dropped when the queue is full. Never waits for the
    /// consumer; called with a shard lock held.
    pub(super) fn push(&self, event: Event) {
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            return;
        }
        if inbox.events >= self.capacity {
            inbox.dropped += 1;
            match inbox.slots.back_mut() {
                Some(Slot::Lagged(n)) => *n += 1,
                _ => inbox.slots.push_back(Slot::Lagged(1)),
            }
            return;
        }
        inbox.events += 1;
        inbox.slots.push_back(Slot::Event(event));
        drop(inbox);
        self.ready.notify_one();
    }

    /// Stops queueing. `discard` drops what is queued too; without it the queued events can
    /// still be read (a store going away, a callback subscription draining before it stops).
    fn close(&self, discard: bool) {
        let mut inbox = self.inbox.lock();
        inbox.closed = true;
        if discard {
            inbox.slots.clear();
            inbox.events = 0;
        }
        drop(inbox);
        self.ready.notify_all();
    }

    fn poll(&self, timeout: Option<Duration>) -> Result<Event> {
        let deadline = timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future));
        let mut inbox = self.inbox.lock();
        loop {
            match inbox.slots.pop_front() {
                Some(Slot::Event(e)) => {
                    inbox.events -= 1;
                    inbox.delivered += 1;
                    return Ok(e);
                }
                Some(Slot::Lagged(missed)) => {
                    return Err(Error::Lagged { prefix: self.prefix.to_string(), missed, capacity: self.capacity })
                }
                None => {}
            }
            if inbox.closed {
                return Err(Error::Closed(format!("subscription '{}' is closed", self.prefix)));
            }
            match deadline {
                None => self.ready.wait(&mut inbox),
                Some(at) => {
                    if self.ready.wait_until(&mut inbox, at).timed_out() && inbox.slots.is_empty() {
                        let waited = timeout.unwrap_or_default();
                        return Err(Error::Timeout(format!(
                            "subscription '{}': no event within {} ms",
                            self.prefix,
                            waited.as_millis()
                        )));
                    }
                }
            }
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// The subscriber list every shard holds (the same list in all of them).
pub(super) type Subscribers = Arc<[Arc<Subscriber>]>;

/// Store-wide event state: subscription ids and the expiry timer.
pub(super) struct Hub {
    next_id: AtomicU64,
    epoch: Instant,
    /// Earliest expiry of a key written while someone listens, in ns since `epoch`; MAX = none.
    next_expiry: AtomicU64,
    timer: Mutex<Timer>,
    wake: Condvar,
}

#[derive(Default)]
struct Timer {
    started: bool,
    closed: bool,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            next_id: AtomicU64::new(1),
            epoch: Instant::now(),
            next_expiry: AtomicU64::new(u64::MAX),
            timer: Mutex::new(Timer::default()),
            wake: Condvar::new(),
        }
    }
}

impl Hub {
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1)
    }

    /// Makes the timer fire no later than `at`. Cheap when `at` is not the earliest: one load.
    pub(super) fn note_expiry(&self, at: Instant) {
        let n = self.nanos(at);
        if n >= self.next_expiry.load(Ordering::Acquire) {
            return;
        }
        if self.next_expiry.fetch_min(n, Ordering::AcqRel) > n {
            // Taking the timer lock orders this wake-up after the timer's check of next_expiry.
            let _t = self.timer.lock();
            self.wake.notify_one();
        }
    }

    /// Stops the timer thread (the store is going away).
    pub(super) fn close(&self) {
        self.timer.lock().closed = true;
        self.wake.notify_all();
    }

    fn start_timer(self: &Arc<Self>, store: Weak<Store>) {
        let mut t = self.timer.lock();
        if t.started || t.closed {
            return;
        }
        t.started = true;
        let hub = self.clone();
        let spawned = std::thread::Builder::new().name("netrig-expiry".into()).spawn(move || hub.run_timer(store));
        if spawned.is_err() {
            // Without the thread, expiries still happen (lazily) but are announced only when
            // something purges; let a later subscription try again.
            t.started = false;
        }
    }

    fn run_timer(&self, store: Weak<Store>) {
        let mut t = self.timer.lock();
        loop {
            if t.closed {
                return;
            }
            let next = self.next_expiry.load(Ordering::Acquire);
            if next == u64::MAX {
                self.wake.wait(&mut t);
                continue;
            }
            let at = self.epoch + Duration::from_nanos(next);
            if Instant::now() < at {
                self.wake.wait_until(&mut t, at);
                continue;
            }
            drop(t);
            match store.upgrade() {
                Some(store) => {
                    // Everything written from here on notes its own expiry; the purge notes the
                    // ones still pending in each shard as it scans it.
                    self.next_expiry.store(u64::MAX, Ordering::Release);
                    store.purge_expired();
                }
                None => return,
            }
            t = self.timer.lock();
        }
    }
}

/// A subscription to the changes of keys under a prefix. Poll it from any thread, or let
/// [`Store::subscribe_with`] run a callback on a dispatcher thread. Dropping it (or `close`)
/// unsubscribes.
pub struct Subscription {
    sub: Arc<Subscriber>,
    store: Weak<Store>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("prefix", &self.sub.prefix).field("stats", &self.stats()).finish()
    }
}

impl Subscription {
    pub fn prefix(&self) -> &str {
        &self.sub.prefix
    }

    pub fn capacity(&self) -> usize {
        self.sub.capacity
    }

    /// The next event, waiting up to `timeout` (None = until one comes or the subscription
    /// closes). [`Error::Lagged`] marks the place where events were dropped (the events before
    /// it were delivered, the ones after it follow); [`Error::Timeout`] when nothing came;
    /// [`Error::Closed`] once closed (when the store went away: once its last events are read).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Event> {
        self.sub.poll(timeout)
    }

    pub fn stats(&self) -> SubscriptionStats {
        let inbox = self.sub.inbox.lock();
        SubscriptionStats { delivered: inbox.delivered, dropped: inbox.dropped, queued: inbox.events }
    }

    /// Unsubscribes. No event written after this call starts is queued; what happens to the
    /// events already queued depends on the kind of subscription:
    ///
    /// - with a callback ([`Store::subscribe_with`]): the dispatcher thread delivers every
    ///   queued event, then stops, and `close` waits for it, so when `close` returns every
    ///   change written before it has been handed to the callback and no call runs any more.
    ///   From inside the callback itself `close` cannot wait: the events still queued are
    ///   dropped and the thread stops when the callback returns. When two callbacks close each
    ///   other's subscriptions at the same time, waiting would never end: the second of the two
    ///   to get here drops its subscription's queued events and returns without waiting (its
    ///   callback is the one that is blocked in the other `close`).
    /// - polled: queued events are dropped (nobody can poll a closed subscription) and pollers
    ///   blocked in other threads wake with [`Error::Closed`].
    ///
    /// Idempotent.
    pub fn close(&self) {
        if let Some(store) = self.store.upgrade() {
            store.unsubscribe(self.sub.id);
        }
        let handle = self.dispatcher.lock().take();
        let Some(handle) = handle else {
            self.sub.close(true);
            return;
        };
        let dispatcher = handle.thread().id();
        if dispatcher == std::thread::current().id() {
            self.sub.close(true);
            return;
        }
        // The dispatcher reads what is queued, then `Closed`, and stops.
        self.sub.close(false);
        match waits::begin(dispatcher) {
            Some(_waiting) => {
                let _ = handle.join();
            }
            None => self.sub.close(true),
        }
    }
}

/// Which thread waits for which dispatcher thread, so that a wait that would close a cycle
/// (callback A closing B while B's callback closes A) is refused instead of hanging forever.
mod waits {
    use std::collections::HashMap;
    use std::thread::{self, ThreadId};

    use parking_lot::Mutex;

    static WAITING_FOR: Mutex<Option<HashMap<ThreadId, ThreadId>>> = Mutex::new(None);

    /// Records that this thread is about to wait for `dispatcher`, or returns None when
    /// `dispatcher` is (through others) already waiting for this thread.
    pub(super) fn begin(dispatcher: ThreadId) -> Option<Waiting> {
        let me = thread::current().id();
        let mut guard = WAITING_FOR.lock();
        let map = guard.get_or_insert_with(HashMap::new);
        let mut next = Some(dispatcher);
        while let Some(t) = next {
            if t == me {
                return None;
            }
            next = map.get(&t).copied();
        }
        map.insert(me, dispatcher);
        Some(Waiting(me))
    }

    pub(super) struct Waiting(ThreadId);

    impl Drop for Waiting {
        fn drop(&mut self) {
            if let Some(map) = WAITING_FOR.lock().as_mut() {
                map.remove(&self.0);
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.close();
    }
}

impl Store {
    /// Subscribes to changes of keys starting with `prefix` ("" for all), with a queue of
    /// `capacity` events (0 for [`DEFAULT_EVENT_CAPACITY`]). Also returns a snapshot of the
    /// prefix taken at the same instant: every change after the snapshot is an event, and no
    /// change before it is, so a UI can draw the snapshot and apply events with no gap.
    ///
    /// Order: the events of one key come in version order, a batch's events together, and of
    /// two writes where one returned before the other began, the first one's event comes first
    /// (an event is queued before its write returns). So a marker key written after a set of
    /// writes has finished arrives after all of their events.
    pub fn subscribe(self: &Arc<Self>, prefix: &str, capacity: usize) -> Result<(Snapshot, Subscription)> {
        if super::has_nul(prefix.as_bytes()) {
            return Err(Error::InvalidArg(format!("prefix '{}' contains NUL", prefix.escape_debug())));
        }
        let capacity = if capacity == 0 { DEFAULT_EVENT_CAPACITY } else { capacity };
        if capacity > 1 << 24 {
            return Err(Error::InvalidArg(format!(
                "event queue capacity {capacity} is above the limit of {}",
                1 << 24
            )));
        }
        let sub = Arc::new(Subscriber {
            id: self.hub.next_id.fetch_add(1, Ordering::Relaxed),
            prefix: prefix.into(),
            capacity,
            inbox: Mutex::new(Inbox::default()),
            ready: Condvar::new(),
        });
        let snapshot = {
            let mut guards: Vec<_> = self.shards.iter().map(|s| s.0.write()).collect();
            let list: Subscribers = guards[0].subs.iter().cloned().chain([sub.clone()]).collect();
            let mut earliest: Option<Instant> = None;
            for g in guards.iter_mut() {
                g.subs = list.clone();
                for e in g.table.iter() {
                    if let Some(at) = e.expires {
                        earliest = Some(earliest.map_or(at, |x| x.min(at)));
                    }
                }
            }
            if let Some(at) = earliest {
                self.hub.note_expiry(at);
            }
            Snapshot::of(guards.iter().map(|g| &**g), prefix)
        };
        self.hub.start_timer(Arc::downgrade(self));
        Ok((snapshot, Subscription { sub, store: Arc::downgrade(self), dispatcher: Mutex::new(None) }))
    }

    /// Like [`Store::subscribe`], but a dispatcher thread (named `netrig-events`) polls the
    /// queue and calls `callback` with each event, or with [`Error::Lagged`] where events were
    /// dropped. The callback runs on that one thread, one call at a time, never under a store
    /// lock, so it may read and write the store. A panic in it is caught and loses only the
    /// event it was handling. Closing or dropping the subscription delivers the events queued
    /// until then, stops the thread and waits for it (see [`Subscription::close`] for a close
    /// from inside a callback).
    pub fn subscribe_with<F>(
        self: &Arc<Self>,
        prefix: &str,
        capacity: usize,
        mut callback: F,
    ) -> Result<(Snapshot, Subscription)>
    where
        F: FnMut(Result<Event>) + Send + 'static,
    {
        let (snapshot, subscription) = self.subscribe(prefix, capacity)?;
        let sub = subscription.sub.clone();
        let handle = std::thread::Builder::new()
            .name("netrig-events".into())
            .spawn(move || loop {
                let next = sub.poll(None);
                if matches!(next, Err(Error::Closed(_))) {
                    return;
                }
                let _ = catch_unwind(AssertUnwindSafe(|| callback(next)));
            })
            .map_err(|e| Error::Io(format!("cannot start the event dispatcher thread: {e}")))?;
        *subscription.dispatcher.lock() = Some(handle);
        Ok((snapshot, subscription))
    }

    fn unsubscribe(&self, id: u64) {
        let mut guards: Vec<_> = self.shards.iter().map(|s| s.0.write()).collect();
        if !guards[0].subs.iter().any(|s| s.id == id) {
            return;
        }
        let list: Subscribers = guards[0].subs.iter().filter(|s| s.id != id).cloned().collect();
        for g in guards.iter_mut() {
            g.subs = list.clone();
        }
    }

    /// Closes every subscription (the store is being dropped).
    pub(super) fn close_subscribers(&self) {
        self.hub.close();
        let list = std::mem::replace(&mut self.shards[0].0.write().subs, Subscribers::from([]));
        for s in list.iter() {
            s.close(false);
        }
    }
}
