//! The session log: everything sent to and received from a device, with secrets redacted.
//!
//! What netrig itself sends as a secret (the enable secret, an answer to a password prompt) is
//! logged as [`REDACTED`]. Nothing else is changed: the device's output is logged as it came,
//! so a password that happens to be a common word ("admin") never mangles the transcript
//! ("administratively down"), and the commands the caller sends are logged as sent.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::log::{Level, Target};

/// What a secret looks like in the log.
pub const REDACTED: &str = "********";

/// The bytes as a log shows them: `secret` bytes (a secret as a whole) become [`REDACTED`], with
/// their line ending kept; any other bytes are shown as they are.
pub(crate) fn shown(bytes: &[u8], secret: bool) -> std::borrow::Cow<'_, [u8]> {
    if !secret {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let ending = bytes.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r').count();
    let mut out = REDACTED.as_bytes().to_vec();
    out.extend_from_slice(&bytes[bytes.len() - ending..]);
    std::borrow::Cow::Owned(out)
}

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Received from the device.
    In,
    /// Sent to the device.
    Out,
    /// A note netrig adds to the transcript (exec's command and exit status).
    Note,
}

impl Dir {
    fn marker(self) -> &'static str {
        match self {
            Dir::In => "<<",
            Dir::Out => ">>",
            Dir::Note => "--",
        }
    }
}

/// Where a session's bytes are recorded: its session log (when asked for) and, at TRACE, the
/// library's log, both redacted the same way.
pub(crate) struct Transcript {
    /// The device as log records name it ("127.0.0.1:2201").
    pub name: String,
    pub session: Option<SessionLog>,
}

impl Transcript {
    pub fn new(name: &str) -> Transcript {
        Transcript { name: name.to_owned(), session: None }
    }

    /// Records bytes received (`Dir::In`) or sent (`Dir::Out`); `secret` bytes are a secret as
    /// a whole.
    pub fn record(&mut self, dir: Dir, bytes: &[u8], secret: bool) {
        if let Some(session) = &mut self.session {
            session.write(dir, &shown(bytes, secret));
        }
        if crate::log::enabled(Level::Trace) {
            let shown = shown(bytes, secret);
            let what = match dir {
                Dir::In => "received",
                Dir::Out => "sent",
                Dir::Note => "note",
            };
            crate::log!(
                Level::Trace,
                Target::Device,
                Some(&self.name),
                "{what} {} bytes: {}",
                bytes.len(),
                crate::log::escape(&shown)
            );
        }
    }

    pub fn flush(&mut self) {
        if let Some(session) = &mut self.session {
            session.flush();
        }
    }
}

pub(crate) struct SessionLog {
    file: BufWriter<File>,
    /// Each chunk starts with `[<UTC time> <<] ` (received), `>>` (sent) or `--` (a note).
    timestamps: bool,
    /// The last byte written ended a line (a marker then needs no newline before it).
    at_line_start: bool,
}

impl SessionLog {
    /// Opens (appends to) the log at `path`.
    pub fn open(name: &str, path: &Path, timestamps: bool) -> Result<SessionLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Io(format!("{name}: session log {}: {e}", path.display())))?;
        Ok(SessionLog { file: BufWriter::new(file), timestamps, at_line_start: true })
    }

    /// Writes bytes already redacted. With timestamps, the chunk starts on a line of its own
    /// with its marker.
    fn write(&mut self, dir: Dir, shown: &[u8]) {
        if shown.is_empty() {
            return;
        }
        // A log that cannot be written must not fail the operation on the device; the error
        // shows when the log is flushed.
        if self.timestamps {
            let lead = if self.at_line_start { "" } else { "\n" };
            let _ = write!(self.file, "{lead}[{} {}] ", crate::log::now_text(), dir.marker());
        }
        let _ = self.file.write_all(shown);
        self.at_line_start = shown.ends_with(b"\n");
    }

    /// Pushes the buffered log to the file (at the end of every operation).
    pub fn flush(&mut self) {
        let _ = self.file.flush();
    }
}

impl Drop for SessionLog {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_file() {
        let path = std::env::temp_dir().join(format!("netrig-log-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let mut log = Transcript::new("t");
            log.session = Some(SessionLog::open("t", &path, false).unwrap());
            log.record(Dir::In, b"Password: ", false);
            log.record(Dir::Out, b"s3cret\n", true);
            log.record(Dir::In, b"echo hunter2 and hunter2\r\n", false);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        // Only what was sent as a secret is redacted; the device's text is logged as it came,
        // even where it holds the same letters as a secret.
        assert_eq!(text, "Password: ********\necho hunter2 and hunter2\r\n");
    }

    #[test]
    fn timestamps_mark_each_chunk_with_its_direction() {
        let path = std::env::temp_dir().join(format!("netrig-log-ts-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let mut log = Transcript::new("t");
            log.session = Some(SessionLog::open("t", &path, true).unwrap());
            log.record(Dir::In, b"Password: ", false);
            log.record(Dir::Out, b"hunter2\n", true);
            log.record(Dir::In, b"line one\r\nR1#", false);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let re = regex::Regex::new(
            r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z <<\] Password: \n\[[^\]]+Z >>\] \*{8}\n\[[^\]]+Z <<\] line one\r\nR1#$",
        )
        .unwrap();
        assert!(re.is_match(&text), "{text:?}");
    }
}
