//! SSH sessions to devices under test.
//!
//! A [`Device`] is one interactive SSH session with a CLI. Every operation holds the device's
//! lock for its whole duration (never per read or write) and runs against a deadline that is
//! enforced inside the read loop: each blocking libssh2 read waits at most [`SLICE`], after which
//! the loop checks the deadline and the cancel flag. So a silent device gives
//! [`Error::Timeout`] at the deadline (plus at most one slice), and [`Device::cancel`] from
//! another thread stops an operation within one slice.
//!
//! This file holds the device itself: opening, the lock that makes each operation exclusive,
//! cancel and close. The rest lives beside it: `options` (what `open` takes), `read` (the read
//! loop), `commands` (the commands a caller sends), `modes` (enable, configuration, save),
//! `files` (exec and transfers), `connect` (the SSH handshake and login).

mod commands;
mod connect;
mod detect;
mod files;
mod log;
mod modes;
mod options;
pub mod platform;
mod read;
mod ssh_text;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use zeroize::Zeroizing;

pub use commands::Check;
pub use files::{Protocol, Transfer};
pub use modes::{Commit, ConfigOptions};
pub use options::{Auth, DeviceOptions, HostKeyPolicy};

pub use platform::{Overrides, Platform, Source};

use crate::error::{Error, Result};
use crate::log::{Level, Target};
use read::Done;

/// Milliseconds, with a fraction, for log records.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Longest a single blocking read waits before the loop re-checks deadline and cancel.
pub const SLICE: Duration = Duration::from_millis(25);

/// How long a device must stay quiet after printing again, in answer to open's RETURN, the line
/// it printed before, for that line to count as a prompt the platform does not recognise.
const UNRECOGNISED_PROMPT_QUIET: Duration = Duration::from_secs(1);

/// How long `open` waits for a prompt before it sends RETURN to ask for one.
const FIRST_PROMPT_PATIENCE: Duration = Duration::from_millis(1500);

/// What a CLI operation returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The command's output: echo and trailing prompt removed, ANSI escapes removed, line
    /// endings "\n", decoded as UTF-8 (invalid bytes replaced).
    pub text: String,
    pub elapsed: Duration,
    /// What was sent: the command; a dialogue's or a configuration set's lines joined with
    /// "\n"; the save command. Parsing picks its template by it.
    pub command: String,
    /// The name of the device's platform ("cisco_ios"), shared rather than copied per output.
    pub platform: Arc<str>,
    /// The device's line that matched an error pattern (without its newline), when one did.
    pub failure: Option<String>,
}

impl Output {
    /// Whether the device answered with an error line.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }
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
    /// When the running operation started: timeouts report the whole wait.
    op_started: Instant,
    /// The last prompt line seen (ANSI-free): tells the mode the CLI is in.
    prompt: Vec<u8>,
    /// The session log and trace records of the bytes.
    log: log::Transcript,
    /// The read buffer, kept between operations instead of allocating and zeroing 64 KiB for
    /// every command.
    chunk: Box<[u8]>,
}

/// The CLI mode a prompt line means (the platform's `prompt.user` and `prompt.config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliMode {
    User,
    Privileged,
    Config,
}

/// One SSH session to a device under test. Usable from any thread (`Send + Sync`).
pub struct Device {
    name: String,
    /// The device as log records name it ("127.0.0.1:2201").
    log_name: String,
    /// When `open` started.
    opened: Instant,
    platform: Platform,
    timeout: Duration,
    /// Whether a matching output fails a call whose [`Check`] leaves it to the device.
    check_errors: bool,
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

/// Milliseconds for libssh2, rounded up so that a wait never ends before the deadline.
fn ceil_ms(d: Duration) -> u32 {
    d.as_micros().div_ceil(1000).clamp(1, u32::MAX as u128) as u32
}

impl Device {
    /// Connects, checks the host key, authenticates, opens a shell, finds the prompt, turns
    /// paging off, sets the width, and enters enable mode when a secret is given.
    pub fn open(opts: &DeviceOptions) -> Result<Device> {
        let started = Instant::now();
        let name = format!("device {}:{}", opts.host, opts.port);
        let log_name = format!("{}:{}", opts.host, opts.port);
        let result = Device::open_named(opts, name, &log_name, started);
        match &result {
            Ok(device) => crate::log!(
                Level::Info,
                Target::Device,
                Some(&log_name),
                "opened ({}, user '{}') in {:.1} ms",
                device.platform.name,
                opts.username,
                ms(started.elapsed())
            ),
            Err(e) => crate::log!(
                Level::Info,
                Target::Device,
                Some(&log_name),
                "open failed after {:.1} ms ({}): {e}",
                ms(started.elapsed()),
                e.status().name().to_string_lossy()
            ),
        }
        result
    }

    fn open_named(opts: &DeviceOptions, name: String, log_name: &str, started: Instant) -> Result<Device> {
        let mut conn = connect::connect(&name, log_name, opts)?;
        conn.log.name = log_name.to_owned();
        if let Some(path) = &opts.session_log {
            conn.log.session = Some(log::SessionLog::open(&name, path, opts.session_log_timestamps)?);
        }
        let mut device = Device {
            name,
            log_name: log_name.to_owned(),
            opened: started,
            platform: opts.platform.clone(),
            timeout: opts.timeout,
            check_errors: opts.check_errors,
            secret: opts.secret.as_ref().map(|s| Zeroizing::new(s.clone())),
            conn: Mutex::new(conn),
            cancel: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            linked: RwLock::new(None),
        };
        let Some(overrides) = opts.platform.autodetect.as_deref() else {
            device.op(format_args!("open"), Some(opts.timeout), false, |conn, _, deadline| {
                device.first_prompt(conn, deadline)?;
                device.setup(conn, deadline)
            })?;
            return Ok(device);
        };
        // Detection is three operations (the platform the reads use changes between them)
        // under the one deadline of the open.
        let deadline = Instant::now() + opts.timeout;
        let left = || Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
        let detecting = Instant::now();
        let prompt = device.op(format_args!("open: the first prompt (autodetect)"), left(), false, |conn, _, d| {
            device.first_prompt(conn, d)?;
            Ok(conn.prompt.clone())
        })?;
        let candidates = detect::candidates(&prompt);
        device.platform = Platform::detecting(&candidates)?;
        // Timeouts report the wait since the open's first prompt, not since this operation.
        let found = device.op(format_args!("open: autodetect"), left(), false, |conn, _, d| {
            conn.op_started = detecting;
            device.identify(conn, d, &candidates)
        })?;
        device.platform = Platform::load(Source::Named(&found.name), overrides)?;
        crate::log!(
            Level::Info,
            Target::Device,
            Some(log_name),
            "platform detected: {} ({}) in {:.1} ms",
            found.name,
            found.evidence,
            ms(detecting.elapsed())
        );
        device.op(format_args!("open: setup"), left(), false, |conn, _, d| {
            conn.op_started = detecting;
            device.setup(conn, d)
        })?;
        Ok(device)
    }

    /// "device host:port", as every error message names it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// "host:port", as log records name the device.
    pub fn log_name(&self) -> &str {
        &self.log_name
    }

    /// The platform the device is driven with: the one the options named, or the one
    /// detected at open with `platform = "autodetect"`.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Reads the prompt the device shows after login.
    fn first_prompt(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        // Most devices print a prompt when the shell starts; some wait for RETURN first. Sending
        // RETURN unconditionally would leave a second prompt behind for the next command.
        let patience = deadline.min(Instant::now() + FIRST_PROMPT_PATIENCE);
        match self.prompt_only(conn, patience, "the first prompt") {
            Ok(_) => {}
            Err(Error::Timeout(_)) => {
                let before = Platform::last_line(&conn.pending);
                let sent_at = conn.pending.len();
                conn.write(&self.name, b"\n", false)?;
                self.first_prompt_after_return(conn, deadline, &before, sent_at)?;
                // A slow device may answer both its own start and our RETURN with a prompt:
                // the next line resynchronises on its echo.
                conn.dirty = true;
            }
            Err(e) => return Err(e),
        }
        crate::log!(
            Level::Debug,
            Target::Device,
            Some(&self.log_name),
            "prompt found: {}",
            crate::log::escape(&conn.prompt)
        );
        Ok(())
    }

    /// What follows the first prompt: paging off, the platform's setup commands, and enable
    /// when a secret is given. A prompt that does not come back says which platform was
    /// assumed and quotes the last line, as the first prompt's errors do.
    fn setup(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        for cmd in self.platform.paging_off.iter().chain(&self.platform.setup) {
            let step = Instant::now();
            self.send_line(conn, deadline, cmd)?;
            self.read_prompt(conn, deadline, &format!("the prompt after '{cmd}'")).map_err(|e| match e {
                Error::Timeout(m) => Error::Timeout(format!(
                    "{m}; platform {} assumed; the last line {:?} does not match its prompt pattern '{}'",
                    self.platform.name,
                    String::from_utf8_lossy(Platform::last_line(&conn.pending).trim_ascii()),
                    self.platform.prompt.as_str()
                )),
                e => e,
            })?;
            crate::log!(
                Level::Debug,
                Target::Device,
                Some(&self.log_name),
                "setup command '{cmd}' done in {:.1} ms",
                ms(step.elapsed())
            );
        }
        if self.secret.is_some() && self.platform.enable.is_some() {
            self.enable_locked(conn, deadline)?;
        }
        Ok(())
    }

    /// Reads the first prompt after the RETURN `first_prompt` sent. A device that answers the RETURN
    /// by printing again the line it printed before (`before`) is waiting at a prompt that the
    /// platform's prompt rule does not match: once it has been quiet for a second that is
    /// [`Error::Prompt`], not a wait for the whole deadline. Either failure quotes the line and
    /// names the built-in platforms whose prompt rules match it.
    fn first_prompt_after_return(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        before: &[u8],
        sent_at: usize,
    ) -> Result<()> {
        let before = before.trim_ascii().to_vec();
        let result = self.read_until(conn, deadline, "the first prompt", |p, b| {
            if p.at_prompt(b) {
                return Done::Yes;
            }
            let repeated = b.len() > sent_at
                && memchr::memchr(b'\n', &b[sent_at..]).is_some()
                && !before.is_empty()
                && Platform::last_line(b).trim_ascii() == before.as_slice();
            if repeated {
                Done::IfQuiet(UNRECOGNISED_PROMPT_QUIET)
            } else {
                Done::No
            }
        });
        let hint = |line: &[u8]| -> String {
            let line = line.trim_ascii();
            if line.is_empty() {
                return match self.platform.name.as_str() {
                    platform::AUTODETECT => "autodetect: the device printed no line to match".to_owned(),
                    name => format!("platform {name} assumed: the device printed no line to match"),
                };
            }
            let quoted = format!("{:?}", String::from_utf8_lossy(line));
            if self.platform.name == platform::AUTODETECT {
                return format!(
                    "the last line {quoted} matches no built-in platform's prompt rule (autodetect): give the \
                     platform, with prompt_pattern (a regex for the whole prompt line), or a platform file"
                );
            }
            let matching = Platform::matching(line);
            let suggestion = if matching.is_empty() {
                "no built-in platform's prompt rule matches it either: give prompt_pattern (a regex for the \
                 whole prompt line) or a platform file"
                    .to_owned()
            } else {
                format!("platforms whose prompt rules match it: {}", matching.join(", "))
            };
            format!(
                "platform {} assumed: the last line {quoted} does not match platform {}'s prompt pattern '{}'; \
                 {suggestion}",
                self.platform.name,
                self.platform.name,
                self.platform.prompt.as_str()
            )
        };
        match result {
            Ok(raw) if self.platform.at_prompt(&raw) => Ok(()),
            Ok(raw) => {
                let line = Platform::last_line(&raw);
                conn.pending = raw;
                Err(Error::Prompt(format!(
                    "{}: the first prompt not recognised after {} ms: {}",
                    self.name,
                    conn.op_started.elapsed().as_millis(),
                    hint(&line)
                )))
            }
            Err(Error::Timeout(m)) => {
                conn.owed += 1;
                Err(Error::Timeout(format!("{m}; {}", hint(&Platform::last_line(&conn.pending)))))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `body` as one operation: takes the device lock (waiting up to the deadline, or not
    /// at all when `nowait`), and holds it until the operation ends.
    /// `what` names the operation in log records.
    fn op<T>(
        &self,
        what: std::fmt::Arguments<'_>,
        timeout: Option<Duration>,
        nowait: bool,
        body: impl FnOnce(&mut Conn, Instant, Instant) -> Result<T>,
    ) -> Result<T> {
        let start = Instant::now();
        let what = || what.to_string();
        crate::log!(Level::Debug, Target::Device, Some(&self.log_name), "{}: started", what());
        let result = self.op_locked(timeout, nowait, start, body);
        if crate::log::enabled(Level::Debug) {
            let status = match &result {
                Ok(_) => "ok".to_owned(),
                Err(e) => format!("{}: {e}", e.status().name().to_string_lossy()),
            };
            crate::log!(
                Level::Debug,
                Target::Device,
                Some(&self.log_name),
                "{}: ended in {:.1} ms, {status}",
                what(),
                ms(start.elapsed())
            );
        }
        result
    }

    fn op_locked<T>(
        &self,
        timeout: Option<Duration>,
        nowait: bool,
        start: Instant,
        body: impl FnOnce(&mut Conn, Instant, Instant) -> Result<T>,
    ) -> Result<T> {
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
        conn.op_started = start;
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
        conn.log.flush();
        result
    }

    /// A real round trip: sends RETURN and waits for the prompt, within `timeout`. `Ok(false)`
    /// when the device did not answer or the connection is closed; `Err(Timeout)` only when
    /// another operation held the device until the deadline.
    pub fn is_alive(&self, timeout: Option<Duration>) -> Result<bool> {
        let result = self.op(format_args!("is_alive"), timeout, false, |conn, _, deadline| {
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

    /// The prompt line the device showed last (ANSI escapes removed, surrounding whitespace
    /// trimmed) and the mode it means. Every operation ends on a prompt, so this is the CLI's
    /// state now, without the round trip netmiko's `find_prompt` makes. Waits (up to `timeout`)
    /// for a running operation, whose prompt is not settled yet.
    pub fn prompt(&self, timeout: Option<Duration>) -> Result<(String, CliMode)> {
        self.op(format_args!("prompt"), timeout, false, |conn, _, _| {
            let mode = if self.platform.in_config(&conn.prompt) {
                CliMode::Config
            } else if self.platform.in_user_mode(&conn.prompt) {
                CliMode::User
            } else {
                CliMode::Privileged
            };
            Ok((String::from_utf8_lossy(conn.prompt.trim_ascii()).into_owned(), mode))
        })
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

    /// Marks the session as one a pool must not hand on.
    fn mark_broken(&self) {
        self.broken.store(true, Ordering::SeqCst);
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
            let started = Instant::now();
            conn.closed = true;
            conn.session.set_timeout(1000);
            let _ = conn.channel.close();
            let _ = conn.session.disconnect(None, "netrig closing", None);
            conn.log.flush();
            drop(conn);
            crate::log!(
                Level::Info,
                Target::Device,
                Some(&self.log_name),
                "closed in {:.1} ms, after {:.3} s open",
                ms(started.elapsed()),
                self.opened.elapsed().as_secs_f64()
            );
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
            crate::log!(
                Level::Info,
                Target::Device,
                Some(&self.log_name),
                "closed (freed), after {:.3} s open",
                self.opened.elapsed().as_secs_f64()
            );
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
            self.log.record(log::Dir::In, &chunk[..n], false);
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
            op_started: Instant::now(),
            prompt: Vec::new(),
            log: log::Transcript::new(""),
            chunk: vec![0u8; 64 * 1024].into_boxed_slice(),
        }
    }

    /// Sends bytes to the shell; `secret` bytes are redacted in the session log.
    fn write(&mut self, name: &str, bytes: &[u8], secret: bool) -> Result<()> {
        // Never Channel::flush: in ssh2 it is libssh2_channel_flush, which discards received data.
        self.log.record(log::Dir::Out, bytes, secret);
        self.session.set_timeout(5000);
        self.channel.write_all(bytes).map_err(|e| {
            self.closed = true;
            Error::Closed(format!("{name}: write failed: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_and_base64() {
        use connect::{decode_base64, fingerprint};
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert!(fingerprint(b"x").starts_with("SHA256:"));
        assert!(!fingerprint(b"x").ends_with('='));
    }
}
