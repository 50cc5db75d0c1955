//! Work on the device's SSH session outside the interactive shell: `exec` on its own channel
//! (no PTY) and file transfer over SFTP or SCP. Each runs as one device operation, with the same
//! deadline and cancel rules as the CLI operations: every blocking libssh2 call is bounded by the
//! time left, and the loop checks the deadline and the cancel flag between calls.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Conn, Device, ExecOutput, SLICE};
use crate::error::{Error, Result};

/// File transfer protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Sftp,
    Scp,
}

/// What a finished transfer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub bytes: u64,
    pub elapsed: Duration,
}

/// Called after each chunk with (bytes done, bytes in total); returning false cancels.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

const CHUNK: usize = 256 * 1024;

/// Where `put_file` sends each chunk; an empty chunk marks the end (close and check).
type Sink<'a> = dyn FnMut(&mut Conn, &[u8]) -> Result<()> + 'a;

impl Device {
    /// Runs `command` on its own channel without a PTY (for Linux targets) and returns stdout,
    /// stderr and the exit status separately.
    pub fn exec(&self, command: &str, timeout: Option<Duration>) -> Result<ExecOutput> {
        self.op(format_args!("exec '{command}'"), timeout, false, |conn, start, deadline| {
            let what = format!("exec '{command}'");
            conn.log.record(super::log::Dir::Note, format!("\n[exec] {command}\n").as_bytes(), false);
            let mut ch = self.ssh(conn, deadline, &what, |s| s.channel_session())?;
            self.ssh(conn, deadline, &what, |_| ch.exec(command))?;
            let result = self.exec_read(conn, &mut ch, deadline, &what);
            let (stdout, stderr) = match result {
                Ok(streams) => streams,
                Err(e) => {
                    // Abandon the channel without waiting for the server's close: in non-blocking
                    // mode libssh2 sends what it can and frees the rest with the session.
                    conn.session.set_blocking(false);
                    let _ = ch.close();
                    drop(ch);
                    conn.session.set_blocking(true);
                    return Err(e);
                }
            };
            conn.session.set_blocking(true);
            self.ssh(conn, deadline, &what, |_| ch.wait_close())?;
            let exit_status = ch.exit_status().unwrap_or(-1);
            conn.log.record(super::log::Dir::In, &stdout, false);
            conn.log.record(super::log::Dir::In, &stderr, false);
            conn.log.record(super::log::Dir::Note, format!("[exit status {exit_status}]\n").as_bytes(), false);
            Ok(ExecOutput { stdout, stderr, exit_status, elapsed: start.elapsed() })
        })
    }

    /// Reads both streams of an exec channel until EOF. The stdout read blocks at most one
    /// slice; stderr is read without blocking after each, so neither stream can fill the
    /// channel window while the other is waited on.
    fn exec_read(
        &self,
        conn: &mut Conn,
        ch: &mut ssh2::Channel,
        deadline: Instant,
        what: &str,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            self.check(deadline, what, &out)?;
            conn.session.set_blocking(true);
            conn.session.set_timeout(super::ceil_ms(deadline.saturating_duration_since(Instant::now()).min(SLICE)));
            let eof = match ch.read(&mut chunk) {
                Ok(0) => true,
                Ok(n) => {
                    out.extend_from_slice(&chunk[..n]);
                    false
                }
                Err(e) if super::is_timeout(&e) => false,
                Err(e) => return Err(self.lost(conn, what, e)),
            };
            conn.session.set_blocking(false);
            loop {
                match ch.stderr().read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => err.extend_from_slice(&chunk[..n]),
                    Err(e) if super::is_timeout(&e) => break,
                    Err(e) => return Err(self.lost(conn, what, e)),
                }
            }
            if eof {
                return Ok((out, err));
            }
        }
    }

    /// Copies a local file to the device. The remote size is checked against the local one at
    /// the end (SFTP: a stat of the remote file; SCP: the byte count the protocol announced).
    pub fn put_file(
        &self,
        local: &Path,
        remote: &str,
        protocol: Protocol,
        mut progress: Option<Progress<'_>>,
        timeout: Option<Duration>,
    ) -> Result<Transfer> {
        let what = format!("put {} -> {remote}", local.display());
        let mut src = File::open(local).map_err(|e| Error::Io(format!("{}: {what}: {e}", self.name)))?;
        let total = src.metadata().map_err(|e| Error::Io(format!("{}: {what}: {e}", self.name)))?.len();
        self.op(format_args!("{what} ({protocol:?}, {total} bytes)"), timeout, false, |conn, start, deadline| {
            let mut sink: Box<Sink<'_>> = match protocol {
                Protocol::Sftp => {
                    let sftp = self.ssh(conn, deadline, &what, |s| s.sftp())?;
                    let mut file = self.ssh(conn, deadline, &what, |_| sftp.create(Path::new(remote)))?;
                    let what = what.clone();
                    let mut sftp = Some(sftp);
                    Box::new(move |conn: &mut Conn, bytes: &[u8]| {
                        if bytes.is_empty() {
                            // The end: close the handle, then stat what the device stored.
                            file.close().map_err(|e| self.ssh_error(conn, &what, e))?;
                            let stat = sftp.take().expect("end is signalled once").stat(Path::new(remote));
                            let size = stat.map_err(|e| self.ssh_error(conn, &what, e))?.size.unwrap_or(0);
                            return check_size(&self.name, &what, size, total);
                        }
                        file.write_all(bytes).map_err(|e| self.io_error(conn, &what, e))
                    })
                }
                Protocol::Scp => {
                    let mut ch =
                        self.ssh(conn, deadline, &what, |s| s.scp_send(Path::new(remote), 0o644, total, None))?;
                    let what = what.clone();
                    Box::new(move |conn: &mut Conn, bytes: &[u8]| {
                        if bytes.is_empty() {
                            return self.scp_finish(conn, &mut ch, &what);
                        }
                        ch.write_all(bytes).map_err(|e| self.io_error(conn, &what, e))
                    })
                }
            };
            let mut buf = vec![0u8; CHUNK];
            let mut done = 0u64;
            while done < total {
                self.check(deadline, &what, &[])?;
                let want = CHUNK.min((total - done) as usize);
                let n = src.read(&mut buf[..want]).map_err(|e| Error::Io(format!("{}: {what}: {e}", self.name)))?;
                if n == 0 {
                    return Err(Error::Io(format!(
                        "{}: {what}: the local file shrank to {done} of {total} bytes while being sent",
                        self.name
                    )));
                }
                self.bound(conn, deadline)?;
                sink(conn, &buf[..n])?;
                done += n as u64;
                self.report(&mut progress, done, total, &what)?;
            }
            self.bound(conn, deadline)?;
            sink(conn, &[])?;
            Ok(Transfer { bytes: done, elapsed: start.elapsed() })
        })
    }

    /// Copies a file from the device. It is written to `<local>.part` and renamed into place
    /// only when the byte count matches the remote size, so a failed transfer leaves no
    /// truncated file under the real name.
    pub fn get_file(
        &self,
        remote: &str,
        local: &Path,
        protocol: Protocol,
        mut progress: Option<Progress<'_>>,
        timeout: Option<Duration>,
    ) -> Result<Transfer> {
        let what = format!("get {remote} -> {}", local.display());
        let part = PathBuf::from(format!("{}.part", local.display()));
        let mut dst =
            File::create(&part).map_err(|e| Error::Io(format!("{}: {what}: {}: {e}", self.name, part.display())))?;
        let result = self.op(format_args!("{what} ({protocol:?})"), timeout, false, |conn, start, deadline| {
            let (mut source, total, mut scp): (Box<dyn Read>, u64, Option<ssh2::Channel>) = match protocol {
                Protocol::Sftp => {
                    let sftp = self.ssh(conn, deadline, &what, |s| s.sftp())?;
                    let stat = self.ssh(conn, deadline, &what, |_| sftp.stat(Path::new(remote)))?;
                    let file = self.ssh(conn, deadline, &what, |_| sftp.open(Path::new(remote)))?;
                    (Box::new(file), stat.size.unwrap_or(0), None)
                }
                Protocol::Scp => {
                    let (ch, stat) = self.ssh(conn, deadline, &what, |s| s.scp_recv(Path::new(remote)))?;
                    (Box::new(ch.stream(0)), stat.size(), Some(ch))
                }
            };
            let mut buf = vec![0u8; CHUNK];
            let mut done = 0u64;
            while done < total {
                self.check(deadline, &what, &[])?;
                self.bound(conn, deadline)?;
                let want = CHUNK.min((total - done) as usize);
                let n = source.read(&mut buf[..want]).map_err(|e| self.io_error(conn, &what, e))?;
                if n == 0 {
                    break;
                }
                dst.write_all(&buf[..n]).map_err(|e| Error::Io(format!("{}: {what}: {e}", self.name)))?;
                done += n as u64;
                self.report(&mut progress, done, total, &what)?;
            }
            drop(source);
            if let Some(ch) = &mut scp {
                self.bound(conn, deadline)?;
                self.scp_finish(conn, ch, &what)?;
            }
            check_size(&self.name, &what, done, total)?;
            dst.sync_all().map_err(|e| Error::Io(format!("{}: {what}: {e}", self.name)))?;
            Ok(Transfer { bytes: done, elapsed: start.elapsed() })
        });
        match result {
            Ok(t) => {
                std::fs::rename(&part, local).map_err(|e| Error::Io(format!("{}: {what}: {e}", self.name)))?;
                Ok(t)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                Err(e)
            }
        }
    }

    /// Ends an SCP channel and checks the remote scp's exit status: a device without an scp
    /// program (many switches, busybox boards) answers with "not found" and status 127, which
    /// libssh2 alone does not report.
    fn scp_finish(&self, conn: &mut Conn, ch: &mut ssh2::Channel, what: &str) -> Result<()> {
        // The scp protocol ends a file with a zero byte (sending) or acknowledges it with one
        // (receiving); without it OpenSSH's scp reads EOF where it expects that byte and exits 1.
        // A remote scp that already exited (a device without scp) makes this write fail; the
        // exit status below reports that.
        let _ = ch.write_all(&[0]);
        ch.send_eof()
            .and_then(|_| ch.wait_eof())
            .and_then(|_| ch.close())
            .and_then(|_| ch.wait_close())
            .map_err(|e| self.ssh_error(conn, what, e))?;
        match ch.exit_status() {
            Ok(0) => Ok(()),
            status => {
                let mut stderr = String::new();
                let _ = ch.stderr().read_to_string(&mut stderr);
                let said = match stderr.trim() {
                    "" => "it printed nothing".to_owned(),
                    s => s.to_owned(),
                };
                Err(Error::Io(format!(
                    "{}: {what}: the device's scp failed (exit status {}): {said}",
                    self.name,
                    status.map_or_else(|_| "unknown".into(), |s| s.to_string()),
                )))
            }
        }
    }

    fn report(&self, progress: &mut Option<Progress<'_>>, done: u64, total: u64, what: &str) -> Result<()> {
        let go_on = progress.as_mut().is_none_or(|f| f(done, total));
        if !go_on {
            return Err(Error::Cancelled(format!(
                "{}: {what} cancelled by the progress callback after {done} of {total} bytes",
                self.name
            )));
        }
        Ok(())
    }

    /// The checks made between blocking calls: cancel, then deadline.
    fn check(&self, deadline: Instant, what: &str, last: &[u8]) -> Result<()> {
        if self.cancel_requested() {
            return Err(Error::Cancelled(format!(
                "{}: {what} cancelled; last bytes: {}",
                self.name,
                super::tail(last)
            )));
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout(format!(
                "{}: {what} did not finish within the deadline; last bytes: {}",
                self.name,
                super::tail(last)
            )));
        }
        Ok(())
    }

    /// Bounds the next blocking libssh2 call by the time left (and by one slice, so cancel is
    /// seen between calls that each move data).
    fn bound(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
        conn.session.set_blocking(true);
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(format!("{}: the deadline passed", self.name)));
        }
        conn.session.set_timeout(super::ceil_ms(left));
        Ok(())
    }

    /// One blocking libssh2 call, bounded by the deadline, with its error mapped.
    fn ssh<T>(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        what: &str,
        call: impl FnOnce(&ssh2::Session) -> std::result::Result<T, ssh2::Error>,
    ) -> Result<T> {
        self.check(deadline, what, &[])?;
        self.bound(conn, deadline)?;
        call(&conn.session).map_err(|e| self.ssh_error(conn, what, e))
    }

    fn ssh_error(&self, conn: &mut Conn, what: &str, e: ssh2::Error) -> Error {
        match e.code() {
            ssh2::ErrorCode::Session(-9) => {
                Error::Timeout(format!("{}: {what} did not finish within the deadline", self.name))
            }
            // Socket send/recv failures, disconnects, a closed channel.
            ssh2::ErrorCode::Session(-7 | -13 | -26 | -43) => {
                conn.closed = true;
                Error::Closed(format!("{}: {what}: {}", self.name, super::ssh_text::words(&e)))
            }
            _ => Error::Io(format!("{}: {what}: {}", self.name, super::ssh_text::words(&e))),
        }
    }

    fn io_error(&self, conn: &mut Conn, what: &str, e: std::io::Error) -> Error {
        if super::is_timeout(&e) {
            return Error::Timeout(format!("{}: {what} did not finish within the deadline", self.name));
        }
        use std::io::ErrorKind::*;
        match e.kind() {
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => self.lost(conn, what, e),
            _ => Error::Io(format!("{}: {what}: {e}", self.name)),
        }
    }

    fn lost(&self, conn: &mut Conn, what: &str, e: std::io::Error) -> Error {
        conn.closed = true;
        Error::Closed(format!("{}: connection lost during {what}: {e}", self.name))
    }
}

fn check_size(name: &str, what: &str, got: u64, want: u64) -> Result<()> {
    if got != want {
        return Err(Error::Io(format!("{name}: {what}: size mismatch: {got} bytes on arrival, {want} sent")));
    }
    Ok(())
}
