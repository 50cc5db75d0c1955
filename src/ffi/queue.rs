//! `netrig_queue_*` and `netrig_item_*`: the work queue through the C ABI.
//!
//! The queue handle holds an `Arc<Queue>`: calls clone it and let go of the handle table at
//! once, so a claim that waits for an item never holds up `netrig_queue_free` on another thread
//! (which closes the queue and so wakes that claim with NETRIG_E_CLOSED). A claimed item is its
//! own handle (`netrig_item`): an immutable copy of the id, the lease token, the priority, the
//! attempt and the payload, independent of the queue handle, so it stays readable after the
//! queue is freed.

use std::ffi::c_char;
use std::sync::Arc;

use super::args::{bytes_arg, ms, str_arg, wait_arg, write_buf, Out};
use super::args::{options_default, options_or_default, GrowableOptions};
use super::guard::call;
use super::handle::CHandle;
use crate::error::{netrig_status, Error, Result};
use crate::queue::{Claim, ItemStatus, Queue, QueueOptions};

/// A work queue. Create with `netrig_queue_new` or `netrig_queue_open`, free with
/// `netrig_queue_free`. The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_queue {
    pub id: u64,
}

/// An item claimed from a queue (`netrig_queue_claim`): its id, payload, priority and attempt,
/// and the lease that `netrig_queue_complete`, `netrig_queue_fail` and `netrig_queue_extend`
/// check. Free with `netrig_item_free`. The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_item {
    pub id: u64,
}

/// Bounds of a queue. Start from `netrig_queue_options_default(&o, sizeof o)` and change what
/// you need, so fields added later keep their defaults. Every field must be at least 1.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_queue_options {
    /// `sizeof` this struct in the caller's netrig.h, set by `netrig_queue_options_default(&o,
    /// sizeof o)`. The library reads only that many bytes, so the fields a newer header added
    /// take their defaults for a program built against an older one (OPTIONS in the preamble).
    pub struct_size: usize,
    /// Items held at most: pending, processing, suspended and failed together (default
    /// 100000). A push past it returns NETRIG_E_FULL. Completed items are not held.
    pub max_items: usize,
    /// Claims an item gets (default 3). A failed (with retry) or expired claim returns the item
    /// to pending while it has had fewer; after that it is failed.
    pub max_attempts: u32,
    /// Lease of `netrig_queue_claim`, in ms (default 30000): a claimed item that is not
    /// completed, failed or extended within it is taken back.
    pub lease_ms: u32,
    /// Largest payload in bytes (default 16 MiB); a larger push returns NETRIG_E_INVALID_ARG.
    pub max_payload: usize,
}

/// How many items are in each state, and how many were completed in the queue's life (for a
/// durable queue, over every process that opened its file).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct netrig_queue_counts {
    pub pending: u64,
    pub processing: u64,
    pub suspended: u64,
    pub failed: u64,
    pub completed: u64,
}

/// Item status written by `netrig_queue_fail`: waiting to be claimed.
pub const NETRIG_ITEM_PENDING: u32 = 1;
/// Item status: claimed, under a lease.
pub const NETRIG_ITEM_PROCESSING: u32 = 2;
/// Item status: kept from claims until `netrig_queue_resume`.
pub const NETRIG_ITEM_SUSPENDED: u32 = 3;
/// Item status: out of attempts, or failed without retry; kept until
/// `netrig_queue_retry_failed` or `netrig_queue_purge_failed`.
pub const NETRIG_ITEM_FAILED: u32 = 4;

/// Longest error text `netrig_queue_fail` keeps, in bytes; longer texts are cut.
pub const NETRIG_QUEUE_MAX_ERROR_LEN: usize = 4096;
const _: () = assert!(NETRIG_QUEUE_MAX_ERROR_LEN == crate::queue::MAX_ERROR_LEN);

/// What an item handle holds: a copy, immutable, so accessors need no lock.
pub(crate) struct CItem {
    claim: Claim,
}

impl CItem {
    /// The (id, token) lease of the claim.
    fn lease(&self) -> (u64, u64) {
        (self.claim.id, self.claim.token)
    }
}

impl netrig_queue_options {
    fn to_options(self) -> Result<QueueOptions> {
        let zero = [
            ("max_items", self.max_items == 0),
            ("max_attempts", self.max_attempts == 0),
            ("lease_ms", self.lease_ms == 0),
            ("max_payload", self.max_payload == 0),
        ];
        if let Some((name, _)) = zero.iter().find(|(_, z)| *z) {
            return Err(Error::InvalidArg(format!(
                "options.{name} is 0; every netrig_queue_options field must be at least 1 \
                 (start from netrig_queue_options_default)"
            )));
        }
        Ok(QueueOptions {
            max_items: self.max_items,
            max_attempts: self.max_attempts,
            lease: ms(self.lease_ms),
            max_payload: self.max_payload,
        })
    }
}

fn read_options(opts: *const netrig_queue_options) -> Result<QueueOptions> {
    options_or_default(opts, "opts")?.to_options()
}

fn status_code(s: ItemStatus) -> u32 {
    match s {
        ItemStatus::Pending => NETRIG_ITEM_PENDING,
        ItemStatus::Processing => NETRIG_ITEM_PROCESSING,
        ItemStatus::Suspended => NETRIG_ITEM_SUSPENDED,
        ItemStatus::Failed => NETRIG_ITEM_FAILED,
    }
}

/// Fills `*out` with the queue defaults: max_items 100000, max_attempts 3, lease_ms 30000,
/// max_payload 16 MiB. `struct_size` is `sizeof *out` (see OPTIONS in the preamble);
/// NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger than this library's struct.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_options_default(
    out: *mut netrig_queue_options,
    struct_size: usize,
) -> netrig_status {
    call("netrig_queue_options_default", || options_default(out, struct_size))
}

// SAFETY: #[repr(C)], `struct_size: usize` first, and every other field an integer.
unsafe impl GrowableOptions for netrig_queue_options {
    const NAME: &'static str = "netrig_queue_options";
    fn defaults() -> Self {
        let d = QueueOptions::default();
        netrig_queue_options {
            struct_size: std::mem::size_of::<netrig_queue_options>(),
            max_items: d.max_items,
            max_attempts: d.max_attempts,
            lease_ms: d.lease.as_millis().min(u32::MAX as u128) as u32,
            max_payload: d.max_payload,
        }
    }
}

/// Creates an empty in-memory queue (named "memory" in error texts). NETRIG_E_INVALID_ARG when
/// a field of `opts` is 0.
///
/// Ownership: `opts` is borrowed for the call (NULL = the defaults). On success `*out` receives
/// a handle the caller frees with `netrig_queue_free`.
/// Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_new(opts: *const netrig_queue_options, out: *mut netrig_queue) -> netrig_status {
    call("netrig_queue_new", || {
        let out = Out::new(out, "out")?;
        let queue = Queue::new(read_options(opts)?)?;
        out.set(netrig_queue::insert(Arc::new(queue))?);
        Ok(())
    })
}

/// Opens the durable queue `name` in the SQLite file `path` (created if missing; WAL mode, so
/// the file comes with `-wal` and `-shm` companions), creating the queue if it is new, and
/// loads its items. Items that were processing when the last process using the file ended are
/// pending again with their attempts kept (failed when those are used up); pending, suspended
/// and failed items, the completed count and the next id are as they were. From then on every
/// call that returns NETRIG_OK on this queue (push, claim, complete, fail, suspend, resume,
/// retry, purge) is in the file, surviving what `durability` says:
/// NETRIG_DURABLE_PROCESS_CRASH (a crash or `kill -9`) or NETRIG_DURABLE_POWER_LOSS
/// (also an OS crash or power loss; slower). Lease deadlines are not kept.
///
/// Several queues may share one file under different names. A name already open in this
/// process returns NETRIG_E_BUSY (share that handle instead: any number of threads may use it).
/// One process at a time may work a given queue name: a second process that opens it would
/// take the first one's claimed items for abandoned ones.
/// NETRIG_E_IO when the file cannot be opened, created or read (the last error names the file
/// and the step); NETRIG_E_INVALID_ARG for an empty name or one over 256 bytes, a field of
/// `opts` that is 0, a `durability` that is neither constant, or a build without the `durable`
/// feature.
///
/// Ownership: `path`, `name` and `opts` are borrowed for the call (`opts` NULL = the defaults).
/// On success `*out` receives a handle the caller frees with `netrig_queue_free`.
/// Blocking: opens and reads the file: milliseconds, more for a large queue; up to 10 s when
/// another process holds the file's write lock. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_open(
    path: *const c_char,
    name: *const c_char,
    opts: *const netrig_queue_options,
    durability: u32,
    out: *mut netrig_queue,
) -> netrig_status {
    call("netrig_queue_open", || {
        let out = Out::new(out, "out")?;
        let path = str_arg(path, "path")?;
        let name = str_arg(name, "name")?;
        let opts = read_options(opts)?;
        #[cfg(feature = "durable")]
        {
            let durability = super::store::durability_arg(durability)?;
            let queue = Queue::open(std::path::Path::new(path), name, opts, durability)?;
            out.set(netrig_queue::insert(Arc::new(queue))?);
            Ok(())
        }
        #[cfg(not(feature = "durable"))]
        {
            let _ = (path, name, opts, durability, out);
            Err(Error::InvalidArg("this netrig was built without the `durable` feature (SQLite)".into()))
        }
    })
}

/// Frees a queue handle after closing the queue (see `netrig_queue_close`): claims waiting in
/// other threads return NETRIG_E_CLOSED at once. Item handles stay valid (their payloads
/// readable) until their own `netrig_item_free`; their leases can no longer be settled through
/// this queue, so they expire. A durable queue commits what it had not committed yet and its
/// file is closed when the last call still running on it returns; NETRIG_E_IO if that commit
/// failed (the handle is freed all the same).
///
/// Ownership: consumes the handle. Blocking: never waits for claims in other threads; for a
/// durable queue, one commit (milliseconds; an fsync with NETRIG_DURABLE_POWER_LOSS).
/// Thread-safety: any thread, also while other threads use the queue (their calls complete or
/// return NETRIG_E_CLOSED).
#[no_mangle]
pub extern "C" fn netrig_queue_free(queue: netrig_queue) -> netrig_status {
    call("netrig_queue_free", || {
        let q = queue.take()?;
        q.close()
    })
}

/// Closes the queue without freeing the handle: claims waiting now return NETRIG_E_CLOSED, and
/// later `netrig_queue_push`, `netrig_queue_claim` and `netrig_queue_retry_failed` return it
/// too. Items already claimed can still be completed, failed and extended, and the other
/// calls keep working, so workers can finish what they hold. A durable queue commits what it
/// had not committed yet (NETRIG_E_IO if that fails). Closing twice is harmless.
///
/// Ownership: borrows the handle. Blocking: as `netrig_queue_free`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_queue_close(queue: netrig_queue) -> netrig_status {
    call("netrig_queue_close", || queue.get()?.close())
}

/// Appends an item with a copy of `payload`. Items of higher `priority` are claimed first;
/// equal priorities in push order. `*out_id` (may be NULL) receives the item's id: ids start
/// at 1 and increase, never reused (also across reopens of a durable queue).
///
/// Failures, each leaving the queue unchanged: NETRIG_E_FULL when max_items are held (the last
/// error gives the counts by state and what makes room); NETRIG_E_INVALID_ARG when `len` is
/// over max_payload; NETRIG_E_CLOSED after `netrig_queue_close`. For a durable queue,
/// NETRIG_E_IO when the commit failed (the item is then in memory only).
///
/// Ownership: `payload` (`len` bytes; may be NULL when `len` is 0) is borrowed for the call and
/// copied. Blocking: the queue's lock for microseconds; a durable queue then waits for the
/// commit that holds the item (shared with concurrent callers). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_push(
    queue: netrig_queue,
    payload: *const u8,
    len: usize,
    priority: i32,
    out_id: *mut u64,
) -> netrig_status {
    call("netrig_queue_push", || {
        let q = queue.get()?;
        let max = q.options().max_payload;
        if len > max {
            return Err(Error::InvalidArg(format!(
                "queue '{}': payload of {len} bytes is over max_payload {max}",
                q.name()
            )));
        }
        let payload = bytes_arg(payload, len, "payload")?;
        let id = q.push(payload, priority)?;
        Out::optional(out_id).set(id);
        Ok(())
    })
}

fn claim(queue: netrig_queue, timeout_ms: u32, lease: Option<u32>, out: *mut netrig_item) -> Result<()> {
    let out = Out::new(out, "out_item")?;
    let q = queue.get()?;
    let lease = match lease {
        Some(0) => return Err(Error::InvalidArg("lease_ms is 0; a lease must last at least 1 ms".into())),
        Some(l) => ms(l),
        None => q.options().lease,
    };
    let claim = q.claim_with_lease(wait_arg(timeout_ms), lease)?;
    let (id, token) = (claim.id, claim.token);
    match netrig_item::insert(CItem { claim }) {
        Ok(item) => {
            out.set(item);
            Ok(())
        }
        Err(e) => {
            // No handle to settle it with: give the item back rather than let its lease run.
            let _ = q.fail(id, token, true, "the claim's item handle could not be made");
            Err(e)
        }
    }
}

/// Claims the next pending item (highest priority, then lowest id) under the queue's lease
/// (lease_ms of its options): the item is processing, its attempt counted, until the holder
/// calls `netrig_queue_complete`, `netrig_queue_fail` or `netrig_queue_extend`, or the lease
/// runs out; then it is pending again (failed if that was its last attempt) and this handle's
/// lease is void. A durable queue records the attempt before returning.
///
/// `timeout_ms`: how long to wait for an item. 0 only looks; NETRIG_WAIT_FOREVER waits without
/// limit. The wait sleeps on a condition variable (no polling) and wakes at once for a push, an
/// item returning to pending (a fail with retry, a resume, a retry, an expired lease) or a
/// close. NETRIG_E_TIMEOUT when no item came in time (the last error gives the counts);
/// NETRIG_E_CLOSED when the queue is or gets closed or freed while waiting.
///
/// Ownership: on success `*out_item` receives a handle the caller frees with
/// `netrig_item_free` (after settling it, or to abandon it: freeing does not settle).
/// Blocking: up to `timeout_ms`; a durable queue then waits for the commit of the claim.
/// Thread-safety: any thread; any number of threads may claim from one queue at once, and each
/// item goes to exactly one of them.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_claim(
    queue: netrig_queue,
    timeout_ms: u32,
    out_item: *mut netrig_item,
) -> netrig_status {
    call("netrig_queue_claim", || claim(queue, timeout_ms, None, out_item))
}

/// As `netrig_queue_claim`, with a lease of `lease_ms` (at least 1) instead of the queue's.
///
/// Ownership: as `netrig_queue_claim`. Blocking: as `netrig_queue_claim`.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_claim_with_lease(
    queue: netrig_queue,
    timeout_ms: u32,
    lease_ms: u32,
    out_item: *mut netrig_item,
) -> netrig_status {
    call("netrig_queue_claim_with_lease", || claim(queue, timeout_ms, Some(lease_ms), out_item))
}

/// Settles a claimed item as done: it leaves the queue and counts as completed.
///
/// NETRIG_E_LEASE, and nothing changes, when `item`'s lease is no longer held: it expired
/// (even if no other claimer has taken the item yet), the item was failed or suspended since,
/// or it was already completed. The last error says which ("queue 'q' item 17: lease of claim
/// 3 expired 120 ms ago; the item is pending again"). An item handle of another queue gets
/// NETRIG_E_LEASE or NETRIG_E_NOT_FOUND. For a durable queue, NETRIG_E_IO when the commit
/// failed.
///
/// Ownership: borrows both handles; `item` stays valid (free it with `netrig_item_free`).
/// Blocking: the queue's lock for microseconds; a durable queue then waits for the commit.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_queue_complete(queue: netrig_queue, item: netrig_item) -> netrig_status {
    call("netrig_queue_complete", || {
        let q = queue.get()?;
        let (id, token) = item.with(CItem::lease)?;
        q.complete(id, token)
    })
}

/// Settles a claimed item as failed, keeping `error` (cut to NETRIG_QUEUE_MAX_ERROR_LEN bytes)
/// as its last error. With `retry` and attempts left (fewer than max_attempts claims so far)
/// the item is pending again, else failed. `*out_status` (may be NULL) receives
/// NETRIG_ITEM_PENDING or NETRIG_ITEM_FAILED. Lease and I/O failures as for
/// `netrig_queue_complete`; nothing changes then.
///
/// Ownership: borrows both handles and `error` (a NUL-terminated UTF-8 string, copied);
/// `item` stays valid. Blocking: as `netrig_queue_complete`. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_fail(
    queue: netrig_queue,
    item: netrig_item,
    retry: bool,
    error: *const c_char,
    out_status: *mut u32,
) -> netrig_status {
    call("netrig_queue_fail", || {
        let error = str_arg(error, "error")?;
        let q = queue.get()?;
        let (id, token) = item.with(CItem::lease)?;
        let status = q.fail(id, token, retry, error)?;
        Out::optional(out_status).set(status_code(status));
        Ok(())
    })
}

/// Renews a claimed item's lease to end `lease_ms` (at least 1) from now: a heartbeat for
/// long work. Lease failures as for `netrig_queue_complete` (a lease that already ran out cannot
/// be renewed). Not journaled: a durable queue keeps no deadlines.
///
/// Ownership: borrows both handles. Blocking: the queue's lock for microseconds; no I/O.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_queue_extend(queue: netrig_queue, item: netrig_item, lease_ms: u32) -> netrig_status {
    call("netrig_queue_extend", || {
        let q = queue.get()?;
        let (id, token) = item.with(CItem::lease)?;
        if lease_ms == 0 {
            return Err(Error::InvalidArg("lease_ms is 0; a lease must last at least 1 ms".into()));
        }
        q.extend(id, token, ms(lease_ms)).map(drop)
    })
}

/// The item's id (as `netrig_queue_push` returned it, and as `netrig_queue_suspend` and the
/// snapshot name it).
///
/// Ownership: `*out` is the caller's. Blocking: never (the item is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same item.
#[no_mangle]
pub unsafe extern "C" fn netrig_item_id(item: netrig_item, out: *mut u64) -> netrig_status {
    call("netrig_item_id", || {
        let out = Out::new(out, "out")?;
        out.set(item.with(|i| i.claim.id)?);
        Ok(())
    })
}

static EMPTY: [u8; 1] = [0];

/// The item's payload: `*data` points at `*len` bytes (for an empty payload, `*len` is 0 and
/// `*data` a valid non-NULL pointer to nothing).
///
/// Ownership: the bytes belong to the item and stay valid and unchanged until
/// `netrig_item_free`, also after the item is settled or its queue freed.
/// Blocking: never (the item is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same item.
#[no_mangle]
pub unsafe extern "C" fn netrig_item_payload(
    item: netrig_item,
    data: *mut *const u8,
    len: *mut usize,
) -> netrig_status {
    call("netrig_item_payload", || {
        let data = Out::new(data, "data")?;
        let len = Out::new(len, "len")?;
        let (ptr, n) = item.with(|i| {
            let p = &i.claim.payload;
            (if p.is_empty() { EMPTY.as_ptr() } else { p.as_ptr() }, p.len())
        })?;
        data.set(ptr);
        len.set(n);
        Ok(())
    })
}

/// The priority the item was pushed with.
///
/// Ownership: `*out` is the caller's. Blocking: never (the item is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same item.
#[no_mangle]
pub unsafe extern "C" fn netrig_item_priority(item: netrig_item, out: *mut i32) -> netrig_status {
    call("netrig_item_priority", || {
        let out = Out::new(out, "out")?;
        out.set(item.with(|i| i.claim.priority)?);
        Ok(())
    })
}

/// Which claim of the item this is: 1 the first time it is claimed, 2 after one failed or
/// expired claim, ... up to max_attempts.
///
/// Ownership: `*out` is the caller's. Blocking: never (the item is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same item.
#[no_mangle]
pub unsafe extern "C" fn netrig_item_attempt(item: netrig_item, out: *mut u32) -> netrig_status {
    call("netrig_item_attempt", || {
        let out = Out::new(out, "out")?;
        out.set(item.with(|i| i.claim.attempt)?);
        Ok(())
    })
}

/// Frees an item handle and its payload. It does not settle the item: an item freed while its
/// lease runs stays processing until the lease expires, then is pending again. A second free
/// returns NETRIG_E_INVALID_HANDLE.
///
/// Ownership: consumes the handle. Blocking: until calls already running on this item in other
/// threads return (microseconds). Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_item_free(item: netrig_item) -> netrig_status {
    call("netrig_item_free", || item.remove())
}

/// Keeps item `id` from being claimed until `netrig_queue_resume`. A pending item is taken out
/// of line; a processing one has its lease revoked (its holder's settle then gets
/// NETRIG_E_LEASE); a suspended one stays so. NETRIG_E_NOT_FOUND for an id that is not in the
/// queue (completed, purged or never pushed); NETRIG_E_INVALID_ARG for a failed item (retry
/// it first).
///
/// Ownership: borrows the handle. Blocking: the queue's lock for microseconds; a durable queue
/// then waits for the commit. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_queue_suspend(queue: netrig_queue, id: u64) -> netrig_status {
    call("netrig_queue_suspend", || queue.get()?.suspend(id))
}

/// Makes suspended item `id` pending again (in its original place in line: priority, then id).
/// A pending or processing item is left as it is. Errors as for `netrig_queue_suspend`.
///
/// Ownership: borrows the handle. Blocking: as `netrig_queue_suspend`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_queue_resume(queue: netrig_queue, id: u64) -> netrig_status {
    call("netrig_queue_resume", || queue.get()?.resume(id))
}

/// Makes every suspended item pending; `*out_count` (may be NULL) receives how many.
///
/// Ownership: borrows the handle. Blocking: the queue's lock for a time linear in the items
/// resumed; a durable queue then waits for the commit. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_resume_all(queue: netrig_queue, out_count: *mut usize) -> netrig_status {
    call("netrig_queue_resume_all", || {
        let n = queue.get()?.resume_all()?;
        Out::optional(out_count).set(n);
        Ok(())
    })
}

/// Makes every failed item pending with its attempts reset to 0 (its last error is kept);
/// `*out_count` (may be NULL) receives how many. NETRIG_E_CLOSED after `netrig_queue_close`.
///
/// Ownership: borrows the handle. Blocking: as `netrig_queue_resume_all`.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_retry_failed(queue: netrig_queue, out_count: *mut usize) -> netrig_status {
    call("netrig_queue_retry_failed", || {
        let n = queue.get()?.retry_failed()?;
        Out::optional(out_count).set(n);
        Ok(())
    })
}

/// Removes every failed item (they do not count as completed); `*out_count` (may be NULL)
/// receives how many.
///
/// Ownership: borrows the handle. Blocking: as `netrig_queue_resume_all`.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_purge_failed(queue: netrig_queue, out_count: *mut usize) -> netrig_status {
    call("netrig_queue_purge_failed", || {
        let n = queue.get()?.purge_failed()?;
        Out::optional(out_count).set(n);
        Ok(())
    })
}

/// How many items are in each state now (leases that ran out count as pending or failed
/// already), and how many were completed.
///
/// Ownership: `*out` is the caller's. Blocking: the queue's lock for microseconds; no I/O.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_get_counts(queue: netrig_queue, out: *mut netrig_queue_counts) -> netrig_status {
    call("netrig_queue_get_counts", || {
        let out = Out::new(out, "out")?;
        let c = queue.get()?.counts();
        out.set(netrig_queue_counts {
            pending: c.pending as u64,
            processing: c.processing as u64,
            suspended: c.suspended as u64,
            failed: c.failed as u64,
            completed: c.completed,
        });
        Ok(())
    })
}

/// Copies a JSON snapshot of the queue, taken at one instant, and a NUL into `buf` (capacity
/// `buf_len`):
/// `{"queue": "uploads", "counts": {"pending": 2, "processing": 1, "suspended": 0, "failed": 0,
/// "completed": 40}, "items": [{"id": 41, "status": "pending", "priority": 5, "attempts": 0,
/// "lease_remaining_ms": null, "last_error": null, "payload": "job 41", "payload_encoding":
/// "utf8"}, ...]}`. Items come in claim order for pending ones, then processing ones by lease
/// deadline, then suspended and failed ones by id. A payload that is not UTF-8 is lowercase hex
/// with "payload_encoding": "hex".
///
/// `*out_len` receives the JSON's length without the NUL. When `buf_len` is too small the call
/// returns NETRIG_E_BUFFER_TOO_SMALL and still sets `*out_len`; the queue can change before the
/// next call, so retry with room to spare (say `*out_len * 5 / 4 + 4096`) in a loop.
/// `buf` may be NULL when `buf_len` is 0 (asks for the length only). For the counts alone,
/// `netrig_queue_get_counts` is much cheaper.
///
/// Ownership: `buf` and `*out_len` are the caller's. Blocking: holds the queue's lock while it
/// copies the item list (no payload copy; 12 ms for 100000 items in benches/queue.rs), then
/// renders the JSON without it (47 ms for those items' 19 MB). No I/O.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_queue_snapshot_json(
    queue: netrig_queue,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_queue_snapshot_json", || {
        let out_len = Out::new(out_len, "out_len")?;
        if buf.is_null() && buf_len > 0 {
            return Err(Error::NullArg("buf"));
        }
        let q = queue.get()?;
        let json = q.snapshot().to_json();
        write_buf(buf.cast(), buf_len, json.as_bytes(), true, &out_len, &|| format!("snapshot of queue '{}'", q.name()))
    })
}
