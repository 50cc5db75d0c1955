//! The CLI's modes: privileged (enable) mode, configuration mode and leaving them, configuration
//! sets with their optional Junos-style commit, and saving the configuration. Each public
//! operation takes the device's lock once; the `_locked` steps compose inside it, so a config
//! set enters enable and configuration mode, sends its lines and leaves without letting another
//! caller in between.

use std::time::{Duration, Instant};

use regex::bytes::Regex;
use zeroize::Zeroizing;

use super::commands::clean;
use super::read::Done;
use super::{tail, Conn, Device, Output, Platform};
use crate::error::{Error, Result};

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
    /// Enters privileged mode with the secret given at open. Does nothing when already there.
    pub fn enable(&self, timeout: Option<Duration>) -> Result<()> {
        self.op(format_args!("enable"), timeout, false, |conn, _, deadline| self.enable_locked(conn, deadline))
    }

    pub(super) fn enable_locked(&self, conn: &mut Conn, deadline: Instant) -> Result<()> {
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
        self.op(format_args!("exit_enable"), timeout, false, |conn, _, deadline| {
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
        self.op(format_args!("config_mode"), timeout, false, |conn, _, deadline| self.config_locked(conn, deadline))
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
        self.op(format_args!("exit_config_mode"), timeout, false, |conn, _, deadline| {
            self.exit_config_locked(conn, deadline)
        })
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
        self.op(format_args!("config_set ({} lines)", lines.len()), timeout, false, |conn, start, deadline| {
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
        self.op(format_args!("save_config"), timeout, false, |conn, start, deadline| {
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
}
