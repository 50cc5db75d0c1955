//! A real OpenSSH `sshd` on a free loopback port, for netrig's Linux-target tests: netrig must
//! work against the server most Linux devices under test actually run, not only against the
//! fake devices.
//!
//! Each [`Sshd`] owns a private directory (its own `sshd_config`, host key, a client key pair,
//! `authorized_keys`, pid and log files) and the `sshd -D` child process. Dropping it, also while
//! a test panics, stops the server and removes the directory. The system's `/etc/ssh` config and
//! ssh service are never used.
//!
//! Needs root and `/usr/sbin/sshd` (`scripts/setup.sh --test` installs openssh-server; a missing
//! sshd is an error naming that script, never an install at test time), and logs in as the
//! dedicated user `netrig-test` (created on first use) rather than root, because a device's
//! operator account is an ordinary user and sshd treats root logins specially.
//!
//! ```no_run
//! let sshd = fakedev::sshd::Sshd::start().unwrap();
//! println!("ssh -p {} {}@{} (password {})", sshd.port(), sshd.username(), sshd.host(), sshd.password());
//! ```

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{env, fs, thread};

const SSHD: &str = "/usr/sbin/sshd";
/// Debian's compiled-in privilege-separation directory.
const PRIVSEP_DIR: &str = "/run/sshd";
const USER: &str = "netrig-test";
/// Fixed rather than random: every instance, in this and in other test processes, shares the one
/// system user, so a per-instance password would break the others' logins.
const PASSWORD: &str = "netrig-test-Pw1";
const HOST: &str = "127.0.0.1";
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const DIR_PREFIX: &str = "netrig-sshd-";

/// A running `sshd` that accepts `username()` with `password()` or with the key at
/// `private_key_path()`.
pub struct Sshd {
    // Declared before `dir` so the server is stopped before its directory is removed.
    _server: Server,
    dir: TempDir,
    port: u16,
    host_key_fingerprint: String,
    host_public_key: String,
}

impl Sshd {
    /// Starts a new server on a free port and waits until it sends its SSH banner.
    pub fn start() -> io::Result<Sshd> {
        ensure_root()?;
        ensure_installed()?;
        ensure_user()?;
        ensure_privsep_dir()?;
        reap_stale_instances();
        let dir = TempDir::new()?;
        let d = &dir.0;
        keygen(&[(&d.join("host_ed25519_key"), "netrig-sshd host"), (&d.join("id_ed25519"), "netrig-test")])?;
        let client_public = fs::read_to_string(d.join("id_ed25519.pub"))?;
        fs::write(d.join("authorized_keys"), &client_public)?;
        // sshd reads authorized_keys as the logged-in user, not as root.
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
        fs::set_permissions(d.join("authorized_keys"), fs::Permissions::from_mode(0o644))?;

        let host_public_key = fs::read_to_string(d.join("host_ed25519_key.pub"))?
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let host_key_fingerprint = fingerprint(&d.join("host_ed25519_key.pub"))?;

        // The free port is released before sshd binds it, so another process (or another Sshd in
        // this one) can take it in between; sshd then exits and we try another port.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            fs::write(d.join("sshd_config"), config(d, port))?;
            let log = fs::File::create(d.join("sshd.log"))?;
            let child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .map_err(|e| io::Error::other(format!("sshd: cannot run {SSHD}: {e}")))?;
            let mut server = Server(child);
            match wait_ready(&mut server.0, d, port) {
                Ok(()) => {
                    return Ok(Sshd { _server: server, dir, port, host_key_fingerprint, host_public_key });
                }
                Err(Failure::PortTaken(e)) => last_error = e,
                Err(Failure::Fatal(e)) => return Err(io::Error::other(e)),
            }
        }
        Err(io::Error::other(format!("sshd: no free port after 5 attempts; last: {last_error}")))
    }

    pub fn host(&self) -> &str {
        HOST
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, for `TcpStream::connect`.
    pub fn addr(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    pub fn username(&self) -> &str {
        USER
    }

    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// The client's ed25519 private key (OpenSSH format, no passphrase), authorized for `username()`.
    pub fn private_key_path(&self) -> PathBuf {
        self.dir.0.join("id_ed25519")
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.dir.0.join("id_ed25519.pub")
    }

    /// `SHA256:...` as printed by `ssh-keygen -lf` and by ssh on first connect.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.host_key_fingerprint
    }

    /// `[127.0.0.1]:PORT ssh-ed25519 AAAA...`, a known_hosts line that trusts this server.
    pub fn known_hosts_line(&self) -> String {
        format!("[{HOST}]:{} {}", self.port, self.host_public_key)
    }

    /// sshd's own log (`LogLevel VERBOSE`): read it when a login fails for an unclear reason.
    pub fn log_path(&self) -> PathBuf {
        self.dir.0.join("sshd.log")
    }
}

/// The sshd child; stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

/// SIGTERM (sshd removes its pid file and closes its listener), then SIGKILL after 2 s.
/// Connections already accepted live in their own processes and end when their client hangs up.
fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let termed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if termed {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `<temp>/netrig-sshd-<owner pid>-<n>-<nanos>`; the owner pid lets a later run clean up after a
/// test process that was killed before it could drop its servers.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> io::Result<TempDir> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        loop {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let name = format!("{DIR_PREFIX}{}-{}-{nanos:x}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
            let path = env::temp_dir().join(name);
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(context(e, &format!("sshd: cannot create {}", path.display()))),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Stops the servers and removes the directories of test processes that no longer exist (killed
/// by a CI timeout, say), once per process.
fn reap_stale_instances() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Ok(entries) = fs::read_dir(env::temp_dir()) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name
                .to_str()
                .and_then(|n| n.strip_prefix(DIR_PREFIX))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            let Some(owner) = owner else { continue };
            if Path::new(&format!("/proc/{owner}")).exists() {
                continue;
            }
            let dir = entry.path();
            if let Ok(pid) = fs::read_to_string(dir.join("sshd.pid")) {
                let pid = pid.trim();
                let ours = fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                    let config = dir.join("sshd_config");
                    String::from_utf8_lossy(&cmdline).contains(&*config.to_string_lossy())
                });
                if ours {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = fs::remove_dir_all(&dir);
        }
    });
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let penalties = if supports_per_source_penalties(dir) {
        // OpenSSH 9.8+ would lock 127.0.0.1 out for a while after a test's deliberate failed login.
        "PerSourcePenalties no\n"
    } else {
        ""
    };
    format!(
        "# Written by fakedev::sshd for one test server; /etc/ssh is not read.
ListenAddress {HOST}
Port {port}
HostKey {d}/host_ed25519_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
AllowUsers {USER}
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
# PAM's session modules (pam_loginuid, pam_systemd) fail in containers; without PAM sshd checks
# the password against /etc/shadow itself.
UsePAM no
# authorized_keys sits under the world-writable temp dir, which StrictModes rejects.
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
# Tests and benchmarks open many connections at once.
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp internal-sftp
LogLevel VERBOSE
{penalties}"
    )
}

fn supports_per_source_penalties(dir: &Path) -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let probe = dir.join("probe_config");
        let text = format!("HostKey {}\nPerSourcePenalties no\n", dir.join("host_ed25519_key").display());
        let supported = fs::write(&probe, text).is_ok()
            && Command::new(SSHD).arg("-t").arg("-f").arg(&probe).output().is_ok_and(|o| o.status.success());
        let _ = fs::remove_file(&probe);
        supported
    })
}

enum Failure {
    PortTaken(String),
    Fatal(String),
}

/// Waits for sshd's own "Server listening" log line (a banner alone could come from another
/// server that took the port), then for its `SSH-2.0-` banner.
fn wait_ready(child: &mut Child, dir: &Path, port: u16) -> Result<(), Failure> {
    let log_path = dir.join("sshd.log");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("Server listening on") {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let message = format!("sshd on port {port} exited ({status}) before listening; log: {}", tail(&log));
            return Err(if log.contains("Address already in use") || log.contains("Cannot bind any address") {
                Failure::PortTaken(message)
            } else {
                Failure::Fatal(message)
            });
        }
        if Instant::now() > deadline {
            return Err(Failure::Fatal(format!(
                "sshd on port {port} not listening within {} s; log: {}",
                READY_TIMEOUT.as_secs(),
                tail(&log)
            )));
        }
        thread::sleep(Duration::from_millis(5));
    }
    read_banner(port, deadline).map_err(|e| {
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        Failure::Fatal(format!("sshd on port {port}: no SSH banner: {e}; log: {}", tail(&log)))
    })
}

fn read_banner(port: u16, deadline: Instant) -> io::Result<()> {
    let remaining = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let mut tcp = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), remaining())?;
    let mut banner = Vec::new();
    let mut buf = [0u8; 256];
    while !banner.contains(&b'\n') && banner.len() < 1024 {
        tcp.set_read_timeout(Some(remaining()))?;
        let n = match tcp.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            n => n?,
        };
        if n == 0 {
            break;
        }
        banner.extend_from_slice(&buf[..n]);
    }
    if banner.starts_with(b"SSH-2.0-") {
        Ok(())
    } else {
        Err(io::Error::other(format!("got {:?}", String::from_utf8_lossy(&banner))))
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((HOST, 0)).map_err(|e| context(e, "sshd: cannot bind 127.0.0.1:0"))?;
    Ok(listener.local_addr()?.port())
}

/// The last lines of a log, on one line, for error messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(8)..].join(" | ");
    if tail.is_empty() {
        "(empty)".into()
    } else {
        tail
    }
}

/// Generates ed25519 key pairs without passphrase, in parallel.
fn keygen(keys: &[(&Path, &str)]) -> io::Result<()> {
    let children = keys
        .iter()
        .map(|(path, comment)| {
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| context(e, "sshd: cannot run ssh-keygen (package openssh-client)"))
        })
        .collect::<io::Result<Vec<_>>>()?;
    for (child, (path, _)) in children.into_iter().zip(keys) {
        check(child.wait_with_output()?, &format!("ssh-keygen -f {}", path.display()))?;
    }
    Ok(())
}

/// `SHA256:...` from `ssh-keygen -lf`, whose output is `256 SHA256:... comment (ED25519)`.
fn fingerprint(public_key: &Path) -> io::Result<String> {
    let out = check(Command::new("ssh-keygen").arg("-lf").arg(public_key).output()?, "ssh-keygen -lf")?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .filter(|f| f.starts_with("SHA256:"))
        .map(String::from)
        .ok_or_else(|| io::Error::other(format!("ssh-keygen -lf {}: unexpected output", public_key.display())))
}

/// Everything here needs root: creating the user, and an sshd that checks
/// passwords against /etc/shadow and switches to the user after login.
fn ensure_root() -> io::Result<()> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1));
    match euid {
        Some("0") => Ok(()),
        Some(uid) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("sshd: a test sshd needs root (useradd, password login); running as uid {uid}"),
        )),
        None => Err(io::Error::other("sshd: cannot read the effective uid from /proc/self/status")),
    }
}

/// The tests never install anything: `scripts/setup.sh --test` (run by `make test`) installs
/// openssh-server with everything else, so a machine that cannot fails there, early and clearly.
fn ensure_installed() -> io::Result<()> {
    if Path::new(SSHD).exists() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("sshd: {SSHD} is missing; run scripts/setup.sh --test (it installs openssh-server), or install OpenSSH server"),
    ))
}

/// sshd refuses to start without its privilege-separation directory, which the init system
/// normally creates at boot (it lives on the /run tmpfs).
fn ensure_privsep_dir() -> io::Result<()> {
    let dir = Path::new(PRIVSEP_DIR);
    if !dir.is_dir() {
        fs::create_dir_all(dir).map_err(|e| context(e, &format!("sshd: cannot create {PRIVSEP_DIR}")))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Creates the login user if missing and sets its password, once per process.
fn ensure_user() -> io::Result<()> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let exists = || Command::new("id").arg("-u").arg(USER).output().is_ok_and(|o| o.status.success());
            if !exists() {
                let created = Command::new("useradd")
                    .args(["--create-home", "--shell", "/bin/bash", "--comment", "netrig test login", USER])
                    .output()
                    .map_err(|e| format!("sshd: cannot run useradd: {e}"))?;
                // Another test process may have created it meanwhile.
                if !exists() {
                    check(created, &format!("useradd {USER} (needs root)")).map_err(|e| format!("sshd: {e}"))?;
                }
            }
            // chpasswd fails while another process holds the shadow lock.
            let mut attempts = 0;
            loop {
                match chpasswd() {
                    Ok(()) => return Ok(()),
                    Err(e) if e.contains("lock") && attempts < 10 => attempts += 1,
                    Err(e) => return Err(format!("sshd: cannot set the password of {USER}: {e}")),
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
        .clone()
        .map_err(io::Error::other)
}

fn chpasswd() -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("chpasswd: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
        .map_err(|e| format!("chpasswd: {e}"))?;
    check(child.wait_with_output().map_err(|e| format!("chpasswd: {e}"))?, "chpasswd")
        .map(drop)
        .map_err(|e| e.to_string())
}

fn check(out: Output, what: &str) -> io::Result<Output> {
    if out.status.success() {
        return Ok(out);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = if stderr.trim().is_empty() { stdout } else { stderr };
    Err(io::Error::other(format!("{what} failed ({}): {}", out.status, tail(&text))))
}

fn context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}
