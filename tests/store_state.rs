//! Test-execution and service state: atomic starts, consistent reads, and events like any key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use netrig::store::{EventKind, Store, StoreOptions, TestStart, TestUpdate};
use netrig::{netrig_status, Error};

fn store() -> Arc<Store> {
    Arc::new(Store::new(StoreOptions::default()).unwrap())
}

fn start(script: &str, pid: i64) -> TestStart {
    TestStart {
        script: script.into(),
        pid,
        bin: "sai_test".into(),
        topology: "2x100G".into(),
        fields: vec![("owner".into(), "lab3".into())],
    }
}

#[test]
fn only_one_of_many_concurrent_starts_wins() {
    for round in 0..20 {
        let s = store();
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let (s, barrier) = (s.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    s.test_start(&start(&format!("t{i}.sh"), 1000 + i))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {} starts won", winners.len());
        let w = winners[0];
        for r in results.iter().filter(|r| r.is_err()) {
            let e = r.as_ref().unwrap_err();
            assert_eq!(e.status(), netrig_status::NETRIG_E_BUSY);
            assert!(e.to_string().contains(w.script.as_deref().unwrap()), "{e}");
            assert!(e.to_string().contains(&w.pid.unwrap().to_string()), "{e}");
        }
        let st = s.test_state();
        assert!(st.running);
        assert_eq!((st.script.as_deref(), st.pid, st.run), (w.script.as_deref(), w.pid, 1));
    }
}

#[test]
fn start_stop_update_and_state() {
    let s = store();
    let e = s.test_stop().unwrap_err();
    assert_eq!(e.status(), netrig_status::NETRIG_E_NOT_FOUND);
    assert!(e.to_string().contains("no test is running"), "{e}");
    assert!(!s.test_state().running);

    let st = s.test_start(&start("a.sh", 42)).unwrap();
    assert!(st.running && st.started_ms.is_some() && st.stopped_ms.is_none());
    assert_eq!(st.fields.get("owner").map(String::as_str), Some("lab3"));
    let up = s
        .test_update(&TestUpdate {
            topology: Some("4x400G".into()),
            bin: Some("new_bin".into()),
            fields: vec![("owner".into(), None), ("dut".into(), Some("r1".into()))],
            ..TestUpdate::default()
        })
        .unwrap();
    assert_eq!(
        (up.topology.as_deref(), up.bin.as_deref(), up.script.as_deref()),
        (Some("4x400G"), Some("new_bin"), Some("a.sh"))
    );
    assert_eq!(up.fields.len(), 1);
    assert!(up.version > st.version);
    let stopped = s.test_stop().unwrap();
    assert!(!stopped.running && stopped.stopped_ms.is_some());
    assert_eq!(stopped.script.as_deref(), Some("a.sh"), "the stopped test stays readable");
    assert!(s.test_stop().unwrap_err().to_string().contains("'a.sh', already stopped"));

    // A new start replaces the fields of the last test and counts the run.
    let st2 = s.test_start(&TestStart { fields: vec![], ..start("b.sh", 43) }).unwrap();
    assert_eq!((st2.run, st2.fields.len(), st2.stopped_ms), (2, 0, None));
    let json: serde_json::Value = serde_json::from_str(&st2.to_json()).unwrap();
    assert_eq!(json["script"], "b.sh");
    assert_eq!(json["pid"], 43);
    assert_eq!(json["running"], true);
    assert_eq!(json["fields"], serde_json::json!({}));

    assert!(matches!(s.test_start(&TestStart { script: "a\0".into(), ..start("x", 1) }), Err(Error::InvalidArg(_))));
    assert!(matches!(
        s.test_update(&TestUpdate { fields: vec![("a/b".into(), None)], ..TestUpdate::default() }),
        Err(Error::InvalidArg(m)) if m.contains("'a/b'")
    ));
}

#[test]
fn readers_never_see_half_an_update() {
    let s = store();
    s.test_start(&TestStart { bin: "0".into(), ..start("0", 0) }).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // Updates done so far: the readers go on until they have overlapped many of them, however
    // late the writer gets a core on a loaded machine (a fixed number of reads could all end
    // before its first update).
    let written = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let writer = {
        let (s, stop, written) = (s.clone(), stop.clone(), written.clone());
        thread::spawn(move || {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                s.test_update(&TestUpdate {
                    script: Some(i.to_string()),
                    bin: Some(i.to_string()),
                    pid: Some(i),
                    ..TestUpdate::default()
                })
                .unwrap();
                written.store(i, Ordering::Relaxed);
            }
            i
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut reads = 0u64;
    while reads < 5_000 || written.load(Ordering::Relaxed) < 1_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer made {} updates in 60 s",
            written.load(Ordering::Relaxed)
        );
        let st = s.test_state();
        let pid = st.pid.unwrap().to_string();
        assert_eq!(st.script.as_deref(), Some(pid.as_str()));
        assert_eq!(st.bin.as_deref(), Some(pid.as_str()));
        reads += 1;
    }
    stop.store(true, Ordering::Relaxed);
    assert!(writer.join().unwrap() >= 1_000);
}

#[test]
fn services_set_get_list_and_remove() {
    let s = store();
    let e = s.service_get("qsfp_service").unwrap_err();
    assert_eq!(e.status(), netrig_status::NETRIG_E_NOT_FOUND);
    let a = s.service_set("qsfp_service", true, "pid 77").unwrap();
    assert!(a.running && a.detail == "pid 77" && a.since_ms > 0);
    thread::sleep(Duration::from_millis(5));
    let b = s.service_set("qsfp_service", true, "pid 78").unwrap();
    assert_eq!(b.since_ms, a.since_ms, "since_ms moves only when running changes");
    assert!(b.version > a.version);
    thread::sleep(Duration::from_millis(5));
    let c = s.service_set("qsfp_service", false, "exited 1").unwrap();
    assert!(c.since_ms > a.since_ms && !c.running);
    s.service_set("sai_impl", true, "").unwrap();
    let all = s.services();
    assert_eq!(all.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["qsfp_service", "sai_impl"]);
    let json: serde_json::Value = serde_json::from_str(&netrig::store::services_json(&all)).unwrap();
    assert_eq!(json["qsfp_service"]["detail"], "exited 1");
    assert_eq!(json["sai_impl"]["running"], true);
    s.service_remove("sai_impl").unwrap();
    assert_eq!(s.services().len(), 1);
    assert_eq!(s.service_remove("sai_impl").unwrap_err().status(), netrig_status::NETRIG_E_NOT_FOUND);
    for bad in ["", "a/b", "a\0"] {
        assert!(matches!(s.service_set(bad, true, ""), Err(Error::InvalidArg(_))), "{bad:?}");
    }
}

#[test]
fn many_threads_flipping_services_keep_each_consistent() {
    let s = store();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..500 {
                    let running = (i + t) % 2 == 0;
                    s.service_set(&format!("svc{}", i % 4), running, &format!("{running}")).unwrap();
                }
            })
        })
        .collect();
    for _ in 0..500 {
        for svc in s.services() {
            assert_eq!(svc.detail, svc.running.to_string(), "running and detail written apart");
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.services().len(), 4);
}

#[test]
fn state_changes_are_events_like_any_key() {
    let s = store();
    let (_, sub) = s.subscribe(netrig::store::SERVICE_PREFIX, 0).unwrap();
    s.service_set("fan", true, "ok").unwrap();
    let mut keys = Vec::new();
    while let Ok(e) = sub.poll(Some(Duration::from_millis(50))) {
        assert_eq!(e.kind, EventKind::Set);
        keys.push(e.key.to_string());
    }
    keys.sort();
    assert_eq!(keys, ["netrig/service/fan/detail", "netrig/service/fan/running", "netrig/service/fan/since_ms"]);
}
