//! The real-OpenSSH test server through a plain `ssh2` client (libssh2, the library netrig uses):
//! both login methods, exec with exit status and stderr, host-key checking and SFTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use fakedev::Sshd;

mod common;
use common::base64;

fn handshake(sshd: &Sshd) -> ssh2::Session {
    let tcp = TcpStream::connect(sshd.addr()).unwrap();
    let mut s = ssh2::Session::new().unwrap();
    s.set_tcp_stream(tcp);
    s.set_timeout(10_000);
    s.handshake().unwrap();
    s
}

fn login(sshd: &Sshd) -> ssh2::Session {
    let s = handshake(sshd);
    s.userauth_password(sshd.username(), sshd.password()).unwrap_or_else(|e| {
        panic!("password login: {e}; sshd log:\n{}", std::fs::read_to_string(sshd.log_path()).unwrap())
    });
    s
}

#[test]
fn password_login_runs_a_command_with_stdout_stderr_and_exit_status() {
    let sshd = Sshd::start().unwrap();
    assert_eq!((sshd.host(), sshd.username()), ("127.0.0.1", "netrig-test"));
    let session = login(&sshd);
    assert!(session.authenticated());

    let mut channel = session.channel_session().unwrap();
    channel.exec("echo hello; echo oops 1>&2; exit 3").unwrap();
    let mut stdout = String::new();
    channel.read_to_string(&mut stdout).unwrap();
    let mut stderr = String::new();
    channel.stderr().read_to_string(&mut stderr).unwrap();
    channel.wait_close().unwrap();
    assert_eq!((stdout.as_str(), stderr.as_str(), channel.exit_status().unwrap()), ("hello\n", "oops\n", 3));
}

#[test]
fn public_key_login_uses_the_generated_key_files() {
    let sshd = Sshd::start().unwrap();
    let session = handshake(&sshd);
    session
        .userauth_pubkey_file(sshd.username(), Some(&sshd.public_key_path()), &sshd.private_key_path(), None)
        .unwrap();
    assert!(session.authenticated());
    let mut channel = session.channel_session().unwrap();
    channel.exec("whoami").unwrap();
    let mut who = String::new();
    channel.read_to_string(&mut who).unwrap();
    assert_eq!(who, "netrig-test\n");
}

#[test]
fn host_key_matches_the_reported_fingerprint_and_known_hosts_line() {
    let sshd = Sshd::start().unwrap();
    let session = handshake(&sshd);
    let hash = session.host_key_hash(ssh2::HashType::Sha256).unwrap();
    assert_eq!(format!("SHA256:{}", base64(hash).trim_end_matches('=')), sshd.host_key_fingerprint());

    let (key, kind) = session.host_key().unwrap();
    assert!(matches!(kind, ssh2::HostKeyType::Ed25519));
    assert_eq!(sshd.known_hosts_line(), format!("[127.0.0.1]:{} ssh-ed25519 {}", sshd.port(), base64(key)));
    let mut known = session.known_hosts().unwrap();
    known.read_str(&sshd.known_hosts_line(), ssh2::KnownHostFileKind::OpenSSH).unwrap();
    assert!(matches!(known.check_port("127.0.0.1", sshd.port(), key), ssh2::CheckResult::Match));
    assert!(matches!(known.check_port("127.0.0.1", sshd.port() ^ 1, key), ssh2::CheckResult::NotFound));
}

#[test]
fn wrong_password_is_refused() {
    let sshd = Sshd::start().unwrap();
    let session = handshake(&sshd);
    assert!(session.userauth_password(sshd.username(), "not-the-password").is_err());
    assert!(!session.authenticated());
}

#[test]
fn sftp_writes_a_file_and_reads_it_back() {
    let sshd = Sshd::start().unwrap();
    let session = login(&sshd);
    let sftp = session.sftp().unwrap();
    // Relative to the shared user's home: unique per server so parallel tests do not collide.
    let name = format!("netrig-sftp-{}.txt", sshd.port());
    let path = Path::new(&name);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    sftp.create(path).unwrap().write_all(&data).unwrap();
    let mut back = Vec::new();
    sftp.open(path).unwrap().read_to_end(&mut back).unwrap();
    sftp.unlink(path).unwrap();
    assert!(back == data, "read back {} bytes, wrote {}", back.len(), data.len());
}

#[test]
fn drop_stops_the_server_and_removes_its_directory() {
    let sshd = Sshd::start().unwrap();
    let (addr, dir) = (sshd.addr(), sshd.private_key_path().parent().unwrap().to_path_buf());
    assert!(dir.join("sshd.pid").exists());
    drop(sshd);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(TcpStream::connect(addr).is_err());
}
