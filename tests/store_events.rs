//! Change events of the status store: what subscribers see, in which order, when they are slow,
//! and on which thread callbacks run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use netrig::store::{Batch, Event, EventKind, Store, StoreOptions, Ttl, Value};
use netrig::Error;

fn store() -> Arc<Store> {
    Arc::new(Store::new(StoreOptions::default()).unwrap())
}

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn int(key: &str, kind: EventKind, v: i64, version: u64) -> Event {
    Event { kind, key: key.into(), value: Value::Int(v), version }
}

#[test]
fn set_delete_and_expire_events_carry_key_value_and_version() {
    let s = store();
    let (_, sub) = s.subscribe("dut/", 16).unwrap();
    let v1 = s.set("dut/1/temp", Value::Int(40), Ttl::Never).unwrap();
    s.set("other/x", Value::Int(1), Ttl::Never).unwrap();
    let v2 = s.set("dut/1/temp", Value::Int(41), Ttl::Never).unwrap();
    s.delete("dut/1/temp").unwrap();
    let v3 = s.set("dut/2/link", Value::str("up").unwrap(), Ttl::After(Duration::from_millis(100))).unwrap();

    assert_eq!(sub.poll(WAIT).unwrap(), int("dut/1/temp", EventKind::Set, 40, v1));
    assert_eq!(sub.poll(WAIT).unwrap(), int("dut/1/temp", EventKind::Set, 41, v2));
    assert_eq!(sub.poll(WAIT).unwrap(), int("dut/1/temp", EventKind::Delete, 41, v2));
    let e = sub.poll(WAIT).unwrap();
    assert_eq!((e.kind, &*e.key, e.version), (EventKind::Set, "dut/2/link", v3));
    // The expiry is announced by the store's timer, with no store call from anyone.
    let start = Instant::now();
    let e = sub.poll(WAIT).unwrap();
    assert_eq!(
        e,
        Event { kind: EventKind::Expire, key: "dut/2/link".into(), value: Value::str("up").unwrap(), version: v3 }
    );
    // Prompt against the 5 s poll, with room for a loaded machine.
    assert!(start.elapsed() < Duration::from_millis(100 + 1000), "expire event late: {:?}", start.elapsed());
    assert!(matches!(sub.poll(Some(Duration::ZERO)), Err(Error::Timeout(_))));
    assert_eq!(sub.stats().delivered, 5);
}

#[test]
fn subscribe_returns_a_snapshot_with_no_gap_to_the_events() {
    let s = store();
    let subscribed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The writer runs before, during and for 1000 writes after the subscribe, so events do
    // follow the snapshot however the threads are scheduled.
    let writer = {
        let (s, subscribed) = (s.clone(), subscribed.clone());
        thread::spawn(move || {
            let mut after = 0;
            let mut i = 0i64;
            while after < 1000 {
                // Read before the set: a set that saw the flag came after the subscribe.
                let counted = subscribed.load(Ordering::SeqCst);
                s.set("c/n", Value::Int(i), Ttl::Never).unwrap();
                if counted {
                    after += 1;
                }
                i += 1;
            }
            i - 1
        })
    };
    while !s.contains("c/n").unwrap() {
        thread::yield_now();
    }
    let (snap, sub) = s.subscribe("c/", 1 << 22).unwrap();
    subscribed.store(true, Ordering::SeqCst);
    let final_value = writer.join().unwrap();
    let first = snap.get("c/n").unwrap().clone();
    let mut last = first.value.clone();
    let mut version = first.version;
    let mut events = 0;
    loop {
        match sub.poll(Some(Duration::ZERO)) {
            Ok(e) => {
                let (Value::Int(prev), Value::Int(now)) = (&last, &e.value) else { panic!("{e:?}") };
                assert_eq!(*now, prev + 1, "an event is missing or repeated after the snapshot");
                assert!(e.version > version);
                version = e.version;
                last = e.value;
                events += 1;
            }
            Err(Error::Timeout(_)) => break,
            Err(Error::Lagged { .. }) => panic!("the default capacity should not lag here only if the writer finished"),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(events >= 1000, "only {events} events after the snapshot");
    assert_eq!(last, Value::Int(final_value));
}

#[test]
fn a_batch_arrives_together_and_in_order() {
    let s = store();
    s.set("t/gone", Value::Int(0), Ttl::Never).unwrap();
    let (_, sub) = s.subscribe("t/", 0).unwrap();
    let mut b = Batch::new();
    b.set("t/a", Value::Int(1), Ttl::Never).delete("t/gone").set("t/b", Value::Int(2), Ttl::Never);
    s.apply(&b).unwrap();
    let kinds: Vec<_> = (0..3).map(|_| sub.poll(WAIT).unwrap()).map(|e| (e.kind, e.key.to_string())).collect();
    assert_eq!(
        kinds,
        [(EventKind::Set, "t/a".into()), (EventKind::Delete, "t/gone".into()), (EventKind::Set, "t/b".into())]
    );
    // A failed batch tells nobody anything.
    let mut bad = Batch::new();
    bad.set("t/c", Value::Int(3), Ttl::Never).expect_version("t/a", 999);
    assert!(matches!(s.apply(&bad), Err(Error::Conflict { .. })));
    assert!(matches!(sub.poll(Some(Duration::from_millis(20))), Err(Error::Timeout(_))));
}

#[test]
fn a_slow_subscriber_never_blocks_writers_and_learns_what_it_missed() {
    let s = store();
    let (_, slow) = s.subscribe("", 4).unwrap();
    // Nobody polls `slow` while 100k writes happen; they must all finish at full speed.
    let start = Instant::now();
    for i in 0..100_000i64 {
        s.set("k", Value::Int(i), Ttl::Never).unwrap();
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "writers were held up: {took:?}");
    for i in 0..4 {
        assert_eq!(slow.poll(WAIT).unwrap().value, Value::Int(i));
    }
    match slow.poll(WAIT) {
        Err(e @ Error::Lagged { missed, capacity, .. }) => {
            assert_eq!((missed, capacity), (99_996, 4));
            assert_eq!(e.status(), netrig::netrig_status::NETRIG_E_LAGGED);
            assert!(e.to_string().contains("99996 events dropped"), "{e}");
        }
        other => panic!("expected Lagged, got {other:?}"),
    }
    // After the lag mark the stream goes on with new events.
    s.set("k", Value::Int(-1), Ttl::Never).unwrap();
    assert_eq!(slow.poll(WAIT).unwrap().value, Value::Int(-1));
    let st = slow.stats();
    assert_eq!((st.delivered, st.dropped, st.queued), (5, 99_996, 0));
}

#[test]
fn concurrent_writers_give_each_key_increasing_versions_in_every_queue() {
    let s = store();
    let (_, sub) = s.subscribe("", 1 << 20).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..5_000i64 {
                    s.set(&format!("k{}", i % 8), Value::Int(w), Ttl::Never).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut last = std::collections::HashMap::new();
    let mut n = 0;
    while let Ok(e) = sub.poll(Some(Duration::ZERO)) {
        let prev = last.insert(e.key.clone(), e.version).unwrap_or(0);
        assert!(e.version > prev, "key {} went from version {prev} to {}", e.key, e.version);
        n += 1;
    }
    assert_eq!(n, 20_000);
    for (k, v) in last {
        assert_eq!(s.get(&k).unwrap().version, v, "the last event of {k} is not its current version");
    }
}

#[test]
fn clear_and_purge_announce_deletes_and_expiries() {
    let s = store();
    s.set("a", Value::Int(1), Ttl::Never).unwrap();
    s.set("b", Value::Int(2), Ttl::After(Duration::from_millis(1))).unwrap();
    thread::sleep(Duration::from_millis(5));
    let (snap, sub) = s.subscribe("", 0).unwrap();
    assert_eq!(snap.len(), 1, "the expired key is not in the snapshot");
    assert_eq!(s.clear(), 2);
    let mut got: Vec<_> = (0..2).map(|_| sub.poll(WAIT).unwrap()).map(|e| (e.key.to_string(), e.kind)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, [("a".into(), EventKind::Delete), ("b".into(), EventKind::Expire)]);
    // Overwriting an expired key announces its expiry first. Subscribed before the set, so the
    // expiry is seen whether the timer or the overwrite announces it.
    let (_, sub2) = s.subscribe("c", 0).unwrap();
    s.set("c", Value::Int(1), Ttl::After(Duration::from_millis(1))).unwrap();
    drop(sub);
    thread::sleep(Duration::from_millis(5));
    s.set("c", Value::Int(2), Ttl::Never).unwrap();
    let kinds: Vec<_> = (0..3).map(|_| sub2.poll(WAIT).unwrap().kind).collect();
    assert!(
        kinds == [EventKind::Set, EventKind::Expire, EventKind::Set],
        "timer or overwrite must announce the expiry once, before the set: {kinds:?}"
    );
    assert!(matches!(sub2.poll(Some(Duration::from_millis(20))), Err(Error::Timeout(_))));
}

#[test]
fn poll_times_out_on_time_and_close_wakes_it() {
    let s = store();
    let (_, sub) = s.subscribe("x", 0).unwrap();
    let start = Instant::now();
    assert!(matches!(sub.poll(Some(Duration::from_millis(200))), Err(Error::Timeout(m)) if m.contains("'x'")));
    let took = start.elapsed();
    // Never early; late only by what a loaded machine adds to a wake-up.
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(200 + 1000), "{took:?}");

    let sub = Arc::new(sub);
    let poller = {
        let sub = sub.clone();
        thread::spawn(move || {
            let start = Instant::now();
            (sub.poll(None), start.elapsed())
        })
    };
    thread::sleep(Duration::from_millis(50));
    sub.close();
    let (r, took) = poller.join().unwrap();
    assert!(matches!(r, Err(Error::Closed(_))), "{r:?}");
    assert!(took < Duration::from_millis(1000));
    // A closed subscription hears nothing more.
    s.set("x", Value::Int(1), Ttl::Never).unwrap();
    assert!(matches!(sub.poll(Some(Duration::ZERO)), Err(Error::Closed(_))));
}

#[test]
fn dropping_the_store_closes_its_subscriptions() {
    let s = store();
    let (_, sub) = s.subscribe("", 0).unwrap();
    s.set("k", Value::Int(1), Ttl::Never).unwrap();
    drop(s);
    assert_eq!(sub.poll(WAIT).unwrap().value, Value::Int(1), "queued events survive the store");
    assert!(matches!(sub.poll(WAIT), Err(Error::Closed(_))));
}

#[test]
fn callbacks_run_on_the_dispatcher_thread_outside_store_locks() {
    let s = store();
    let (tx, rx) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let (_, sub) = {
        let s2 = s.clone();
        let calls = calls.clone();
        s.subscribe_with("in/", 0, move |e| {
            calls.fetch_add(1, Ordering::SeqCst);
            let e = e.unwrap();
            // Writing to the store from the callback proves no store lock is held here.
            s2.set(&format!("out/{}", e.key), e.value.clone(), Ttl::Never).unwrap();
            tx.send(thread::current().name().unwrap_or("").to_owned()).unwrap();
        })
        .unwrap()
    };
    for i in 0..10 {
        s.set(&format!("in/{i}"), Value::Int(i), Ttl::Never).unwrap();
    }
    for _ in 0..10 {
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "netrig-events");
    }
    assert_eq!(s.get_int("out/in/7").unwrap().value, 7);
    // After close returns, the callback is never called again.
    sub.close();
    let before = calls.load(Ordering::SeqCst);
    s.set("in/late", Value::Int(0), Ttl::Never).unwrap();
    thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::SeqCst), before);
}

#[test]
fn a_callback_may_close_its_own_subscription_and_panics_lose_one_event() {
    let s = store();
    let slot: Arc<parking_lot::Mutex<Option<netrig::store::Subscription>>> = Arc::default();
    let (tx, rx) = mpsc::channel();
    let (_, sub) = {
        let slot = slot.clone();
        s.subscribe_with("", 0, move |e| {
            let e = e.unwrap();
            if e.value == Value::Int(1) {
                panic!("the callback's own bug");
            }
            tx.send(e.value.clone()).unwrap();
            if e.value == Value::Int(3) {
                // Closing from inside the callback must not wait for itself.
                slot.lock().take().unwrap().close();
            }
        })
        .unwrap()
    };
    *slot.lock() = Some(sub);
    for i in 0..5 {
        s.set("k", Value::Int(i), Ttl::Never).unwrap();
    }
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Value::Int(0));
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Value::Int(2));
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Value::Int(3));
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "events after close were delivered");
}

#[test]
fn bad_subscriptions_are_refused() {
    let s = store();
    assert!(matches!(s.subscribe("a\0", 0), Err(Error::InvalidArg(m)) if m.contains("NUL")));
    assert!(matches!(s.subscribe("", usize::MAX), Err(Error::InvalidArg(m)) if m.contains("capacity")));
    let (_, sub) = s.subscribe("", 0).unwrap();
    assert_eq!(sub.capacity(), netrig::store::DEFAULT_EVENT_CAPACITY);
}
