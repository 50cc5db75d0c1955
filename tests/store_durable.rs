//! The store on a file: what a reopened store holds, and that memory and file agree.
#![cfg(feature = "durable")]

use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use netrig::journal::Durability;
use netrig::store::{Batch, Store, StoreOptions, TestStart, Ttl, Value};
use netrig::Error;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.db")
}

fn open(path: &PathBuf) -> Store {
    Store::open(path, StoreOptions::default(), Durability::ProcessCrash).unwrap()
}

#[test]
fn a_reopened_store_holds_every_write_with_its_version() {
    let path = temp("reopen");
    let (snap, max_version) = {
        let s = open(&path);
        assert_eq!(s.path(), Some(path.as_path()));
        s.set("b", Value::Bool(true), Ttl::Never).unwrap();
        s.set("i", Value::Int(-7), Ttl::Never).unwrap();
        s.set("d", Value::Double(0.25), Ttl::Never).unwrap();
        s.set("s", Value::str("héllo \"x\"").unwrap(), Ttl::Never).unwrap();
        s.set("x", Value::bytes(&[0, 255, 10]), Ttl::Never).unwrap();
        s.set("ttl", Value::Int(1), Ttl::After(Duration::from_secs(3600))).unwrap();
        s.set("gone", Value::Int(1), Ttl::Never).unwrap();
        s.delete("gone").unwrap();
        s.add_int("i", 2).unwrap();
        let mut b = Batch::new();
        b.set("batch/a", Value::Int(1), Ttl::Never).set("batch/b", Value::Int(2), Ttl::Never).delete("b");
        s.apply(&b).unwrap();
        let snap = s.snapshot("");
        let max = snap.entries().iter().map(|e| e.version).max().unwrap();
        (snap, max)
    };
    let s = open(&path);
    let again = s.snapshot("");
    assert_eq!(again.len(), snap.len());
    for (a, b) in again.entries().iter().zip(snap.entries()) {
        assert_eq!((&a.key, &a.value, a.version), (&b.key, &b.value, b.version));
        assert_eq!(a.ttl_remaining.is_some(), b.ttl_remaining.is_some());
    }
    let ttl = again.get("ttl").unwrap().ttl_remaining.unwrap();
    assert!(ttl > Duration::from_secs(3590) && ttl <= Duration::from_secs(3600), "{ttl:?}");
    assert_eq!(s.get_int("i").unwrap().value, -5);
    assert!(matches!(s.get("gone"), Err(Error::NotFound(_))) && matches!(s.get("b"), Err(Error::NotFound(_))));
    // A compare-and-set against the version from before the restart still works once...
    let v = s.get("s").unwrap().version;
    let v2 = s.compare_and_set("s", v, Value::str("new").unwrap(), Ttl::Never).unwrap();
    assert!(v2 > max_version, "versions continue above the file's highest ({v2} <= {max_version})");
    // ...and a stale one never does.
    assert!(matches!(s.compare_and_set("s", v, Value::Int(0), Ttl::Never), Err(Error::Conflict { .. })));
}

#[test]
fn expired_keys_are_not_loaded_and_clear_is_durable() {
    let path = temp("expiry");
    {
        let s = open(&path);
        s.set("short", Value::Int(1), Ttl::After(Duration::from_millis(30))).unwrap();
        s.set("long", Value::Int(2), Ttl::Never).unwrap();
    }
    thread::sleep(Duration::from_millis(60));
    {
        let s = open(&path);
        assert_eq!(s.keys(""), ["long"]);
        assert_eq!(s.clear(), 1);
        s.set("after", Value::Int(3), Ttl::Never).unwrap();
    }
    assert_eq!(open(&path).keys(""), ["after"]);
}

#[test]
fn concurrent_writers_all_reach_the_file() {
    let path = temp("concurrent");
    {
        let s = Arc::new(open(&path));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let s = s.clone();
                thread::spawn(move || {
                    for i in 0..500i64 {
                        s.set(&format!("t{t}/k{}", i % 50), Value::Int(i), Ttl::Never).unwrap();
                        if i % 10 == 0 {
                            let mut b = Batch::new();
                            b.set(format!("t{t}/batch"), Value::Int(i), Ttl::Never).set(
                                format!("t{t}/batch_copy"),
                                Value::Int(i),
                                Ttl::Never,
                            );
                            s.apply(&b).unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    let s = open(&path);
    for t in 0..4 {
        for k in 0..50 {
            assert_eq!(s.get_int(&format!("t{t}/k{k}")).unwrap().value, 450 + k);
        }
        assert_eq!(s.get_int(&format!("t{t}/batch")).unwrap().value, 490);
        assert_eq!(s.get_int(&format!("t{t}/batch_copy")).unwrap().value, 490);
    }
}

#[test]
fn test_and_service_state_survive_a_restart() {
    let path = temp("state");
    {
        let s = open(&path);
        s.test_start(&TestStart { script: "a.sh".into(), pid: 9, ..TestStart::default() }).unwrap();
        s.service_set("qsfp_service", true, "pid 9").unwrap();
    }
    let s = Arc::new(open(&path));
    let st = s.test_state();
    assert!(st.running && st.script.as_deref() == Some("a.sh") && st.pid == Some(9));
    assert!(
        matches!(s.test_start(&TestStart::default()), Err(Error::Busy(_))),
        "the running test is still running after a restart"
    );
    assert!(s.service_get("qsfp_service").unwrap().running);
    // Events work on a durable store too.
    let (_, sub) = s.subscribe("", 0).unwrap();
    s.test_stop().unwrap();
    assert!(sub.poll(Some(Duration::from_secs(5))).is_ok());
}

#[test]
fn unusable_paths_name_the_file() {
    let e = Store::open("/nonexistent-dir/x/state.db", StoreOptions::default(), Durability::ProcessCrash).unwrap_err();
    assert_eq!(e.status(), netrig::netrig_status::NETRIG_E_IO);
    assert!(e.to_string().contains("/nonexistent-dir/x/state.db"), "{e}");
    let dir = temp("notafile");
    let dir = dir.parent().unwrap();
    let e = Store::open(dir, StoreOptions::default(), Durability::PowerLoss).unwrap_err();
    assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
}

#[test]
fn power_loss_durability_also_reopens() {
    let path = temp("fsync");
    {
        let s = Store::open(&path, StoreOptions::default(), Durability::PowerLoss).unwrap();
        s.set("k", Value::Int(1), Ttl::Never).unwrap();
    }
    assert_eq!(open(&path).get_int("k").unwrap().value, 1);
}

#[test]
fn versions_of_removed_keys_are_never_handed_out_again() {
    // Delete, expiry and clear each remove a key; after a reopen, a stale compare-and-set
    // against any version that key ever had must still fail.
    let path = temp("versions");
    let mut stale = Vec::new();
    {
        let s = open(&path);
        for key in ["deleted", "expired", "cleared"] {
            s.set(key, Value::Int(1), Ttl::Never).unwrap();
            stale.push((key, s.set(key, Value::Int(2), Ttl::Never).unwrap()));
        }
        s.delete("deleted").unwrap();
        // Long enough to be read back at once on a loaded machine.
        s.set("expired", Value::Int(3), Ttl::After(Duration::from_millis(300))).unwrap();
        stale.push(("expired", s.get("expired").unwrap().version));
    }
    thread::sleep(Duration::from_millis(320));
    {
        let s = open(&path);
        assert!(matches!(s.get("expired"), Err(Error::NotFound(_))));
        s.clear();
    }
    let s = open(&path);
    for (key, v) in &stale {
        let fresh = s.set(key, Value::Int(9), Ttl::Never).unwrap();
        assert!(fresh > *v, "{key}: version {fresh} repeats or precedes {v}");
        assert!(matches!(s.compare_and_set(key, *v, Value::Int(0), Ttl::Never), Err(Error::Conflict { .. })));
    }
}

#[test]
fn a_file_is_open_as_one_store_at_a_time() {
    let path = temp("twice");
    let first = open(&path);
    let e = Store::open(&path, StoreOptions::default(), Durability::ProcessCrash).unwrap_err();
    assert_eq!(e.status(), netrig::netrig_status::NETRIG_E_BUSY);
    assert!(e.to_string().contains("already open") && e.to_string().contains("state.db"), "{e}");
    drop(first);
    open(&path).set("k", Value::Int(1), Ttl::Never).unwrap();
}
