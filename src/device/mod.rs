//! SSH sessions to devices under test.
//!
//! A [`Device`] is one interactive SSH session with a CLI. Every operation holds the device's
//! lock for its whole duration (never per read or write) and runs against a deadline that is
//! enforced inside the read loop: each blocking libssh2 read waits at most [`SLICE`], after which
//! the loop checks the deadline and the cancel flag. So a silent device gives
//! [`Error::Timeout`] at the deadline (plus at most one slice), and [`Device::cancel`] from
//! another thread stops an operation within one slice.

mod connect;
mod files;
mod log;
pub mod platform;
mod ssh_text;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use regex::bytes::Regex;
use zeroize::{Zeroize, Zeroizing};

pub use files::{Protocol, Transfer};

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
    KeyFile {
        path: PathBuf,
        passphrase: Option<String>,
    },
    KeyMemory {
        private_key: String,
        passphrase: Option<String>,
    },
    /// Keys held by the SSH agent of SSH_AUTH_SOCK.
    Agent,
}

impl Drop for Auth {
    fn drop(&mut self) {
        // Passwords, keys and passphrases do not outlive their use in memory.
        match self {
            Auth::Password(p) | Auth::KeyboardInteractive(p) => p.zeroize(),
            Auth::KeyFile { passphrase, .. } => passphrase.zeroize(),
            Auth::KeyMemory { private_key, passphrase } => {
                private_key.zeroize();
                passphrase.zeroize();
            }
            Auth::Agent => {}
        }
    }
}

impl Auth {
    /// The secrets this method holds, for redaction in the session log.
    fn secrets(&self) -> Vec<Zeroizing<String>> {
        let mut out = Vec::new();
        match self {
            Auth::Password(p) | Auth::KeyboardInteractive(p) => out.push(Zeroizing::new(p.clone())),
            Auth::KeyFile { passphrase, .. } | Auth::KeyMemory { passphrase, .. } => {
                out.extend(passphrase.iter().map(|p| Zeroizing::new(p.clone())))
            }
            Auth::Agent => {}
        }
        out
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs or error messages.
        f.write_str(match self {
            Auth::Password(_) => "Password(..)",
            Auth::KeyboardInteractive(_) => "KeyboardInteractive(..)",
            Auth::KeyFile { .. } => "KeyFile(..)",
            Auth::KeyMemory { .. } => "KeyMemory(..)",
            Auth::Agent => "Agent",
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
    /// Enable secret; when set, `open` enters privileged mode. Wiped from memory on drop.
    pub secret: Option<String>,
    pub host_key: HostKeyPolicy,
    /// TCP connect plus SSH handshake.
    pub connect_timeout: Duration,
    pub auth_timeout: Duration,
    /// Default deadline of each operation.
    pub timeout: Duration,
    /// SSH keepalive interval while an operation waits on the device; `None` sends none.
    pub keepalive: Option<Duration>,
    pub platform: Platform,
    /// Columns and rows of the PTY.
    pub terminal: (u32, u32),
    /// Append a transcript of the session to this file (secrets redacted).
    pub session_log: Option<PathBuf>,
}

impl Drop for DeviceOptions {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
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
            keepalive: Some(Duration::from_secs(30)),
            platform,
            terminal: (511, 24),
            session_log: None,
        }
    }
}

/// What a CLI operation returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The command's output: echo and trailing prompt removed, ANSI escapes removed, line
    /// endings "\n", decoded as UTF-8 (invalid bytes replaced).
    pub text: String,
    pub elapsed: Duration,
}

/// What `exec` returns: the streams as bytes, separately, and the exit status.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The command's exit status (-1 when the server sent none).
    pub exit_status: i32,
    pub elapsed: Duration,
}

/// Whether `send_config_set` commits (Junos-style platforms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Commit {
    #[default]
    No,
    /// `commit check`: validate without activating.
    Check,
    /// `commit`.
    Commit,
}

/// How `send_config_set` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigOptions {
    /// Leave configuration mode at the end (also after an error).
    pub exit: bool,
    pub commit: Commit,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions { exit: true, commit: Commit::No }
    }
}

/// The bytes of the connection, owned by the device's lock.
pub(crate) struct Conn {
    session: ssh2::Session,
    channel: ssh2::Channel,
    /// The session's socket (libssh2 holds the other reference), shut down when the device is
    /// dropped so that libssh2 can free the session without waiting for the device.
    tcp: Arc<std::net::TcpStream>,
    closed: bool,
    /// An operation ended early (timeout, cancel): its late output may still arrive, so the
    /// next line sent skips to its own echo.
    dirty: bool,
    /// Bytes received but not yet part of an operation's result.
    pending: Vec<u8>,
    /// Prompts the device still owes for lines whose operation gave up waiting: they are read
    /// (and dropped) before the next line is sent.
    owed: u32,
    /// The last prompt line seen (ANSI-free): tells the mode the CLI is in.
    prompt: Vec<u8>,
    log: Option<log::SessionLog>,
    /// The read buffer, kept between operations instead of allocating and zeroing 64 KiB for
    /// every command.
    chunk: Box<[u8]>,
}

/// One SSH session to a device under test. Usable from any thread (`Send + Sync`).
pub struct Device {
    name: String,
    platform: Platform,
    timeout: Duration,
    secret: Option<Zeroizing<String>>,
    conn: Mutex<Conn>,
    cancel: AtomicBool,
    /// Set by [`Device::retire`]: operations still queued for the lock give up when they get it.
    retired: AtomicBool,
    /// An operation ended in a timeout, a cancel, a lost connection or a transfer I/O error: the
    /// session's state is uncertain, so a pool discards it instead of handing it on.
    broken: AtomicBool,
    /// A cancel flag shared with others (a parallel run): while it is set, every operation on
    /// this device stops as if cancelled. Unlike [`Device::cancel`] it is never cleared by the
    /// device, so a flag raised just before an operation starts still stops it.
    linked: RwLock<Option<Arc<AtomicBool>>>,
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
    send_sync::<ssh2::Sftp>();
    send_sync::<Device>();
};

fn tail(buf: &[u8]) -> String {
    let start = buf.len().saturating_sub(80);
    format!("{:?}", String::from_utf8_lossy(&buf[start..]))
}

fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock
}

fn pattern(what: &str, p: &str) -> Result<Regex> {
    Regex::new(p).map_err(|e| Error::InvalidArg(format!("{what} '{p}' is not a valid pattern: {e}")))
}

/// A prompt that asks for something secret: the answer is redacted in the session log.
fn asks_secret(buf: &[u8]) -> bool {
    static SECRET: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    SECRET
        .get_or_init(|| Regex::new(r"(?i)(password|passphrase|secret)[^\n]*:\s*$").expect("pattern compiles"))
        .is_match(&Platform::last_line(buf))
}

/// Matches `re` against the bytes that arrived since the last call (plus an overlap), so that a
/// long output is scanned once, not once per chunk.
fn tail_matcher(re: &Regex) -> impl FnMut(&Platform, &[u8]) -> Done + '_ {
    let mut from = 0usize;
    move |_, buf| {
        let start = from.saturating_sub(256).min(buf.len());
        from = buf.len();
        if re.is_match(&platform::strip_ansi(&buf[start..])) {
            Done::Yes
        } else {
            Done::No
        }
    }
}

/// What a read is waiting for, as judged on the bytes so far.
enum Done {
    No,
    Yes,
    /// Done if nothing more arrives for this long.
    IfQuiet(Duration),
}

/// How long a prompt-shaped line of an unfamiliar name must stand with nothing after it before
/// it is taken as the prompt.
const PROMPT_GRACE: Duration = Duration::from_millis(50);

/// Milliseconds for libssh2, rounded up so that a wait never ends before the deadline.
fn ceil_ms(d: Duration) -> u32 {
    d.as_micros().div_ceil(1000).clamp(1, u32::MAX as u128) as u32
}

/// The host part of a prompt line ("R1" of "R1(config)#", "admin@mx1" of "admin@mx1> ",
/// "admin@board1" of "admin@board1:~$ ").
fn prompt_base(line: &[u8]) -> &[u8] {
    let end = line.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"._-@/".contains(&b))).unwrap_or(line.len());
    &line[..end]
}

/// Where the line holding the echo `needle` ends (just past its newline), in raw bytes.
fn find_echo_end(raw: &[u8], needle: &[u8]) -> usize {
    // Search the raw bytes line by line: ANSI escapes inside a line do not move its newline.
    let mut start = 0;
    while start < raw.len() {
        let end = memchr::memchr(b'\n', &raw[start..]).map_or(raw.len(), |i| start + i + 1);
        if memchr::memmem::find(&platform::strip_ansi(&raw[start..end]), needle).is_some() {
            return end;
        }
        start = end;
    }
    raw.len()
}

/// Questions a save asks, and the answer each gets.
fn save_answer(buf: &[u8]) -> Option<&'static [u8]> {
    let line = Platform::last_line(buf);
    let line = String::from_utf8_lossy(&line);
    let line = line.trim_end();
    if line.ends_with("[confirm]") {
        Some(b"\n")
    } else if line.ends_with("[yes/no]:") || line.ends_with("[yes/no]") || line.ends_with("[y/n]") {
        Some(b"y\n")
    } else if line.ends_with("]?") {
        Some(b"\n")
    } else {
        None
    }
}

impl Device {
    /// Connects, checks the host key, authenticates, opens a shell, finds the prompt, turns
    /// paging off, sets the width, and enters enable mode when a secret is given.
    pub fn open(opts: &DeviceOptions) -> Result<Device> {
        let name = format!("device {}:{}", opts.host, opts.port);
        let mut conn = connect::connect(&name, opts)?;
        if let Some(path) = &opts.session_log {
            let mut secrets = opts.auth.secrets();
            secrets.extend(opts.secret.iter().map(|s| Zeroizing::new(s.clone())));
            conn.log = Some(log::SessionLog::open(&name, path, secrets)?);
        }
        let device = Device {
            name,
            platform: opts.platform.clone(),
            timeout: opts.timeout,
            secret: opts.secret.as_ref().map(|s| Zeroizing::new(s.clone())),
            conn: Mutex::new(conn),
            cancel: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            linked: RwLock::new(None),
        };
        device.op(Some(opts.timeout), false, |conn, _, deadline| device.prepare(conn, deadline))?;
        Ok(device)
    }

    /// "device host:port", as every error message names it.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    fn prepare(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        // Most devices print a prompt when the shell starts; some wait for RETURN first. Sending
        // RETURN unconditionally would leave a second prompt behind for the next command.
        let patience = deadline.min(Instant::now() + FIRST_PROMPT_PATIENCE);
        match self.prompt_only(conn, patience, "the first prompt") {
            Ok(_) => {}
            Err(Error::Timeout(_)) => {
                conn.write(&self.name, b"\n", false)?;
                self.read_prompt(conn, deadline, "the first prompt")?;
                // A slow device may answer both its own start and our RETURN with a prompt:
                // the next line resynchronises on its echo.
                conn.dirty = true;
            }
            Err(e) => return Err(e),
        }
        for cmd in &self.platform.setup {
            self.send_line(conn, deadline, cmd)?;
            self.read_prompt(conn, deadline, &format!("the prompt after '{cmd}'"))?;
        }
        if self.secret.is_some() && self.platform.enable.is_some() {
            self.enable_locked(conn, deadline)?;
        }
        Ok(())
    }

    /// Runs `body` as one operation: takes the device lock (waiting up to the deadline, or not
    /// at all when `nowait`), and holds it until the operation ends.
    fn op<T>(
        &self,
        timeout: Option<Duration>,
        nowait: bool,
        body: impl FnOnce(&mut Conn, Instant, Instant) -> Result<T>,
    ) -> Result<T> {
        let start = Instant::now();
        let deadline = start + timeout.unwrap_or(self.timeout);
        let mut conn = if nowait {
            self.conn.try_lock().ok_or_else(|| Error::Busy(format!("{}: another operation is running", self.name)))?
        } else {
            self.conn.try_lock_until(deadline).ok_or_else(|| {
                Error::Timeout(format!("{}: another operation held the device until the deadline", self.name))
            })?
        };
        if self.retired.load(Ordering::SeqCst) {
            return Err(Error::Closed(format!("{}: the device was freed while this operation waited", self.name)));
        }
        if conn.closed {
            return Err(Error::Closed(format!("{}: the connection is closed", self.name)));
        }
        // A cancel aimed at an earlier operation must not stop this one.
        self.cancel.store(false, Ordering::SeqCst);
        // A panic half-way through leaves the session in an unknown state: report it closed.
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut conn, start, deadline))) {
            Ok(result) => result,
            Err(panic) => {
                conn.closed = true;
                std::panic::resume_unwind(panic)
            }
        };
        if matches!(result, Err(Error::Timeout(_) | Error::Cancelled(_))) {
            conn.dirty = true;
        }
        if conn.closed
            || matches!(result, Err(Error::Timeout(_) | Error::Cancelled(_) | Error::Closed(_) | Error::Io(_)))
        {
            self.broken.store(true, Ordering::SeqCst);
        }
        if let Some(log) = &mut conn.log {
            log.flush();
        }
        result
    }

    /// Reads until `done(platform, buffer)` says so, answering paging markers on the way. Each
    /// read blocks at most [`SLICE`]; between reads the deadline and the cancel flag are
    /// checked. Starts with the bytes left in `conn.pending`; when the operation gives up
    /// (timeout, cancel), what was read goes back there, so nothing received is lost and the
    /// next operation can resynchronise on it.
    fn read_until(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        what: &str,
        mut done: impl FnMut(&Platform, &[u8]) -> Done,
    ) -> Result<Vec<u8>> {
        let mut buf = std::mem::take(&mut conn.pending);
        let started = Instant::now();
        let mut last_data = started;
        loop {
            let mut quiet_until = None;
            let finished = match done(&self.platform, &buf) {
                Done::Yes => true,
                Done::IfQuiet(q) => {
                    quiet_until = Some(last_data + q);
                    Instant::now() >= last_data + q
                }
                Done::No => false,
            };
            if finished {
                if self.platform.at_prompt(&buf) {
                    conn.prompt = Platform::last_line(&buf);
                }
                return Ok(buf);
            }
            if self.platform.at_more(&buf) {
                let keep = buf.len() - buf.iter().rev().take_while(|&&b| b != b'\n').count();
                buf.truncate(keep);
                conn.write(&self.name, b" ", false)?;
                continue;
            }
            if self.cancel_requested() {
                let message = format!("{}: cancelled while waiting for {what}; last bytes: {}", self.name, tail(&buf));
                conn.pending = buf;
                return Err(Error::Cancelled(message));
            }
            let now = Instant::now();
            if now >= deadline {
                let message = format!(
                    "{}: {what} not seen within {} ms; last bytes: {}",
                    self.name,
                    (deadline - started).as_millis(),
                    tail(&buf)
                );
                conn.pending = buf;
                return Err(Error::Timeout(message));
            }
            let mut slice = (deadline - now).min(SLICE);
            if let Some(q) = quiet_until {
                slice = slice.min(q.saturating_duration_since(now));
            }
            conn.session.set_timeout(ceil_ms(slice));
            match conn.channel.read(&mut conn.chunk) {
                Ok(0) if conn.channel.eof() => {
                    conn.closed = true;
                    return Err(Error::Closed(format!(
                        "{}: connection closed while waiting for {what}; last bytes: {}",
                        self.name,
                        tail(&buf)
                    )));
                }
                Ok(n) => {
                    if let Some(log) = &mut conn.log {
                        log.write(&conn.chunk[..n], false);
                    }
                    buf.extend_from_slice(&conn.chunk[..n]);
                    last_data = Instant::now();
                }
                Err(e) if is_timeout(&e) => {
                    let _ = conn.session.keepalive_send();
                }
                Err(e) => {
                    conn.closed = true;
                    return Err(Error::Closed(format!(
                        "{}: connection lost while waiting for {what} ({e}); last bytes: {}",
                        self.name,
                        tail(&buf)
                    )));
                }
            }
        }
    }

    /// Reads until the prompt. A prompt line of the host seen before ends the read at once; a
    /// prompt-shaped line of another name (a renamed device, or an output line that merely
    /// looks like a prompt and happens to end a read) ends it only when nothing follows for
    /// [`PROMPT_GRACE`].
    fn read_prompt(&self, conn: &mut Conn, deadline: Instant, what: &str) -> Result<Vec<u8>> {
        let result = self.prompt_only(conn, deadline, what);
        if matches!(result, Err(Error::Timeout(_) | Error::Cancelled(_))) {
            conn.owed += 1;
        }
        result
    }

    fn prompt_only(&self, conn: &mut Conn, deadline: Instant, what: &str) -> Result<Vec<u8>> {
        let known = prompt_base(&conn.prompt).to_vec();
        self.read_until(conn, deadline, what, move |p, b| {
            if !p.at_prompt(b) {
                Done::No
            } else if known.is_empty() || prompt_base(&Platform::last_line(b)) == known.as_slice() {
                Done::Yes
            } else {
                Done::IfQuiet(PROMPT_GRACE)
            }
        })
    }

    /// Sends one line to the CLI. After an operation gave up early, the device may still be
    /// printing that operation's output and prompt. When it gave up waiting for a prompt, that
    /// prompt is awaited first; otherwise (an expect pattern, a quiet period) the bytes up to
    /// this line's echo are skipped. Either way late output is never taken for this line's.
    fn send_line(&self, conn: &mut Conn, deadline: Instant, line: &str) -> Result<()> {
        // First the prompts owed by operations that gave up: nothing is sent before they come,
        // so late output never mixes with this line's.
        while conn.owed > 0 {
            let what = "the prompt of an earlier operation that gave up waiting for it";
            self.prompt_only(conn, deadline, what)?;
            conn.owed -= 1;
            conn.dirty = false;
        }
        if conn.dirty {
            // What arrived since the operation gave up is stale. If it ends at a prompt, the
            // device is idle again and nothing more is coming: no resynchronisation needed.
            conn.drain();
            if self.platform.at_prompt(&conn.pending) {
                conn.prompt = Platform::last_line(&conn.pending);
                conn.dirty = false;
            }
            conn.pending.clear();
        }
        conn.write(&self.name, format!("{line}\n").as_bytes(), false)?;
        let echo = line.trim();
        if !conn.dirty || echo.is_empty() {
            return Ok(());
        }
        // Long lines may be scrolled or wrapped by the device: look for their end, then the end
        // of that line. Matched on the newest bytes only, like an expect pattern.
        let needle = &echo.as_bytes()[echo.len().saturating_sub(40)..];
        let literal: String = needle.iter().map(|b| format!(r"\x{b:02x}")).collect();
        let echoed = Regex::new(&format!(r"(?-u){literal}[^\n]*\n")).expect("an escaped literal compiles");
        let buf = self.read_until(conn, deadline, &format!("the echo of '{line}'"), tail_matcher(&echoed))?;
        // Keep what follows the echo line for the reply; drop the stale output before it.
        let at = find_echo_end(&buf, needle);
        conn.pending = buf[at..].to_vec();
        conn.dirty = false;
        Ok(())
    }

    /// Sends one command and returns its output, read until the prompt comes back. The echoed
    /// command and the trailing prompt are removed; paging is answered if it appears.
    /// `timeout` defaults to the device's operation timeout.
    pub fn send_command(&self, command: &str, timeout: Option<Duration>) -> Result<Output> {
        self.command(command, None, timeout, false)
    }

    /// Like `send_command`, but returns `Error::Busy` at once if another operation is running.
    pub fn try_send_command(&self, command: &str, timeout: Option<Duration>) -> Result<Output> {
        self.command(command, None, timeout, true)
    }

    /// Sends one command and reads until `expect` (a regex) matches the output, instead of
    /// until the prompt. Use it for commands that end in a question or a custom marker.
    pub fn send_command_expect(&self, command: &str, expect: &str, timeout: Option<Duration>) -> Result<Output> {
        let expect = pattern("expect pattern", expect)?;
        self.command(command, Some(&expect), timeout, false)
    }

    fn command(
        &self,
        command: &str,
        expect: Option<&Regex>,
        timeout: Option<Duration>,
        nowait: bool,
    ) -> Result<Output> {
        self.op(timeout, nowait, |conn, start, deadline| {
            self.send_line(conn, deadline, command)?;
            let raw = match expect {
                None => self.read_prompt(conn, deadline, &format!("the prompt after '{command}'"))?,
                Some(re) => {
                    self.read_until(conn, deadline, &format!("'{}' after '{command}'", re.as_str()), tail_matcher(re))?
                }
            };
            self.note_early_end(conn, &raw);
            Ok(Output { text: clean(&self.platform, &raw, command), elapsed: start.elapsed() })
        })
    }

    /// A read that ended before a prompt (an expect pattern, a quiet period) may leave the device
    /// still printing: the next line then resynchronises instead of taking that output as its own.
    fn note_early_end(&self, conn: &mut Conn, raw: &[u8]) {
        if !self.platform.at_prompt(raw) {
            conn.dirty = true;
        }
    }

    /// Sends one command and reads until the device has been quiet for `quiet` (for output that
    /// ends without a prompt). The deadline still bounds the whole operation.
    pub fn send_command_timing(&self, command: &str, quiet: Duration, timeout: Option<Duration>) -> Result<Output> {
        self.op(timeout, false, |conn, start, deadline| {
            self.send_line(conn, deadline, command)?;
            let what = format!("a quiet period of {} ms after '{command}'", quiet.as_millis());
            let raw = self.read_until(conn, deadline, &what, |_, _| Done::IfQuiet(quiet))?;
            self.note_early_end(conn, &raw);
            Ok(Output { text: clean(&self.platform, &raw, command), elapsed: start.elapsed() })
        })
    }

    /// Answers a dialogue: for each `(send, expect)` pair, sends `send` and a newline, then reads
    /// until `expect` (a regex) matches, or until the prompt when `expect` is empty. Answers to
    /// password prompts are redacted in the session log. Returns the whole transcript.
    pub fn send_interactive(&self, steps: &[(&str, &str)], timeout: Option<Duration>) -> Result<Output> {
        let patterns = steps
            .iter()
            .map(|(_, e)| if e.is_empty() { Ok(None) } else { pattern("expect pattern", e).map(Some) })
            .collect::<Result<Vec<_>>>()?;
        self.op(timeout, false, |conn, start, deadline| {
            let mut transcript = Vec::new();
            let mut previous = conn.prompt.clone();
            for ((send, _), expect) in steps.iter().zip(&patterns) {
                if asks_secret(&previous) {
                    conn.write(&self.name, format!("{send}\n").as_bytes(), true)?;
                } else {
                    self.send_line(conn, deadline, send)?;
                }
                let raw = match expect {
                    None => self.read_prompt(conn, deadline, &format!("the prompt after '{send}'"))?,
                    Some(re) => {
                        self.read_until(conn, deadline, &format!("'{}' after '{send}'", re.as_str()), tail_matcher(re))?
                    }
                };
                self.note_early_end(conn, &raw);
                transcript.extend_from_slice(&raw);
                previous = raw;
            }
            Ok(Output { text: clean(&self.platform, &transcript, ""), elapsed: start.elapsed() })
        })
    }

    /// Enters privileged mode with the secret given at open. Does nothing when already there.
    pub fn enable(&self, timeout: Option<Duration>) -> Result<()> {
        self.op(timeout, false, |conn, _, deadline| self.enable_locked(conn, deadline))
    }

    fn enable_locked(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        if !self.platform.in_user_mode(&conn.prompt) {
            return Ok(());
        }
        let enable = self.platform.enable.as_ref().ok_or_else(|| {
            Error::InvalidArg(format!("{}: platform {} has no enable mode", self.name, self.platform.name))
        })?;
        self.send_line(conn, deadline, enable)?;
        let secret_prompt = self.platform.secret_prompt.clone();
        let asked = self.read_until(conn, deadline, "the enable secret prompt", |p, b| {
            if p.at_prompt(b) || secret_prompt.as_ref().is_some_and(|s| s.is_match(b)) {
                Done::Yes
            } else {
                Done::No
            }
        })?;
        if !self.platform.at_prompt(&asked) {
            let Some(secret) = &self.secret else {
                conn.write(&self.name, b"\n", false)?;
                self.read_prompt(conn, deadline, "the prompt after an unanswered enable")?;
                return Err(Error::Auth(format!("{}: enable asks for a secret and none was given", self.name)));
            };
            let mut line = Zeroizing::new(secret.as_bytes().to_vec());
            line.push(b'\n');
            conn.write(&self.name, &line, true)?;
            self.read_prompt(conn, deadline, "enable mode")?;
        }
        if self.platform.in_user_mode(&conn.prompt) {
            return Err(Error::Auth(format!(
                "{}: enable secret refused; the prompt is still {}",
                self.name,
                tail(&conn.prompt)
            )));
        }
        Ok(())
    }

    /// Leaves privileged mode (and configuration mode first, if in it).
    pub fn exit_enable(&self, timeout: Option<Duration>) -> Result<()> {
        self.op(timeout, false, |conn, _, deadline| {
            self.exit_config_locked(conn, deadline)?;
            let Some(disable) = &self.platform.disable else { return Ok(()) };
            if self.platform.in_user_mode(&conn.prompt) {
                return Ok(());
            }
            self.send_line(conn, deadline, disable)?;
            self.read_prompt(conn, deadline, &format!("prompt after '{disable}'"))?;
            if !self.platform.in_user_mode(&conn.prompt) {
                return Err(Error::Prompt(format!(
                    "{}: '{disable}' left the prompt at {}",
                    self.name,
                    tail(&conn.prompt)
                )));
            }
            Ok(())
        })
    }

    /// Enters configuration mode (entering enable mode first when needed).
    pub fn config_mode(&self, timeout: Option<Duration>) -> Result<()> {
        self.op(timeout, false, |conn, _, deadline| self.config_locked(conn, deadline))
    }

    fn config_locked(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        if self.platform.in_config(&conn.prompt) {
            return Ok(());
        }
        let enter = self.platform.config_enter.as_ref().ok_or_else(|| {
            Error::InvalidArg(format!("{}: platform {} has no configuration mode", self.name, self.platform.name))
        })?;
        if self.platform.enable.is_some() {
            self.enable_locked(conn, deadline)?;
        }
        self.send_line(conn, deadline, enter)?;
        let raw = self.read_prompt(conn, deadline, &format!("prompt after '{enter}'"))?;
        if !self.platform.in_config(&conn.prompt) {
            return Err(Error::Prompt(format!(
                "{}: '{enter}' did not enter configuration mode: {}",
                self.name,
                clean(&self.platform, &raw, enter).trim()
            )));
        }
        Ok(())
    }

    /// Leaves configuration mode (from any sub-mode). Does nothing when not in it.
    pub fn exit_config_mode(&self, timeout: Option<Duration>) -> Result<()> {
        self.op(timeout, false, |conn, _, deadline| self.exit_config_locked(conn, deadline))
    }

    fn exit_config_locked(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        if !self.platform.in_config(&conn.prompt) {
            return Ok(());
        }
        let exit = self.platform.config_exit.as_deref().unwrap_or("end");
        self.send_line(conn, deadline, exit)?;
        static UNCOMMITTED: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let uncommitted = UNCOMMITTED.get_or_init(|| Regex::new(r"(?i)\[yes,no\].*$").expect("pattern compiles"));
        let raw = self.read_until(conn, deadline, &format!("the prompt after '{exit}'"), |p, b| {
            if p.at_prompt(b) || uncommitted.is_match(&Platform::last_line(b)) {
                Done::Yes
            } else {
                Done::No
            }
        })?;
        if !self.platform.at_prompt(&raw) {
            // Junos: "Exit with uncommitted changes? [yes,no] (yes)".
            conn.write(&self.name, b"yes\n", false)?;
            self.read_prompt(conn, deadline, "prompt after leaving configuration mode")?;
        }
        if self.platform.in_config(&conn.prompt) {
            return Err(Error::Prompt(format!("{}: '{exit}' left the prompt at {}", self.name, tail(&conn.prompt))));
        }
        Ok(())
    }

    /// Enters configuration mode, sends each line and checks its output for the platform's
    /// error patterns. The first rejected line stops the set with [`Error::Command`] naming the
    /// line. Commits (or checks) on Junos-style platforms when asked, and leaves configuration
    /// mode when `opts.exit` (also after an error). Returns the transcript: each line, then its
    /// output.
    pub fn send_config_set(&self, lines: &[&str], opts: ConfigOptions, timeout: Option<Duration>) -> Result<Output> {
        if opts.commit != Commit::No && !self.platform.commit {
            return Err(Error::InvalidArg(format!(
                "{}: platform {} has no commit; changes apply line by line",
                self.name, self.platform.name
            )));
        }
        self.op(timeout, false, |conn, start, deadline| {
            self.config_locked(conn, deadline)?;
            let mut transcript = String::new();
            let mut failed = None;
            let mut steps: Vec<(usize, &str)> = lines.iter().copied().enumerate().collect();
            match opts.commit {
                Commit::No => {}
                Commit::Check => steps.push((lines.len(), "commit check")),
                Commit::Commit => steps.push((lines.len(), "commit")),
            }
            for (i, line) in steps {
                self.send_line(conn, deadline, line)?;
                let raw = self.read_prompt(conn, deadline, &format!("prompt after config line '{line}'"))?;
                let out = clean(&self.platform, &raw, line);
                transcript.push_str(line);
                transcript.push('\n');
                transcript.push_str(&out);
                if self.platform.errors.is_match(out.as_bytes()) {
                    let which =
                        if i < lines.len() { format!("config line {} '{line}'", i + 1) } else { format!("'{line}'") };
                    failed = Some(Error::Command(format!("{}: {which} was rejected: {}", self.name, out.trim())));
                    break;
                }
            }
            if opts.exit {
                self.exit_config_locked(conn, deadline)?;
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(Output { text: transcript, elapsed: start.elapsed() }),
            }
        })
    }

    /// Saves the running configuration (`write memory`, `copy running-config startup-config`,
    /// or a Junos `commit`), answering the confirmation questions it asks.
    pub fn save_config(&self, timeout: Option<Duration>) -> Result<Output> {
        let save = self.platform.save.clone().ok_or_else(|| {
            Error::InvalidArg(format!("{}: platform {} has no save command", self.name, self.platform.name))
        })?;
        self.op(timeout, false, |conn, start, deadline| {
            if self.platform.commit {
                self.config_locked(conn, deadline)?;
            } else {
                self.exit_config_locked(conn, deadline)?;
                if self.platform.enable.is_some() {
                    self.enable_locked(conn, deadline)?;
                }
            }
            self.send_line(conn, deadline, &save)?;
            let mut transcript = Vec::new();
            for _ in 0..5 {
                let raw = self.read_until(conn, deadline, &format!("the prompt after '{save}'"), |p, b| {
                    if p.at_prompt(b) || save_answer(b).is_some() {
                        Done::Yes
                    } else {
                        Done::No
                    }
                })?;
                transcript.extend_from_slice(&raw);
                match save_answer(&raw) {
                    Some(answer) if !self.platform.at_prompt(&raw) => conn.write(&self.name, answer, false)?,
                    _ => break,
                }
            }
            let text = clean(&self.platform, &transcript, &save);
            if self.platform.errors.is_match(text.as_bytes()) {
                return Err(Error::Command(format!("{}: '{save}' failed: {}", self.name, text.trim())));
            }
            if self.platform.commit {
                self.exit_config_locked(conn, deadline)?;
            }
            Ok(Output { text, elapsed: start.elapsed() })
        })
    }

    /// A real round trip: sends RETURN and waits for the prompt, within `timeout`. `Ok(false)`
    /// when the device did not answer or the connection is closed; `Err(Timeout)` only when
    /// another operation held the device until the deadline.
    pub fn is_alive(&self, timeout: Option<Duration>) -> Result<bool> {
        let result = self.op(timeout, false, |conn, _, deadline| {
            conn.write(&self.name, b"\n", false)?;
            self.read_prompt(conn, deadline, "prompt (is_alive)")?;
            Ok(true)
        });
        match result {
            Ok(alive) => Ok(alive),
            Err(Error::Timeout(m)) if m.contains("another operation") => Err(Error::Timeout(m)),
            Err(Error::Timeout(_) | Error::Closed(_) | Error::Cancelled(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stops the operation running on this device (from any thread) within [`SLICE`]; it
    /// returns [`Error::Cancelled`] and the device stays usable. A cancel with no operation
    /// running is forgotten when the next operation starts.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Whether an operation asked this device to stop: its own cancel flag (consumed) or a
    /// linked one (left set).
    fn cancel_requested(&self) -> bool {
        self.cancel.swap(false, Ordering::SeqCst)
            || self.linked.read().as_ref().is_some_and(|flag| flag.load(Ordering::SeqCst))
    }

    /// Links a shared cancel flag to the device (or unlinks it with `None`): while the flag is
    /// set, operations stop with [`Error::Cancelled`] within [`SLICE`]. The parallel runner
    /// links its run's flag to every device it uses, so cancelling the run cannot miss an
    /// operation that is just starting.
    pub fn link_cancel(&self, flag: Option<Arc<AtomicBool>>) {
        *self.linked.write() = flag;
    }

    /// True once an operation ended in a timeout, a cancel, a lost connection or a transfer I/O
    /// error, or the device was closed: its session may hold stale output or be dead, so a pool
    /// closes it instead of handing it to the next caller.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    /// Stops the device for good without waiting: the running operation is cancelled and
    /// operations queued for the device return [`Error::Closed`] when they get it (the C
    /// API's `netrig_device_free`; the session closes when the last reference drops).
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.cancel();
    }

    /// Closes the session: cancels the running operation (if any), then takes the device's lock
    /// (waiting up to the operation timeout for an operation that does not stop) and
    /// disconnects. Later operations get [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        self.cancel();
        let mut conn = self.conn.try_lock_for(self.timeout).ok_or_else(|| {
            Error::Timeout(format!("{}: close: another operation held the device until the deadline", self.name))
        })?;
        self.broken.store(true, Ordering::SeqCst);
        if !conn.closed {
            conn.closed = true;
            conn.session.set_timeout(1000);
            let _ = conn.channel.close();
            let _ = conn.session.disconnect(None, "netrig closing", None);
            if let Some(log) = &mut conn.log {
                log.flush();
            }
        }
        Ok(())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // Say goodbye without waiting on a device that may be hung.
        let conn = self.conn.get_mut();
        if !conn.closed {
            conn.closed = true;
            conn.session.set_blocking(false);
            let _ = conn.session.disconnect(None, "netrig closing", None);
        }
        // Freeing the channel and session closes the channel first, which waits for the
        // device's answer; non-blocking, libssh2 then gives up with EAGAIN and never frees the
        // session (83 KB each). With the socket shut down the wait ends at once and both are
        // freed.
        conn.session.set_blocking(false);
        let _ = conn.tcp.shutdown(std::net::Shutdown::Both);
    }
}

impl Conn {
    /// Moves what the channel already holds into `pending`, without waiting.
    fn drain(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        self.session.set_blocking(false);
        while let Ok(n @ 1..) = self.channel.read(&mut chunk) {
            if let Some(log) = &mut self.log {
                log.write(&chunk[..n], false);
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
        self.session.set_blocking(true);
    }

    fn new(session: ssh2::Session, channel: ssh2::Channel, tcp: Arc<std::net::TcpStream>) -> Conn {
        Conn {
            session,
            channel,
            tcp,
            closed: false,
            dirty: false,
            pending: Vec::new(),
            owed: 0,
            prompt: Vec::new(),
            log: None,
            chunk: vec![0u8; 64 * 1024].into_boxed_slice(),
        }
    }

    /// Sends bytes to the shell; `secret` bytes are redacted in the session log.
    fn write(&mut self, name: &str, bytes: &[u8], secret: bool) -> Result<()> {
        // Never Channel::flush: in ssh2 it is libssh2_channel_flush, which discards received data.
        if let Some(log) = &mut self.log {
            log.write(bytes, secret);
        }
        self.session.set_timeout(5000);
        self.channel.write_all(bytes).map_err(|e| {
            self.closed = true;
            Error::Closed(format!("{name}: write failed: {e}"))
        })
    }
}

/// Removes the echoed command (first line, when it is the command), the trailing prompt (last
/// line, when it is a prompt), ANSI escapes and carriage returns, and decodes the whole buffer
/// at once (so multi-byte characters split across reads come out whole). One pass over the
/// bytes: a 2 MB output is cleaned in about a millisecond.
fn clean(platform: &Platform, raw: &[u8], command: &str) -> String {
    let mut out = Vec::with_capacity(raw.len() + 1);
    platform::strip_into(raw, &mut out, true);
    let first_end = memchr::memchr(b'\n', &out).unwrap_or(out.len());
    let echo = !command.is_empty() && out[..first_end].trim_ascii() == command.trim().as_bytes();
    let start = if echo { (first_end + 1).min(out.len()) } else { 0 };
    let last_start = memchr::memrchr(b'\n', &out[start..]).map_or(start, |i| start + i + 1);
    let last = &out[last_start..];
    if last.is_empty() || platform.prompt.is_match(last) {
        out.truncate(last_start);
    } else {
        out.push(b'\n');
    }
    out.drain(..start);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_echo_prompt_and_ansi() {
        let raw = b"show clock\r\n\x1b[K*10:42 UTC\r\nline two\r\n\x1b[1;32mR1#\x1b[0m";
        let ios = Platform::named("cisco_ios").unwrap();
        assert_eq!(clean(&ios, raw, "show clock"), "*10:42 UTC\nline two\n");
        assert_eq!(clean(&ios, b"terminal length 0\r\nR1#", "terminal length 0"), "");
        // An expect pattern that stops before a prompt keeps the last line.
        assert_eq!(clean(&ios, b"copy x y\r\nDestination filename [y]? ", "copy x y"), "Destination filename [y]? \n");
    }

    #[test]
    fn fingerprints_and_base64() {
        use connect::{decode_base64, fingerprint};
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert!(fingerprint(b"x").starts_with("SHA256:"));
        assert!(!fingerprint(b"x").ends_with('='));
    }
}
