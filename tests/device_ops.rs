//! Every device operation against the fake device fleet (real SSH on loopback): expect
//! patterns, timing mode, dialogues, modes, configuration sets with error detection and Junos
//! commits, saving, is_alive, exec, SFTP transfers and the session log.
#![cfg(feature = "ssh")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fakedev::{Faults, Fleet, Group, Inventory};
use netrig::device::{Auth, Commit, ConfigOptions, Device, Protocol};
use netrig::Error;

mod support;
use support::options;

fn open(profile: &str, platform: &str) -> (Fleet, Device) {
    let fleet = Fleet::start_inventory(&Inventory::default().group(Group::new(profile, 1))).unwrap();
    let dev = Device::open(&options(&fleet.devices()[0], platform)).unwrap();
    (fleet, dev)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn expect_pattern_timing_and_dialogues() {
    let (_f, dev) = open("cisco_ios", "cisco_ios");
    // The command stops at a question, not at a prompt: the expect pattern ends the read.
    let out = dev.send_command_expect("copy running-config startup-config", r"Destination filename", None).unwrap();
    assert_eq!(out.text, "Destination filename [startup-config]? \n");
    let out = dev.send_command_expect("", r"\[yes/no\]: $", None).unwrap();
    assert!(out.text.contains("Overwrite the existing startup-config?"), "{:?}", out.text);
    let out = dev.send_command("y", None).unwrap();
    assert!(out.text.contains("[OK]"), "{:?}", out.text);

    // The same dialogue in one call.
    let steps = [("copy running-config startup-config", r"filename \[.*\]\? $"), ("", r"\[yes/no\]: $"), ("y", "")];
    let out = dev.send_interactive(&steps, None).unwrap();
    assert!(out.text.contains("Destination filename") && out.text.ends_with("[OK]\n"), "{:?}", out.text);
    // A question never answered ends at the deadline with the question in the message.
    let err = dev.send_interactive(&[("write memory", r"never")], Some(Duration::from_millis(300))).unwrap_err();
    assert!(matches!(&err, Error::Timeout(m) if m.contains("[confirm]")), "{err}");
    assert!(dev.send_command("", None).is_ok(), "the device answers again after the abandoned question");

    // Timing mode: waits for a quiet period, not for a pattern.
    let t = Instant::now();
    let out = dev.send_command_timing("show version", Duration::from_millis(150), None).unwrap();
    assert!(out.text.starts_with("Cisco IOS Software") && out.text.contains("Configuration register"));
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert!(dev.send_command_expect("show clock", "(", None).is_err_and(|e| matches!(e, Error::InvalidArg(_))));
}

#[test]
fn modes_enable_config_and_save_on_ios() {
    let fleet = Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1))).unwrap();
    let d = &fleet.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.secret = None; // open stays in user mode
    let dev = Device::open(&o).unwrap();
    let err = dev.send_command("write memory", None).unwrap_err();
    let refused = err.output().map(|o| o.text.as_str()).unwrap_or_default();
    assert!(refused.contains("Invalid input"), "write memory needs enable: {err}");
    assert!(matches!(dev.enable(None), Err(Error::Auth(m)) if m.contains("none was given")));
    let out = dev.send_command("show version", None).unwrap();
    assert!(
        out.text.starts_with("Cisco IOS Software"),
        "an unanswered enable leaves the device usable: {:?}",
        out.text
    );
    drop(dev);

    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    dev.exit_enable(None).unwrap();
    let err = dev.send_command("write memory", None).unwrap_err();
    assert!(err.to_string().contains("Invalid input"), "{err}");
    dev.enable(None).unwrap();
    dev.config_mode(None).unwrap();
    dev.config_mode(None).unwrap(); // already there: nothing sent
    dev.exit_config_mode(None).unwrap();
    dev.exit_config_mode(None).unwrap();
    let saved = dev.save_config(None).unwrap();
    assert!(saved.text.contains("[OK]"), "{:?}", saved.text);
    // From config mode, save leaves it first.
    dev.config_mode(None).unwrap();
    assert!(dev.save_config(None).unwrap().text.contains("[OK]"));

    let mut wrong = options(d, "cisco_ios");
    wrong.secret = Some("not-the-secret".into());
    assert!(matches!(Device::open(&wrong), Err(Error::Auth(m)) if m.contains("enable secret refused")));
}

#[test]
fn config_sets_report_the_failing_line_and_leave_config_mode() {
    let (_f, dev) = open("cisco_ios", "cisco_ios");
    let out = dev.send_config_set(&["interface Gi0/1", "description uplink", "exit"], ConfigOptions::default(), None);
    let out = out.unwrap();
    assert!(out.text.starts_with("interface Gi0/1\n"), "{:?}", out.text);
    assert!(dev.send_command("show clock", None).unwrap().text.contains("UTC"), "config mode was left");

    let err = dev
        .send_config_set(&["hostname R7", "bogus command", "hostname R8"], ConfigOptions::default(), None)
        .unwrap_err();
    assert_eq!(err.status(), netrig::netrig_status::NETRIG_E_COMMAND);
    assert!(
        matches!(&err, Error::CommandFailed(f) if f.message.contains("config line 2 'bogus command'") && f.message.contains("% Invalid input")),
        "{err}"
    );
    // The set stopped at the failing line (hostname R8 never ran), and config mode was left.
    let out = dev.send_command("show version", None).unwrap();
    assert!(out.text.contains("R7 uptime"), "{:?}", out.text);

    // Staying in config mode when asked.
    let stay = ConfigOptions { exit: false, ..ConfigOptions::default() };
    dev.send_config_set(&["hostname R9"], stay, None).unwrap();
    // Still in config mode: a config command is taken, and config mode's prompt ends it.
    let out = dev.send_command_expect("hostname R10", r"R10\(config\)#", Some(Duration::from_secs(5))).unwrap();
    assert!(!out.text.contains("Invalid input"), "{:?}", out.text);
    dev.exit_config_mode(None).unwrap();
    assert!(dev.send_command("show version", None).unwrap().text.contains("R10 uptime"), "config mode was left");
    assert!(matches!(
        dev.send_config_set(&["x"], ConfigOptions { commit: Commit::Commit, ..ConfigOptions::default() }, None),
        Err(Error::InvalidArg(m)) if m.contains("no commit")
    ));
}

#[test]
fn junos_configure_commit_and_commit_check() {
    let (_f, dev) = open("juniper_junos", "juniper_junos");
    let check = ConfigOptions { commit: Commit::Check, ..ConfigOptions::default() };
    let out = dev.send_config_set(&["set system host-name mx2"], check, None).unwrap();
    assert!(out.text.contains("configuration check succeeds"), "{:?}", out.text);
    let commit = ConfigOptions { commit: Commit::Commit, ..ConfigOptions::default() };
    let out = dev.send_config_set(&["set system host-name mx3"], commit, None).unwrap();
    assert!(out.text.contains("commit complete"), "{:?}", out.text);
    assert!(dev.send_command("show version", None).unwrap().text.contains("Hostname: mx3"));
    let err = dev.send_config_set(&["set system host-name mx4", "bogus stanza"], commit, None).unwrap_err();
    assert!(
        matches!(&err, Error::CommandFailed(f) if f.message.contains("config line 2 'bogus stanza'") && f.message.contains("syntax error"))
    );
    // The failed set left configuration mode: an operational command answers at the > prompt.
    assert!(dev.send_command("show version", None).unwrap().text.contains("Hostname: mx4"));
    assert!(dev.save_config(None).unwrap().text.contains("commit complete"));
}

#[test]
fn is_alive_is_a_real_round_trip() {
    let fleet = Fleet::start_inventory(&Inventory::default().group(
        Group::new("cisco_ios", 1).faults(Faults { drop_on: vec!["show tech-support".into()], ..Faults::default() }),
    ))
    .unwrap();
    let dev = Device::open(&options(&fleet.devices()[0], "cisco_ios")).unwrap();
    assert!(dev.is_alive(None).unwrap());
    let r = dev.send_command("show tech-support", None);
    assert!(matches!(&r, Err(Error::Closed(_))), "{r:?}");
    let t = Instant::now();
    assert!(!dev.is_alive(Some(Duration::from_millis(500))).unwrap());
    // Within its 500 ms timeout, with room for a loaded machine.
    assert!(t.elapsed() < Duration::from_millis(500 + 1000), "{:?}", t.elapsed());
}

#[test]
fn exec_and_sftp_on_a_linux_board() {
    let (_f, dev) = open("linux", "linux");
    let out = dev.exec("echo out; echo err >&2; exit 3", None).unwrap();
    assert_eq!((out.stdout.as_slice(), out.stderr.as_slice(), out.exit_status), (&b"out\n"[..], &b"err\n"[..], 3));
    let out = dev.exec("frobnicate", None).unwrap();
    assert_eq!(out.exit_status, 127);
    // The shell session is unaffected by exec channels.
    assert!(dev.send_command("whoami", None).unwrap().text.contains("admin"));

    let data: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i * 7 % 251) as u8).collect();
    let local = temp("firmware.bin");
    std::fs::write(&local, &data).unwrap();
    // The fake board speaks SFTP (SCP is tested against real OpenSSH in device_sshd.rs).
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let t = dev.put_file(&local, "/tmp/fw.bin", Protocol::Sftp, Some(&mut progress), None).unwrap();
    assert_eq!(t.bytes, data.len() as u64);
    assert_eq!(calls.last(), Some(&(data.len() as u64, data.len() as u64)));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows");
    assert_eq!(dev.exec("cat /tmp/fw.bin", None).unwrap().stdout, data, "the board has the file");
    let back = temp("back.bin");
    let t = dev.get_file("/tmp/fw.bin", &back, Protocol::Sftp, None, None).unwrap();
    assert_eq!(t.bytes, data.len() as u64);
    assert_eq!(std::fs::read(&back).unwrap(), data);

    // Errors: a missing local file, a missing remote file, a cancel from the progress callback.
    let missing = dev.put_file(&temp("nope"), "/tmp/x", Protocol::Sftp, None, None).unwrap_err();
    assert!(matches!(&missing, Error::Io(m) if m.contains("nope")), "{missing}");
    let local_back = temp("never.bin");
    let err = dev.get_file("/no/such/file", &local_back, Protocol::Sftp, None, None).unwrap_err();
    assert!(matches!(&err, Error::Io(m) if m.contains("/no/such/file")), "{err}");
    assert!(!local_back.exists() && !PathBuf::from(format!("{}.part", local_back.display())).exists());
    let mut stop = |done: u64, _| done < 512 * 1024;
    let err = dev.get_file("/tmp/fw.bin", &local_back, Protocol::Sftp, Some(&mut stop), None).unwrap_err();
    assert!(matches!(&err, Error::Cancelled(m) if m.contains("progress callback")), "{err}");
    assert!(!local_back.exists(), "a cancelled get leaves no file under the real name");
    assert!(dev.send_command("pwd", None).unwrap().text.starts_with('/'), "the shell still answers");
}

#[test]
fn the_session_log_has_the_session_but_no_secret() {
    let fleet = Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1))).unwrap();
    let d = &fleet.devices()[0];
    let log = temp("session.log");
    let mut o = options(d, "cisco_ios");
    o.session_log = Some(log.clone());
    let dev = Device::open(&o).unwrap();
    dev.send_command("show clock", None).unwrap();
    // The password is "admin": the device's "administratively down" is not a password.
    assert_eq!(d.password, "admin");
    let brief = dev.send_command("show ip interface brief", None).unwrap();
    assert!(brief.text.contains("administratively down"));
    dev.exit_enable(None).unwrap();
    dev.enable(None).unwrap();
    dev.close().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("show clock") && text.contains("UTC") && text.contains("terminal length 0"), "{text}");
    let secret = d.secret.as_deref().unwrap();
    assert!(!text.contains(secret), "the enable secret is in the log:\n{text}");
    // Only what netrig sent as a secret is redacted (open's enable and the one after
    // exit_enable), never the device's output.
    assert_eq!(text.matches("********").count(), 2, "{text}");
    assert!(text.contains("YES NVRAM  administratively down down"), "device output is logged as it came:\n{text}");
}

#[test]
fn a_password_reaches_a_keyboard_interactive_only_device() {
    let only_kbd = Faults { keyboard_interactive_only: true, ..Faults::default() };
    let fleet =
        Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1).faults(only_kbd))).unwrap();
    let d = &fleet.devices()[0];
    // The password method is refused by the device; the same password answers its
    // keyboard-interactive prompt instead.
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    assert!(dev.send_command("show version", None).unwrap().text.starts_with("Cisco IOS Software"));
    let mut wrong = options(d, "cisco_ios");
    wrong.auth = Auth::Password("wrong".into());
    assert!(matches!(Device::open(&wrong), Err(Error::Auth(_))));
}
