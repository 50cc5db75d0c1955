//! Atomic batches: many sets and deletes, plus version preconditions, applied all-or-nothing.

use super::durable::KvRecord;
use super::{Change, Delta, Store, Ttl, Value};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// One operation of a [`Batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOp {
    Set {
        key: String,
        value: Value,
        ttl: Ttl,
    },
    /// Removes the key if present; deleting a missing key is not an error in a batch.
    Delete {
        key: String,
    },
    /// Precondition: the key's version before the batch must be `version` (0 = absent).
    /// Any failed precondition fails the whole batch with [`Error::Conflict`].
    ExpectVersion {
        key: String,
        version: u64,
    },
}

impl BatchOp {
    fn key(&self) -> &str {
        match self {
            BatchOp::Set { key, .. } | BatchOp::Delete { key } | BatchOp::ExpectVersion { key, .. } => key,
        }
    }
}

/// A list of operations that [`Store::apply`] performs at one instant: every reader that can
/// see more than one key (snapshots, `len`, other batches' preconditions) sees all of them or
/// none. This is seed 003's multi-key `update_status`, made atomic. Later operations on the
/// same key win.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn set(&mut self, key: impl Into<String>, value: Value, ttl: Ttl) -> &mut Self {
        self.ops.push(BatchOp::Set { key: key.into(), value, ttl });
        self
    }

    pub fn delete(&mut self, key: impl Into<String>) -> &mut Self {
        self.ops.push(BatchOp::Delete { key: key.into() });
        self
    }

    pub fn expect_version(&mut self, key: impl Into<String>, version: u64) -> &mut Self {
        self.ops.push(BatchOp::ExpectVersion { key: key.into(), version });
        self
    }

    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn clear(&mut self) {
        self.ops.clear();
    }
}

/// Where one distinct key of a batch lives, and what the batch leaves in it.
struct Target<'b> {
    key: &'b str,
    hash: u64,
    shard: usize,
    result: Option<(&'b Value, Ttl)>,
}

impl Store {
    /// Applies a batch all-or-nothing. Keys and values are checked, every touched shard is
    /// locked (in ascending order), preconditions and bounds are checked, and only then is
    /// anything written. On any error nothing has changed.
    pub fn apply(&self, batch: &Batch) -> Result<()> {
        let mut targets: Vec<Target<'_>> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut expects = Vec::new();
        for op in batch.ops() {
            let key = op.key();
            self.check_key(key)?;
            let slot = *index.entry(key).or_insert_with(|| {
                let (hash, shard) = self.locate(key);
                targets.push(Target { key, hash, shard, result: None });
                targets.len() - 1
            });
            match op {
                BatchOp::Set { value, ttl, .. } => {
                    value.check()?;
                    targets[slot].result = Some((value, *ttl));
                }
                BatchOp::Delete { .. } => targets[slot].result = None,
                BatchOp::ExpectVersion { version, .. } => expects.push((slot, *version)),
            }
        }
        // Keys that only carry a precondition are checked but not written.
        let written: Vec<bool> = {
            let mut w = vec![false; targets.len()];
            for op in batch.ops() {
                if !matches!(op, BatchOp::ExpectVersion { .. }) {
                    w[index[op.key()]] = true;
                }
            }
            w
        };
        let what = || format!("batch of {} operations", batch.len());
        // Expiry instants are fixed before any lock is taken: one clock read per key, none
        // under a shard lock.
        let expiries: Vec<_> = targets.iter().map(|t| t.result.and_then(|(_, ttl)| self.expiry(ttl))).collect();

        let mut shard_ids: Vec<usize> = targets.iter().map(|t| t.shard).collect();
        shard_ids.sort_unstable();
        shard_ids.dedup();

        self.writable()?;
        let mut retried = false;
        loop {
            let mut guards: Vec<_> = shard_ids.iter().map(|&i| self.shards[i].0.write()).collect();
            let pos = |shard: usize| shard_ids.binary_search(&shard).expect("shard locked above");

            let mut now = None;
            for &(slot, expected) in &expects {
                let t = &targets[slot];
                let found =
                    guards[pos(t.shard)].find(t.hash, t.key).filter(|e| e.live(&mut now)).map_or(0, |e| e.version);
                if found != expected {
                    return Err(Error::Conflict { key: t.key.to_owned(), expected, found });
                }
            }

            let mut delta = Delta::default();
            let mut largest = 0;
            for ((t, _), expires) in targets.iter().zip(&written).zip(&expiries).filter(|((_, w), _)| **w) {
                let new = t.result.map(|(v, _)| (t.key.len() + v.weight(), expires.is_some()));
                largest = largest.max(new.map_or(0, |(w, _)| w));
                delta = delta.add(Delta::of(guards[pos(t.shard)].find(t.hash, t.key), new));
            }
            if let Err(e) = self.reserve(&what, delta, largest) {
                drop(guards);
                if matches!(e, Error::Full(_)) && !retried {
                    self.make_room(&mut retried);
                    continue;
                }
                return Err(e);
            }

            let mut now = None;
            let mut records = Vec::new();
            for ((t, _), expires) in targets.iter().zip(&written).zip(&expiries).filter(|((_, w), _)| **w) {
                let shard = &mut *guards[pos(t.shard)];
                let listened = !shard.subs.is_empty();
                if listened {
                    // A removed live key is a delete; any replaced expired key is an expiry.
                    if let Some(old) = shard.find(t.hash, t.key) {
                        let live = old.live(&mut now);
                        if t.result.is_none() || !live {
                            self.note_removal(&shard.subs, old, live);
                        }
                    }
                }
                match t.result {
                    None => {
                        shard.remove(t.hash, t.key);
                        if self.disk.is_some() {
                            records.push(KvRecord::Del { key: t.key.into(), high: shard.versions.0 });
                        }
                    }
                    Some((value, _)) => {
                        let version = shard.put(t.hash, t.key, value.clone(), *expires, &self.hasher);
                        if listened || self.disk.is_some() {
                            let e = shard.find(t.hash, t.key).expect("written above");
                            let change = Change::Put { key: &e.key, value: &e.value, version, expires: *expires };
                            self.note(&shard.subs, change);
                            if self.disk.is_some() {
                                records.push(KvRecord::put(e));
                            }
                        }
                    }
                }
            }
            // One group: the batch commits to the file whole or not at all.
            let mut ticket = 0;
            self.log(&mut ticket, || records);
            drop(guards);
            return self.settle(ticket);
        }
    }
}
