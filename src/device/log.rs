//! The session log: everything sent to and received from a device, with secrets redacted.
//!
//! Secrets are kept out of the log in two ways: what netrig itself sends as a secret (the enable
//! secret, an answer to a password prompt) is logged as [`REDACTED`], and any known secret that
//! appears in received or sent text is replaced before it reaches the file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// What a secret looks like in the log.
pub const REDACTED: &str = "********";

pub(crate) struct SessionLog {
    file: BufWriter<File>,
    secrets: Vec<Zeroizing<String>>,
}

impl SessionLog {
    /// Opens (appends to) the log at `path`.
    pub fn open(name: &str, path: &Path, secrets: Vec<Zeroizing<String>>) -> Result<SessionLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Io(format!("{name}: session log {}: {e}", path.display())))?;
        let secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        Ok(SessionLog { file: BufWriter::new(file), secrets })
    }

    /// Logs bytes received from or sent to the device. `secret` marks bytes that are a secret
    /// as a whole (they are replaced, line ending kept).
    pub fn write(&mut self, bytes: &[u8], secret: bool) {
        let result = if secret {
            let ending = bytes.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r').count();
            self.file.write_all(REDACTED.as_bytes()).and_then(|_| self.file.write_all(&bytes[bytes.len() - ending..]))
        } else {
            let text = self.redact(bytes);
            self.file.write_all(&text)
        };
        // A log that cannot be written must not fail the operation on the device; the error
        // shows when the log is flushed.
        let _ = result;
    }

    fn redact(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for secret in &self.secrets {
            let s = secret.as_bytes();
            let mut i = 0;
            while i + s.len() <= out.len() {
                if &out[i..i + s.len()] == s {
                    out.splice(i..i + s.len(), REDACTED.bytes());
                    i += REDACTED.len();
                } else {
                    i += 1;
                }
            }
        }
        out
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
            let mut log = SessionLog::open("t", &path, vec![Zeroizing::new("hunter2".into())]).unwrap();
            log.write(b"Password: ", false);
            log.write(b"s3cret\n", true);
            log.write(b"echo hunter2 and hunter2\r\n", false);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(text, "Password: ********\necho ******** and ********\r\n");
    }
}
