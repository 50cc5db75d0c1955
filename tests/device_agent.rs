//! Authentication through an SSH agent, against real OpenSSH. Its own test binary: the agent is
//! found through the SSH_AUTH_SOCK environment variable, which this process sets once, before any
//! other thread could read it.
#![cfg(feature = "ssh")]

use std::process::Command;
use std::time::Duration;

use fakedev::Sshd;
use netrig::device::{Auth, Device, DeviceOptions, HostKeyPolicy, Platform};

#[test]
fn agent_authentication_and_terminal_size() {
    let sshd = Sshd::start().unwrap();
    let dir = std::env::temp_dir().join(format!("netrig-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("agent.sock");
    let _ = std::fs::remove_file(&sock);
    // The key file must not be readable by others for ssh-add.
    let key = dir.join("id");
    std::fs::copy(sshd.private_key_path(), &key).unwrap();
    Command::new("chmod").arg("600").arg(&key).status().unwrap();
    let mut agent = Command::new("ssh-agent").arg("-D").arg("-a").arg(&sock).spawn().expect("ssh-agent");
    for _ in 0..200 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let added = Command::new("ssh-add").arg(&key).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(added.status.success(), "ssh-add: {}", String::from_utf8_lossy(&added.stderr));
    std::env::set_var("SSH_AUTH_SOCK", &sock);

    let mut o =
        DeviceOptions::new(sshd.host(), sshd.port(), sshd.username(), Auth::Agent, Platform::named("linux").unwrap());
    o.host_key = HostKeyPolicy::Pinned(sshd.host_key_fingerprint().to_owned());
    o.terminal = (132, 50);
    let result = Device::open(&o).and_then(|dev| {
        let whoami = dev.exec("whoami", None)?;
        let size = dev.send_command("stty size", None)?;
        Ok((whoami, size))
    });
    let _ = agent.kill();
    let _ = agent.wait();
    let (whoami, size) = result.unwrap();
    assert_eq!(whoami.stdout, b"netrig-test\n");
    assert_eq!(size.text, "50 132\n", "the PTY has the terminal size asked for");

    // An agent without the key: refused with an auth error.
    let empty_sock = dir.join("empty.sock");
    let mut empty = Command::new("ssh-agent").arg("-D").arg("-a").arg(&empty_sock).spawn().unwrap();
    for _ in 0..200 {
        if empty_sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::env::set_var("SSH_AUTH_SOCK", &empty_sock);
    let err = Device::open(&o).unwrap_err();
    let _ = empty.kill();
    let _ = empty.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(err, netrig::Error::Auth(_)), "{err}");
}
