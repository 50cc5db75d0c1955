//! Every JSON document the library produces (store snapshot, test and service state, queue
//! snapshot, run report), parsed back with serde_json and checked value by value, with the
//! awkward inputs a hand-built string gets wrong: quotes, backslashes, control characters,
//! non-ASCII text, NaN and infinite doubles, bytes that are not UTF-8, and empty everything.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};
use std::time::Duration;

use netrig::ffi::*;
use netrig::netrig_status::*;
use netrig::queue::{ItemStatus, Queue, QueueOptions};
use netrig::store::{services_json, TestStart, TestState};
use netrig::{Store, StoreOptions, Ttl, Value};
use serde_json::{json, Value as J};

/// Text that needs every kind of escape JSON has, plus characters that must pass unescaped.
const AWKWARD: &str = "q\"b\\s/ nl\n cr\r tab\t bs\u{8} ff\u{c} nul-ish\u{1}\u{1f} del\u{7f} ✓ 😀 \u{2028}";

/// [`AWKWARD`] as a test field or service name (which hold no '/').
fn awkward_name() -> String {
    AWKWARD.replace('/', "|")
}

fn parse(text: &str) -> J {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not valid JSON ({e}): {text}"))
}

fn store() -> Store {
    Store::new(StoreOptions::default()).unwrap()
}

#[test]
fn store_snapshot_values_round_trip() {
    let s = store();
    let set = |k: &str, v: Value| s.set(k, v, Ttl::Never).unwrap();
    set(AWKWARD, Value::str(AWKWARD).unwrap());
    set("str/empty", Value::str("").unwrap());
    set("bytes/empty", Value::bytes(&[]));
    set("bytes/bin", Value::bytes(&[0x00, 0xff, 0x7f, 0x80, b'"', b'\\']));
    set("bool/t", Value::Bool(true));
    set("bool/f", Value::Bool(false));
    set("int/min", Value::Int(i64::MIN));
    set("int/max", Value::Int(i64::MAX));
    set("dbl/nan", Value::Double(f64::NAN));
    set("dbl/inf", Value::Double(f64::INFINITY));
    set("dbl/-inf", Value::Double(f64::NEG_INFINITY));
    set("dbl/neg0", Value::Double(-0.0));
    set("dbl/big", Value::Double(1e300));
    set("dbl/tiny", Value::Double(5e-324));
    set("dbl/tenth", Value::Double(0.1));
    set("dbl/whole", Value::Double(1e15));
    s.set("ttl", Value::Int(1), Ttl::After(Duration::from_secs(60))).unwrap();

    let snap = s.snapshot("");
    let doc = parse(&snap.to_json());
    let obj = doc.as_object().unwrap();
    assert_eq!(obj.len(), snap.len());
    for e in snap.entries() {
        let j = &doc[&*e.key];
        assert_eq!(j["version"], e.version, "{}", e.key);
        assert_eq!(j["type"], e.value.value_type().name(), "{}", e.key);
    }
    let value = |k: &str| doc[k]["value"].clone();
    assert_eq!(doc[AWKWARD]["type"], "str");
    assert_eq!(value(AWKWARD), AWKWARD, "key and value keep every character");
    assert_eq!(value("str/empty"), "");
    assert_eq!(
        doc["bytes/empty"],
        json!({"type": "bytes", "value": "", "version": snap.get("bytes/empty").unwrap().version, "ttl_ms": null})
    );
    assert_eq!(value("bytes/bin"), "00ff7f80225c", "bytes are lowercase hex");
    assert_eq!((value("bool/t"), value("bool/f")), (json!(true), json!(false)));
    assert_eq!(value("int/min").as_i64(), Some(i64::MIN));
    assert_eq!(value("int/max").as_i64(), Some(i64::MAX));
    // JSON has no NaN or infinity; the type says double, the value names which one.
    assert_eq!(value("dbl/nan"), "NaN");
    assert_eq!(value("dbl/inf"), "inf");
    assert_eq!(value("dbl/-inf"), "-inf");
    for (k, want) in
        [("dbl/neg0", -0.0f64), ("dbl/big", 1e300), ("dbl/tiny", 5e-324), ("dbl/tenth", 0.1), ("dbl/whole", 1e15)]
    {
        let got = value(k).as_f64().unwrap_or_else(|| panic!("{k} is not a number: {}", doc[k]));
        assert_eq!(got.to_bits(), want.to_bits(), "{k}: doubles round-trip exactly");
    }
    let ttl = doc["ttl"]["ttl_ms"].as_u64().unwrap();
    assert!(ttl > 50_000 && ttl <= 60_000, "{ttl}");
    assert!(doc["int/min"]["ttl_ms"].is_null());

    assert_eq!(parse(&s.snapshot("none/").to_json()), json!({}));
    assert_eq!(parse(&store().snapshot("").to_json()), json!({}));
}

/// `netrig_snapshot_json` hands out exactly the Rust rendering, NUL-terminated, with its length.
#[test]
fn store_snapshot_through_the_c_abi() {
    let c = |s: &str| CString::new(s).unwrap();
    let mut s = netrig_store { id: 0 };
    let (k, v) = (c(AWKWARD), c(AWKWARD));
    let bin = [0u8, 0xfe, 0x0a];
    let (mut snap, mut js, mut len) = (netrig_snapshot { id: 0 }, null::<c_char>(), 0usize);
    // SAFETY: every pointer is a live local; NULL options ask for the defaults.
    let text = unsafe {
        assert_eq!(netrig_store_new(null(), &mut s), NETRIG_OK);
        assert_eq!(netrig_store_set_str(s, k.as_ptr(), v.as_ptr(), NETRIG_TTL_NEVER), NETRIG_OK);
        assert_eq!(netrig_store_set_double(s, c("nan").as_ptr(), f64::NAN, NETRIG_TTL_NEVER), NETRIG_OK);
        assert_eq!(netrig_store_set_bytes(s, c("bin").as_ptr(), bin.as_ptr(), bin.len(), NETRIG_TTL_NEVER), NETRIG_OK);
        assert_eq!(netrig_store_snapshot(s, c("").as_ptr(), &mut snap), NETRIG_OK);
        assert_eq!(netrig_snapshot_json(snap, &mut js, &mut len), NETRIG_OK);
        let text = CStr::from_ptr(js).to_str().unwrap().to_owned();
        assert_eq!(netrig_snapshot_free(snap), NETRIG_OK);
        assert_eq!(netrig_store_free(s), NETRIG_OK);
        text
    };
    assert_eq!(text.len(), len);
    let doc = parse(&text);
    assert_eq!(doc[AWKWARD]["value"], AWKWARD);
    assert_eq!(doc["nan"]["value"], "NaN");
    assert_eq!(doc["bin"]["value"], "00fe0a");
}

#[test]
fn test_state_round_trips() {
    assert_eq!(
        parse(&TestState::default().to_json()),
        json!({"running": false, "script": null, "pid": null, "bin": null, "topology": null, "run": 0,
               "started_ms": null, "stopped_ms": null, "fields": {}, "version": 0})
    );
    let s = store();
    let never = parse(&s.test_state().to_json());
    assert_eq!((never["running"].clone(), never["fields"].clone()), (json!(false), json!({})));

    let start = TestStart {
        script: AWKWARD.into(),
        pid: i64::MIN,
        bin: String::new(),
        topology: "topo ✓".into(),
        fields: vec![(awkward_name(), AWKWARD.into()), ("empty".into(), String::new())],
    };
    let st = s.test_start(&start).unwrap();
    let doc = parse(&st.to_json());
    assert_eq!(doc["running"], true);
    assert_eq!(doc["script"], AWKWARD);
    assert_eq!(doc["pid"].as_i64(), Some(i64::MIN));
    assert_eq!(doc["bin"], "");
    assert_eq!(doc["topology"], "topo ✓");
    assert_eq!(doc["run"], 1);
    assert_eq!(doc["started_ms"].as_i64(), st.started_ms);
    assert!(doc["stopped_ms"].is_null());
    assert_eq!(doc["fields"], json!({awkward_name(): AWKWARD, "empty": ""}));
    assert_eq!(doc["version"], st.version);
    let stopped = parse(&s.test_stop().unwrap().to_json());
    assert_eq!(stopped["running"], false);
    assert!(stopped["stopped_ms"].as_i64().unwrap() > 0);

    // The C function writes the same document.
    let cs = c_store_with_test(&start);
    // SAFETY: `c_buf` passes live buffers.
    let via_c = c_buf(|b, n, l| unsafe { netrig_test_json(cs, b, n, l) });
    assert_eq!(via_c["script"], AWKWARD);
    assert_eq!(via_c["pid"].as_i64(), Some(i64::MIN));
    assert_eq!(via_c["fields"][&awkward_name()], AWKWARD);
    assert_eq!(netrig_store_free(cs), NETRIG_OK);
}

#[test]
fn services_round_trip() {
    let s = store();
    assert_eq!(parse(&services_json(&s.services())), json!({}));
    let awkward_name = awkward_name();
    s.service_set(&awkward_name, true, AWKWARD).unwrap();
    s.service_set("empty", false, "").unwrap();
    let all = s.services();
    let doc = parse(&services_json(&all));
    assert_eq!(doc.as_object().unwrap().len(), 2);
    for sv in &all {
        assert_eq!(
            doc[&sv.name],
            json!({"running": sv.running, "detail": sv.detail, "since_ms": sv.since_ms, "version": sv.version})
        );
    }
    assert_eq!(doc[&awkward_name]["detail"], AWKWARD);
    assert_eq!(doc["empty"]["detail"], "");

    let mut cs = netrig_store { id: 0 };
    let (name, detail) = (CString::new(awkward_name.clone()).unwrap(), CString::new(AWKWARD).unwrap());
    // SAFETY: live locals; NULL options ask for the defaults.
    unsafe {
        assert_eq!(netrig_store_new(null(), &mut cs), NETRIG_OK);
        assert_eq!(netrig_service_set(cs, name.as_ptr(), 1, detail.as_ptr()), NETRIG_OK);
    }
    // SAFETY: `c_buf` passes live buffers.
    let via_c = c_buf(|b, n, l| unsafe { netrig_services_json(cs, b, n, l) });
    assert_eq!(via_c[&awkward_name]["detail"], AWKWARD);
    assert_eq!(via_c[&awkward_name]["running"], true);
    assert_eq!(netrig_store_free(cs), NETRIG_OK);
}

/// A C store holding the test state of `start`, for `netrig_test_json`.
fn c_store_with_test(start: &TestStart) -> netrig_store {
    let mut cs = netrig_store { id: 0 };
    let c = |s: &str| CString::new(s).unwrap();
    let (script, bin, topo) = (c(&start.script), c(&start.bin), c(&start.topology));
    let names: Vec<CString> = start.fields.iter().map(|(k, _)| c(k)).collect();
    let values: Vec<CString> = start.fields.iter().map(|(_, v)| c(v)).collect();
    let np: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
    let vp: Vec<*const c_char> = values.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: live locals; the arrays hold `fields.len()` pointers each; NULL info is allowed.
    unsafe {
        assert_eq!(netrig_store_new(null(), &mut cs), NETRIG_OK);
        let st = netrig_test_start(
            cs,
            script.as_ptr(),
            start.pid,
            bin.as_ptr(),
            topo.as_ptr(),
            np.as_ptr(),
            vp.as_ptr(),
            np.len(),
            null_mut(),
        );
        assert_eq!(st, NETRIG_OK);
    }
    cs
}

/// Reads a buffer-filling JSON function with the documented too-small-then-retry protocol.
fn c_buf(f: impl Fn(*mut c_char, usize, *mut usize) -> netrig::netrig_status) -> J {
    let mut len = 0usize;
    assert_eq!(f(null_mut(), 0, &mut len), NETRIG_E_BUFFER_TOO_SMALL);
    let mut buf = vec![0u8; len + 1];
    assert_eq!(f(buf.as_mut_ptr().cast(), buf.len(), &mut len), NETRIG_OK);
    assert_eq!(buf[len], 0, "NUL-terminated");
    parse(std::str::from_utf8(&buf[..len]).unwrap())
}

#[test]
fn queue_snapshot_round_trips() {
    let q = Queue::new(QueueOptions::default()).unwrap();
    assert_eq!(
        parse(&q.snapshot().to_json()),
        json!({"queue": "memory", "counts": {"pending": 0, "processing": 0, "suspended": 0, "failed": 0, "completed": 0}, "items": []})
    );
    let text = q.push(AWKWARD.as_bytes(), i32::MAX).unwrap();
    let empty = q.push(b"", 0).unwrap();
    // Not UTF-8: a lone continuation byte, an encoded surrogate, a NUL and a quote.
    let binary = q.push(&[0x80, 0xed, 0xa0, 0x80, 0x00, b'"'], i32::MIN).unwrap();
    let failed = q.push(b"will fail", 1).unwrap();
    let c = q.claim(Some(Duration::ZERO)).unwrap();
    assert_eq!(c.id, text);
    let c2 = q.claim(Some(Duration::ZERO)).unwrap();
    assert_eq!(c2.id, failed);
    assert_eq!(q.fail(c2.id, c2.token, false, AWKWARD).unwrap(), ItemStatus::Failed);

    let snap = q.snapshot();
    let doc = parse(&snap.to_json());
    assert_eq!(doc["queue"], "memory");
    assert_eq!(doc["counts"], json!({"pending": 2, "processing": 1, "suspended": 0, "failed": 1, "completed": 0}));
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), snap.items.len());
    let item = |id: u64| items.iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("no item {id}: {doc}"));

    let t = item(text);
    assert_eq!(
        (t["status"].clone(), t["priority"].clone(), t["attempts"].clone()),
        (json!("processing"), json!(i32::MAX), json!(1))
    );
    assert_eq!((t["payload"].clone(), t["payload_encoding"].clone()), (json!(AWKWARD), json!("utf8")));
    assert!(t["lease_remaining_ms"].as_u64().unwrap() > 25_000);
    assert!(t["last_error"].is_null());

    let e = item(empty);
    assert_eq!((e["payload"].clone(), e["payload_encoding"].clone()), (json!(""), json!("utf8")));
    assert!(e["lease_remaining_ms"].is_null());

    let b = item(binary);
    assert_eq!((b["payload"].clone(), b["payload_encoding"].clone()), (json!("80eda0800022"), json!("hex")));
    assert_eq!(b["priority"], i32::MIN);

    let f = item(failed);
    assert_eq!((f["status"].clone(), f["last_error"].clone()), (json!("failed"), json!(AWKWARD)));
}

#[cfg(feature = "ssh")]
#[test]
fn run_report_round_trips() {
    use netrig::run::{HostResult, Report, State, StepResult, Totals};

    let step = |state, status, text: &str, exit, micros| StepResult {
        state,
        status,
        output: text.into(),
        stderr: format!("err {text}"),
        exit_status: exit,
        error: if state == State::Ok { String::new() } else { format!("failed: {text}") },
        duration: Duration::from_micros(micros),
        records: None,
    };
    let ok = step(State::Ok, NETRIG_OK, "", None, 0);
    let hosts = vec![
        HostResult {
            name: "10.0.0.1:22".into(),
            data: json!({"site": AWKWARD, "rack": {"row": 3}}),
            state: State::Ok,
            connect: ok.clone(),
            steps: vec![step(State::Ok, NETRIG_OK, AWKWARD, Some(-1), 1_234_567)],
            duration: Duration::from_millis(1500),
        },
        HostResult {
            name: format!("{AWKWARD}:22"),
            data: json!({}),
            state: State::TimedOut,
            connect: ok.clone(),
            steps: vec![step(State::TimedOut, NETRIG_E_TIMEOUT, AWKWARD, None, 5_000_000)],
            duration: Duration::from_nanos(1),
        },
        HostResult {
            name: "skipped:22".into(),
            data: serde_json::Value::Null,
            state: State::Skipped,
            connect: ok,
            steps: vec![],
            duration: Duration::ZERO,
        },
    ];
    let totals = Totals { succeeded: 1, failed: 0, timed_out: 1, cancelled: 0, skipped: 1 };
    let report = Report {
        hosts,
        totals,
        step_totals: Totals { succeeded: 1, timed_out: 1, ..Totals::default() },
        wall: Duration::from_micros(2_500_250),
        cancelled: false,
        aborted: Some(AWKWARD.into()),
    };
    let doc = parse(&report.to_json());
    assert_eq!(doc["wall_ms"].as_f64(), Some(2500.25));
    assert_eq!(doc["cancelled"], false);
    assert_eq!(doc["aborted"], AWKWARD);
    assert_eq!(doc["totals"], json!({"succeeded": 1, "failed": 0, "timed_out": 1, "cancelled": 0, "skipped": 1}));
    assert_eq!(doc["step_totals"], json!({"succeeded": 1, "failed": 0, "timed_out": 1, "cancelled": 0, "skipped": 0}));
    assert_eq!(doc["failed_hosts"], json!([format!("{AWKWARD}:22")]));
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[0]["name"], "10.0.0.1:22");
    assert_eq!(hosts[0]["duration_ms"].as_f64(), Some(1500.0));
    assert_eq!(hosts[0]["data"], json!({"site": AWKWARD, "rack": {"row": 3}}));
    assert_eq!(hosts[2]["data"], serde_json::Value::Null);
    assert_eq!(
        hosts[0]["steps"][0],
        json!({"state": "ok", "status": "NETRIG_OK", "error": "", "output": AWKWARD, "stderr": format!("err {AWKWARD}"),
               "exit_status": -1, "duration_ms": 1234.567})
    );
    assert_eq!(hosts[0]["connect"]["duration_ms"].as_f64(), Some(0.0));
    assert!(hosts[0]["connect"]["exit_status"].is_null());
    assert_eq!(hosts[1]["name"], format!("{AWKWARD}:22"));
    assert_eq!(hosts[1]["state"], "timed_out");
    assert_eq!(hosts[1]["duration_ms"].as_f64(), Some(0.0), "durations are whole microseconds");
    assert_eq!(hosts[1]["steps"][0]["status"], "NETRIG_E_TIMEOUT");
    assert_eq!(hosts[1]["steps"][0]["error"], format!("failed: {AWKWARD}"));
    assert_eq!(hosts[2]["steps"], json!([]));

    let empty = Report {
        hosts: vec![],
        totals: Totals::default(),
        step_totals: Totals::default(),
        wall: Duration::ZERO,
        cancelled: true,
        aborted: None,
    };
    let doc = parse(&empty.to_json());
    assert_eq!(
        (doc["hosts"].clone(), doc["failed_hosts"].clone(), doc["aborted"].clone()),
        (json!([]), json!([]), J::Null)
    );
    assert_eq!((doc["cancelled"].clone(), doc["wall_ms"].as_f64()), (json!(true), Some(0.0)));
}
