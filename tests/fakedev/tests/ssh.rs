//! The fake devices through a plain `ssh2` client (libssh2, the library netrig uses): proves the
//! fake speaks real SSH that libssh2 accepts, and measures how fast one device answers.

use std::io::Write;
use std::time::{Duration, Instant};

use fakedev::{Fleet, Profile};

mod common;
use common::{base64, connect, Cli};

fn ios_fleet(count: usize) -> Fleet {
    Fleet::start(Profile::builtin("cisco_ios").unwrap(), count).unwrap()
}

#[test]
fn libssh2_logs_in_changes_modes_and_reads_output() {
    let fleet = ios_fleet(2);
    let d = &fleet.devices()[1];
    assert_eq!(d.profile, "cisco_ios");

    let session = connect(d, &d.password).unwrap();
    let hash = session.host_key_hash(ssh2::HashType::Sha256).unwrap();
    assert_eq!(format!("SHA256:{}", base64(hash).trim_end_matches('=')), d.host_key_fingerprint);
    drop(session);

    let mut cli = Cli::open(d);
    assert!(cli.send("enable", "Password: ").ends_with("Password: "));
    cli.send(d.secret.as_deref().unwrap(), "R1#");
    let paged = cli.send("show version", " --More-- ");
    assert!(paged.contains("Cisco IOS Software"));
    cli.channel.write_all(b"q").unwrap();
    cli.read_until("R1#");
    cli.send("terminal length 0", "R1#");
    let out = cli.send("show version", "R1#");
    assert!(out.contains("Configuration register is 0x2102\r\nR1#"));
    cli.send("configure terminal", "R1(config)#");
    cli.send("hostname CORE-9", "CORE-9(config)#");
    cli.send("end", "CORE-9#");
    let big = cli.send("show tech-support", "CORE-9#");
    assert!(big.len() > 2_000_000, "{}", big.len());

    let stats = d.stats();
    assert_eq!((stats.connections, stats.sessions), (2, 1), "{stats:?}");
    assert_eq!(fleet.devices()[0].stats().connections, 0);
}

#[test]
fn wrong_password_is_refused_and_counted() {
    let fleet = ios_fleet(1);
    let d = &fleet.devices()[0];
    assert!(connect(d, "not-the-password").is_err());
    assert_eq!(d.stats().auth_failures, 1);
}

#[test]
fn inventory_lists_every_device_once() {
    let fleet = ios_fleet(5);
    let inventory: Vec<serde_json::Value> = serde_json::from_str(&fleet.inventory_json()).unwrap();
    assert_eq!(inventory.len(), 5);
    let mut ports: Vec<u64> = inventory.iter().map(|d| d["port"].as_u64().unwrap()).collect();
    ports.dedup();
    assert_eq!(ports.len(), 5);
    for key in ["name", "host", "port", "profile", "username", "password", "host_key_fingerprint"] {
        assert!(inventory[0].get(key).is_some(), "inventory lacks {key}");
    }
}

/// 1000 devices in one process start in a few seconds on this 2-core machine, and a sample of
/// them answers. The start-up time is printed; the bound is only a hang guard.
#[test]
fn a_thousand_devices_start_and_answer() {
    let t = Instant::now();
    let fleet = ios_fleet(1000);
    let started = t.elapsed();
    eprintln!("fakedev: 1000 devices started in {started:?}");
    assert!(started < Duration::from_secs(30));
    for d in fleet.devices().iter().step_by(100) {
        let mut cli = Cli::open(d);
        assert!(cli.send("show clock", "R1>").contains("UTC"));
    }
}

/// One device answers a short command well under a millisecond (printed, not asserted: this
/// is a report, timings on a shared 2-core machine vary).
#[test]
fn one_device_answers_a_short_command_quickly() {
    let fleet = ios_fleet(1);
    let mut cli = Cli::open(&fleet.devices()[0]);
    cli.send("terminal length 0", "R1>");
    const N: u32 = 300;
    let t = Instant::now();
    for _ in 0..N {
        assert!(cli.send("show clock", "R1>").contains("UTC"));
    }
    let per = t.elapsed() / N;
    eprintln!("fakedev: {per:?} per short command through libssh2 (round trip, {N} commands)");
}

#[test]
fn arista_and_junos_through_libssh2() {
    let inventory = fakedev::Inventory::default()
        .group(fakedev::Group::new("arista_eos", 1))
        .group(fakedev::Group::new("juniper_junos", 1));
    let fleet = Fleet::start_inventory(&inventory).unwrap();
    let eos = fleet.device("arista_eos-0001").unwrap();
    let mut cli = Cli::open(eos);
    cli.send("enable", "Password: ");
    cli.send(eos.secret.as_deref().unwrap(), "leaf1#");
    cli.send("configure", "leaf1(config)#");
    cli.send("end", "leaf1#");

    let junos = fleet.device("juniper_junos-0002").unwrap();
    let mut cli = Cli::open_until(junos, "admin@mx1> ");
    cli.send("configure", "[edit]\r\nadmin@mx1# ");
    assert!(cli.send("commit", "admin@mx1# ").contains("commit complete"));
    cli.send("exit", "admin@mx1> ");
}
