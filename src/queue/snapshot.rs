//! What a [`QueueSnapshot`] holds (the counts and a copy of every held item) and its JSON
//! form: the read-only view that callers and the C ABI hand out, kept apart from the state it
//! is copied from.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::ItemStatus;
#[cfg(doc)]
use super::Queue;

/// How many items are in each state, and how many were completed in the queue's life (for a
/// durable queue, over every process that opened it). Serializes as the `counts` object of
/// [`QueueSnapshot::to_json`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub processing: usize,
    pub suspended: usize,
    pub failed: usize,
    pub completed: u64,
}

impl Counts {
    /// Items held: what `max_items` bounds.
    pub fn held(&self) -> usize {
        self.pending + self.processing + self.suspended + self.failed
    }
}

/// One item in a [`QueueSnapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct ItemInfo {
    pub id: u64,
    pub priority: i32,
    pub status: ItemStatus,
    /// Claims so far (reset by [`Queue::retry_failed`]).
    pub attempts: u32,
    /// The text of the last `fail`, or why the last lease ended without one.
    pub last_error: Option<Arc<str>>,
    pub payload: Arc<[u8]>,
    /// Time left on the lease of a processing item.
    pub lease_remaining: Option<Duration>,
}

/// The items of a queue and its counts, taken at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSnapshot {
    pub name: String,
    pub counts: Counts,
    /// Pending items in the order they would be claimed, then processing items by lease
    /// deadline (soonest first), then suspended and failed items by id.
    pub items: Vec<ItemInfo>,
}

impl QueueSnapshot {
    /// `{"queue": "uploads", "counts": {"pending": 1, ...}, "items": [{"id": 7, "status":
    /// "pending", "priority": 0, "attempts": 0, "lease_remaining_ms": null, "last_error": null,
    /// "payload": "...", "payload_encoding": "utf8"}, ...]}`. A payload that is valid UTF-8 is
    /// given as text (`"payload_encoding": "utf8"`), any other as lowercase hex (`"hex"`), so
    /// the document is always valid JSON and the payload's bytes can always be recovered.
    /// `lease_remaining_ms` is whole milliseconds, null for an item that is not processing.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Doc<'a> {
            queue: &'a str,
            counts: &'a Counts,
            items: Items<'a>,
        }
        let size = 128 + self.items.iter().map(|i| 160 + 2 * i.payload.len()).sum::<usize>();
        crate::json::to_string_sized(&Doc { queue: &self.name, counts: &self.counts, items: Items(&self.items) }, size)
    }
}

/// The items of a [`QueueSnapshot`] as a JSON array, rendered one by one (no list of copies).
struct Items<'a>(&'a [ItemInfo]);

impl Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|i| {
            let (payload, payload_encoding) = match std::str::from_utf8(&i.payload) {
                Ok(text) => (Payload::Text(text), "utf8"),
                Err(_) => (Payload::Hex(crate::json::Hex(&i.payload)), "hex"),
            };
            ItemJson {
                id: i.id,
                status: i.status.name(),
                priority: i.priority,
                attempts: i.attempts,
                lease_remaining_ms: i.lease_remaining.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                last_error: i.last_error.as_deref(),
                payload,
                payload_encoding,
            }
        }))
    }
}

#[derive(Serialize)]
struct ItemJson<'a> {
    id: u64,
    status: &'static str,
    priority: i32,
    attempts: u32,
    lease_remaining_ms: Option<u64>,
    last_error: Option<&'a str>,
    payload: Payload<'a>,
    payload_encoding: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Payload<'a> {
    Text(&'a str),
    Hex(crate::json::Hex<'a>),
}
