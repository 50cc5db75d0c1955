//! `netrig_store_subscribe*`, `netrig_subscription_*`, `netrig_change_*`: change events of a
//! store through the C ABI.
//!
//! A subscription is polled from any thread (the ctypes-friendly way: no foreign-thread
//! callbacks), or given a callback that runs on one dispatcher thread per subscription.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::args::{str_arg, wait_arg, Out};
use super::guard::call;
use super::handle::CHandle;
use super::netrig_value;
use super::snapshot::{netrig_snapshot, snapshot_handle};
use super::store::netrig_store;
use crate::error::{netrig_status, Error, Result};
use crate::store::{Event, EventKind, Snapshot, Subscription, Value};

/// A subscription to a store's changes. Free with `netrig_subscription_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_subscription {
    pub id: u64,
}

/// One change taken from a subscription by `netrig_subscription_poll`. Read it with
/// `netrig_change_get`; free it with `netrig_change_free`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_change {
    pub id: u64,
}

/// `netrig_change_view.kind`: the key was written (value and version are the new ones).
pub const NETRIG_CHANGE_SET: u32 = 1;
/// `netrig_change_view.kind`: the key was deleted (value and version are the removed ones).
pub const NETRIG_CHANGE_DELETE: u32 = 2;
/// `netrig_change_view.kind`: the key's TTL ran out (value and version are the expired ones).
pub const NETRIG_CHANGE_EXPIRE: u32 = 3;
/// `netrig_change_view.kind`, callbacks only: `missed` events were dropped here because the
/// queue was full (key is "" and value is unset). Pollers get NETRIG_E_LAGGED instead.
pub const NETRIG_CHANGE_LAGGED: u32 = 4;

/// A change, as netrig shows it to C. `key` and `value`'s string or bytes point into memory that
/// stays valid until `netrig_change_free` (polled changes) or until the callback returns.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_change_view {
    /// NETRIG_CHANGE_SET, _DELETE, _EXPIRE or _LAGGED.
    pub kind: u32,
    /// The key, NUL-terminated.
    pub key: *const c_char,
    pub value: netrig_value,
    pub version: u64,
    /// For NETRIG_CHANGE_LAGGED: how many events were dropped. 0 otherwise.
    pub missed: u64,
}

/// Counters of a subscription.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct netrig_subscription_stats {
    /// Events handed out so far.
    pub delivered: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// Events waiting now.
    pub queued: u64,
}

/// Called on the subscription's dispatcher thread for each change (see
/// `netrig_store_subscribe_callback`).
///
/// Ownership: `change` and what it points to are valid only during the call; `user_data` is
/// the caller's. Blocking: the callback may block, but the subscription's changes queue up
/// (and then drop) while it does; writers never wait for it. Thread-safety: always called on
/// the one thread of its subscription that netrig starts and names "netrig-events", one call at
/// a time. It must not unwind into netrig (no C++ exception, longjmp or thread exit out of it).
#[allow(non_camel_case_types)]
pub type netrig_change_fn = Option<unsafe extern "C" fn(change: *const netrig_change_view, user_data: *mut c_void)>;

/// A change with C copies of its key and string value, so views can point into it.
pub(crate) struct CChange {
    event: Event,
    key: CString,
    text: Option<CString>,
}

impl CChange {
    fn new(event: Event) -> CChange {
        // Keys and string values never hold NUL (the store refuses them).
        let key = CString::new(event.key.as_bytes()).unwrap_or_default();
        let text = match &event.value {
            Value::Str(s) => Some(CString::new(s.as_bytes()).unwrap_or_default()),
            _ => None,
        };
        CChange { event, key, text }
    }

    fn view(&self) -> netrig_change_view {
        let mut value = netrig_value::scalar(&self.event.value);
        match &self.event.value {
            Value::Str(_) => value.str = self.text.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
            Value::Bytes(b) => {
                value.bytes = b.as_ptr();
                value.bytes_len = b.len();
            }
            _ => {}
        }
        let kind = match self.event.kind {
            EventKind::Set => NETRIG_CHANGE_SET,
            EventKind::Delete => NETRIG_CHANGE_DELETE,
            EventKind::Expire => NETRIG_CHANGE_EXPIRE,
        };
        netrig_change_view { kind, key: self.key.as_ptr(), value, version: self.event.version, missed: 0 }
    }
}

/// The caller's callback and `user_data`, carried to the dispatcher thread.
struct ChangeCallback {
    f: unsafe extern "C" fn(*const netrig_change_view, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: the callback and `user_data` are only ever used on the one dispatcher thread the
// subscription starts; netrig itself never reads or writes through `user_data`. The header makes
// the caller promise that `user_data` may be used from that thread until netrig_subscription_free
// returns, and free waits for the dispatcher thread (unless called from inside the callback, or
// from a callback whose own subscription that thread is freeing: see netrig_subscription_free).
// Exercised by tests/c_abi.rs::callback_runs_on_the_dispatcher_thread_with_user_data and
// tests/c_abi.rs::callbacks_freeing_each_others_subscriptions_do_not_deadlock.
unsafe impl Send for ChangeCallback {}

impl ChangeCallback {
    fn deliver(&self, next: Result<Event>) {
        let change;
        let view = match next {
            Ok(event) => {
                change = CChange::new(event);
                change.view()
            }
            Err(Error::Lagged { missed, .. }) => netrig_change_view {
                kind: NETRIG_CHANGE_LAGGED,
                key: c"".as_ptr(),
                value: netrig_value { kind: 0, ..netrig_value::scalar(&Value::Bool(false)) },
                version: 0,
                missed,
            },
            Err(_) => return,
        };
        // SAFETY: `f` is the caller's non-NULL function pointer, called with a view that lives
        // (with what it points to) until it returns, and with `user_data` as the caller gave
        // it (see the Send above).
        unsafe { (self.f)(&view, self.user_data) };
    }
}

fn publish(
    sub: Subscription,
    snapshot: Snapshot,
    out: Out<netrig_subscription>,
    out_snapshot: *mut netrig_snapshot,
) -> Result<()> {
    let snap = if out_snapshot.is_null() { None } else { Some(snapshot_handle(snapshot)?) };
    // Subscriptions are shared so that a poll can wait outside the handle table: freeing one
    // while another thread polls it wakes that poll (NETRIG_E_CLOSED) instead of waiting for it.
    out.set(netrig_subscription::insert(Arc::new(sub))?);
    if let Some(s) = snap {
        Out::optional(out_snapshot).set(s);
    }
    Ok(())
}

/// Subscribes to changes of keys starting with `prefix` ("" for all). Poll the changes with
/// `netrig_subscription_poll`. Each subscription has its own queue of `capacity` changes (0 for
/// 1024); when it is full, writers never wait: changes are dropped and the next poll at that
/// point returns NETRIG_E_LAGGED with the count in the last error.
///
/// `*out_snapshot` (pass NULL to skip) receives a snapshot of the prefix taken at the same
/// instant: every change after it is delivered and none before it, so a UI can draw the
/// snapshot and then apply changes with nothing missed.
///
/// Order: one key's changes come in version order and a batch's together; of two writes where
/// one returned before the other began, the first one's change comes first. A marker key
/// written after a set of writes has finished therefore arrives after all of their changes.
///
/// Ownership: `prefix` is borrowed. The caller frees `*out` with `netrig_subscription_free` and
/// `*out_snapshot` with `netrig_snapshot_free`. The subscription does not keep the store alive:
/// after `netrig_store_free`, polls return what is queued, then NETRIG_E_CLOSED.
/// Blocking: waits for every shard of the store once (microseconds). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_subscribe(
    store: netrig_store,
    prefix: *const c_char,
    capacity: u32,
    out: *mut netrig_subscription,
    out_snapshot: *mut netrig_snapshot,
) -> netrig_status {
    call("netrig_store_subscribe", || {
        let out = Out::new(out, "out")?;
        let prefix = str_arg(prefix, "prefix")?;
        let (snapshot, sub) = store.try_with(|s| s.subscribe(prefix, capacity as usize))?;
        publish(sub, snapshot, out, out_snapshot)
    })
}

/// Like `netrig_store_subscribe`, but netrig calls `callback(change, user_data)` for each change
/// on a dispatcher thread it starts for this subscription (named "netrig-events"): one thread,
/// one call at a time, in the order of the changes, never while netrig holds a store lock (the
/// callback may call any netrig function, including writes to this store and
/// `netrig_subscription_free` of this or another subscription). Where changes were dropped, it
/// gets one call with kind NETRIG_CHANGE_LAGGED and the count in `missed`.
/// `netrig_subscription_free` delivers the changes queued before it, then stops the thread.
///
/// Ownership: `prefix` is borrowed. `user_data` is passed through untouched; the caller keeps it
/// valid, and usable from the dispatcher thread, until `netrig_subscription_free` returns (which
/// waits for the callback, unless called from inside it: see there). The view passed to the
/// callback is valid only during the call.
/// Blocking: as `netrig_store_subscribe`. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_subscribe_callback(
    store: netrig_store,
    prefix: *const c_char,
    capacity: u32,
    callback: netrig_change_fn,
    user_data: *mut c_void,
    out: *mut netrig_subscription,
    out_snapshot: *mut netrig_snapshot,
) -> netrig_status {
    call("netrig_store_subscribe_callback", || {
        let out = Out::new(out, "out")?;
        let prefix = str_arg(prefix, "prefix")?;
        let f = callback.ok_or(Error::NullArg("callback"))?;
        let cb = ChangeCallback { f, user_data };
        let (snapshot, sub) =
            store.try_with(|s| s.subscribe_with(prefix, capacity as usize, move |next| cb.deliver(next)))?;
        publish(sub, snapshot, out, out_snapshot)
    })
}

/// Takes the next change, waiting up to `timeout_ms` (0 = only check, NETRIG_WAIT_FOREVER = no
/// limit). NETRIG_OK with `*out` set; NETRIG_E_TIMEOUT when none came; NETRIG_E_LAGGED where
/// changes were dropped (the last error says how many; the changes after follow on the next
/// poll); NETRIG_E_CLOSED once the subscription or its store is gone and the queue is empty.
/// Subscriptions with a callback are polled by their dispatcher thread; polling them here too
/// takes changes from the callback.
///
/// Ownership: the caller frees `*out` with `netrig_change_free`.
/// Blocking: up to `timeout_ms`; `netrig_subscription_free` from another thread ends the wait.
/// Thread-safety: any thread; several pollers share the queue (each change goes to one).
#[no_mangle]
pub unsafe extern "C" fn netrig_subscription_poll(
    sub: netrig_subscription,
    timeout_ms: u32,
    out: *mut netrig_change,
) -> netrig_status {
    call("netrig_subscription_poll", || {
        let out = Out::new(out, "out")?;
        let sub = sub.get()?;
        let event = sub.poll(wait_arg(timeout_ms))?;
        out.set(netrig_change::insert(CChange::new(event))?);
        Ok(())
    })
}

/// The subscription's counters.
///
/// Ownership: `*out` is written by value. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_subscription_get_stats(
    sub: netrig_subscription,
    out: *mut netrig_subscription_stats,
) -> netrig_status {
    call("netrig_subscription_get_stats", || {
        let out = Out::new(out, "out")?;
        let st = sub.with(|s| s.stats())?;
        out.set(netrig_subscription_stats { delivered: st.delivered, dropped: st.dropped, queued: st.queued as u64 });
        Ok(())
    })
}

/// Unsubscribes and frees the subscription. No change written after the call begins is
/// delivered. What happens to the changes already queued:
///
/// - a callback subscription delivers them first: the dispatcher thread calls the callback for
///   each change queued before the free, then stops, and the free waits for that. When it
///   returns, every change written before the call has reached the callback, no callback is
///   running and none will run, so `user_data` may be freed right after.
///   Called from inside the subscription's own callback, it cannot wait for itself: the queued
///   changes are dropped and the thread stops when the callback returns. When two callbacks
///   free each other's subscriptions at the same time, the free that would wait forever (the
///   second to start) drops its subscription's queued changes and returns without waiting; the
///   callback of that subscription is then still on the stack, blocked in the other free.
/// - a polled subscription drops them (the handle is gone, nobody can poll it), and polls
///   waiting in other threads return NETRIG_E_CLOSED.
///
/// Ownership: consumes the handle. Blocking: a callback subscription waits for the callback to
/// take the queued changes (at most `capacity` calls) and return; a polled one never blocks.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_subscription_free(sub: netrig_subscription) -> netrig_status {
    call("netrig_subscription_free", || {
        let sub = sub.take()?;
        sub.close();
        Ok(())
    })
}

/// Fills `*out` with the change. Pointers in it stay valid until `netrig_change_free`.
///
/// Ownership: `*out` is written by value. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_change_get(change: netrig_change, out: *mut netrig_change_view) -> netrig_status {
    call("netrig_change_get", || {
        let out = Out::new(out, "out")?;
        out.set(change.with(CChange::view)?);
        Ok(())
    })
}

/// Frees a change taken by `netrig_subscription_poll`.
///
/// Ownership: consumes the handle. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_change_free(change: netrig_change) -> netrig_status {
    call("netrig_change_free", || change.remove())
}
