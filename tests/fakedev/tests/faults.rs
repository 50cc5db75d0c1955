//! Every fault, auth method and fleet option, observed through a plain libssh2 client.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use fakedev::{Faults, Fleet, Group, Inventory, Profile};

mod common;
use common::{connect, Cli};

fn one(faults: Faults) -> Fleet {
    Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1).faults(faults))).unwrap()
}

fn reference_output(command: &str) -> String {
    let fleet = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 1).unwrap();
    let mut cli = Cli::open(&fleet.devices()[0]);
    cli.send("terminal length 0", "R1>");
    cli.send(command, "R1>")
}

#[test]
fn slow_banner_and_slow_auth() {
    let fleet = one(Faults { banner_delay_ms: 300, auth_delay_ms: 200, ..Faults::default() });
    let d = &fleet.devices()[0];
    let t = Instant::now();
    let tcp = std::net::TcpStream::connect(d.addr()).unwrap();
    let mut s = ssh2::Session::new().unwrap();
    s.set_tcp_stream(tcp);
    s.handshake().unwrap();
    let handshake = t.elapsed();
    assert!(handshake >= Duration::from_millis(300), "{handshake:?}");
    let t = Instant::now();
    s.userauth_password(&d.username, &d.password).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
}

#[test]
fn auth_that_always_fails() {
    let fleet = one(Faults { auth_always_fails: true, ..Faults::default() });
    let d = &fleet.devices()[0];
    assert!(connect(d, &d.password).is_err());
    assert_eq!(d.stats().auth_failures, 1);
}

#[test]
fn latency_per_response() {
    let fleet = one(Faults { latency_ms: 60, ..Faults::default() });
    let mut cli = Cli::open(&fleet.devices()[0]);
    let t = Instant::now();
    cli.send("show clock", "R1>");
    assert!(t.elapsed() >= Duration::from_millis(60), "{:?}", t.elapsed());
}

#[test]
fn output_in_odd_fragments_and_byte_by_byte_arrives_intact() {
    let want = reference_output("show ip interface brief");
    for fragment in [1, 7] {
        let fleet = one(Faults { fragment: Some(fragment), ..Faults::default() });
        let mut cli = Cli::open(&fleet.devices()[0]);
        cli.send("terminal length 0", "R1>");
        assert_eq!(cli.send("show ip interface brief", "R1>"), want, "fragments of {fragment}");
    }
}

#[test]
fn multibyte_utf8_split_across_packets_reassembles() {
    let want = reference_output("show interfaces description");
    assert!(want.contains("étage 2 — bâtiment Nord ✓"));
    let fleet = one(Faults { split_utf8: true, ..Faults::default() });
    let mut cli = Cli::open(&fleet.devices()[0]);
    cli.send("terminal length 0", "R1>");
    assert_eq!(cli.send("show interfaces description", "R1>"), want);
}

#[test]
fn a_hang_prints_output_then_never_a_prompt() {
    let fleet = one(Faults { hang_on: vec!["show clock".into()], ..Faults::default() });
    let mut cli = Cli::open(&fleet.devices()[0]);
    cli.channel.write_all(b"show clock\n").unwrap();
    cli.session.set_timeout(400);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let err = loop {
        match cli.channel.read(&mut buf) {
            Ok(0) => panic!("EOF instead of a hang"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    let text = String::from_utf8(got).unwrap();
    assert!(text.contains("UTC") && !text.ends_with("R1>"), "{text:?} / {err}");
    cli.channel.write_all(b"\n").unwrap();
    assert!(cli.channel.read(&mut buf).is_err(), "a hung device answers nothing");
}

#[test]
fn connection_dropped_mid_output() {
    let want = reference_output("show running-config");
    let fleet = one(Faults { drop_on: vec!["show running-config".into()], ..Faults::default() });
    let mut cli = Cli::open(&fleet.devices()[0]);
    cli.send("terminal length 0", "R1>");
    cli.channel.write_all(b"show running-config\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match cli.channel.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(!got.is_empty() && got.len() < want.len(), "{} of {} bytes", got.len(), want.len());
    assert!(!String::from_utf8_lossy(&got).ends_with("R1>"));
}

#[test]
fn ansi_escapes_in_prompts_and_output() {
    let fleet = one(Faults { ansi: true, ..Faults::default() });
    let mut cli = Cli::open_until(&fleet.devices()[0], "\x1b[0m");
    let out = cli.send("show clock", "\x1b[0m");
    assert!(out.contains("\x1b[K\r\n") && out.ends_with("\x1b[1;32mR1>\x1b[0m"), "{out:?}");
}

#[test]
fn prompt_changes_mid_session() {
    let fleet = one(Faults { prompt_change_after: Some(2), ..Faults::default() });
    let mut cli = Cli::open(&fleet.devices()[0]);
    cli.send("show clock", "R1>");
    assert!(cli.send("show clock", "R1-B>").ends_with("R1-B>"));
    assert!(cli.send("show clock", "R1-B>").ends_with("R1-B>"));
}

#[test]
fn more_sessions_than_allowed_are_refused() {
    let fleet = one(Faults { max_sessions: Some(1), ..Faults::default() });
    let d = &fleet.devices()[0];
    let _first = Cli::open(d);
    assert!(connect(d, &d.password).is_err());
    assert_eq!((d.stats().refused, d.stats().active_connections), (1, 1));
}

#[test]
fn a_different_host_key_on_reconnect() {
    let fleet = one(Faults { new_host_key_each_connection: true, ..Faults::default() });
    let d = &fleet.devices()[0];
    let first = connect(d, &d.password).unwrap().host_key_hash(ssh2::HashType::Sha256).unwrap().to_vec();
    let second = connect(d, &d.password).unwrap().host_key_hash(ssh2::HashType::Sha256).unwrap().to_vec();
    assert_ne!(first, second);
}

struct Answer(String);

impl ssh2::KeyboardInteractivePrompt for Answer {
    fn prompt<'a>(&mut self, _user: &str, _instructions: &str, prompts: &[ssh2::Prompt<'a>]) -> Vec<String> {
        prompts.iter().map(|_| self.0.clone()).collect()
    }
}

#[test]
fn keyboard_interactive_and_public_key_auth() {
    let key = russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519).unwrap();
    let public = key.public_key().to_openssh().unwrap();
    let inventory = Inventory::default().group(Group::new("cisco_ios", 1).authorized_key(&public));
    let fleet = Fleet::start_inventory(&inventory).unwrap();
    let d = &fleet.devices()[0];

    let session = || {
        let mut s = ssh2::Session::new().unwrap();
        s.set_tcp_stream(std::net::TcpStream::connect(d.addr()).unwrap());
        s.handshake().unwrap();
        s
    };
    let s = session();
    s.userauth_keyboard_interactive(&d.username, &mut Answer(d.password.clone())).unwrap();
    assert!(s.authenticated());
    let s = session();
    assert!(s.userauth_keyboard_interactive(&d.username, &mut Answer("wrong".into())).is_err());

    let dir = std::env::temp_dir().join(format!("fakedev-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("id_ed25519");
    std::fs::write(&path, key.to_openssh(russh::keys::ssh_key::LineEnding::LF).unwrap().as_bytes()).unwrap();
    let s = session();
    s.userauth_pubkey_file(&d.username, None, &path, None).unwrap();
    assert!(s.authenticated());
    let other = dir.join("other");
    let stranger = russh::keys::PrivateKey::random(&mut rand::rng(), russh::keys::Algorithm::Ed25519).unwrap();
    std::fs::write(&other, stranger.to_openssh(russh::keys::ssh_key::LineEnding::LF).unwrap().as_bytes()).unwrap();
    assert!(session().userauth_pubkey_file(&d.username, None, &other, None).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn host_key_file_keeps_the_fingerprint_across_runs() {
    let path = std::env::temp_dir().join(format!("fakedev-hostkey-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let inventory =
        Inventory { host_key: Some(path.clone()), ..Inventory::default() }.group(Group::new("cisco_ios", 2));
    let first = Fleet::start_inventory(&inventory).unwrap().devices()[0].host_key_fingerprint.clone();
    let second = Fleet::start_inventory(&inventory).unwrap().devices()[1].host_key_fingerprint.clone();
    assert_eq!(first, second);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn press_return_to_get_started() {
    let mut profile = Profile::builtin("cisco_ios").unwrap();
    profile.press_return = true;
    let fleet = Fleet::start(profile, 1).unwrap();
    let d = &fleet.devices()[0];
    let session = connect(d, &d.password).unwrap();
    let mut channel = session.channel_session().unwrap();
    channel.request_pty("vt100", None, None).unwrap();
    channel.shell().unwrap();
    let mut cli = Cli { channel, session };
    cli.read_until("Press RETURN to get started.\r\n");
    cli.channel.write_all(b"\n").unwrap();
    cli.read_until("R1>");
}

#[test]
fn inventory_file_mixes_groups_and_faults() {
    let text = r#"
        [[device]]
        profile = "cisco_ios"
        count = 3
        name = "edge"

        [[device]]
        profile = "cisco_ios"
        count = 2
        name = "slow"
        faults = { latency_ms = 20, hang_on = ["show tech-support"] }
    "#;
    let path = std::env::temp_dir().join(format!("fakedev-inventory-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let fleet = Fleet::start_inventory(&Inventory::load(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let names: Vec<&str> = fleet.devices().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["edge-0001", "edge-0002", "edge-0003", "slow-0004", "slow-0005"]);
    let json: serde_json::Value = serde_json::from_str(&fleet.inventory_json()).unwrap();
    assert_eq!(json[3]["faults"], serde_json::json!(["latency", "hang"]));
    assert_eq!(json[0]["faults"], serde_json::json!([]));
    let stats: serde_json::Value = serde_json::from_str(&fleet.stats_json()).unwrap();
    assert_eq!(stats["slow-0005"]["connections"], 0);
}

/// Starts the fakedev binary and reads the inventory it prints.
fn spawn_fakedev(
    args: &[&str],
) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>, Vec<serde_json::Value>) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fakedev"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut json = String::new();
    while json.lines().last() != Some("]") {
        assert!(out.read_line(&mut json).unwrap() > 0, "inventory ended early: {json}");
    }
    (child, out, serde_json::from_str(&json).unwrap())
}

/// The binary: prints the inventory, answers `stats`, and stops when stdin closes or on SIGTERM.
#[test]
fn the_fakedev_binary_serves_until_stdin_closes_or_a_signal() {
    use std::io::BufRead;
    let (mut child, mut out, inventory) = spawn_fakedev(&["--profile", "cisco_ios", "--count", "3"]);
    assert_eq!(inventory.len(), 3);
    let port = inventory[0]["port"].as_u64().unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_ok());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"stats\n").unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let stats: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(stats["cisco_ios-0001"]["connections"], 1);
    drop(stdin);
    wait_for_clean_exit(&mut child);

    // With stdin still open, SIGTERM stops it cleanly too.
    let (mut child, _out, inventory) = spawn_fakedev(&["--profile", "juniper_junos", "--count", "2"]);
    assert_eq!(inventory[1]["name"], "juniper_junos-0002");
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    wait_for_clean_exit(&mut child);
}

fn wait_for_clean_exit(child: &mut std::process::Child) {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "fakedev did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}
