//! netrig's device sessions against real SSH servers: the fake device fleet (tests/fakedev).
#![cfg(feature = "ssh")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakedev::{Faults, Fleet, Group, Inventory, Profile};
use netrig::device::{Auth, Device, HostKeyPolicy};
use netrig::Error;

mod support;
use support::options;

fn fleet(profile: &str, faults: Faults) -> Fleet {
    Fleet::start_inventory(&Inventory::default().group(Group::new(profile, 1).faults(faults))).unwrap()
}

#[test]
fn open_prepares_the_session_and_commands_come_back_clean() {
    let f = fleet("cisco_ios", Faults { ansi: true, ..Faults::default() });
    let d = &f.devices()[0];
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    let out = dev.send_command("show version", None).unwrap();
    assert!(out.text.starts_with("Cisco IOS Software"), "{:?}", &out.text[..80]);
    assert!(out.text.ends_with("Configuration register is 0x2102\n"), "echo and prompt are stripped");
    assert!(!out.text.contains('\r') && !out.text.contains('\x1b') && !out.text.contains("--More--"));
    let big = dev.send_command("show tech-support", None).unwrap();
    assert_eq!(big.text.lines().count(), 20000, "paging was turned off by open");
    // Enable mode was entered with the secret: a privileged-only command works.
    assert!(dev.send_command("show clock", None).unwrap().text.contains("UTC"));
    dev.close().unwrap();
    assert!(matches!(dev.send_command("show clock", None), Err(Error::Closed(_))));
}

#[test]
fn paging_is_answered_when_it_appears() {
    let f = fleet("cisco_ios", Faults::default());
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.platform.paging_off.clear(); // leave paging on
    let dev = Device::open(&o).unwrap();
    let out = dev.send_command("show tech-support", Some(Duration::from_secs(20))).unwrap();
    assert_eq!(out.text.lines().count(), 20000);
    assert!(!out.text.contains("More"));
}

#[test]
fn a_silent_device_times_out_at_the_deadline_with_the_last_bytes() {
    let f = fleet("cisco_ios", Faults { hang_on: vec!["show clock".into()], ..Faults::default() });
    let dev = Device::open(&options(&f.devices()[0], "cisco_ios")).unwrap();
    let t = Instant::now();
    let err = dev.send_command("show clock", Some(Duration::from_millis(500))).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(&err, Error::Timeout(m) if m.contains("UTC") && m.contains("device 127.0.0.1:")), "{err}");
    // Never early; late only by what a loaded 2-core machine adds (the device never answers).
    assert!(took >= Duration::from_millis(500) && took <= Duration::from_millis(500 + 1000), "{took:?}");
}

#[test]
fn cancel_from_another_thread_stops_a_blocked_operation_quickly() {
    let f = fleet("cisco_ios", Faults { hang_on: vec!["show clock".into()], ..Faults::default() });
    let d = f.devices()[0].clone();
    let dev = Arc::new(Device::open(&options(&d, "cisco_ios")).unwrap());
    let other = dev.clone();
    let t = Instant::now();
    let base = d.stats().commands;
    let canceller = std::thread::spawn(move || {
        // Cancel once the device has the command, so the cancel hits the running operation.
        wait_for_commands(&d, base + 1);
        other.cancel();
        Instant::now()
    });
    let err = dev.send_command("show clock", Some(Duration::from_secs(10))).unwrap_err();
    let cancelled_at = canceller.join().unwrap();
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    // The docs promise 100 ms; the rest is room for a loaded machine (against a 10 s deadline).
    assert!(cancelled_at.elapsed() < Duration::from_millis(1000), "returned {:?} after cancel", cancelled_at.elapsed());
    assert!(t.elapsed() < Duration::from_secs(3));
    // A stale cancel does not hit the next operation.
    dev.cancel();
    let f2 = fleet("cisco_ios", Faults::default());
    let fresh = Device::open(&options(&f2.devices()[0], "cisco_ios")).unwrap();
    fresh.cancel();
    assert!(fresh.send_command("show clock", None).unwrap().text.contains("UTC"));
}

#[test]
fn one_operation_at_a_time_and_try_gives_busy() {
    let f = fleet("cisco_ios", Faults { latency_ms: 300, ..Faults::default() });
    let d = &f.devices()[0];
    let dev = Arc::new(Device::open(&options(d, "cisco_ios")).unwrap());
    let other = dev.clone();
    let base = d.stats().commands;
    let slow = std::thread::spawn(move || other.send_command("show clock", None));
    // The device has the slow command and answers it 300 ms later: it is running now.
    wait_for_commands(d, base + 1);
    let r = dev.try_send_command("show clock", None);
    assert!(matches!(&r, Err(Error::Busy(_))), "{r:?}");
    let waited = dev.send_command("show ip interface brief", None).unwrap();
    assert!(waited.text.contains("GigabitEthernet0/0"), "the waiting caller got its own output");
    assert!(slow.join().unwrap().unwrap().text.contains("UTC"));
}

#[test]
fn a_dropped_connection_is_closed_not_hung() {
    let f = fleet("cisco_ios", Faults { drop_on: vec!["show running-config".into()], ..Faults::default() });
    let dev = Device::open(&options(&f.devices()[0], "cisco_ios")).unwrap();
    let err = dev.send_command("show running-config", None).unwrap_err();
    assert!(matches!(err, Error::Closed(_)), "{err}");
    assert!(matches!(dev.send_command("show clock", None), Err(Error::Closed(_))));
}

#[test]
fn host_key_policies() {
    let f = fleet("cisco_ios", Faults::default());
    let d = f.devices()[0].clone();
    let d = &d;
    let mut o = options(d, "cisco_ios");
    o.host_key = HostKeyPolicy::Pinned("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let err = Device::open(&o).unwrap_err();
    assert!(
        matches!(&err, Error::HostKey(m) if m.contains(&d.host_key_fingerprint) && m.contains("SHA256:AAAA")),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("netrig-kh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kh = dir.join("known_hosts");
    o.host_key = HostKeyPolicy::Strict(kh.clone());
    assert!(matches!(Device::open(&o), Err(Error::HostKey(_))), "strict refuses an unknown key");
    o.host_key = HostKeyPolicy::AcceptNew(kh.clone());
    Device::open(&o).unwrap();
    o.host_key = HostKeyPolicy::Strict(kh.clone());
    Device::open(&o).unwrap();

    // The same address later presents another key: refused, with both fingerprints.
    drop(f);
    let f2 = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 1).unwrap();
    let d2 = &f2.devices()[0];
    let text = std::fs::read_to_string(&kh).unwrap().replace(&format!("]:{} ", d.port), &format!("]:{} ", d2.port));
    std::fs::write(&kh, text).unwrap();
    let mut o2 = options(d2, "cisco_ios");
    o2.host_key = HostKeyPolicy::Strict(kh.clone());
    let err = Device::open(&o2).unwrap_err();
    assert!(
        matches!(&err, Error::HostKey(m) if m.contains("HOST KEY CHANGED") && m.contains(&d.host_key_fingerprint) && m.contains(&d2.host_key_fingerprint)),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn auth_failures_and_slow_handshakes_have_their_own_errors() {
    let f = fleet("cisco_ios", Faults::default());
    let mut o = options(&f.devices()[0], "cisco_ios");
    o.auth = Auth::Password("wrong".into());
    let err = Device::open(&o).unwrap_err();
    assert!(matches!(&err, Error::Auth(m) if !m.contains("wrong")), "no password in messages: {err}");

    let slow = fleet("cisco_ios", Faults { banner_delay_ms: 2000, ..Faults::default() });
    let mut o = options(&slow.devices()[0], "cisco_ios");
    o.connect_timeout = Duration::from_millis(300);
    let t = Instant::now();
    assert!(matches!(Device::open(&o), Err(Error::Timeout(_))));
    // At the 300 ms connect timeout, not at the banner 2 s later.
    assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
}

#[test]
fn junos_arista_and_linux_prompts() {
    let inv = Inventory::default()
        .group(Group::new("juniper_junos", 1))
        .group(Group::new("arista_eos", 1))
        .group(Group::new("linux", 1));
    let f = Fleet::start_inventory(&inv).unwrap();
    let junos = Device::open(&options(&f.devices()[0], "juniper_junos")).unwrap();
    assert!(junos.send_command("show version", None).unwrap().text.starts_with("Hostname: mx1\n"));
    let eos = Device::open(&options(&f.devices()[1], "arista_eos")).unwrap();
    assert!(eos.send_command("show version", None).unwrap().text.contains("4.28.3M"));
    let linux = Device::open(&options(&f.devices()[2], "linux")).unwrap();
    assert_eq!(linux.send_command("echo hello", None).unwrap().text, "hello\n");
}

/// Waits until the fake device has received `n` command lines in all.
fn wait_for_commands(d: &fakedev::DeviceInfo, n: u64) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while d.stats().commands < n {
        assert!(Instant::now() < give_up, "the device never received command {n}");
        std::thread::sleep(Duration::from_micros(200));
    }
}
