//! Named targets and inventories through the C ABI, as a C caller uses them:
//! `netrig_job_add_target_named`, `netrig_job_add_inventory` with a filter string, and
//! `netrig_inventory_json`, against fake devices that speak real SSH on loopback.
#![cfg(feature = "ssh")]

use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::ptr::{null, null_mut};

use fakedev::{Fleet, Group, Inventory as FleetInventory};
use netrig::ffi::*;
use netrig::netrig_status::*;
use support::abi::{c, expect, last_error, ok, BAD_UTF8};
use support::c_abi::Opts;

mod support;

fn temp(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netrig-c-abi-inventory-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn new_job() -> netrig_job {
    let mut job = netrig_job { id: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_job_new(&mut job) });
    job
}

fn take_text(out: netrig_output) -> String {
    let (mut p, mut len) = (null(), usize::MAX);
    // SAFETY: live locals; the text stays valid until the output is freed, after this copy.
    let t = unsafe {
        ok(netrig_output_text(out, &mut p, &mut len));
        String::from_utf8(CStr::from_ptr(p).to_bytes().to_vec()).unwrap()
    };
    ok(netrig_output_free(out));
    t
}

/// Runs the job to its end (no pool, default options) and returns the run.
fn run(job: netrig_job, steps: &[&str]) -> netrig_run {
    for s in steps {
        let s = c(s);
        // SAFETY: live C string.
        ok(unsafe { netrig_job_add_command(job, s.as_ptr(), 3000) });
    }
    let mut run = netrig_run { id: 0 };
    // SAFETY: NULL options (the defaults), no callback, live out pointer.
    ok(unsafe { netrig_run_start(job, netrig_pool { id: 0 }, null(), None, null_mut(), &mut run) });
    ok(netrig_run_wait(run, NETRIG_WAIT_FOREVER));
    run
}

fn host_name(run: netrig_run, i: usize) -> String {
    let mut buf = [0u8; 128];
    let mut len = 0usize;
    // SAFETY: a live buffer of that size and a live out pointer.
    ok(unsafe { netrig_run_host_name(run, i, buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut len) });
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

fn report(run: netrig_run) -> serde_json::Value {
    let mut out = netrig_output { id: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_run_json(run, &mut out) });
    serde_json::from_str(&take_text(out)).unwrap()
}

#[test]
fn named_targets_name_the_hosts_of_a_run_and_carry_their_data() {
    let fleet = Fleet::start_inventory(&FleetInventory::default().group(Group::new("cisco_ios", 2))).unwrap();
    let devs = fleet.devices();
    let (a, b) = (Opts::new(&devs[0], "cisco_ios"), Opts::new(&devs[1], "cisco_ios"));
    let job = new_job();
    let (name, data) = (c("sw1"), c(r#"{"site": "lab", "rack": {"row": 3}}"#));
    // SAFETY: live C strings and options.
    unsafe {
        ok(netrig_job_add_target_named(job, name.as_ptr(), &a.o, data.as_ptr()));
        ok(netrig_job_add_target_named(job, null(), &b.o, null()));
        let bad = c("{\"site\": lab}");
        expect(
            netrig_job_add_target_named(job, name.as_ptr(), &a.o, bad.as_ptr()),
            NETRIG_E_INVALID_ARG,
            "data_json is not JSON: expected value at line 1 column 10",
        );
        let empty = c("");
        expect(netrig_job_add_target_named(job, empty.as_ptr(), &a.o, null()), NETRIG_E_INVALID_ARG, "name is empty");
        expect(netrig_job_add_target_named(job, BAD_UTF8.as_ptr().cast(), &a.o, null()), NETRIG_E_UTF8, "'name'");
        expect(netrig_job_add_target_named(job, name.as_ptr(), null(), null()), NETRIG_E_NULL_ARG, "'opts'");
        expect(
            netrig_job_add_target_named(netrig_job { id: 0 }, name.as_ptr(), &a.o, null()),
            NETRIG_E_INVALID_HANDLE,
            "",
        );
    }
    let r = run(job, &["show clock"]);
    assert_eq!(host_name(r, 0), "sw1");
    assert_eq!(host_name(r, 1), format!("127.0.0.1:{}", devs[1].port));
    let j = report(r);
    assert_eq!(j["hosts"].as_array().unwrap().len(), 2, "the refused targets were not added");
    assert_eq!(j["hosts"][0]["name"], "sw1");
    assert_eq!(j["hosts"][0]["data"]["rack"]["row"], 3);
    assert_eq!(j["hosts"][1]["data"], serde_json::json!({}));
    assert_eq!(j["hosts"][0]["state"], "ok", "{}", j["hosts"][0]);
    ok(netrig_run_free(r));
    ok(netrig_job_free(job));
}

#[test]
fn an_inventory_fills_a_job_with_the_hosts_its_filter_takes() {
    let fleet = Fleet::start_inventory(&FleetInventory::default().group(Group::new("cisco_ios", 3))).unwrap();
    let devs = fleet.devices();
    let d = temp("fill");
    let mut hosts = String::new();
    for (i, dev) in devs.iter().enumerate() {
        let group = if i == 2 { "edge" } else { "core" };
        hosts += &format!(
            "sw{i}:\n  port: {}\n  fingerprint: '{}'\n  groups: [{group}]\n  data: {{index: {i}}}\n",
            dev.port, dev.host_key_fingerprint
        );
    }
    std::fs::write(d.join("hosts.yaml"), hosts).unwrap();
    std::fs::write(d.join("groups.yaml"), "core:\n  data: {role: core}\nedge:\n  data: {role: edge}\n").unwrap();
    std::fs::write(
        d.join("defaults.yaml"),
        format!(
            "hostname: 127.0.0.1\nusername: {}\npassword: {}\nplatform: cisco_ios\n",
            devs[0].username, devs[0].password
        ),
    )
    .unwrap();
    let path = |f: &str| c(&d.join(f).display().to_string());
    let (h, g, def) = (path("hosts.yaml"), path("groups.yaml"), path("defaults.yaml"));
    let job = new_job();
    let mut count = 99usize;
    let filter = c("group=core and not index=0 or role=edge");
    // SAFETY: live C strings and out pointer.
    ok(unsafe { netrig_job_add_inventory(job, h.as_ptr(), g.as_ptr(), def.as_ptr(), filter.as_ptr(), &mut count) });
    assert_eq!(count, 2);
    let r = run(job, &["show clock"]);
    assert_eq!([host_name(r, 0), host_name(r, 1)], ["sw1", "sw2"]);
    let j = report(r);
    assert_eq!(j["hosts"][0]["data"], serde_json::json!({"index": 1, "role": "core"}));
    assert_eq!(j["hosts"][1]["data"]["role"], "edge");
    for host in j["hosts"].as_array().unwrap() {
        assert_eq!(host["state"], "ok", "{host}");
    }
    ok(netrig_run_free(r));

    // All hosts, count not asked for; errors add nothing and say where.
    let job2 = new_job();
    // SAFETY: live C strings; NULL groups, filter and count are allowed.
    unsafe {
        ok(netrig_job_add_inventory(job2, h.as_ptr(), g.as_ptr(), def.as_ptr(), null(), null_mut()));
        let bad = c("group=core and");
        expect(
            netrig_job_add_inventory(job2, h.as_ptr(), g.as_ptr(), def.as_ptr(), bad.as_ptr(), &mut count),
            NETRIG_E_INVALID_ARG,
            "filter 'group=core and': ends where a term was expected",
        );
        // Without groups.yaml the hosts' groups are not defined.
        let st = netrig_job_add_inventory(job2, h.as_ptr(), null(), def.as_ptr(), null(), &mut count);
        let text = last_error();
        assert_eq!(st, NETRIG_E_INVALID_ARG, "{text}");
        assert!(text.contains("hosts.yaml, line 4: sw0.groups: group 'core' is not defined"), "{text}");
        let missing = path("nope.yaml");
        expect(
            netrig_job_add_inventory(job2, missing.as_ptr(), null(), null(), null(), &mut count),
            NETRIG_E_NOT_FOUND,
            "nope.yaml: no such file",
        );
        expect(
            netrig_job_add_inventory(job2, null(), null(), null(), null(), &mut count),
            NETRIG_E_NULL_ARG,
            "'hosts'",
        );
        expect(
            netrig_job_add_inventory(job2, BAD_UTF8.as_ptr().cast(), null(), null(), null(), &mut count),
            NETRIG_E_UTF8,
            "'hosts'",
        );
        expect(
            netrig_job_add_inventory(netrig_job { id: 0 }, h.as_ptr(), null(), null(), null(), &mut count),
            NETRIG_E_INVALID_HANDLE,
            "",
        );
    }
    assert_eq!(count, 2, "failed calls leave the count alone");
    let r = run(job2, &[]);
    let j = report(r);
    assert_eq!(j["hosts"].as_array().unwrap().len(), 3, "only the successful call added hosts");
    ok(netrig_run_free(r));

    // The JSON form that bindings build their own targets from.
    let mut out = netrig_output { id: 0 };
    let by_name = c("name=sw2");
    // SAFETY: live C strings and out pointer.
    ok(unsafe { netrig_inventory_json(h.as_ptr(), g.as_ptr(), def.as_ptr(), by_name.as_ptr(), &mut out) });
    let j: serde_json::Value = serde_json::from_str(&take_text(out)).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 1);
    assert_eq!(j[0]["name"], "sw2");
    assert_eq!(j[0]["groups"], serde_json::json!(["edge"]));
    assert_eq!(j[0]["options"]["port"], devs[2].port);
    assert_eq!(j[0]["options"]["username"], devs[0].username.as_str());
    // SAFETY: a NULL out pointer is refused before anything is read.
    expect(
        unsafe { netrig_inventory_json(h.as_ptr(), null(), null(), null(), null_mut()) },
        NETRIG_E_NULL_ARG,
        "'out'",
    );
    ok(netrig_job_free(job));
    ok(netrig_job_free(job2));
}
