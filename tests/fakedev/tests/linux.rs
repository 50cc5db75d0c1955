//! A fake Linux board through a plain `ssh2` client (libssh2, the library netrig uses): exec
//! channels keep stdout, stderr and the exit status apart, and SFTP moves files that exec
//! commands then see.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use fakedev::{DeviceInfo, Fleet, Profile};

/// The smallest profile a Linux board needs; exec and SFTP need nothing more than its name.
const LINUX_TOML: &str = r#"
name = "linux"
hostname = "board1"
username = "admin"
password = "admin"
invalid = "-sh: command not found\r\n"

[prompts]
user = "{host}:~$ "

[paging]
more = ""
default_length = 0
length_command = "terminal length"
width_command = "terminal width"
"#;

fn linux_fleet(count: usize) -> Fleet {
    Fleet::start(Profile::from_toml(LINUX_TOML).unwrap(), count).unwrap()
}

fn connect(d: &DeviceInfo) -> ssh2::Session {
    common::connect(d, &d.password).unwrap()
}

/// stdout, stderr and exit status of one exec channel.
fn exec_bytes(s: &ssh2::Session, command: &str) -> (Vec<u8>, Vec<u8>, i32) {
    let mut ch = s.channel_session().unwrap();
    ch.exec(command).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    ch.read_to_end(&mut out).unwrap();
    ch.stderr().read_to_end(&mut err).unwrap();
    ch.wait_close().unwrap();
    (out, err, ch.exit_status().unwrap())
}

fn exec(s: &ssh2::Session, command: &str) -> (String, String, i32) {
    let (out, err, status) = exec_bytes(s, command);
    (String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap(), status)
}

/// Pseudo-random bytes, so that a misplaced or repeated chunk cannot pass.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn exec_keeps_stdout_stderr_and_status_apart() {
    let fleet = linux_fleet(1);
    let d = &fleet.devices()[0];
    let s = connect(d);

    assert_eq!(exec(&s, "echo out; echo err >&2; exit 3"), ("out\n".into(), "err\n".into(), 3));
    assert_eq!(exec(&s, "printf 'a\\nb'"), ("a\nb".into(), "".into(), 0));
    assert_eq!(exec(&s, "true"), ("".into(), "".into(), 0));
    assert_eq!(exec(&s, "false"), ("".into(), "".into(), 1));
    assert_eq!(exec(&s, "hostname; whoami"), ("board1\nadmin\n".into(), "".into(), 0));
    assert!(exec(&s, "uname -a").0.starts_with("Linux board1 "));
    assert_eq!(exec(&s, "cat /no/such/file"), ("".into(), "cat: /no/such/file: No such file or directory\n".into(), 1));
    assert_eq!(d.stats().commands, 7);
}

#[test]
fn unknown_command_exits_127() {
    let fleet = linux_fleet(1);
    let s = connect(&fleet.devices()[0]);
    assert_eq!(exec(&s, "frobnicate --now"), ("".into(), "sh: 1: frobnicate: not found\n".into(), 127));
    assert_eq!(
        exec(&s, "frobnicate; echo still here"),
        ("still here\n".into(), "sh: 1: frobnicate: not found\n".into(), 0)
    );
}

#[test]
fn sftp_put_get_stat_readdir_remove() {
    let fleet = linux_fleet(1);
    let s = connect(&fleet.devices()[0]);
    let sftp = s.sftp().unwrap();
    let data = pattern(3 * 1024 * 1024);

    let t = Instant::now();
    let mut f = sftp.create(Path::new("big.bin")).unwrap();
    f.write_all(&data).unwrap();
    drop(f);
    let put = t.elapsed();

    let t = Instant::now();
    let mut back = Vec::new();
    sftp.open(Path::new("/home/admin/big.bin")).unwrap().read_to_end(&mut back).unwrap();
    let get = t.elapsed();
    eprintln!("fakedev: SFTP 3 MiB put in {put:?}, get in {get:?}");
    assert!(back == data, "got {} bytes back, not the {} put", back.len(), data.len());

    let stat = sftp.stat(Path::new("/home/admin/big.bin")).unwrap();
    assert_eq!(stat.size, Some(data.len() as u64));
    assert!(stat.is_file());
    assert!(sftp.stat(Path::new("/home/admin")).unwrap().is_dir());

    let names: Vec<String> = sftp
        .readdir(Path::new("/home/admin"))
        .unwrap()
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["big.bin"]);

    sftp.mkdir(Path::new("sub"), 0o755).unwrap();
    sftp.rename(Path::new("big.bin"), Path::new("sub/moved.bin"), None).unwrap();
    assert_eq!(sftp.stat(Path::new("sub/moved.bin")).unwrap().size, Some(data.len() as u64));
    sftp.unlink(Path::new("sub/moved.bin")).unwrap();
    sftp.rmdir(Path::new("sub")).unwrap();

    let missing = sftp.stat(Path::new("big.bin")).unwrap_err();
    assert_eq!(missing.code(), ssh2::ErrorCode::SFTP(2), "{missing}");
    assert!(sftp.open(Path::new("/home/admin/nope")).is_err());
    assert!(sftp.readdir(Path::new("/home/admin")).unwrap().is_empty());
}

#[test]
fn exec_sees_files_written_over_sftp_on_another_connection() {
    let fleet = linux_fleet(2);
    let d = &fleet.devices()[0];
    let data = pattern(3 * 1024 * 1024);
    {
        let s = connect(d);
        let sftp = s.sftp().unwrap();
        sftp.create(Path::new("notes.txt")).unwrap().write_all(b"written over sftp\n").unwrap();
        sftp.create(Path::new("/tmp/big.bin")).unwrap().write_all(&data).unwrap();
    }

    let s = connect(d);
    assert_eq!(exec(&s, "cat notes.txt"), ("written over sftp\n".into(), "".into(), 0));
    assert_eq!(exec(&s, "ls; ls /tmp"), ("notes.txt\nbig.bin\n".into(), "".into(), 0));
    let (out, err, status) = exec_bytes(&s, "cat /tmp/big.bin");
    assert!(out == data && err.is_empty() && status == 0, "{} bytes, status {status}", out.len());

    assert_eq!(exec(&s, "echo from exec > made.txt && rm notes.txt"), ("".into(), "".into(), 0));
    let sftp = s.sftp().unwrap();
    let mut made = String::new();
    sftp.open(Path::new("made.txt")).unwrap().read_to_string(&mut made).unwrap();
    assert_eq!(made, "from exec\n");
    assert!(sftp.stat(Path::new("notes.txt")).is_err());

    // Each device has its own files.
    let other = connect(&fleet.devices()[1]);
    assert_eq!(exec(&other, "ls"), ("".into(), "".into(), 0));
}

struct AnyHostKey;

impl russh::client::Handler for AnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// OpenSSH's sftp-server exits with status 0 when the client closes its end, and OpenSSH's
/// `scp` (SFTP mode) fails without that status. libssh2 reports 0 when no status came at all,
/// so this looks at the channel's messages with russh's client.
#[test]
fn sftp_channel_ends_with_exit_status_0() {
    let fleet = linux_fleet(1);
    let d = fleet.devices()[0].clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let messages = rt.block_on(async move {
        let config = std::sync::Arc::new(russh::client::Config::default());
        let mut ssh = russh::client::connect(config, d.addr(), AnyHostKey).await.unwrap();
        assert!(ssh.authenticate_password(&d.username, &d.password).await.unwrap().success());
        let mut ch = ssh.channel_open_session().await.unwrap();
        ch.request_subsystem(true, "sftp").await.unwrap();
        ch.eof().await.unwrap();
        let mut messages = Vec::new();
        let wait = async {
            while let Some(msg) = ch.wait().await {
                messages.push(format!("{msg:?}"));
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait).await.expect("channel closes");
        messages
    });
    assert!(messages.iter().any(|m| m == "Success"), "{messages:?}");
    assert!(messages.iter().any(|m| m == "ExitStatus { exit_status: 0 }"), "{messages:?}");
}

#[test]
fn unknown_subsystem_is_refused() {
    let fleet = linux_fleet(1);
    let s = connect(&fleet.devices()[0]);
    assert!(s.channel_session().unwrap().subsystem("netconf").is_err());
}

#[test]
fn network_devices_refuse_exec_and_sftp() {
    let fleet = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 1).unwrap();
    let s = connect(&fleet.devices()[0]);
    assert!(s.channel_session().unwrap().exec("show version").is_err());
    assert!(s.sftp().is_err());
}

#[test]
fn builtin_linux_profile_has_a_user_at_host_shell_backed_by_the_same_files() {
    let fleet = Fleet::start(Profile::builtin("linux").unwrap(), 1).unwrap();
    let d = &fleet.devices()[0];
    let (out, _, status) = exec_bytes(&connect(d), "echo hello > /tmp/note; cat /tmp/note");
    assert_eq!((out, status), (b"hello\n".to_vec(), 0));
    let mut cli = common::Cli::open_until(d, "admin@board1:~$ ");
    assert!(cli.send("cat /tmp/note", "$ ").contains("hello\r\nadmin@board1:~$ "));
    assert!(cli.send("uptime", "$ ").contains("load average"));
    assert!(cli.send("frobnicate", "$ ").contains("not found"));
}
