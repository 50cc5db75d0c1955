//! netrig's device sessions against real OpenSSH (fakedev::Sshd starts sshd on a loopback port):
//! the linux platform's shell, exec, SFTP and SCP transfers, key authentication and the host key
//! policies with real known_hosts files.
#![cfg(feature = "ssh")]

use std::path::PathBuf;
use std::time::Duration;

use fakedev::Sshd;
use netrig::device::{Auth, Device, DeviceOptions, HostKeyPolicy, Platform, Protocol};
use netrig::Error;

fn options(sshd: &Sshd, auth: Auth) -> DeviceOptions {
    let mut o = DeviceOptions::new(sshd.host(), sshd.port(), sshd.username(), auth, Platform::named("linux").unwrap());
    o.host_key = HostKeyPolicy::Pinned(sshd.host_key_fingerprint().to_owned());
    o.timeout = Duration::from_secs(10);
    o
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-sshd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn open(sshd: &Sshd, o: &DeviceOptions) -> Device {
    Device::open(o).unwrap_or_else(|e| {
        panic!("open: {e}; sshd log:\n{}", std::fs::read_to_string(sshd.log_path()).unwrap_or_default())
    })
}

#[test]
fn shell_and_exec_on_real_openssh() {
    let sshd = Sshd::start().unwrap();
    let dev = open(&sshd, &options(&sshd, Auth::Password(sshd.password().into())));
    let out = dev.send_command("echo hello from $USER", None).unwrap();
    assert_eq!(out.text, "hello from netrig-test\n");
    let out = dev.send_command("printf 'caf\\303\\251 \\342\\234\\223\\n'", None).unwrap();
    assert_eq!(out.text, "café ✓\n");
    let out = dev.exec("echo out; echo err >&2; exit 7", None).unwrap();
    assert_eq!((out.stdout, out.stderr, out.exit_status), (b"out\n".to_vec(), b"err\n".to_vec(), 7));
    // A big stderr and stdout at once: neither stream blocks the other.
    let out =
        dev.exec("head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o", None).unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len(), out.exit_status), (3_000_000, 3_000_000, 0));
    assert!(out.stdout.iter().all(|&b| b == b'o') && out.stderr.iter().all(|&b| b == b'e'));
    let t = std::time::Instant::now();
    let err = dev.exec("sleep 5", Some(Duration::from_millis(400))).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    // At the 400 ms deadline (not after the 5 s sleep), with room for a loaded machine.
    assert!(t.elapsed() < Duration::from_millis(400 + 1000), "{:?}", t.elapsed());
    assert!(dev.is_alive(None).unwrap(), "the session survives an exec timeout");
}

#[test]
fn sftp_and_scp_transfers_with_size_checks() {
    let sshd = Sshd::start().unwrap();
    let dev = open(&sshd, &options(&sshd, Auth::Password(sshd.password().into())));
    let data: Vec<u8> = (0..2 * 1024 * 1024 + 5).map(|i| (i * 13 % 256) as u8).collect();
    let local = temp("image.bin");
    std::fs::write(&local, &data).unwrap();
    for (protocol, remote) in [(Protocol::Sftp, "/tmp/netrig-sftp.bin"), (Protocol::Scp, "/tmp/netrig-scp.bin")] {
        let mut last = (0, 0);
        let mut progress = |d: u64, t: u64| {
            last = (d, t);
            true
        };
        let put = dev.put_file(&local, remote, protocol, Some(&mut progress), None).unwrap();
        assert_eq!(put.bytes, data.len() as u64, "{protocol:?}");
        assert_eq!(last, (data.len() as u64, data.len() as u64));
        let size = dev.exec(&format!("stat -c %s {remote}"), None).unwrap().stdout;
        assert_eq!(String::from_utf8(size).unwrap().trim(), data.len().to_string(), "{protocol:?}");
        let back = temp(&format!("back-{protocol:?}.bin"));
        let got = dev.get_file(remote, &back, protocol, None, None).unwrap();
        assert_eq!(got.bytes, data.len() as u64);
        assert_eq!(std::fs::read(&back).unwrap(), data, "{protocol:?}");
        dev.exec(&format!("rm -f {remote}"), None).unwrap();
        let err = dev.get_file(remote, &back, protocol, None, None).unwrap_err();
        assert!(matches!(&err, Error::Io(m) if m.contains(remote)), "{protocol:?}: {err}");
    }
    let err = dev.put_file(&local, "/root/forbidden.bin", Protocol::Sftp, None, None).unwrap_err();
    assert!(matches!(&err, Error::Io(_)), "{err}");
    assert!(dev.send_command("true", None).is_ok(), "the session is usable after failed transfers");
}

#[test]
fn key_authentication_from_file_and_memory() {
    let sshd = Sshd::start().unwrap();
    let key = Auth::KeyFile { path: sshd.private_key_path(), passphrase: None };
    let dev = open(&sshd, &options(&sshd, key));
    assert_eq!(dev.exec("whoami", None).unwrap().stdout, b"netrig-test\n");
    let pem = std::fs::read_to_string(sshd.private_key_path()).unwrap();
    let dev = open(&sshd, &options(&sshd, Auth::KeyMemory { private_key: pem, passphrase: None }));
    assert_eq!(dev.exec("whoami", None).unwrap().stdout, b"netrig-test\n");
    let wrong = Auth::Password("wrong".into());
    assert!(matches!(Device::open(&options(&sshd, wrong)), Err(Error::Auth(m)) if !m.contains("wrong")));
}

#[test]
fn host_key_policies_with_real_known_hosts_files() {
    let sshd = Sshd::start().unwrap();
    let auth = || Auth::Password(sshd.password().into());
    // Strict: unknown host refused, then trusted once the line is in known_hosts.
    let kh = temp("known_hosts");
    let mut o = options(&sshd, auth());
    o.host_key = HostKeyPolicy::Strict(kh.clone());
    assert!(matches!(Device::open(&o), Err(Error::HostKey(m)) if m.contains(sshd.host_key_fingerprint())));
    std::fs::write(&kh, format!("{}\n", sshd.known_hosts_line())).unwrap();
    open(&sshd, &o);
    // Accept-new records the key, then holds the server to it.
    let kh2 = temp("known_hosts_new");
    o.host_key = HostKeyPolicy::AcceptNew(kh2.clone());
    open(&sshd, &o);
    assert!(std::fs::read_to_string(&kh2).unwrap().contains(&format!("[127.0.0.1]:{}", sshd.port())));
    open(&sshd, &o);
    // Another server's key under the same name: changed, with both fingerprints.
    let other = Sshd::start().unwrap();
    let forged = format!("[127.0.0.1]:{} {}", sshd.port(), other.known_hosts_line().split_once(' ').unwrap().1);
    let kh3 = temp("known_hosts_changed");
    std::fs::write(&kh3, format!("{forged}\n")).unwrap();
    o.host_key = HostKeyPolicy::Strict(kh3);
    let err = Device::open(&o).unwrap_err();
    assert!(
        matches!(&err, Error::HostKey(m) if m.contains("CHANGED") && m.contains(sshd.host_key_fingerprint())
            && m.contains(other.host_key_fingerprint())),
        "{err}"
    );
    o.host_key = HostKeyPolicy::Pinned(other.host_key_fingerprint().into());
    assert!(matches!(Device::open(&o), Err(Error::HostKey(_))));
    o.host_key = HostKeyPolicy::InsecureAcceptAny;
    open(&sshd, &o);
}
