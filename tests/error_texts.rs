//! Error texts a person can read: every failing device path the suites exercise (login refused
//! for each method, host keys, connects, timeouts, hangs, drops, exec and file transfers on a
//! closed or refusing session, the pool and the runner), driven against the fake device fleet.
//! Each text must be free of Rust `Debug` output and raw libssh2 codes, and must say what a
//! person needs: the device, what was tried and what the device answered.
//!
//! The C ABI binaries check each text they read in `support::abi::last_error`, and the Python
//! suite each text it reads in `python/tests/conftest.py`; this binary covers the Rust API.
#![cfg(feature = "ssh")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fakedev::{DeviceInfo, Faults, Fleet, Group, Inventory};
use netrig::device::{Auth, Device, DeviceOptions, HostKeyPolicy, Platform, Protocol};
use netrig::pool::{Pool, PoolOptions};
use netrig::run::{OnFailure, Run, RunOptions, State, Step, Strategy, Target};
use netrig::Error;

mod support;
use support::abi::assert_readable;

fn fleet(profile: &str, faults: Faults) -> Fleet {
    Fleet::start_inventory(&Inventory::default().group(Group::new(profile, 1).faults(faults))).unwrap()
}

fn options(d: &DeviceInfo, platform: &str) -> DeviceOptions {
    let mut o = support::options(d, platform);
    o.connect_timeout = Duration::from_secs(5);
    o.auth_timeout = Duration::from_secs(5);
    o
}

fn refusing() -> Faults {
    Faults { auth_always_fails: true, ..Faults::default() }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-error-texts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// The text of `e`, checked: readable, and containing every one of `needles`.
#[track_caller]
fn check(e: &Error, needles: &[&str]) -> String {
    let text = e.to_string();
    eprintln!("text: {text}");
    assert_readable(&text);
    for n in needles {
        assert!(text.contains(n), "error text lacks {n:?}: {text}");
    }
    text
}

fn open_err(o: &DeviceOptions) -> Error {
    match Device::open(o) {
        Ok(_) => panic!("open of {}:{} succeeded", o.host, o.port),
        Err(e) => e,
    }
}

/// A new ed25519 key pair that no device knows.
fn unknown_key(name: &str) -> PathBuf {
    let path = temp(name);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "netrig-unknown", "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen (openssh-client)");
    assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
    path
}

fn addr(d: &DeviceInfo) -> String {
    format!("device {}:{}", d.host, d.port)
}

// ---------------------------------------------------------------------------------------------
// Logins
// ---------------------------------------------------------------------------------------------

#[test]
fn a_refused_password_says_password_and_what_the_device_answered() {
    let f = fleet("cisco_ios", Faults::default());
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.auth = Auth::Password("wrong-password".into());
    let e = open_err(&o);
    assert!(matches!(e, Error::Auth(_)), "{e}");
    let text = check(&e, &[&addr(d), &format!("'{}'", d.username), "password", "refused", "the device"]);
    assert!(!text.contains("wrong-password"), "a password in an error text: {text}");

    let f = fleet("cisco_ios", refusing());
    let d = &f.devices()[0];
    let e = open_err(&options(d, "cisco_ios"));
    check(&e, &[&addr(d), "password", "refused"]);
}

#[test]
fn a_refused_password_on_a_keyboard_interactive_only_device_names_both_tries() {
    let f = fleet("cisco_ios", Faults { keyboard_interactive_only: true, ..Faults::default() });
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.auth = Auth::Password("wrong".into());
    let e = open_err(&o);
    assert!(matches!(e, Error::Auth(_)), "{e}");
    check(&e, &[&addr(d), "password", "keyboard-interactive", "refused"]);
}

#[test]
fn a_refused_keyboard_interactive_login_says_keyboard_interactive() {
    let f = fleet("cisco_ios", refusing());
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.auth = Auth::KeyboardInteractive(d.password.clone());
    let e = open_err(&o);
    assert!(matches!(e, Error::Auth(_)), "{e}");
    check(&e, &[&addr(d), "keyboard-interactive", "refused"]);
}

#[test]
fn a_refused_public_key_names_its_file() {
    let f = fleet("linux", Faults::default());
    let d = &f.devices()[0];
    let key = unknown_key("id_unknown");
    let mut o = options(d, "linux");
    o.auth = Auth::KeyFile { path: key.clone(), passphrase: None };
    let e = open_err(&o);
    assert!(matches!(e, Error::Auth(_)), "{e}");
    check(&e, &[&addr(d), &format!("public key from {}", key.display()), "refused"]);

    // The same key given in memory.
    let pem = std::fs::read_to_string(&key).unwrap();
    o.auth = Auth::KeyMemory { private_key: pem, passphrase: None };
    let e = open_err(&o);
    check(&e, &[&addr(d), "public key", "refused"]);
}

#[test]
fn a_key_file_that_cannot_be_read_says_so() {
    let f = fleet("linux", Faults::default());
    let d = &f.devices()[0];
    let missing = temp("no-such-key");
    let mut o = options(d, "linux");
    o.auth = Auth::KeyFile { path: missing.clone(), passphrase: None };
    let e = open_err(&o);
    check(&e, &[&addr(d), &missing.display().to_string()]);
}

#[test]
fn an_agent_login_says_agent() {
    // The agent is whatever SSH_AUTH_SOCK names (usually none in a test run); either way the
    // text says the agent was tried.
    let f = fleet("cisco_ios", refusing());
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.auth = Auth::Agent;
    let e = open_err(&o);
    check(&e, &[&addr(d), "agent"]);
}

#[test]
fn an_auth_answer_that_never_comes_is_a_timeout_naming_its_deadline() {
    let f = fleet("cisco_ios", Faults { auth_delay_ms: 2000, ..Faults::default() });
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.auth_timeout = Duration::from_millis(300);
    let e = open_err(&o);
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    check(&e, &[&addr(d), "300 ms"]);
}

// ---------------------------------------------------------------------------------------------
// Host keys and connects
// ---------------------------------------------------------------------------------------------

#[test]
fn host_key_refusals_show_both_fingerprints_or_the_file() {
    let f = fleet("cisco_ios", Faults::default());
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.host_key = HostKeyPolicy::Pinned("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let e = open_err(&o);
    assert!(matches!(e, Error::HostKey(_)), "{e}");
    check(&e, &[&addr(d), "HOST KEY CHANGED", &d.host_key_fingerprint, "SHA256:AAAA"]);

    let kh = temp("known_hosts");
    o.host_key = HostKeyPolicy::Strict(kh.clone());
    let e = open_err(&o);
    check(&e, &[&addr(d), &d.host_key_fingerprint, &kh.display().to_string()]);
}

#[test]
fn connect_failures_say_what_happened() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut o = DeviceOptions::new(
        "127.0.0.1",
        port,
        "admin",
        Auth::Password("x".into()),
        Platform::named("cisco_ios").unwrap(),
    );
    o.connect_timeout = Duration::from_secs(2);
    let e = open_err(&o);
    assert!(matches!(e, Error::Connect(_)), "{e}");
    check(&e, &[&format!("device 127.0.0.1:{port}"), "refused"]);

    let mut o = DeviceOptions::new(
        "no-such-host.invalid",
        22,
        "admin",
        Auth::Password("x".into()),
        Platform::named("cisco_ios").unwrap(),
    );
    o.connect_timeout = Duration::from_secs(2);
    let e = open_err(&o);
    check(&e, &["device no-such-host.invalid:22", "resolve"]);

    // A server that accepts and then closes at once (a device at its session limit).
    let f = fleet("cisco_ios", Faults { max_sessions: Some(1), ..Faults::default() });
    let d = &f.devices()[0];
    let _first = Device::open(&options(d, "cisco_ios")).unwrap();
    let e = open_err(&options(d, "cisco_ios"));
    assert!(matches!(e, Error::Connect(_) | Error::Closed(_)), "{e}");
    check(&e, &[&addr(d), "handshake"]);
}

#[test]
fn a_handshake_that_never_comes_is_a_timeout_at_open() {
    let f = fleet("cisco_ios", Faults { banner_delay_ms: 2000, ..Faults::default() });
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.connect_timeout = Duration::from_millis(300);
    let e = open_err(&o);
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    check(&e, &[&addr(d), "300 ms"]);
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

#[test]
fn a_hung_command_times_out_with_its_name_and_the_last_bytes() {
    let f = fleet("cisco_ios", Faults { hang_on: vec!["show clock".into()], ..Faults::default() });
    let d = &f.devices()[0];
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    let e = dev.send_command("show clock", Some(Duration::from_millis(300))).unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    check(&e, &[&addr(d), "show clock", "not seen within", "last bytes"]);
}

#[test]
fn a_dropped_connection_and_every_later_operation_are_closed() {
    let f = fleet("cisco_ios", Faults { drop_on: vec!["show running-config".into()], ..Faults::default() });
    let d = &f.devices()[0];
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    let e = dev.send_command("show running-config", None).unwrap_err();
    assert!(matches!(e, Error::Closed(_)), "{e}");
    check(&e, &[&addr(d), "show running-config"]);
    let e = dev.send_command("whoami", None).unwrap_err();
    check(&e, &[&addr(d), "closed"]);
    let e = dev.exec("whoami", None).unwrap_err();
    assert!(matches!(e, Error::Closed(_)), "{e}");
    check(&e, &[&addr(d), "closed"]);
    let e = dev.get_file("/etc/hostname", &temp("after-drop"), Protocol::Sftp, None, None).unwrap_err();
    check(&e, &[&addr(d), "closed"]);
}

#[test]
fn exec_and_transfers_on_a_closed_session_are_closed() {
    let f = fleet("linux", Faults::default());
    let d = &f.devices()[0];
    let dev = Device::open(&options(d, "linux")).unwrap();
    dev.close().unwrap();
    let e = dev.exec("whoami", None).unwrap_err();
    assert!(matches!(e, Error::Closed(_)), "{e}");
    check(&e, &[&addr(d), "closed"]);
    let local = temp("put-src");
    std::fs::write(&local, b"x").unwrap();
    let e = dev.put_file(&local, "/tmp/x", Protocol::Sftp, None, None).unwrap_err();
    check(&e, &[&addr(d), "closed"]);
}

#[test]
fn sftp_and_scp_failures_name_the_file_and_what_the_device_said() {
    let f = fleet("linux", Faults::default());
    let d = &f.devices()[0];
    let dev = Device::open(&options(d, "linux")).unwrap();

    let e = dev.get_file("/no/such/file", &temp("never"), Protocol::Sftp, None, None).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e}");
    check(&e, &[&addr(d), "/no/such/file", "no such file"]);

    let e = dev.put_file(&temp("no-local-file"), "/tmp/x", Protocol::Sftp, None, None).unwrap_err();
    check(&e, &[&addr(d), "no-local-file", "No such file"]);

    let local = temp("put-src-2");
    std::fs::write(&local, b"payload").unwrap();
    let e = dev.put_file(&local, "/no/such/dir/x", Protocol::Sftp, None, None).unwrap_err();
    check(&e, &[&addr(d), "/no/such/dir/x"]);

    // The fake board has no scp program: the device's own answer is quoted.
    let e = dev.get_file("/etc/hostname", &temp("scp-get"), Protocol::Scp, None, None).unwrap_err();
    check(&e, &[&addr(d), "/etc/hostname"]);
    let e = dev.put_file(&local, "/tmp/scp-put", Protocol::Scp, None, None).unwrap_err();
    check(&e, &[&addr(d), "/tmp/scp-put"]);

    let e = dev.get_file("/etc/hostname", Path::new("/no/such/dir/local"), Protocol::Sftp, None, None).unwrap_err();
    check(&e, &[&addr(d), "/no/such/dir/local"]);
}

#[test]
fn a_missing_enable_secret_and_a_rejected_config_line_say_so() {
    let f = fleet("cisco_ios", Faults::default());
    let d = &f.devices()[0];
    let mut o = options(d, "cisco_ios");
    o.secret = None;
    let dev = Device::open(&o).unwrap();
    let e = dev.enable(None).unwrap_err();
    check(&e, &[&addr(d), "secret"]);
    let mut o = options(d, "cisco_ios");
    o.secret = Some("wrong-secret".into());
    let e = open_err(&o);
    let text = check(&e, &[&addr(d), "enable secret refused"]);
    assert!(!text.contains("wrong-secret"), "a secret in an error text: {text}");
    let dev = Device::open(&options(d, "cisco_ios")).unwrap();
    let e = dev.send_config_set(&["hostname R9", "bogus command"], Default::default(), None).unwrap_err();
    check(&e, &[&addr(d), "config line 2 'bogus command'", "% Invalid input"]);
}

// ---------------------------------------------------------------------------------------------
// Pool and runner
// ---------------------------------------------------------------------------------------------

#[test]
fn pool_errors_name_the_host_and_the_cause() {
    let f = fleet("cisco_ios", refusing());
    let d = &f.devices()[0];
    let pool = Pool::new(PoolOptions { max_per_host: 1, ..PoolOptions::default() }).unwrap();
    let e = pool.checkout(&options(d, "cisco_ios"), None).err().unwrap();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    check(&e, &[&addr(d), "password", "refused"]);
    let results = pool.prewarm(&[options(d, "cisco_ios")], 1);
    check(results[0].as_ref().unwrap_err(), &[&addr(d), "password", "refused"]);

    let good = fleet("cisco_ios", Faults::default());
    let g = &good.devices()[0];
    let held = pool.checkout(&options(g, "cisco_ios"), None).unwrap();
    let e = pool.checkout(&options(g, "cisco_ios"), Some(Duration::from_millis(100))).err().unwrap();
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    check(&e, &[&g.port.to_string(), "100 ms"]);
    drop(held);
}

#[test]
fn run_reports_say_which_step_failed_and_why() {
    let bad = fleet("cisco_ios", refusing());
    let hung = fleet("cisco_ios", Faults { hang_on: vec!["show clock".into()], ..Faults::default() });
    let linux = fleet("linux", Faults::default());
    let (b, h, l) = (&bad.devices()[0], &hung.devices()[0], &linux.devices()[0]);
    let report = Run::run(
        vec![Target::from(options(b, "cisco_ios")), Target::from(options(h, "cisco_ios"))],
        vec![Step::command("show clock").timeout(Duration::from_millis(300))],
        RunOptions { max_workers: 2, strategy: Strategy::Free, on_failure: OnFailure::Continue, events: false },
        None,
        None,
    )
    .unwrap();
    let refused = &report.hosts[0];
    assert_eq!(refused.connect.state, State::Failed);
    let text = refused.connect.error.clone();
    eprintln!("text: {text}");
    assert_readable(&text);
    assert!(text.contains(&addr(b)) && text.contains("password") && text.contains("refused"), "{text}");
    let timed_out = &report.hosts[1].steps[0];
    assert_eq!(timed_out.state, State::TimedOut);
    eprintln!("text: {}", timed_out.error);
    assert_readable(&timed_out.error);
    assert!(
        timed_out.error.contains("show clock") && timed_out.error.contains("not seen within"),
        "{}",
        timed_out.error
    );
    assert_readable(&report.to_json());

    let report = Run::run(
        vec![Target::from(options(l, "linux"))],
        vec![
            Step::exec("exit 3"),
            Step::get("/no/such/file", &temp("run-get-{port}").display().to_string(), Protocol::Sftp),
        ],
        RunOptions { max_workers: 1, strategy: Strategy::Free, on_failure: OnFailure::Continue, events: false },
        None,
        None,
    )
    .unwrap();
    for s in &report.hosts[0].steps {
        eprintln!("text: {}", s.error);
        assert_eq!(s.state, State::Failed, "{}", s.error);
        assert_readable(&s.error);
    }
    assert!(report.hosts[0].steps[1].error.contains("no such file"), "{}", report.hosts[0].steps[1].error);

    let pool = Arc::new(Pool::new(PoolOptions::default()).unwrap());
    let key = netrig::pool::PoolKey::of(&options(b, "cisco_ios"));
    let report =
        Run::run(vec![Target::key(key)], vec![Step::command("show clock")], RunOptions::default(), Some(pool), None)
            .unwrap();
    let text = &report.hosts[0].connect.error;
    eprintln!("text: {text}");
    assert_readable(text);
}
