//! Consistent copies of the store (or of a key prefix), and their JSON form.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Shard, Store, Value};

/// One key of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotEntry {
    pub key: Arc<str>,
    pub value: Value,
    pub version: u64,
    /// Time left before the key expires, as of the snapshot; `None` if it never expires.
    pub ttl_remaining: Option<Duration>,
}

/// The live keys of a store (or of one prefix) as they were at one instant, sorted by key.
///
/// Taking it read-locks every shard at once (so no batch is half-seen), then copies and
/// releases the shards one by one: a writer waits at most for the shards before its own to be
/// copied. Copying is a reference-count bump per string or bytes value, never a payload copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    entries: Vec<SnapshotEntry>,
}

impl Snapshot {
    pub fn entries(&self) -> &[SnapshotEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&SnapshotEntry> {
        self.entries.binary_search_by(|e| (*e.key).cmp(key)).ok().map(|i| &self.entries[i])
    }

    /// The snapshot as one JSON object keyed by store key:
    /// `{"key": {"type": "int", "value": 3, "version": 7, "ttl_ms": null}, ...}`.
    /// Bytes are lowercase hex; doubles that JSON cannot hold (NaN, infinities) are the strings
    /// "NaN", "inf" and "-inf".
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 * self.entries.len() + 2);
        out.push('{');
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::json::push_str(&mut out, &e.key);
            out.push_str(":{\"type\":\"");
            out.push_str(e.value.value_type().name());
            out.push_str("\",\"value\":");
            match &e.value {
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Int(n) => write!(out, "{n}").unwrap(),
                Value::Double(d) if d.is_nan() => out.push_str("\"NaN\""),
                Value::Double(d) if d.is_infinite() => out.push_str(if *d > 0.0 { "\"inf\"" } else { "\"-inf\"" }),
                Value::Double(d) => write!(out, "{d:?}").unwrap(),
                Value::Str(s) => crate::json::push_str(&mut out, s),
                Value::Bytes(b) => {
                    out.push('"');
                    for byte in b.iter() {
                        write!(out, "{byte:02x}").unwrap();
                    }
                    out.push('"');
                }
            }
            write!(out, ",\"version\":{},\"ttl_ms\":", e.version).unwrap();
            match e.ttl_remaining {
                Some(d) => write!(out, "{}", d.as_millis()).unwrap(),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

impl Store {
    /// A consistent copy of the live keys starting with `prefix` ("" for all), sorted by key.
    pub fn snapshot(&self, prefix: &str) -> Snapshot {
        let guards: Vec<_> = self.shards.iter().map(|s| s.0.read()).collect();
        Snapshot::of(guards.iter().map(|g| &**g), prefix)
    }
}

impl Snapshot {
    /// Copies the live keys under `prefix` from shards the caller holds locked (all of them,
    /// taken in order, so the copy is one instant of the store). Each shard's lock may be
    /// released as soon as the iterator has passed it.
    pub(super) fn of<'a>(shards: impl Iterator<Item = &'a Shard>, prefix: &str) -> Snapshot {
        let now = Instant::now();
        let mut entries = Vec::new();
        for shard in shards {
            for e in shard.table.iter() {
                let ttl_remaining = match e.expires {
                    Some(at) if at <= now => continue,
                    Some(at) => Some(at - now),
                    None => None,
                };
                if e.key.starts_with(prefix) {
                    entries.push(SnapshotEntry {
                        key: e.key.clone(),
                        value: e.value.clone(),
                        version: e.version,
                        ttl_remaining,
                    });
                }
            }
        }
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Snapshot { entries }
    }
}
