//! SSH sessions to devices under test (first slice of issue 4: the Rust core).
//!
//! A [`Device`] is one interactive SSH session with a CLI. Every operation holds the device's
//! lock for its whole duration (never per read or write) and runs against a deadline that is
//! enforced inside the read loop: each blocking libssh2 read waits at most [`SLICE`], after which
//! the loop checks the deadline and the cancel flag. So a silent device gives
//! [`Error::Timeout`] at the deadline (plus at most one slice), and [`Device::cancel`] from
//! another thread stops an operation within one slice.

pub mod platform;

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

pub use platform::Platform;

use crate::error::{Error, Result};

/// Longest a single blocking read waits before the loop re-checks deadline and cancel.
pub const SLICE: Duration = Duration::from_millis(25);

/// How long `open` waits for a prompt before it sends RETURN to ask for one.
const FIRST_PROMPT_PATIENCE: Duration = Duration::from_millis(1500);

/// How to prove who we are.
#[derive(Clone)]
pub enum Auth {
    Password(String),
    KeyboardInteractive(String),
    KeyFile { path: PathBuf, passphrase: Option<String> },
    KeyMemory { private_key: String, passphrase: Option<String> },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs or error messages.
        f.write_str(match self {
            Auth::Password(_) => "Password(..)",
            Auth::KeyboardInteractive(_) => "KeyboardInteractive(..)",
            Auth::KeyFile { .. } => "KeyFile(..)",
            Auth::KeyMemory { .. } => "KeyMemory(..)",
        })
    }
}

/// Which host keys to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// The key must be in this known_hosts file (the default, with ~/.ssh/known_hosts).
    Strict(PathBuf),
    /// The key's SHA-256 fingerprint must be this one ("SHA256:..." as OpenSSH prints it).
    Pinned(String),
    /// Trust and record a host's key on first use; a changed key is refused.
    AcceptNew(PathBuf),
    /// Trust any key. Named so that nobody uses it by accident.
    InsecureAcceptAny,
}

#[derive(Debug, Clone)]
pub struct DeviceOptions {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub auth: Auth,
    /// Enable secret; when set, `open` enters privileged mode.
    pub secret: Option<String>,
    pub host_key: HostKeyPolicy,
    /// TCP connect plus SSH handshake.
    pub connect_timeout: Duration,
    pub auth_timeout: Duration,
    /// Default deadline of each operation.
    pub timeout: Duration,
    pub platform: Platform,
    pub terminal: (u32, u32),
}

impl DeviceOptions {
    pub fn new(host: &str, port: u16, username: &str, auth: Auth, platform: Platform) -> DeviceOptions {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        DeviceOptions {
            host: host.into(),
            port,
            username: username.into(),
            auth,
            secret: None,
            host_key: HostKeyPolicy::Strict(home.join(".ssh/known_hosts")),
            connect_timeout: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            platform,
            terminal: (511, 24),
        }
    }
}

/// What an operation returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The command's output: echo and trailing prompt removed, ANSI escapes removed, line
    /// endings "\n", decoded as UTF-8 (invalid bytes replaced).
    pub text: String,
    pub elapsed: Duration,
}

struct Conn {
    session: ssh2::Session,
    channel: ssh2::Channel,
    /// Output received after the last prompt (kept for the next operation).
    pending: Vec<u8>,
    closed: bool,
}

/// One SSH session to a device under test. Usable from any thread (`Send + Sync`).
pub struct Device {
    name: String,
    platform: Platform,
    timeout: Duration,
    conn: Mutex<Conn>,
    cancel: AtomicBool,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("name", &self.name).field("platform", &self.platform.name).finish()
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    // ssh2's own types are Send + Sync (they lock the libssh2 session internally), so the
    // device needs no unsafe impl.
    send_sync::<ssh2::Session>();
    send_sync::<ssh2::Channel>();
    send_sync::<Device>();
};

fn fingerprint(key: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digest = Sha256::digest(key);
    let mut out = String::from("SHA256:");
    for chunk in digest.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn tail(buf: &[u8]) -> String {
    let start = buf.len().saturating_sub(80);
    format!("{:?}", String::from_utf8_lossy(&buf[start..]))
}

fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock
}

impl Device {
    /// Connects, checks the host key, authenticates, opens a shell, finds the prompt, turns
    /// paging off, sets the width, and enters enable mode when a secret is given.
    pub fn open(opts: &DeviceOptions) -> Result<Device> {
        let name = format!("device {}:{}", opts.host, opts.port);
        let conn = connect(&name, opts)?;
        let device = Device {
            name,
            platform: opts.platform.clone(),
            timeout: opts.timeout,
            conn: Mutex::new(conn),
            cancel: AtomicBool::new(false),
        };
        device.prepare(opts)?;
        Ok(device)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn prepare(&self, opts: &DeviceOptions) -> Result<()> {
        let deadline = Instant::now() + opts.timeout;
        let mut conn = self.conn.lock();
        // Most devices print a prompt when the shell starts; some wait for RETURN first. Sending
        // RETURN unconditionally would leave a second prompt behind for the next command.
        let patience = deadline.min(Instant::now() + FIRST_PROMPT_PATIENCE);
        let mut first = match self.read_until(&mut conn, patience, "the first prompt", |p, b| p.at_prompt(b)) {
            Ok(first) => first,
            Err(Error::Timeout(_)) => {
                conn.write(&self.name, b"\n")?;
                self.read_until(&mut conn, deadline, "the first prompt", |p, b| p.at_prompt(b))?
            }
            Err(e) => return Err(e),
        };
        for cmd in &self.platform.setup {
            conn.write(&self.name, format!("{cmd}\n").as_bytes())?;
            first = self.read_until(&mut conn, deadline, cmd, |p, b| p.at_prompt(b))?;
        }
        let unprivileged = self.platform.unprivileged.as_ref().is_some_and(|u| u.is_match(&first));
        if let (Some(secret), Some(enable), true) = (&opts.secret, &self.platform.enable, unprivileged) {
            conn.write(&self.name, format!("{enable}\n").as_bytes())?;
            let secret_prompt = self.platform.secret_prompt.clone();
            let asked = self.read_until(&mut conn, deadline, "the enable secret prompt", |p, b| {
                p.at_prompt(b) || secret_prompt.as_ref().is_some_and(|s| s.is_match(b))
            })?;
            if !self.platform.at_prompt(&asked) {
                conn.write(&self.name, format!("{secret}\n").as_bytes())?;
                let after = self.read_until(&mut conn, deadline, "enable mode", |p, b| p.at_prompt(b))?;
                if self.platform.unprivileged.as_ref().is_some_and(|u| u.is_match(&after)) {
                    return Err(Error::Auth(format!(
                        "{}: enable secret refused; last bytes: {}",
                        self.name,
                        tail(&after)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Reads until `done(platform, buffer)` holds, answering paging markers on the way.
    fn read_until(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        what: &str,
        done: impl Fn(&Platform, &[u8]) -> bool,
    ) -> Result<Vec<u8>> {
        let mut buf = std::mem::take(&mut conn.pending);
        let mut chunk = [0u8; 32 * 1024];
        loop {
            if done(&self.platform, &buf) {
                return Ok(buf);
            }
            if self.platform.at_more(&buf) {
                let keep = buf.len() - buf.iter().rev().take_while(|&&b| b != b'\n').count();
                buf.truncate(keep);
                conn.write(&self.name, b" ")?;
                continue;
            }
            if self.cancel.swap(false, Ordering::SeqCst) {
                return Err(Error::Cancelled(format!("{}: {what} cancelled; last bytes: {}", self.name, tail(&buf))));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout(format!(
                    "{}: no {what} within the deadline; last bytes: {}",
                    self.name,
                    tail(&buf)
                )));
            }
            let slice = (deadline - now).min(SLICE);
            conn.session.set_timeout(slice.as_millis().max(1) as u32);
            match conn.channel.read(&mut chunk) {
                Ok(0) if conn.channel.eof() => {
                    conn.closed = true;
                    return Err(Error::Closed(format!(
                        "{}: connection closed during {what}; last bytes: {}",
                        self.name,
                        tail(&buf)
                    )));
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => {
                    conn.closed = true;
                    return Err(Error::Closed(format!("{}: {e} during {what}; last bytes: {}", self.name, tail(&buf))));
                }
            }
        }
    }

    /// Sends one command and returns its output, read until the prompt comes back. The echoed
    /// command and the trailing prompt are removed; paging is answered if it appears.
    /// `timeout` defaults to the device's operation timeout.
    pub fn send_command(&self, command: &str, timeout: Option<Duration>) -> Result<Output> {
        let start = Instant::now();
        let deadline = start + timeout.unwrap_or(self.timeout);
        let conn = self.conn.try_lock_until(deadline).ok_or_else(|| {
            Error::Timeout(format!("{}: another operation held the device until the deadline", self.name))
        })?;
        self.command_locked(conn, command, start, deadline)
    }

    /// Like `send_command`, but returns `Error::Busy` at once if another operation is running.
    pub fn try_send_command(&self, command: &str, timeout: Option<Duration>) -> Result<Output> {
        let start = Instant::now();
        let conn =
            self.conn.try_lock().ok_or_else(|| Error::Busy(format!("{}: another operation is running", self.name)))?;
        self.command_locked(conn, command, start, start + timeout.unwrap_or(self.timeout))
    }

    /// The body of a command, run while holding the device lock taken by the caller, so that no
    /// other operation can slip in between taking the lock and using it.
    fn command_locked(
        &self,
        mut conn: parking_lot::MutexGuard<'_, Conn>,
        command: &str,
        start: Instant,
        deadline: Instant,
    ) -> Result<Output> {
        if conn.closed {
            return Err(Error::Closed(format!("{}: the connection is closed", self.name)));
        }
        // A cancel aimed at an earlier operation must not kill this one.
        self.cancel.store(false, Ordering::SeqCst);
        conn.write(&self.name, format!("{command}\n").as_bytes())?;
        let what = format!("prompt after '{command}'");
        let raw = self.read_until(&mut conn, deadline, &what, |p, b| p.at_prompt(b))?;
        Ok(Output { text: clean(&raw, command), elapsed: start.elapsed() })
    }

    /// Stops the operation running on this device (from any thread) within [`SLICE`]; it
    /// returns [`Error::Cancelled`] and the device stays usable. A cancel with no operation
    /// running is forgotten when the next operation starts.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Closes the session. Later operations get [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        let mut conn = self.conn.lock();
        if !conn.closed {
            conn.closed = true;
            conn.session.set_timeout(1000);
            let _ = conn.channel.close();
            let _ = conn.session.disconnect(None, "netrig closing", None);
        }
        Ok(())
    }
}

impl Conn {
    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        // Never Channel::flush: in ssh2 it is libssh2_channel_flush, which discards received data.
        self.session.set_timeout(5000);
        self.channel.write_all(bytes).map_err(|e| {
            self.closed = true;
            Error::Closed(format!("{name}: write failed: {e}"))
        })
    }
}

/// Removes the echoed command (first line), the trailing prompt (last line) and ANSI escapes,
/// normalises line endings, and decodes the whole buffer at once (so multi-byte characters
/// split across reads come out whole).
fn clean(raw: &[u8], command: &str) -> String {
    let text = platform::strip_ansi(raw);
    let text = String::from_utf8_lossy(&text).replace("\r\n", "\n").replace('\r', "");
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.first().is_some_and(|l| l.trim() == command.trim()) {
        lines.remove(0);
    }
    lines.pop();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn connect(name: &str, opts: &DeviceOptions) -> Result<Conn> {
    let addr = (opts.host.as_str(), opts.port)
        .to_socket_addrs()
        .map_err(|e| Error::Connect(format!("{name}: cannot resolve: {e}")))?
        .next()
        .ok_or_else(|| Error::Connect(format!("{name}: no address")))?;
    let start = Instant::now();
    let tcp = TcpStream::connect_timeout(&addr, opts.connect_timeout)
        .map_err(|e| Error::Connect(format!("{name}: TCP connect failed: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let mut session = ssh2::Session::new().map_err(|e| Error::Connect(format!("{name}: {e}")))?;
    session.set_tcp_stream(tcp);
    let left = opts.connect_timeout.saturating_sub(start.elapsed()).max(Duration::from_millis(1));
    session.set_timeout(left.as_millis() as u32);
    session.handshake().map_err(|e| match e.code() {
        ssh2::ErrorCode::Session(-9) => {
            Error::Timeout(format!("{name}: no SSH handshake within {} ms", opts.connect_timeout.as_millis()))
        }
        _ => Error::Connect(format!("{name}: SSH handshake failed: {e}")),
    })?;
    check_host_key(name, &session, opts)?;
    session.set_timeout(opts.auth_timeout.as_millis().max(1) as u32);
    authenticate(name, &session, opts)?;
    let mut channel = session.channel_session().map_err(|e| Error::Connect(format!("{name}: channel: {e}")))?;
    let (cols, rows) = opts.terminal;
    channel
        .request_pty("vt100", None, Some((cols, rows, 0, 0)))
        .and_then(|_| channel.shell())
        .map_err(|e| Error::Connect(format!("{name}: shell: {e}")))?;
    Ok(Conn { session, channel, pending: Vec::new(), closed: false })
}

fn check_host_key(name: &str, session: &ssh2::Session, opts: &DeviceOptions) -> Result<()> {
    let (key, _) = session.host_key().ok_or_else(|| Error::HostKey(format!("{name}: no host key")))?;
    let seen = fingerprint(key);
    let known_hosts = |path: &PathBuf, add: bool| -> Result<()> {
        let mut kh = session.known_hosts().map_err(|e| Error::HostKey(format!("{name}: {e}")))?;
        if path.exists() {
            kh.read_file(path, ssh2::KnownHostFileKind::OpenSSH)
                .map_err(|e| Error::HostKey(format!("{name}: {}: {e}", path.display())))?;
        }
        match kh.check_port(&opts.host, opts.port, key) {
            ssh2::CheckResult::Match => Ok(()),
            ssh2::CheckResult::Mismatch => {
                let known = kh
                    .iter()
                    .ok()
                    .and_then(|hosts| {
                        hosts.into_iter().find_map(|h| {
                            let host = if opts.port == 22 {
                                opts.host.clone()
                            } else {
                                format!("[{}]:{}", opts.host, opts.port)
                            };
                            (h.name() == Some(host.as_str())).then(|| h.key().to_owned())
                        })
                    })
                    .and_then(|b64| decode_base64(&b64))
                    .map(|k| fingerprint(&k))
                    .unwrap_or_else(|| "(unreadable)".into());
                Err(Error::HostKey(format!(
                    "{name}: HOST KEY CHANGED: known_hosts {} has {known}, the device presented {seen}",
                    path.display()
                )))
            }
            ssh2::CheckResult::NotFound | ssh2::CheckResult::Failure if add => {
                let host = if opts.port == 22 { opts.host.clone() } else { format!("[{}]:{}", opts.host, opts.port) };
                let (_, kind) = session.host_key().expect("checked above");
                kh.add(&host, key, "added by netrig (accept-new)", kind.into())
                    .and_then(|_| kh.write_file(path, ssh2::KnownHostFileKind::OpenSSH))
                    .map_err(|e| Error::HostKey(format!("{name}: recording the key in {}: {e}", path.display())))
            }
            _ => Err(Error::HostKey(format!(
                "{name}: host key {seen} is not in {} (strict host key checking)",
                path.display()
            ))),
        }
    };
    match &opts.host_key {
        HostKeyPolicy::InsecureAcceptAny => Ok(()),
        HostKeyPolicy::Pinned(want) if *want == seen => Ok(()),
        HostKeyPolicy::Pinned(want) => {
            Err(Error::HostKey(format!("{name}: HOST KEY CHANGED: pinned {want}, the device presented {seen}")))
        }
        HostKeyPolicy::Strict(path) => known_hosts(path, false),
        HostKeyPolicy::AcceptNew(path) => known_hosts(path, true),
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        acc = acc << 6 | val(c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

struct Answer<'a>(&'a str);

impl ssh2::KeyboardInteractivePrompt for Answer<'_> {
    fn prompt<'b>(&mut self, _user: &str, _instructions: &str, prompts: &[ssh2::Prompt<'b>]) -> Vec<String> {
        prompts.iter().map(|_| self.0.to_owned()).collect()
    }
}

fn authenticate(name: &str, session: &ssh2::Session, opts: &DeviceOptions) -> Result<()> {
    let user = opts.username.as_str();
    let result = match &opts.auth {
        Auth::Password(p) => session.userauth_password(user, p),
        Auth::KeyboardInteractive(p) => session.userauth_keyboard_interactive(user, &mut Answer(p)),
        Auth::KeyFile { path, passphrase } => session.userauth_pubkey_file(user, None, path, passphrase.as_deref()),
        Auth::KeyMemory { private_key, passphrase } => {
            session.userauth_pubkey_memory(user, None, private_key, passphrase.as_deref())
        }
    };
    match result {
        Ok(()) if session.authenticated() => Ok(()),
        Ok(()) => Err(Error::Auth(format!("{name}: authentication as '{user}' incomplete"))),
        Err(e) if e.code() == ssh2::ErrorCode::Session(-9) => {
            Err(Error::Timeout(format!("{name}: no authentication answer within {} ms", opts.auth_timeout.as_millis())))
        }
        Err(e) => Err(Error::Auth(format!("{name}: authentication as '{user}' with {:?} refused: {e}", opts.auth))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_echo_prompt_and_ansi() {
        let raw = b"show clock\r\n\x1b[K*10:42 UTC\r\nline two\r\n\x1b[1;32mR1#\x1b[0m";
        assert_eq!(clean(raw, "show clock"), "*10:42 UTC\nline two\n");
        assert_eq!(clean(b"terminal length 0\r\nR1#", "terminal length 0"), "");
    }

    #[test]
    fn fingerprints_and_base64() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert!(fingerprint(b"x").starts_with("SHA256:"));
        assert!(!fingerprint(b"x").ends_with('='));
    }
}
