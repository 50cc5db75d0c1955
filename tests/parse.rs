//! TextFSM parsing (issue 15 §2) with ntc-templates' own templates, installed by
//! `scripts/setup.sh --test` (the ntc_templates package; NETRIG_TEMPLATES overrides where it
//! is looked for): the fake fleet's show commands parse into the fields a test engineer reads
//! (version, hostname, interfaces, addresses, status) on several platforms; the index's
//! abbreviations; the error cases with the repo's own small templates (tests/parse_templates);
//! and the C calls.
#![cfg(feature = "ssh")]

use std::path::{Path, PathBuf};
use std::ptr::null;

use fakedev::{Fleet, Group, Inventory};
use netrig::device::Device;
use netrig::ffi::*;
use netrig::netrig_status::*;
use netrig::parse::{self, Field, Record, Templates};
use netrig::Error;
use support::abi::{c, expect, last_error};
use support::c_abi::Opts;

mod support;

/// ntc-templates' templates directory: NETRIG_TEMPLATES, else the installed ntc_templates
/// package's (the test fails, naming the setup step, when there is neither).
fn ntc() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(find_ntc).clone()
}

fn find_ntc() -> PathBuf {
    if let Some(d) = std::env::var_os("NETRIG_TEMPLATES") {
        return d.into();
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import ntc_templates, os; print(os.path.join(os.path.dirname(ntc_templates.__file__), 'templates'))",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "no ntc_templates package (scripts/setup.sh --test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn own(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parse_templates").join(dir)
}

#[track_caller]
fn text<'a>(r: &'a Record, key: &str) -> &'a str {
    r.text(key).unwrap_or_else(|| panic!("no text field {key} in {r:?}"))
}

/// Runs `command` on the fake device and parses its output with the device's platform.
fn run(dev: &Device, command: &str) -> Vec<Record> {
    let out = dev.send_command(command, None).unwrap_or_else(|e| panic!("{command}: {e}"));
    assert_eq!(out.command, command);
    parse::parse(&out.text, &out.platform, &out.command, Some(&ntc())).unwrap_or_else(|e| panic!("{command}: {e}"))
}

fn fleet(profiles: &[&str]) -> Fleet {
    let inv = profiles.iter().fold(Inventory::default(), |inv, p| inv.group(Group::new(p, 1)));
    Fleet::start_inventory(&inv).unwrap()
}

#[test]
fn cisco_ios_version_interfaces_and_ip_brief() {
    let f = fleet(&["cisco_ios"]);
    let dev = Device::open(&support::options(&f.devices()[0], "cisco_ios")).unwrap();

    let v = run(&dev, "show version");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(text(&v[0], "version"), "15.7(3)M4");
    assert_eq!(text(&v[0], "hostname"), "R1");
    assert_eq!(text(&v[0], "uptime"), "12 weeks, 3 days, 4 hours, 2 minutes");
    assert_eq!(v[0].get("serial"), Some(&Field::List(vec!["FTX1840ALBS".into()])), "serial is a List value");

    let brief = run(&dev, "show ip interface brief");
    let rows: Vec<(&str, &str, &str, &str)> = brief
        .iter()
        .map(|r| (text(r, "interface"), text(r, "ip_address"), text(r, "status"), text(r, "proto")))
        .collect();
    assert_eq!(
        rows,
        [
            ("GigabitEthernet0/0", "10.0.0.1", "up", "up"),
            ("GigabitEthernet0/1", "192.168.1.1", "up", "up"),
            ("GigabitEthernet0/2", "unassigned", "administratively down", "down"),
            ("Loopback0", "1.1.1.1", "up", "up"),
        ]
    );

    let ints = run(&dev, "show interfaces");
    let rows: Vec<(&str, &str, &str, &str)> = ints
        .iter()
        .map(|r| (text(r, "interface"), text(r, "link_status"), text(r, "ip_address"), text(r, "mac_address")))
        .collect();
    assert_eq!(
        rows,
        [
            ("GigabitEthernet0/0", "up", "10.0.0.1", "5254.0012.3400"),
            ("GigabitEthernet0/1", "up", "192.168.1.1", "5254.0012.3401"),
            ("GigabitEthernet0/2", "administratively down", "", "5254.0012.3402"),
        ]
    );
    assert_eq!(text(&ints[0], "description"), "uplink to core");
    assert_eq!(text(&ints[0], "mtu"), "1500");

    // The index's abbreviations: the short form finds the same template.
    let out = dev.send_command("show ip interface brief", None).unwrap();
    assert_eq!(parse::parse(&out.text, "cisco_ios", "sh ip int br", Some(&ntc())).unwrap(), brief);
}

/// Other platforms' version and interface commands, each asserting the fields a test reads.
#[test]
fn other_platforms_parse_into_their_fields() {
    let names = [
        "arista_eos",
        "cisco_nxos",
        "cisco_xr",
        "cisco_xe",
        "cisco_asa",
        "juniper_junos",
        "huawei_vrp",
        "hp_comware",
        "paloalto_panos",
        "fortinet",
    ];
    let f = fleet(&names);
    let devs: Vec<Device> =
        names.iter().zip(f.devices()).map(|(p, d)| Device::open(&support::options(d, p)).unwrap()).collect();
    let one = |i: usize, cmd: &str| {
        let r = run(&devs[i], cmd);
        assert!(!r.is_empty(), "{} {cmd}: no records", names[i]);
        r
    };

    let eos = one(0, "show version");
    assert_eq!((text(&eos[0], "model"), text(&eos[0], "image")), ("DCS-7050SX3-48YC8-F", "4.28.3M"));
    let eos = one(0, "show ip interface brief");
    assert_eq!(
        (text(&eos[0], "interface"), text(&eos[0], "ip_address"), text(&eos[0], "status")),
        ("Ethernet1", "10.1.1.1/31", "up")
    );

    let nx = one(1, "show version");
    assert!(text(&nx[0], "os").starts_with("10.3(4a)"), "{nx:?}");
    assert_eq!(text(&nx[0], "platform"), "C9300v");
    let nx = one(1, "show interface brief");
    assert_eq!(
        (text(&nx[0], "interface"), text(&nx[0], "ip_address"), text(&nx[0], "status")),
        ("mgmt0", "192.168.0.30", "up")
    );

    let xr = one(2, "show version");
    assert_eq!((text(&xr[0], "version"), text(&xr[0], "hardware")), ("7.9.2", "NCS-540"));
    let xr = one(2, "show ipv4 interface brief");
    assert_eq!(
        (text(&xr[0], "interface"), text(&xr[0], "ip_address"), text(&xr[0], "status")),
        ("Loopback0", "10.255.0.3", "Up")
    );

    // IOS XE has no rows of its own in ntc-templates: the cisco_ios ones answer for it.
    let xe = one(3, "show version");
    assert_eq!((text(&xe[0], "version"), text(&xe[0], "hostname")), ("17.9.4a", "C8KV-1"));
    let xe = one(3, "show ip interface brief");
    assert_eq!((text(&xe[0], "interface"), text(&xe[0], "ip_address")), ("GigabitEthernet1", "10.0.0.21"));

    let asa = one(4, "show version");
    assert_eq!((text(&asa[0], "version"), text(&asa[0], "hostname")), ("9.18(3)56", "ciscoasa"));
    let asa = one(4, "show interface ip brief");
    assert_eq!(
        (text(&asa[0], "interface"), text(&asa[0], "ip_address"), text(&asa[0], "status")),
        ("Ethernet1/1", "203.0.113.2", "up")
    );

    let junos = one(5, "show version");
    assert_eq!(
        (text(&junos[0], "hostname"), text(&junos[0], "model"), text(&junos[0], "junos_version")),
        ("mx1", "mx204", "21.4R3.15")
    );

    let vrp = one(6, "display version");
    assert_eq!(text(&vrp[0], "vrp_version"), "5.170");
    let vrp = one(6, "display interface brief");
    let rows: Vec<(&str, &str, &str)> =
        vrp.iter().map(|r| (text(r, "interface"), text(r, "phy"), text(r, "protocol"))).collect();
    assert_eq!(rows[..2], [("GigabitEthernet0/0/1", "up", "up"), ("GigabitEthernet0/0/2", "*down", "down")]);

    let comware = one(7, "display interface brief");
    assert!(comware.iter().any(|r| text(r, "interface") == "InLoop0" && text(r, "link") == "UP"), "{comware:?}");

    let pan = one(8, "show system info");
    assert_eq!((text(&pan[0], "hostname"), text(&pan[0], "ip_address")), ("PA-VM", "192.168.1.1"));
    let pan = one(8, "show interface all");
    assert_eq!((text(&pan[0], "interface"), text(&pan[0], "state")), ("ethernet1/1", "up"));

    let fgt = one(9, "get system status");
    assert_eq!(text(&fgt[0], "hostname"), "FGT");
    let fgt = one(9, "get system interface physical");
    assert_eq!(
        (text(&fgt[0], "name"), text(&fgt[0], "ip_address"), text(&fgt[0], "status")),
        ("port1", "192.168.1.99", "up")
    );
}

#[test]
fn no_template_is_not_found_naming_platform_command_and_index() {
    let e = parse::parse("x\n", "cisco_ios", "show frobnicator", Some(&ntc())).unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.status(), NETRIG_E_NOT_FOUND, "{msg}");
    assert!(msg.contains("cisco_ios") && msg.contains("show frobnicator") && msg.contains("index"), "{msg}");
    let e = parse::parse("x\n", "no_such_os", "show version", Some(&ntc())).unwrap_err();
    assert!(e.to_string().contains("no_such_os"), "{e}");
    // A directory without an index says so.
    let e = parse::parse("x\n", "cisco_ios", "show version", Some(Path::new("/nonexistent/netrig"))).unwrap_err();
    assert_eq!(e.status(), NETRIG_E_NOT_FOUND);
    assert!(e.to_string().contains("/nonexistent/netrig") && e.to_string().contains("index"), "{e}");
}

#[test]
fn broken_template_names_its_file_and_line() {
    let e = parse::parse("a 1\n", "own_os", "show thing", Some(&own("broken"))).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::InvalidArg(_)), "{e:?}");
    assert!(msg.contains("broken_show_thing.textfsm:2"), "{msg}");
    // A template the index names but the directory lacks.
    let e = parse::parse("a 1\n", "own_os", "sh ot", Some(&own("broken"))).unwrap_err();
    assert_eq!(e.status(), NETRIG_E_NOT_FOUND);
    assert!(e.to_string().contains("missing_show_other.textfsm"), "{e}");
}

#[test]
fn unparseable_output_gives_no_records_and_error_action_fails() {
    assert_eq!(parse::parse("nothing to see\n", "cisco_ios", "show version", Some(&ntc())).unwrap(), []);
    assert_eq!(parse::parse("", "cisco_ios", "show ip int brief", Some(&ntc())).unwrap(), []);
    let e = parse::parse("name a\nbad line\n", "own_os", "show fail", Some(&own("own"))).unwrap_err();
    assert!(matches!(e, Error::Command(_)), "{e:?}");
    assert!(e.to_string().contains("own_show_fail.textfsm") && e.to_string().contains("show fail"), "{e}");
}

/// Two templates joined by ':' in the index: the second's columns join the first's records
/// on the Key value, as clitable merges them; List values are lists.
#[test]
fn joined_templates_merge_on_keys() {
    let text = "port p1 is up\n  vlan 10\n  vlan 20\nend\nport p2 is down\nend\nspeed p2 100\nspeed p1 1000\n";
    let r = parse::parse(text, "own_os", "sh po", Some(&own("own"))).unwrap();
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!((text_of(&r[0], "port"), text_of(&r[0], "speed")), ("p1", "1000"));
    assert_eq!(r[0].get("vlans"), Some(&Field::List(vec!["10".into(), "20".into()])));
    assert_eq!((text_of(&r[1], "port"), text_of(&r[1], "speed")), ("p2", "100"));
    assert_eq!(r[1].get("vlans"), Some(&Field::List(vec![])));
    assert_eq!(
        parse::to_json(&r[..1]),
        r#"[{"port":"p1","state":"up","vlans":["10","20"],"speed":"1000"}]"#,
        "keys in the template's order, lower case"
    );
}

fn text_of<'a>(r: &'a Record, key: &str) -> &'a str {
    text(r, key)
}

/// The cache hands out one compiled directory and sees a template edited on disk.
#[test]
fn cache_is_shared_and_sees_edits() {
    let dir = std::env::temp_dir().join(format!("netrig-parse-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index"), "Template, Platform, Command\nt.textfsm, own_os, show t\n").unwrap();
    std::fs::write(dir.join("t.textfsm"), "Value A (\\d+)\n\nStart\n  ^a ${A} -> Record\n").unwrap();
    let a = Templates::open(&dir).unwrap();
    let b = Templates::open(&dir).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert_eq!(text(&a.parse("a 1\n", "own_os", "show t").unwrap()[0], "a"), "1");
    // A longer file (the size changes, whatever the clock's resolution).
    std::fs::write(dir.join("t.textfsm"), "Value B (\\d+)\n\nStart\n  ^a ${B} -> Record\n  ^b ${B} -> Record\n")
        .unwrap();
    assert_eq!(text(&a.parse("b 2\n", "own_os", "show t").unwrap()[0], "b"), "2");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Threads parsing through one cache get the same records.
#[test]
fn many_threads_share_the_cache() {
    let text = "Interface  IP-Address  OK? Method Status  Protocol\nGi0/0  10.0.0.1  YES NVRAM  up  up\n";
    let dir = ntc();
    let want = parse::parse(text, "cisco_ios", "show ip int brief", Some(&dir)).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(parse::parse(text, "cisco_ios", "show ip int brief", Some(&dir)).unwrap(), want);
                }
            });
        }
    });
}

fn json_of(out: netrig_output) -> serde_json::Value {
    let (mut p, mut len) = (null(), 0usize);
    // SAFETY: live locals; the text is valid until the output is freed, after this copy.
    let s = unsafe {
        assert_eq!(netrig_output_text(out, &mut p, &mut len), NETRIG_OK, "{}", last_error());
        std::slice::from_raw_parts(p as *const u8, len).to_vec()
    };
    assert_eq!(netrig_output_free(out), NETRIG_OK);
    serde_json::from_slice(&s).unwrap()
}

#[test]
fn c_parse_and_output_parse() {
    let dir = c(ntc().to_str().unwrap());
    let text = c("Interface  IP-Address  OK? Method Status  Protocol\nGi0/0  10.0.0.1  YES NVRAM  up  up\n");
    let (ios, cmd) = (c("cisco_ios"), c("sh ip int br"));
    let mut out = netrig_output { id: 0 };
    // SAFETY: every pointer is a live CString or local for the call.
    unsafe {
        assert_eq!(
            netrig_parse(text.as_ptr(), ios.as_ptr(), cmd.as_ptr(), dir.as_ptr(), &mut out),
            NETRIG_OK,
            "{}",
            last_error()
        );
        assert_eq!(
            json_of(out),
            serde_json::json!([{"interface": "Gi0/0", "ip_address": "10.0.0.1", "status": "up", "proto": "up"}])
        );

        let mut none = netrig_output { id: 0 };
        let bogus = c("show frobnicator");
        let st = netrig_parse(text.as_ptr(), ios.as_ptr(), bogus.as_ptr(), dir.as_ptr(), &mut none);
        expect(st, NETRIG_E_NOT_FOUND, "show frobnicator");
        assert_eq!(none.id, 0, "out-parameter written on failure");
        expect(netrig_parse(null(), ios.as_ptr(), cmd.as_ptr(), dir.as_ptr(), &mut none), NETRIG_E_NULL_ARG, "text");
        let bad = b"cisco_\xff\0";
        expect(
            netrig_parse(text.as_ptr(), bad.as_ptr().cast(), cmd.as_ptr(), dir.as_ptr(), &mut none),
            NETRIG_E_UTF8,
            "platform",
        );
        expect(
            netrig_parse(text.as_ptr(), ios.as_ptr(), cmd.as_ptr(), dir.as_ptr(), std::ptr::null_mut()),
            NETRIG_E_NULL_ARG,
            "json",
        );
    }

    // On a device's output: its command and platform pick the template.
    let f = fleet(&["cisco_ios"]);
    let dev =
        Opts::new(&f.devices()[0], "cisco_ios").open().unwrap_or_else(|st| panic!("open: {st:?}: {}", last_error()));
    let command = c("show version");
    let mut out = netrig_output { id: 0 };
    // SAFETY: live pointers for each call.
    unsafe {
        assert_eq!(netrig_device_send_command(dev, command.as_ptr(), 0, &mut out), NETRIG_OK, "{}", last_error());
        let mut json = netrig_output { id: 0 };
        assert_eq!(netrig_output_parse(out, dir.as_ptr(), &mut json), NETRIG_OK, "{}", last_error());
        let v = json_of(json);
        assert_eq!(v[0]["version"], "15.7(3)M4");
        assert_eq!(v[0]["hostname"], "R1");
        // A JSON result has no command to look a template up by.
        let mut json2 = netrig_output { id: 0 };
        let mut parsed = netrig_output { id: 0 };
        assert_eq!(netrig_parse(text.as_ptr(), ios.as_ptr(), cmd.as_ptr(), dir.as_ptr(), &mut parsed), NETRIG_OK);
        expect(
            netrig_output_parse(parsed, dir.as_ptr(), &mut json2),
            NETRIG_E_INVALID_ARG,
            "not a CLI command's output",
        );
        assert_eq!(netrig_output_free(parsed), NETRIG_OK);
        assert_eq!(netrig_output_free(out), NETRIG_OK);
        expect(netrig_output_parse(out, dir.as_ptr(), &mut json2), NETRIG_E_INVALID_HANDLE, "");
    }
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
}

/// A parsed command step: the records ride in the step result and the JSON report, with the
/// templates directory of the target's options; a step with no template fails naming it.
#[test]
fn runner_steps_carry_records_into_the_report() {
    use netrig::run::{Run, RunOptions, State, Step, Target};
    let f = fleet(&["cisco_ios", "arista_eos"]);
    let targets: Vec<Target> = f
        .devices()
        .iter()
        .zip(["r1", "sw1"])
        .zip(["cisco_ios", "arista_eos"])
        .map(|((d, name), p)| {
            let mut o = support::options(d, p);
            o.templates = Some(ntc());
            Target::from(o).named(name)
        })
        .collect();
    // show running-config has no ntc template.
    let steps = vec![Step::parsed("show version"), Step::command("show clock"), Step::parsed("show running-config")];
    let report = Run::run(targets, steps, RunOptions::default(), None, None).unwrap();
    let r1 = &report.hosts[0];
    let records = r1.steps[0].records.as_ref().expect("records of a parsed step");
    assert_eq!(text(&records[0], "version"), "15.7(3)M4");
    assert!(r1.steps[1].records.is_none(), "an unparsed step has none");
    assert_eq!(r1.steps[2].state, State::Failed);
    assert!(
        r1.steps[2].error.contains("r1")
            && r1.steps[2].error.contains("show running-config")
            && r1.steps[2].error.contains("no template"),
        "{}",
        r1.steps[2].error
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["hosts"][0]["name"], "r1");
    assert_eq!(json["hosts"][0]["steps"][0]["records"][0]["hostname"], "R1");
    assert_eq!(json["hosts"][1]["steps"][0]["records"][0]["model"], "DCS-7050SX3-48YC8-F");
    assert!(json["hosts"][1]["steps"][1].get("records").is_none());
}

/// The C job call: a parsed step's records in netrig_run_json.
#[test]
fn c_job_add_command_parsed() {
    let f = fleet(&["cisco_ios"]);
    let dir = c(ntc().to_str().unwrap());
    let mut o = Opts::new(&f.devices()[0], "cisco_ios");
    o.o.templates = dir.as_ptr();
    let mut job = netrig_job { id: 0 };
    let (cmd, bogus) = (c("show ip interface brief"), c("show running-config"));
    // SAFETY: live locals and CStrings for each call; `o` and `dir` outlive the run.
    unsafe {
        assert_eq!(netrig_job_new(&mut job), NETRIG_OK);
        assert_eq!(netrig_job_add_target(job, &o.o), NETRIG_OK, "{}", last_error());
        assert_eq!(netrig_job_add_command_parsed(job, cmd.as_ptr(), 0), NETRIG_OK);
        assert_eq!(netrig_job_add_command_parsed(job, bogus.as_ptr(), 0), NETRIG_OK);
        expect(netrig_job_add_command_parsed(job, null(), 0), NETRIG_E_NULL_ARG, "command");
        let mut run = netrig_run { id: 0 };
        let st = netrig_run_start(job, netrig_pool { id: 0 }, null(), None, std::ptr::null_mut(), &mut run);
        assert_eq!(st, NETRIG_OK, "{}", last_error());
        assert_eq!(netrig_run_wait(run, NETRIG_WAIT_FOREVER), NETRIG_OK);
        let mut out = netrig_output { id: 0 };
        assert_eq!(netrig_run_json(run, &mut out), NETRIG_OK);
        let v = json_of(out);
        let steps = &v["hosts"][0]["steps"];
        assert_eq!(steps[0]["records"][0]["interface"], "GigabitEthernet0/0", "{v}");
        assert_eq!(steps[0]["records"][0]["ip_address"], "10.0.0.1");
        assert_eq!(steps[1]["status"], "NETRIG_E_NOT_FOUND", "{steps}");
        assert_eq!(netrig_run_free(run), NETRIG_OK);
        assert_eq!(netrig_job_free(job), NETRIG_OK);
    }
    drop(o);
}

/// A template file without an index (netmiko's textfsm_template=), in Rust and C.
#[test]
fn a_template_file_without_an_index() {
    let file = own("own").join("own_show_ports_speed.textfsm");
    let r = parse::parse_template_file("speed p1 10\nspeed p2 20\n", &file).unwrap();
    assert_eq!(r.iter().map(|r| text(r, "speed")).collect::<Vec<_>>(), ["10", "20"]);
    let e = parse::parse_template_file("x", &own("broken").join("broken_show_thing.textfsm")).unwrap_err();
    assert!(e.to_string().contains("broken_show_thing.textfsm:2"), "{e}");
    assert_eq!(parse::parse_template_file("x", &own("own").join("nope")).unwrap_err().status(), NETRIG_E_NOT_FOUND);
    let (t, f) = (c("speed p9 99\n"), c(file.to_str().unwrap()));
    let mut out = netrig_output { id: 0 };
    // SAFETY: live CStrings and a local out-parameter.
    unsafe {
        assert_eq!(netrig_parse_template(t.as_ptr(), f.as_ptr(), &mut out), NETRIG_OK, "{}", last_error());
        assert_eq!(json_of(out), serde_json::json!([{"port": "p9", "speed": "99"}]));
        expect(netrig_parse_template(t.as_ptr(), null(), &mut out), NETRIG_E_NULL_ARG, "template");
    }
}
