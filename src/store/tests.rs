use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::*;

fn store() -> Store {
    Store::new(StoreOptions::default()).unwrap()
}

fn small(max_entries: usize, max_bytes: usize) -> Store {
    Store::new(StoreOptions { max_entries, max_bytes, ..StoreOptions::default() }).unwrap()
}

const MS: fn(u64) -> Ttl = |ms| Ttl::After(Duration::from_millis(ms));

#[test]
fn every_type_round_trips_with_increasing_versions() {
    let s = store();
    let v1 = s.set("b", Value::Bool(true), Ttl::Default).unwrap();
    let v2 = s.set("i", Value::Int(-5), Ttl::Default).unwrap();
    s.set("d", Value::Double(2.5), Ttl::Default).unwrap();
    s.set("s", Value::str("héllo").unwrap(), Ttl::Default).unwrap();
    s.set("x", Value::bytes(&[0, 1, 255]), Ttl::Default).unwrap();
    assert!(s.get_bool("b").unwrap().value);
    assert_eq!(s.get_int("i").unwrap(), Versioned { value: -5, version: v2 });
    assert_eq!(s.get_double("d").unwrap().value, 2.5);
    assert_eq!(&*s.get_str("s").unwrap().value, "héllo");
    assert_eq!(&*s.get_bytes("x").unwrap().value, &[0, 1, 255]);
    assert_eq!(s.len(), 5);
    let v3 = s.set("b", Value::Bool(false), Ttl::Default).unwrap();
    assert!(v3 > v1);
}

#[test]
fn wrong_type_and_missing_key_are_distinct_errors() {
    let s = store();
    s.set("k", Value::str("up").unwrap(), Ttl::Default).unwrap();
    let e = s.get_int("k").unwrap_err();
    assert_eq!(e, Error::Type { key: "k".into(), expected: "int", actual: "str" });
    assert_eq!(e.status(), crate::netrig_status::NETRIG_E_TYPE);
    assert_eq!(s.get_int("nope").unwrap_err(), Error::NotFound("nope".into()));
    assert_eq!(s.delete("nope").unwrap_err(), Error::NotFound("nope".into()));
    assert!(!s.contains("nope").unwrap());
}

#[test]
fn bad_keys_and_values_are_rejected() {
    let s = store();
    assert!(matches!(s.set("", Value::Int(1), Ttl::Default), Err(Error::InvalidArg(m)) if m.contains("empty")));
    let huge = "k".repeat(1 << 20);
    let e = s.set(&huge, Value::Int(1), Ttl::Default).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("1048576") && m.contains("max_key_len 1024")), "{e}");
    assert!(matches!(s.set("a\0b", Value::Int(1), Ttl::Default), Err(Error::InvalidArg(_))));
    assert!(matches!(Value::str("a\0b"), Err(Error::InvalidArg(_))));
    assert!(s.is_empty());
}

#[test]
fn nul_detection_covers_every_position() {
    for len in 0..40 {
        assert!(!has_nul(&vec![b'a'; len]));
        assert!(!has_nul(&vec![0x80; len]), "high bytes are not NUL");
        for pos in 0..len {
            let mut key = vec![0xffu8; len];
            key[pos] = 0;
            assert!(has_nul(&key), "NUL at {pos} of {len} missed");
        }
    }
}

#[test]
fn ttl_expires_on_the_monotonic_clock_and_purge_counts() {
    // The default TTL is far longer than the short one, so a loaded machine that oversleeps
    // the first wait still finds "default" there.
    let s = Store::new(StoreOptions { default_ttl: Some(Duration::from_millis(1000)), ..Default::default() }).unwrap();
    s.set("short", Value::Int(1), MS(20)).unwrap();
    s.set("default", Value::Int(2), Ttl::Default).unwrap();
    let set = std::time::Instant::now();
    s.set("forever", Value::Int(3), Ttl::Never).unwrap();
    assert_eq!(s.len(), 3);
    thread::sleep(Duration::from_millis(25));
    assert_eq!(s.get_int("short").unwrap_err(), Error::NotFound("short".into()));
    assert_eq!(s.len(), 2);
    thread::sleep((set + Duration::from_millis(1005)).saturating_duration_since(std::time::Instant::now()));
    assert!(!s.contains("default").unwrap());
    assert_eq!(s.keys(""), vec!["forever".to_string()]);
    assert_eq!(s.purge_expired(), 2);
    assert_eq!(s.purge_expired(), 0);
    assert_eq!(s.bytes_used(), "forever".len() + 8);
}

#[test]
fn add_int_keeps_the_counters_ttl() {
    let s = store();
    let start = std::time::Instant::now();
    s.set("c", Value::Int(1), MS(400)).unwrap();
    // Incremented well into its TTL: a TTL restarted by the increment would run 100 ms longer.
    thread::sleep(Duration::from_millis(100));
    assert_eq!(s.add_int("c", 2).unwrap().value, 3);
    thread::sleep((start + Duration::from_millis(410)).saturating_duration_since(std::time::Instant::now()));
    assert!(!s.contains("c").unwrap(), "an increment must not extend the TTL");
    assert_eq!(s.add_int("c", 5).unwrap().value, 5, "an expired counter starts again from 0");
}

#[test]
fn bounds_refuse_writes_and_never_drop_status() {
    let s = small(2, 1 << 20);
    s.set("a", Value::Int(1), Ttl::Default).unwrap();
    s.set("b", Value::Int(2), Ttl::Default).unwrap();
    let e = s.set("c", Value::Int(3), Ttl::Default).unwrap_err();
    assert!(matches!(&e, Error::Full(m) if m.contains("2 of 2 entries")), "{e}");
    s.set("a", Value::Int(10), Ttl::Default).unwrap(); // overwriting needs no new entry
    assert_eq!(s.keys(""), vec!["a", "b"]);

    let s = small(100, 40);
    s.set("k", Value::bytes(&[0; 30]), Ttl::Default).unwrap();
    let e = s.set("j", Value::bytes(&[0; 20]), Ttl::Default).unwrap_err();
    assert!(matches!(&e, Error::Full(m) if m.contains("bytes in use")), "{e}");
    let e = s.set("big", Value::bytes(&[0; 41]), Ttl::Default).unwrap_err();
    assert!(matches!(&e, Error::Full(m) if m.contains("can never fit")), "{e}");
    assert_eq!(s.bytes_used(), 31);
    s.delete("k").unwrap();
    assert_eq!(s.bytes_used(), 0);
}

#[test]
fn expired_keys_make_room_for_new_ones() {
    let s = small(1, 1 << 20);
    s.set("old", Value::Int(1), MS(10)).unwrap();
    thread::sleep(Duration::from_millis(15));
    s.set("new", Value::Int(2), Ttl::Default).unwrap();
    assert_eq!(s.keys(""), vec!["new"]);
}

#[test]
fn compare_and_set_and_versions_never_repeat() {
    let s = store();
    let v1 = s.compare_and_set("k", 0, Value::Int(1), Ttl::Default).unwrap();
    let e = s.compare_and_set("k", 0, Value::Int(2), Ttl::Default).unwrap_err();
    assert_eq!(e, Error::Conflict { key: "k".into(), expected: 0, found: v1 });
    let v2 = s.compare_and_set("k", v1, Value::Int(2), Ttl::Default).unwrap();
    s.delete("k").unwrap();
    let v3 = s.set("k", Value::Int(3), Ttl::Default).unwrap();
    assert!(v3 > v2, "a re-created key must not reuse an old version");
    assert_eq!(
        s.compare_and_set("k", v2, Value::Int(4), Ttl::Default).unwrap_err(),
        Error::Conflict { key: "k".into(), expected: v2, found: v3 }
    );
    assert_eq!(s.get_int("k").unwrap().value, 3);
}

#[test]
fn add_int_checks_type_and_overflow() {
    let s = store();
    assert_eq!(s.add_int("n", 5).unwrap().value, 5);
    s.set("n", Value::Int(i64::MAX), Ttl::Default).unwrap();
    assert!(matches!(s.add_int("n", 1), Err(Error::Overflow { .. })));
    assert_eq!(s.get_int("n").unwrap().value, i64::MAX);
    s.set("t", Value::Bool(true), Ttl::Default).unwrap();
    assert!(matches!(s.add_int("t", 1), Err(Error::Type { .. })));
}

#[test]
fn batch_is_all_or_nothing() {
    let s = small(10, 1 << 20);
    let va = s.set("a", Value::Int(1), Ttl::Default).unwrap();
    let mut b = Batch::new();
    b.set("a", Value::Int(2), Ttl::Default).set("b", Value::Int(2), Ttl::Default).delete("zzz");
    b.expect_version("a", va + 1000);
    assert!(matches!(s.apply(&b), Err(Error::Conflict { .. })));
    assert_eq!(s.get_int("a").unwrap().value, 1);
    assert!(!s.contains("b").unwrap());

    let mut b = Batch::new();
    b.expect_version("a", va).expect_version("b", 0);
    b.set("a", Value::Int(2), Ttl::Default).set("b", Value::Int(2), Ttl::Default).set("b", Value::Int(3), Ttl::Default);
    b.delete("a");
    s.apply(&b).unwrap();
    assert!(!s.contains("a").unwrap(), "later operations on a key win");
    assert_eq!(s.get_int("b").unwrap().value, 3);

    let mut b = Batch::new();
    for i in 0..20 {
        b.set(format!("many{i}"), Value::Int(i), Ttl::Default);
    }
    assert!(matches!(s.apply(&b), Err(Error::Full(_))));
    assert_eq!(s.len(), 1, "a batch past the bounds changes nothing");

    let mut b = Batch::new();
    b.set("ok", Value::Int(1), Ttl::Default).set("", Value::Int(1), Ttl::Default);
    assert!(matches!(s.apply(&b), Err(Error::InvalidArg(_))));
    assert!(!s.contains("ok").unwrap());
}

#[test]
fn clear_and_snapshot_json() {
    let s = store();
    s.set("dut/1/state", Value::str("run\"ning\n").unwrap(), Ttl::Never).unwrap();
    s.set("dut/1/temp", Value::Double(41.5), MS(60_000)).unwrap();
    s.set("dut/2/blob", Value::bytes(&[0xde, 0xad]), Ttl::Default).unwrap();
    s.set("other", Value::Bool(false), Ttl::Default).unwrap();
    let snap = s.snapshot("dut/1/");
    assert_eq!(snap.len(), 2);
    assert!(snap.get("dut/1/temp").unwrap().ttl_remaining.unwrap() > Duration::from_secs(59));
    let json = s.snapshot("dut/").to_json();
    assert!(json.starts_with("{\"dut/1/state\":{\"type\":\"str\",\"value\":\"run\\\"ning\\n\",\"version\":"), "{json}");
    assert!(json.contains("\"dut/2/blob\":{\"type\":\"bytes\",\"value\":\"dead\""), "{json}");
    assert!(json.contains("\"type\":\"double\",\"value\":41.5"), "{json}");
    assert!(!json.contains("other"));
    assert_eq!(s.clear(), 4);
    assert!(s.is_empty());
    assert_eq!(s.bytes_used(), 0);
    assert_eq!(snap.len(), 2, "a snapshot is a copy");
}

/// Writers apply batches that keep `a == b` per pair; readers take snapshots and never see a
/// half-applied batch. Counters incremented by add_int and CAS loops end exact.
#[test]
fn threads_see_batches_whole_and_counters_exact() {
    let s = Arc::new(store());
    const THREADS: i64 = 4;
    const ROUNDS: i64 = 2000;
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let s = s.clone();
            thread::spawn(move || {
                for n in 0..ROUNDS {
                    let mut b = Batch::new();
                    b.set(format!("pair/{t}/a"), Value::Int(n), Ttl::Default);
                    b.set(format!("pair/{t}/b"), Value::Int(n), Ttl::Default);
                    s.apply(&b).unwrap();
                    s.add_int("add", 1).unwrap();
                    loop {
                        let cur = s.get_int("cas").map(|v| (v.value, v.version)).unwrap_or((0, 0));
                        if s.compare_and_set("cas", cur.1, Value::Int(cur.0 + 1), Ttl::Default).is_ok() {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    let reader = {
        let s = s.clone();
        thread::spawn(move || {
            let mut checked = 0;
            while checked < 200 {
                let snap = s.snapshot("pair/");
                for pair in snap.entries().chunks(2) {
                    if let [a, b] = pair {
                        assert_eq!(a.value, b.value, "half a batch visible: {} vs {}", a.key, b.key);
                    }
                }
                checked += 1;
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    assert_eq!(s.get_int("add").unwrap().value, THREADS * ROUNDS);
    assert_eq!(s.get_int("cas").unwrap().value, THREADS * ROUNDS);
}

#[test]
fn options_are_validated() {
    let e = Store::new(StoreOptions { max_entries: 0, ..Default::default() }).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("max_entries")), "{e}");
    let e = Store::new(StoreOptions { default_ttl: Some(Duration::ZERO), ..Default::default() }).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("default_ttl")), "{e}");
    assert!(matches!(Ttl::from_millis(-2), Err(Error::InvalidArg(_))));
    assert_eq!(Ttl::from_millis(0).unwrap(), Ttl::Never);
}

fn expiring(s: &Store) -> usize {
    s.usage.0.expiring.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn expiring_count_follows_every_kind_of_write() {
    let s = store();
    s.set("a", Value::Int(1), MS(60_000)).unwrap();
    s.set("b", Value::Int(1), MS(10)).unwrap();
    assert_eq!(expiring(&s), 2);
    s.set("a", Value::Int(2), Ttl::Never).unwrap();
    assert_eq!(expiring(&s), 1);
    s.add_int("b", 1).unwrap();
    assert_eq!(expiring(&s), 1, "add_int keeps the TTL");
    let mut b = Batch::new();
    b.set("c", Value::Int(1), MS(60_000)).set("a", Value::Int(1), MS(60_000)).delete("a");
    s.apply(&b).unwrap();
    assert_eq!(expiring(&s), 2);
    thread::sleep(Duration::from_millis(15));
    assert_eq!(s.purge_expired(), 1);
    assert_eq!(expiring(&s), 1);
    s.delete("c").unwrap();
    assert_eq!(expiring(&s), 0);
    s.set("d", Value::Int(1), MS(60_000)).unwrap();
    s.clear();
    assert_eq!(expiring(&s), 0);
}

/// A writer whose value never fits must not make another writer's fitting write fail: the
/// entry it borrows while it tries the bytes bound is invisible to other adding writes.
#[test]
fn a_failing_writer_never_makes_a_fitting_one_fail() {
    let s = Arc::new(small(2, 100));
    s.set("fill", Value::Int(0), Ttl::Default).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hog = {
        let (s, stop) = (s.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert!(matches!(s.set("big", Value::bytes(&[0; 90]), Ttl::Default), Err(Error::Full(_))));
            }
        })
    };
    for i in 0..20_000 {
        s.set("small", Value::Int(i), Ttl::Default).unwrap_or_else(|e| panic!("round {i}: {e}"));
        s.delete("small").unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hog.join().unwrap();
}

/// Several writers hit a bound held by expired keys at once: whoever purges, all of them fit.
#[test]
fn concurrent_writers_all_benefit_from_one_purge() {
    for _ in 0..20 {
        let s = Arc::new(small(64, 1 << 20));
        for i in 0..64 {
            s.set(&format!("old{i}"), Value::Int(i), MS(5)).unwrap();
        }
        thread::sleep(Duration::from_millis(10));
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let s = s.clone();
                thread::spawn(move || {
                    for i in 0..8 {
                        s.set(&format!("new{t}-{i}"), Value::Int(i), Ttl::Default).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(s.len(), 32);
    }
}
