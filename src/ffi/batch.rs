//! `netrig_batch_*`: building an atomic batch in C and applying it to a store.
//!
//! A batch is a list of operations owned by the caller until `netrig_batch_free`. It is not
//! tied to one store and can be applied, cleared and reused. Its functions lock only the batch
//! itself (never a store) and never block on I/O. Thread-safety: any thread; building one batch
//! from several threads at once is safe but interleaves their operations.

use std::ffi::c_char;

use parking_lot::Mutex;

use super::args::{ref_arg, str_arg, Out};
use super::guard::call;
use super::handle::CHandle;
use super::netrig_value;
use super::store::netrig_store;
use crate::error::netrig_status;
use crate::store::{Batch, Ttl};

/// A batch of sets, deletes and version preconditions. Create with `netrig_batch_new`, free
/// with `netrig_batch_free`. The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_batch {
    pub id: u64,
}

/// Creates an empty batch; `*out` receives its handle, which the caller frees with
/// `netrig_batch_free`.
///
/// Ownership: the caller frees the new batch with `netrig_batch_free`.
/// Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_batch_new(out: *mut netrig_batch) -> netrig_status {
    call("netrig_batch_new", || {
        let out = Out::new(out, "out")?;
        out.set(netrig_batch::insert(Mutex::new(Batch::new()))?);
        Ok(())
    })
}

/// Frees a batch. A second free returns NETRIG_E_INVALID_HANDLE.
///
/// Ownership: consumes the handle.
///
/// Blocking: until calls already running on this batch in other threads return.
/// Thread-safety: any thread; calls on one batch are serialised.
#[no_mangle]
pub extern "C" fn netrig_batch_free(batch: netrig_batch) -> netrig_status {
    call("netrig_batch_free", || batch.remove())
}

/// Adds "set `key` to `*value`" (copied now) with `ttl_ms` as for `netrig_store_set_bool`.
///
/// Ownership: `key` and `value` are borrowed for the call.
///
/// Blocking: waits only for other calls on the same batch (microseconds); no I/O.
/// Thread-safety: any thread; calls on one batch are serialised.
#[no_mangle]
pub unsafe extern "C" fn netrig_batch_set(
    batch: netrig_batch,
    key: *const c_char,
    value: *const netrig_value,
    ttl_ms: i64,
) -> netrig_status {
    call("netrig_batch_set", || {
        let key = str_arg(key, "key")?;
        let value = ref_arg(value, "value")?.read_value()?;
        let ttl = Ttl::from_millis(ttl_ms)?;
        batch.with(|b| {
            b.lock().set(key, value, ttl);
        })
    })
}

/// Adds "delete `key`". Deleting a key that does not exist is not an error in a batch.
///
/// Ownership: `key` is borrowed for the call.
///
/// Blocking: waits only for other calls on the same batch (microseconds); no I/O.
/// Thread-safety: any thread; calls on one batch are serialised.
#[no_mangle]
pub unsafe extern "C" fn netrig_batch_delete(batch: netrig_batch, key: *const c_char) -> netrig_status {
    call("netrig_batch_delete", || {
        let key = str_arg(key, "key")?;
        batch.with(|b| {
            b.lock().delete(key);
        })
    })
}

/// Adds a precondition: when applied, `key` must be at `version` (0 = must not exist), or the
/// whole batch fails with NETRIG_E_CONFLICT and nothing changes.
///
/// Ownership: `key` is borrowed for the call.
///
/// Blocking: waits only for other calls on the same batch (microseconds); no I/O.
/// Thread-safety: any thread; calls on one batch are serialised.
#[no_mangle]
pub unsafe extern "C" fn netrig_batch_expect_version(
    batch: netrig_batch,
    key: *const c_char,
    version: u64,
) -> netrig_status {
    call("netrig_batch_expect_version", || {
        let key = str_arg(key, "key")?;
        batch.with(|b| {
            b.lock().expect_version(key, version);
        })
    })
}

/// The number of operations in the batch.
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Blocking: waits only for other calls on the same batch (microseconds); no I/O.
/// Thread-safety: any thread; calls on one batch are serialised.
#[no_mangle]
pub unsafe extern "C" fn netrig_batch_len(batch: netrig_batch, out: *mut usize) -> netrig_status {
    call("netrig_batch_len", || {
        let out = Out::new(out, "out")?;
        out.set(batch.with(|b| b.lock().len())?);
        Ok(())
    })
}

/// Removes every operation, so the batch can be reused.
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Blocking: waits only for other calls on the same batch (microseconds); no I/O.
/// Thread-safety: any thread; calls on one batch are serialised.
#[no_mangle]
pub extern "C" fn netrig_batch_clear(batch: netrig_batch) -> netrig_status {
    call("netrig_batch_clear", || batch.with(|b| b.lock().clear()))
}

/// Applies the batch to `store` all-or-nothing: every reader that sees more than one key
/// (snapshots, `len`, other batches) sees all of it or none of it. On any error (invalid key,
/// NETRIG_E_CONFLICT, NETRIG_E_FULL, ...) nothing has changed. The batch is left as it was.
///
/// Blocking: write-locks the shards the batch touches, in a fixed order, for the duration.
/// Thread-safety: any thread.
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
#[no_mangle]
pub extern "C" fn netrig_store_apply(store: netrig_store, batch: netrig_batch) -> netrig_status {
    call("netrig_store_apply", || {
        // Copy the operations out so the batch lock is never held while store shards are.
        let ops = batch.with(|b| b.lock().clone())?;
        store.try_with(|s| s.apply(&ops))
    })
}
