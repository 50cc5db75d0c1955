//! Consistent copies of the store (or of a key prefix), and their JSON form.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use super::{Shard, Store, Value};
use crate::json::Hex;

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

    /// The snapshot as one JSON object keyed by store key, in key order:
    /// `{"key": {"type": "int", "value": 3, "version": 7, "ttl_ms": null}, ...}`.
    /// `type` is the value's type name (bool, int, double, str, bytes) and `ttl_ms` the whole
    /// milliseconds left, or null for a key that never expires. Bytes are lowercase hex. JSON
    /// has no NaN or infinity, so those doubles are the strings "NaN", "inf" and "-inf" (the
    /// `type` still says double); every other double is a number that parses back to the same
    /// bits. Keys and strings keep every character; JSON escapes what it must.
    pub fn to_json(&self) -> String {
        crate::json::to_string_sized(&SnapshotJson(self), 2 + 64 * self.entries.len())
    }
}

/// The JSON form of a [`Snapshot`]: see [`Snapshot::to_json`].
struct SnapshotJson<'a>(&'a Snapshot);

impl Serialize for SnapshotJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.entries.iter().map(|e| {
            let entry = EntryJson {
                ty: e.value.value_type().name(),
                value: ValueJson(&e.value),
                version: e.version,
                ttl_ms: e.ttl_remaining.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            };
            (&*e.key, entry)
        }))
    }
}

#[derive(Serialize)]
struct EntryJson<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    value: ValueJson<'a>,
    version: u64,
    ttl_ms: Option<u64>,
}

struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Double(d) if d.is_nan() => s.serialize_str("NaN"),
            Value::Double(d) if d.is_infinite() => s.serialize_str(if *d > 0.0 { "inf" } else { "-inf" }),
            Value::Double(d) => s.serialize_f64(*d),
            Value::Str(text) => s.serialize_str(text),
            Value::Bytes(b) => Hex(b).serialize(s),
        }
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
