//! Nornir-style inventories (hosts.yaml, groups.yaml, defaults.yaml): loading, the resolution
//! order of options and data, credentials from environment variables, filters, the errors of
//! bad files (each naming file, line and key), and a run over an inventory of fake devices
//! (real SSH on loopback) whose results and report carry the hosts' names and data.
#![cfg(feature = "ssh")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fakedev::{Faults, Fleet, Group, Inventory as FleetInventory};
use netrig::device::HostKeyPolicy;
use netrig::inventory::{Filter, Inventory};
use netrig::run::{OnFailure, Run, RunOptions, State, Step, Strategy};
use netrig::{netrig_status, Error};

/// Sets the variables the tests read, once, before any test goes on: C code (OpenSSL) reads
/// the environment without Rust's lock, so no variable changes while a session may be open.
fn env_vars() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("NETRIG_INV_TEST_PASSWORD", "from-env");
        std::env::set_var("NETRIG_INV_TEST_USER", "ops");
        std::env::set_var("NETRIG_INV_TEST_FLEET_PASSWORD", "admin");
    });
}

/// A fresh folder for one test's files.
fn dir(test: &str) -> PathBuf {
    env_vars();
    let d = std::env::temp_dir().join(format!("netrig-inventory-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes the three files (an empty text: the file is not written and not passed).
fn write(d: &Path, hosts: &str, groups: &str, defaults: &str) -> (PathBuf, Option<PathBuf>, Option<PathBuf>) {
    let put = |name: &str, text: &str| {
        (!text.is_empty()).then(|| {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            p
        })
    };
    (put("hosts.yaml", hosts).unwrap(), put("groups.yaml", groups), put("defaults.yaml", defaults))
}

fn load(d: &Path, hosts: &str, groups: &str, defaults: &str) -> netrig::Result<Inventory> {
    let (h, g, def) = write(d, hosts, groups, defaults);
    Inventory::load(&h, g.as_deref(), def.as_deref())
}

const GROUPS: &str = "\
core:
  groups: [ios, site_a]
  timeout: 7
  data:
    role: core
    tier: 1
ios:
  platform: cisco_ios
  port: 2022
  data:
    os: ios
    tier: 9
site_a:
  port: 2033
  secret: site-secret
  data:
    site: a
    rack: {row: 3, col: b}
access:
  groups: [ios]
  check_errors: false
  templates: ntc
  data:
    role: access
";

const DEFAULTS: &str = "\
hostname: 127.0.0.1
username: admin
password: default-pw
platform: linux
timeout: 9
data:
  site: unknown
  tier: 99
  owner: lab
";

#[test]
fn options_and_data_resolve_host_then_groups_depth_first_then_defaults() {
    let d = dir("resolve");
    let hosts = "\
sw1:
  groups: [core, access]
  data: {name: sw-one}
sw2:
  hostname: 10.0.0.2
  groups: [access]
  port: 2200
  timeout: 1.5
  platform: autodetect
lnx:
";
    let inv = load(&d, hosts, GROUPS, DEFAULTS).unwrap();
    let names: Vec<&str> = inv.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["sw1", "sw2", "lnx"]);
    let sw1 = &inv.hosts()[0];
    assert_eq!(sw1.groups, ["core", "access"]);
    // core, then core's own groups (ios, site_a) before access.
    assert_eq!(sw1.all_groups, ["core", "ios", "site_a", "access"]);
    let o = sw1.device_options();
    assert_eq!(o.host, "127.0.0.1");
    assert_eq!(o.port, 2022, "ios (core's first group) comes before site_a");
    assert_eq!(o.timeout, Duration::from_secs(7), "core before the defaults");
    assert_eq!(o.platform.name, "cisco_ios");
    assert_eq!(o.secret.as_deref(), Some("site-secret"));
    assert_eq!(o.username, "admin");
    assert_eq!(
        sw1.data,
        serde_json::json!({"name": "sw-one", "role": "core", "tier": 1, "os": "ios", "site": "a",
                           "rack": {"row": 3, "col": "b"}, "owner": "lab"})
    );
    let sw2 = &inv.hosts()[1];
    assert_eq!(sw2.all_groups, ["access", "ios"]);
    assert_eq!((sw2.device_options().host.as_str(), sw2.device_options().port), ("10.0.0.2", 2200));
    assert_eq!(sw2.device_options().timeout, Duration::from_millis(1500));
    assert_eq!(sw2.data["role"], "access");
    assert_eq!(sw2.data["tier"], 9);
    assert_eq!(sw2.data["site"], "unknown");
    assert!(sw2.device_options().platform.is_autodetect(), "a host's platform: autodetect");
    assert!(!sw1.device_options().check_errors && !sw2.device_options().check_errors, "access: check_errors false");
    assert!(inv.hosts()[2].device_options().check_errors, "the default: on");
    assert_eq!(sw2.device_options().templates.as_deref(), Some(d.join("ntc").as_path()), "relative to groups.yaml");
    assert_eq!(inv.hosts()[2].device_options().templates, None);
    let lnx = &inv.hosts()[2];
    assert!(lnx.all_groups.is_empty());
    assert_eq!(lnx.device_options().host, "127.0.0.1");
    assert_eq!(lnx.device_options().port, 22);
    assert_eq!(lnx.device_options().platform.name, "linux");
    assert_eq!(lnx.data, serde_json::json!({"site": "unknown", "tier": 99, "owner": "lab"}));
    // Targets are named after the hosts and carry their data.
    let targets = inv.targets(None);
    assert_eq!(targets[0].name(), "sw1");
    assert_eq!(targets[0].data()["rack"]["row"], 3);
    // The JSON form for bindings has the options under the Python Device keyword names.
    let json: serde_json::Value = serde_json::from_str(&inv.to_json(None)).unwrap();
    assert_eq!(json[0]["options"]["port"], 2022);
    assert_eq!(json[0]["options"]["host"], "127.0.0.1");
    assert_eq!(json[0]["options"]["password"], "default-pw");
    assert_eq!(json[0]["all_groups"], serde_json::json!(["core", "ios", "site_a", "access"]));
    // Nor does the Debug form of a host show them.
    assert!(!format!("{sw1:?}").contains("default-pw") && !format!("{sw1:?}").contains("site-secret"));
}

#[test]
fn credentials_and_paths_come_from_the_environment_and_the_files_folder() {
    let d = dir("env");
    let hosts = "\
sw1:
  username: ${env:NETRIG_INV_TEST_USER}-x
  password: ${env:NETRIG_INV_TEST_PASSWORD}
  platform: cisco_ios
  known_hosts: keys/known_hosts
  data: {token: '${env:NETRIG_INV_TEST_PASSWORD}'}
";
    let inv = load(&d, hosts, "", "").unwrap();
    let o = inv.hosts()[0].device_options();
    assert_eq!(o.username, "ops-x");
    assert_eq!(o.host_key, HostKeyPolicy::Strict(d.join("keys/known_hosts")));
    assert_eq!(inv.hosts()[0].data["token"], "from-env");
    let json: serde_json::Value = serde_json::from_str(&inv.to_json(None)).unwrap();
    assert_eq!(json[0]["options"]["password"], "from-env");

    let e = load(&d, "sw1:\n  username: u\n  platform: linux\n  password: ${env:NETRIG_INV_TEST_NOT_SET}\n", "", "")
        .unwrap_err();
    assert_eq!(e.status(), netrig_status::NETRIG_E_INVALID_ARG);
    let text = e.to_string();
    assert!(
        text.contains("hosts.yaml, line 4: sw1.password: environment variable NETRIG_INV_TEST_NOT_SET is not set"),
        "{text}"
    );
}

#[test]
fn filters_pick_by_name_group_and_data_and_combine() {
    let d = dir("filter");
    let hosts = "\
sw1: {groups: [core]}
sw2: {groups: [access], data: {site: b, vlans: [10, 20]}}
edge-1: {groups: [access], data: {enabled: true, descr: uplink 1}}
rt1: {data: {role: router}}
";
    let inv = load(&d, hosts, GROUPS, DEFAULTS).unwrap();
    let pick = |f: &str| -> Vec<String> {
        let f = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        inv.filter(Some(&f)).into_iter().map(|h| h.name.clone()).collect()
    };
    assert_eq!(pick("name=sw1"), ["sw1"]);
    assert_eq!(pick("name=sw*"), ["sw1", "sw2"]);
    assert_eq!(pick("name=*-?"), ["edge-1"]);
    assert_eq!(pick("group=core"), ["sw1"]);
    assert_eq!(pick("group=ios"), ["sw1", "sw2", "edge-1"], "inherited membership counts");
    assert_eq!(pick("site=a"), ["sw1"], "data inherited from core's group site_a");
    assert_eq!(pick("rack.row=3"), ["sw1"]);
    assert_eq!(pick("rack__col=b"), ["sw1"]);
    assert_eq!(pick("vlans=20"), ["sw2"], "a list matches when an item does");
    assert_eq!(pick("enabled=true"), ["edge-1"]);
    assert_eq!(pick("descr=\"uplink 1\""), ["edge-1"]);
    assert_eq!(pick("role!=access"), ["sw1", "rt1"]);
    assert_eq!(pick("group=ios and not site=unknown"), ["sw1", "sw2"]);
    assert_eq!(pick("group=core or role=router"), ["sw1", "rt1"]);
    assert_eq!(pick("(name=sw* or name=rt*) group=access"), ["sw2"]);
    assert_eq!(pick("data.role=router"), ["rt1"]);
    // The same filters built in Rust.
    let f = Filter::group("access").and(Filter::name("edge-*").not());
    assert_eq!(inv.filter(Some(&f)).iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["sw2"]);
    assert_eq!(inv.targets(Some(&Filter::data("tier", "1"))).len(), 1);
    let e = Filter::parse("group=core and").unwrap_err().to_string();
    assert!(e.contains("ends where a term was expected"), "{e}");
}

#[test]
fn every_bad_file_names_its_file_line_and_key() {
    let d = dir("bad");
    // (hosts, groups, defaults, the file named in the error, the text it must hold)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "sw1:\n  platform: linux\n  username: u\n  password: p\nsw3:\n  port: 22\n  groups: [core]\n",
            "",
            DEFAULTS,
            "hosts.yaml",
            "line 7: sw3.groups: group 'core' is not defined in groups.yaml (none was given)",
        ),
        (
            "sw1:\n  groups:\n    - ios\n    - cor\n",
            GROUPS,
            DEFAULTS,
            "hosts.yaml",
            "line 4: sw1.groups: group 'cor' is not defined in",
        ),
        (
            "sw1: {}\n",
            "a:\n  groups: [b]\nb:\n  groups: [a]\n",
            DEFAULTS,
            "groups.yaml",
            "line 2: a.groups: the groups form a cycle: a -> b -> a",
        ),
        (
            "sw1: {}\n",
            "a:\n  groups: [nope]\n",
            DEFAULTS,
            "groups.yaml",
            "line 2: a.groups: group 'nope' is not defined",
        ),
        ("sw1:\n  port: 99999\n", "", DEFAULTS, "hosts.yaml", "line 2: sw1.port: 99999 is not a TCP port"),
        (
            "sw1:\n  prot: 22\n",
            "",
            DEFAULTS,
            "hosts.yaml",
            "line 2: sw1.prot: unknown key 'prot'; known keys: hostname, port,",
        ),
        (
            "sw1: {}\n",
            "g:\n  timeout: soon\n",
            DEFAULTS,
            "groups.yaml",
            "line 2: g.timeout: is a number of seconds, not a string",
        ),
        ("sw1: {}\n", "", "username: u\ngroups: [x]\n", "defaults.yaml", "line 2: groups: unknown key 'groups'"),
        ("sw1:\n  password: p\n  platform: linux\n", "", "", "hosts.yaml", "line 1: sw1.username: not set on the host"),
        (
            "sw1:\n  groups: [ios]\n",
            "ios:\n  username: u\n  password: p\n",
            "port: 22\n",
            "hosts.yaml",
            "line 1: sw1.platform: not set on the host, its groups (ios) or",
        ),
        (
            "sw1:\n  platform: cisco_nope\n",
            "",
            DEFAULTS,
            "hosts.yaml",
            "line 2: sw1.platform: unknown platform 'cisco_nope'",
        ),
        (
            "sw1:\n  groups: [ios]\n",
            "ios:\n  platform: nope\n",
            DEFAULTS,
            "groups.yaml",
            "line 2: ios.platform (for host sw1): unknown platform 'nope'",
        ),
        (
            "sw1:\n  port: 22\n",
            "",
            "username: u\npassword: p\nplatform: nope\n",
            "defaults.yaml",
            "line 3: platform (for host sw1): unknown platform 'nope'",
        ),
        (
            "sw1:\n  fingerprint: SHA256:x\n  host_key: strict\n",
            "",
            DEFAULTS,
            "hosts.yaml",
            "line 3: sw1.host_key: fingerprint is given but host_key is 'strict'",
        ),
        ("sw1:\n  username: u\n  platform: linux\n", "", "", "hosts.yaml", "line 1: sw1.password: no credentials"),
        (
            "sw1:\n  connection_options:\n    netmiko: {}\n",
            "",
            DEFAULTS,
            "hosts.yaml",
            "line 2: sw1.connection_options: netrig does not read",
        ),
        (
            "- sw1\n- sw2\n",
            "",
            DEFAULTS,
            "hosts.yaml",
            "line 1: the file is a mapping of host names to their entries, not a list",
        ),
        ("sw1: 5\n", "", DEFAULTS, "hosts.yaml", "line 1: sw1: an entry is a mapping of keys"),
        ("sw1:\n  data: {a: 1\n", "", DEFAULTS, "hosts.yaml", "hosts.yaml, line 3:"),
        ("sw1:\n  port: 22\n  port: 23\n", "", DEFAULTS, "hosts.yaml", "line 3: duplicated key"),
    ];
    for (hosts, groups, defaults, file, want) in cases {
        let e = load(&d, hosts, groups, defaults).err().unwrap_or_else(|| panic!("loaded: {hosts:?}"));
        assert_eq!(e.status(), netrig_status::NETRIG_E_INVALID_ARG, "{e}");
        let text = e.to_string();
        let path = d.join(file).display().to_string();
        assert!(text.starts_with(&format!("{path}, line ")), "{text}");
        assert!(text.contains(want), "want '{want}' in: {text}");
    }
    let e = Inventory::load(&d.join("no-such-hosts.yaml"), None, None).unwrap_err();
    assert!(matches!(e, Error::Absent(_)) && e.to_string().contains("no-such-hosts.yaml: no such file"), "{e}");
    assert_eq!(e.status(), netrig_status::NETRIG_E_NOT_FOUND);
}

#[test]
fn a_run_over_an_inventory_of_fake_devices_names_its_results_and_carries_their_data() {
    let inv = FleetInventory::default().group(Group::new("cisco_ios", 3).name("ios")).group(
        Group::new("cisco_ios", 1)
            .name("hang")
            .faults(Faults { hang_on: vec!["show clock".into()], ..Faults::default() }),
    );
    let fleet = Fleet::start_inventory(&inv).unwrap();
    let d = dir("run");
    let devs = fleet.devices();
    assert_eq!(devs[0].password, "admin", "the fleet's password, as NETRIG_INV_TEST_FLEET_PASSWORD has it");
    let mut hosts = String::new();
    for (i, dev) in devs.iter().enumerate() {
        let (name, group) = if i < 3 { (format!("sw{}", i + 1), "core") } else { ("hung".to_owned(), "edge") };
        hosts += &format!(
            "{name}:\n  port: {}\n  fingerprint: '{}'\n  groups: [{group}]\n  data: {{index: {i}}}\n",
            dev.port, dev.host_key_fingerprint
        );
    }
    let groups = "core:\n  data: {role: core}\nedge:\n  data: {role: edge}\n";
    let defaults = format!(
        "hostname: 127.0.0.1\nusername: {}\npassword: ${{env:NETRIG_INV_TEST_FLEET_PASSWORD}}\nplatform: cisco_ios\ntimeout: 5\nsecret: {}\n",
        devs[0].username,
        devs[0].secret.clone().unwrap_or_default()
    );
    let inv = load(&d, &hosts, groups, &defaults).unwrap();
    let steps = vec![Step::command("show clock").timeout(Duration::from_millis(1500))];
    let opts = RunOptions { max_workers: 4, strategy: Strategy::Free, on_failure: OnFailure::SkipHost, events: false };
    let filter = Filter::parse("name=sw* or role=edge").unwrap();
    let report = Run::run(inv.targets(Some(&filter)), steps, opts, None, None).unwrap();
    let names: Vec<&str> = report.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["sw1", "sw2", "sw3", "hung"]);
    for h in &report.hosts[..3] {
        assert_eq!(h.state, State::Ok, "{}: {:?}", h.name, h.steps[0].error);
        assert!(h.steps[0].output.contains("UTC"), "{}", h.steps[0].output);
        assert_eq!(h.data["role"], "core");
    }
    assert_eq!(report.hosts[3].state, State::TimedOut);
    assert!(
        report.hosts[3].steps[0].error.starts_with("hung step 1 (command 'show clock'): "),
        "{}",
        report.hosts[3].steps[0].error
    );
    assert_eq!(report.failed_hosts(), ["hung"]);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["hosts"][1]["name"], "sw2");
    assert_eq!(json["hosts"][1]["data"], serde_json::json!({"index": 1, "role": "core"}));
    assert_eq!(json["hosts"][3]["data"]["role"], "edge");
    // Only the core hosts.
    let core = inv.targets(Some(&Filter::group("core")));
    assert_eq!(core.iter().map(|t| t.name()).collect::<Vec<_>>(), ["sw1", "sw2", "sw3"]);
}
