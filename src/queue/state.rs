//! The queue's state behind its one mutex: the items and the indexes that order them (pending
//! by claim order, processing by lease deadline, suspended, failed), the claimers waiting and
//! when they wake, and what an operation changed (items to wake waiters for, rows to journal).
//! [`super::Queue`] holds the lock and decides; the operations here only keep items and
//! indexes in step.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashMap;

use super::{Counts, ItemStatus};

#[derive(Debug, Clone, Copy)]
pub(super) enum Status {
    Pending,
    Processing { token: u64, deadline: Instant },
    Suspended,
    Failed,
}

impl Status {
    pub(super) fn public(self) -> ItemStatus {
        match self {
            Status::Pending => ItemStatus::Pending,
            Status::Processing { .. } => ItemStatus::Processing,
            Status::Suspended => ItemStatus::Suspended,
            Status::Failed => ItemStatus::Failed,
        }
    }
}

/// How the last claim of an item that was not completed ended, to explain a late settle.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ended {
    Expired { deadline: Instant },
    Failed,
    Suspended,
}

#[derive(Debug)]
pub(super) struct Item {
    pub(super) priority: i32,
    pub(super) payload: Arc<[u8]>,
    pub(super) status: Status,
    pub(super) attempts: u32,
    pub(super) last_error: Option<Arc<str>>,
    /// The token and attempt of the last claim that ended without `complete`, and how.
    pub(super) ended: Option<(u64, u32, Ended)>,
}

/// Claim order: higher priority first, then lower id.
type PendingKey = (Reverse<i32>, u64);

#[derive(Debug)]
pub(super) struct State {
    pub(super) items: HashMap<u64, Item>,
    pub(super) pending: BTreeSet<PendingKey>,
    /// Processing items by lease deadline.
    pub(super) leases: BTreeSet<(Instant, u64)>,
    pub(super) suspended: BTreeSet<u64>,
    pub(super) failed: BTreeSet<u64>,
    pub(super) completed: u64,
    pub(super) next_id: u64,
    pub(super) next_token: u64,
    pub(super) closed: bool,
    /// Claimers waiting on `Queue::ready`.
    pub(super) waiters: usize,
    /// When the timed ones among them wake up at the latest (a multiset: instant -> count).
    pub(super) wakeups: BTreeMap<Instant, usize>,
}

impl State {
    pub(super) fn counts(&self) -> Counts {
        Counts {
            pending: self.pending.len(),
            processing: self.leases.len(),
            suspended: self.suspended.len(),
            failed: self.failed.len(),
            completed: self.completed,
        }
    }

    /// True when claimers wait but none will wake by the earliest lease deadline, so none
    /// would take that item back when the lease expires: a lease began or got shorter while
    /// they slept, or the waiter that was to wake for it left.
    pub(super) fn lease_unwatched(&self) -> bool {
        if self.waiters == 0 {
            return false;
        }
        let Some(&(first, _)) = self.leases.first() else { return false };
        self.wakeups.first_key_value().is_none_or(|(&wake, _)| wake > first)
    }

    pub(super) fn make_pending(&mut self, id: u64, fx: &mut Effects) {
        let item = self.items.get_mut(&id).expect("a state change names a held item");
        item.status = Status::Pending;
        self.pending.insert((Reverse(item.priority), id));
        fx.ready += 1;
    }

    /// Takes a processing item's lease away and records how its claim ended.
    pub(super) fn end_lease(&mut self, id: u64, how: Ended) {
        let item = self.items.get_mut(&id).expect("a state change names a held item");
        if let Status::Processing { token, deadline } = item.status {
            self.leases.remove(&(deadline, id));
            item.ended = Some((token, item.attempts, how));
        }
    }

    pub(super) fn remove_from_status_index(&mut self, id: u64) {
        let item = &self.items[&id];
        match item.status {
            Status::Pending => {
                self.pending.remove(&(Reverse(item.priority), id));
            }
            Status::Processing { deadline, .. } => {
                self.leases.remove(&(deadline, id));
            }
            Status::Suspended => {
                self.suspended.remove(&id);
            }
            Status::Failed => {
                self.failed.remove(&id);
            }
        }
    }
}

/// What an operation changed besides its result: items that became claimable (waiters to
/// wake) and, for a durable queue, the items whose rows to write.
#[derive(Debug, Default)]
pub(super) struct Effects {
    pub(super) ready: usize,
    /// None for an in-memory queue: nothing is recorded.
    pub(super) changes: Option<Vec<Change>>,
}

#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "durable"), allow(dead_code))]
pub(super) enum Change {
    /// A new item: its whole row.
    Insert(u64),
    /// Status, attempts or last error changed.
    Update(u64),
    /// Completed or purged.
    Delete(u64),
}

impl Effects {
    pub(super) fn record(&mut self, change: Change) {
        if let Some(c) = &mut self.changes {
            c.push(change);
        }
    }
}

impl State {
    pub(super) fn empty() -> State {
        State {
            items: HashMap::new(),
            pending: BTreeSet::new(),
            leases: BTreeSet::new(),
            suspended: BTreeSet::new(),
            failed: BTreeSet::new(),
            completed: 0,
            next_id: 1,
            next_token: 0,
            closed: false,
            waiters: 0,
            wakeups: BTreeMap::new(),
        }
    }
}
