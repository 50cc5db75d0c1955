//! What closing a subscription does with the changes it has queued, through the Rust API and the
//! C ABI: a callback subscription delivers them before its close returns; a polled one drops
//! them; callbacks that close each other's subscriptions at the same time do not deadlock.

use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use netrig::ffi::*;
use netrig::netrig_status::{self, *};
use netrig::store::{Store, StoreOptions, Subscription, Ttl, Value};
use parking_lot::Mutex;

#[path = "support/abi.rs"]
mod abi;
use abi::{c, last_error};

fn store() -> Arc<Store> {
    Arc::new(Store::new(StoreOptions::default()).unwrap())
}

/// Runs `f` on its own thread and fails the test if it has not finished within `limit` (a
/// deadlock would otherwise hang the whole suite).
fn within<T: Send + 'static>(limit: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("{what} did not finish within {limit:?} (deadlock?)"))
}

/// The dispatcher is held in the first call while nine more changes queue up; close is called
/// with all nine still queued, and must hand every one of them to the callback before it
/// returns. (The hold ends by itself after 300 ms, so with a close that drops the queue the
/// test fails instead of hanging.)
#[test]
fn closing_a_callback_subscription_delivers_what_was_queued() {
    let s = store();
    let got = Arc::new(Mutex::new(Vec::new()));
    let (entered_tx, entered_rx) = mpsc::channel();
    let (_, sub) = {
        let got = got.clone();
        s.subscribe_with("k", 0, move |e| {
            let v = e.unwrap().value;
            if v == Value::Int(0) {
                entered_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(300));
            }
            got.lock().push(v);
        })
        .unwrap()
    };
    s.set("k", Value::Int(0), Ttl::Never).unwrap();
    entered_rx.recv_timeout(Duration::from_secs(10)).expect("the callback was never called");
    for i in 1..10 {
        s.set("k", Value::Int(i), Ttl::Never).unwrap();
    }
    assert_eq!(sub.stats().queued, 9, "the nine later changes wait in the queue");
    sub.close();
    let got = got.lock().clone();
    assert_eq!(got, (0..10).map(Value::Int).collect::<Vec<_>>(), "close returned before delivering the queue");
    // Nothing written after close reaches the callback.
    s.set("k", Value::Int(99), Ttl::Never).unwrap();
    assert_eq!(got.len(), 10);
}

#[test]
fn closing_a_polled_subscription_drops_what_was_queued() {
    let s = store();
    let (_, sub) = s.subscribe("", 0).unwrap();
    s.set("a", Value::Int(1), Ttl::Never).unwrap();
    sub.close();
    assert!(matches!(sub.poll(Some(Duration::ZERO)), Err(netrig::Error::Closed(_))));
    assert_eq!(sub.stats().queued, 0);
}

/// Two callbacks, each closing the other's subscription while both are inside a call: the
/// second close to start would wait forever for a thread that waits for it, so it returns at
/// once instead; both closes return and both dispatcher threads end.
#[test]
fn callbacks_closing_each_others_subscriptions_do_not_deadlock() {
    for round in 0..20 {
        let s = store();
        let slots: Arc<[Mutex<Option<Subscription>>; 2]> = Arc::new([Mutex::new(None), Mutex::new(None)]);
        let both_inside = Arc::new(Barrier::new(2));
        let closed = Arc::new(AtomicUsize::new(0));
        for me in 0..2 {
            let (slots2, both, closed) = (slots.clone(), both_inside.clone(), closed.clone());
            let (_, sub) = s
                .subscribe_with("go", 0, move |_| {
                    both.wait();
                    if let Some(other) = slots2[1 - me].lock().take() {
                        other.close();
                        closed.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .unwrap();
            *slots[me].lock() = Some(sub);
        }
        let s2 = s.clone();
        within(Duration::from_secs(20), &format!("round {round}: two callbacks closing each other"), move || {
            s2.set("go", Value::Bool(true), Ttl::Never).unwrap();
            while closed.load(Ordering::SeqCst) < 2 {
                thread::yield_now();
            }
        });
    }
}

// ---- the same through the C ABI -------------------------------------------------------------

struct Counter {
    calls: AtomicUsize,
    hold_first_ms: u64,
}

unsafe extern "C" fn count(_change: *const netrig_change_view, user_data: *mut c_void) {
    // SAFETY: user_data is the &Counter the test passed and keeps alive until the free returns.
    let counter = unsafe { &*(user_data as *const Counter) };
    if counter.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        thread::sleep(Duration::from_millis(counter.hold_first_ms));
    }
}

fn subscribe_callback(
    s: netrig_store,
    prefix: &str,
    f: netrig_change_fn,
    user_data: *mut c_void,
) -> netrig_subscription {
    let mut sub = netrig_subscription { id: 0 };
    // SAFETY: live prefix and out pointer; the callers keep user_data alive until the free.
    let st = unsafe { netrig_store_subscribe_callback(s, c(prefix).as_ptr(), 0, f, user_data, &mut sub, null_mut()) };
    assert_eq!(st, NETRIG_OK, "{}", last_error());
    sub
}

fn set_int(s: netrig_store, key: &str, v: i64) {
    // SAFETY: live key.
    assert_eq!(unsafe { netrig_store_set_int(s, c(key).as_ptr(), v, NETRIG_TTL_NEVER) }, NETRIG_OK);
}

/// The demo's case: the last change is written just before the free. The free delivers it.
#[test]
fn subscription_free_delivers_the_changes_written_before_it() {
    for _ in 0..50 {
        let mut s = netrig_store { id: 0 };
        // SAFETY: NULL options, live out pointer.
        assert_eq!(unsafe { netrig_store_new(std::ptr::null(), &mut s) }, NETRIG_OK);
        let counter = Box::new(Counter { calls: AtomicUsize::new(0), hold_first_ms: 20 });
        let sub = subscribe_callback(s, "svc/", Some(count), &*counter as *const Counter as *mut c_void);
        for i in 0..5 {
            set_int(s, "svc/running", i);
        }
        assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
        assert_eq!(counter.calls.load(Ordering::SeqCst), 5, "a change written before the free was lost");
        drop(counter);
        set_int(s, "svc/running", 9);
        assert_eq!(netrig_store_free(s), NETRIG_OK);
    }
}

/// Each callback frees the other's subscription (the probe's deadlock): both frees return.
struct Pair {
    store: netrig_store,
    subs: [Mutex<Option<netrig_subscription>>; 2],
    both_inside: Barrier,
    freed: AtomicUsize,
    statuses: Mutex<Vec<netrig_status>>,
}

unsafe extern "C" fn free_first(_c: *const netrig_change_view, user_data: *mut c_void) {
    // SAFETY: user_data is the test's &Pair, alive until both frees returned and the threads ended.
    free_other(unsafe { &*(user_data as *const Pair) }, 0);
}

unsafe extern "C" fn free_second(_c: *const netrig_change_view, user_data: *mut c_void) {
    // SAFETY: as in free_first.
    free_other(unsafe { &*(user_data as *const Pair) }, 1);
}

fn free_other(pair: &Pair, me: usize) {
    pair.both_inside.wait();
    let other = pair.subs[1 - me].lock().take();
    if let Some(other) = other {
        let st = netrig_subscription_free(other);
        pair.statuses.lock().push(st);
        // The last access to `pair`: the test frees it once both have counted.
        pair.freed.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn callbacks_freeing_each_others_subscriptions_do_not_deadlock() {
    for round in 0..20 {
        let mut store = netrig_store { id: 0 };
        // SAFETY: NULL options, live out pointer.
        assert_eq!(unsafe { netrig_store_new(std::ptr::null(), &mut store) }, NETRIG_OK);
        let pair: &'static Pair = Box::leak(Box::new(Pair {
            store,
            subs: [Mutex::new(None), Mutex::new(None)],
            both_inside: Barrier::new(2),
            freed: AtomicUsize::new(0),
            statuses: Mutex::new(Vec::new()),
        }));
        let ud = pair as *const Pair as *mut c_void;
        let a = subscribe_callback(store, "go", Some(free_first), ud);
        let b = subscribe_callback(store, "go", Some(free_second), ud);
        *pair.subs[0].lock() = Some(a);
        *pair.subs[1].lock() = Some(b);
        within(Duration::from_secs(20), &format!("round {round}: two callbacks freeing each other"), move || {
            set_int(pair.store, "go", 1);
            while pair.freed.load(Ordering::SeqCst) < 2 {
                thread::yield_now();
            }
        });
        assert_eq!(*pair.statuses.lock(), [NETRIG_OK, NETRIG_OK]);
        assert_eq!(netrig_store_free(store), NETRIG_OK);
        // Both callbacks have made their last access to `pair` (the increment `freed` was read
        // after), so it can go although one of them may still be returning.
        // SAFETY: `pair` came from Box::leak above and nothing uses it any more.
        drop(unsafe { Box::from_raw(pair as *const Pair as *mut Pair) });
    }
}

#[test]
fn subscription_free_of_a_polled_subscription_wakes_the_poller() {
    let mut s = netrig_store { id: 0 };
    // SAFETY: NULL options, live out pointer.
    assert_eq!(unsafe { netrig_store_new(std::ptr::null(), &mut s) }, NETRIG_OK);
    let mut sub = netrig_subscription { id: 0 };
    // SAFETY: live prefix and out pointer.
    assert_eq!(unsafe { netrig_store_subscribe(s, c("").as_ptr(), 0, &mut sub, null_mut()) }, NETRIG_OK);
    let poller = thread::spawn(move || {
        let mut ch = netrig_change { id: 0 };
        // SAFETY: live out pointer.
        unsafe { netrig_subscription_poll(sub, NETRIG_WAIT_FOREVER, &mut ch) }
    });
    // The poller ends with CLOSED if it was waiting when the free came, or INVALID_HANDLE if it
    // started after it; either way it does not wait forever.
    assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
    let st = within(Duration::from_secs(10), "a poll woken by free", move || poller.join().unwrap());
    assert!(st == NETRIG_E_CLOSED || st == NETRIG_E_INVALID_HANDLE, "poll returned {st:?}");
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

/// The handle kind in messages is the C type's name: a change is a `netrig_change`.
#[test]
fn a_change_handle_is_named_netrig_change_in_messages() {
    let mut s = netrig_store { id: 0 };
    // SAFETY: NULL options, live out pointer.
    assert_eq!(unsafe { netrig_store_new(std::ptr::null(), &mut s) }, NETRIG_OK);
    let mut sub = netrig_subscription { id: 0 };
    // SAFETY: live prefix and out pointer.
    assert_eq!(unsafe { netrig_store_subscribe(s, c("").as_ptr(), 0, &mut sub, null_mut()) }, NETRIG_OK);
    set_int(s, "k", 1);
    let mut ch = netrig_change { id: 0 };
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_subscription_poll(sub, 5000, &mut ch) }, NETRIG_OK);
    let mut stats = netrig_subscription_stats::default();
    // SAFETY: live out pointer; the handle is of the wrong kind on purpose.
    let st = unsafe { netrig_subscription_get_stats(netrig_subscription { id: ch.id }, &mut stats) };
    abi::expect(st, NETRIG_E_INVALID_HANDLE, "is a netrig_change, not a netrig_subscription");
    assert_eq!(netrig_change_free(ch), NETRIG_OK);
    assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}
