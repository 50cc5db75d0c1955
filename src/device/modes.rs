//! The CLI's modes: privileged (enable) mode, configuration mode and leaving them, configuration
//! sets with their optional Junos-style commit, and saving the configuration. Each public
//! operation takes the device's lock once; the `_locked` steps compose inside it, so a config
//! set enters enable and configuration mode, sends its lines and leaves without letting another
//! caller in between.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::commands::{clean, Check};
use super::platform::Answer;
use super::read::Done;
use super::{tail, Conn, Device, Output, Platform};
use crate::error::{CommandFailure, Error, Result};

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
        let secret_prompt = self.platform.secret_prompt.clone();
        let asks = |b: &[u8]| secret_prompt.as_ref().is_some_and(|s| s.is_match(&Platform::last_line(b)));
        let prompt_or_question = |p: &Platform, b: &[u8]| if p.at_prompt(b) || asks(b) { Done::Yes } else { Done::No };
        self.send_line(conn, deadline, enable)?;
        let mut raw = self.read_until(conn, deadline, "the enable secret prompt", prompt_or_question)?;
        let mut asked = 0;
        // The secret once; a device that asks again refused it (or its absence), and gets empty
        // answers until it gives up and prints its prompt (IOS asks three times).
        while !self.platform.at_prompt(&raw) {
            if let (Some(secret), 0) = (&self.secret, asked) {
                let mut line = Zeroizing::new(secret.as_bytes().to_vec());
                line.push(b'\n');
                conn.write(&self.name, &line, true)?;
            } else if asked < 8 {
                conn.write(&self.name, b"\n", false)?;
            } else {
                conn.dirty = true;
                return Err(Error::Auth(format!(
                    "{}: '{enable}' keeps asking for the secret ({asked} answers); last bytes: {}",
                    self.name,
                    tail(&raw)
                )));
            }
            asked += 1;
            raw =
                self.read_until(conn, deadline, "the prompt after answering the enable secret", prompt_or_question)?;
        }
        if self.platform.in_user_mode(&conn.prompt) {
            let why = match (&self.secret, asked) {
                (None, 0) => "it did not enter privileged mode".to_owned(),
                (None, _) => "it asks for a secret and none was given (options.secret)".to_owned(),
                (Some(_), 0 | 1) => "enable secret refused".to_owned(),
                (Some(_), n) => format!("enable secret refused (asked {n} times)"),
            };
            return Err(Error::Auth(format!(
                "{}: '{enable}': {why}; the session stays at {}",
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
        if !self.platform.configurable {
            return Err(Error::InvalidArg(format!(
                "{}: platform {} has no configuration mode",
                self.name, self.platform.name
            )));
        }
        if self.platform.enable.is_some() {
            self.enable_locked(conn, deadline)?;
        }
        // Platforms without a configuration mode take configuration lines at the prompt.
        let Some(enter) = &self.platform.config_enter else { return Ok(()) };
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
        self.answer_until_prompt(conn, deadline, &format!("the prompt after '{exit}'"), &self.platform.config_answers)?;
        if self.platform.in_config(&conn.prompt) {
            return Err(Error::Prompt(format!("{}: '{exit}' left the prompt at {}", self.name, tail(&conn.prompt))));
        }
        Ok(())
    }

    /// Reads to the prompt, answering the questions of `answers` on the way (at most 8, so a
    /// device that keeps asking cannot hold the operation past a few rounds). Returns all that
    /// was read.
    fn answer_until_prompt(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        what: &str,
        answers: &[Answer],
    ) -> Result<Vec<u8>> {
        let question = |b: &[u8]| {
            let last = Platform::last_line(b);
            answers.iter().find(|a| a.question.is_match(&last))
        };
        let mut transcript = Vec::new();
        for _ in 0..8 {
            let raw = self.read_until(conn, deadline, what, |p, b| {
                if p.at_prompt(b) || question(b).is_some() {
                    Done::Yes
                } else {
                    Done::No
                }
            })?;
            transcript.extend_from_slice(&raw);
            if self.platform.at_prompt(&raw) {
                return Ok(transcript);
            }
            let answer = question(&raw).expect("the read ended at a question");
            conn.write(&self.name, format!("{}\n", answer.send).as_bytes(), false)?;
        }
        Err(Error::Prompt(format!("{}: {what}: the device keeps asking; last bytes: {}", self.name, tail(&transcript))))
    }

    /// Enters configuration mode, sends each line and checks its output for the device's error
    /// patterns. The first rejected line stops the set with [`Error::CommandFailed`] naming the
    /// line (its output is the transcript so far). Commits (or checks) on Junos-style platforms
    /// when asked, and leaves configuration mode when `opts.exit` (also after an error).
    /// Returns the transcript: each line, then its output.
    pub fn send_config_set(&self, lines: &[&str], opts: ConfigOptions, timeout: Option<Duration>) -> Result<Output> {
        self.send_config_set_with(lines, opts, timeout, &Check::default())
    }

    /// `send_config_set` with its own check of each line's output. With the check off every
    /// line is sent, and the output's `failure` is the first rejected line's answer.
    pub fn send_config_set_with(
        &self,
        lines: &[&str],
        opts: ConfigOptions,
        timeout: Option<Duration>,
        check: &Check,
    ) -> Result<Output> {
        let checking = self.checking(check)?;
        let commit = match opts.commit {
            Commit::No => None,
            Commit::Check => self.platform.commit_check.clone(),
            Commit::Commit => self.platform.commit.clone(),
        };
        if opts.commit != Commit::No && commit.is_none() {
            return Err(Error::InvalidArg(format!(
                "{}: platform {} has no commit; changes apply line by line",
                self.name, self.platform.name
            )));
        }
        let (output, rejected) =
            self.op(format_args!("config_set ({} lines)", lines.len()), timeout, false, |conn, start, deadline| {
                self.config_locked(conn, deadline)?;
                let mut transcript = String::new();
                // The first rejected line: its message and the device's line.
                let mut rejected: Option<(String, String)> = None;
                let mut steps: Vec<(usize, &str)> = lines.iter().copied().enumerate().collect();
                steps.extend(commit.as_deref().map(|c| (lines.len(), c)));
                for (i, line) in steps {
                    self.send_line(conn, deadline, line)?;
                    let raw = self.read_prompt(conn, deadline, &format!("prompt after config line '{line}'"))?;
                    let out = clean(&self.platform, &raw, line);
                    transcript.push_str(line);
                    transcript.push('\n');
                    transcript.push_str(&out);
                    if rejected.is_some() {
                        continue;
                    }
                    if let Some(matched) = checking.failure(&self.platform, &out) {
                        let which = if i < lines.len() {
                            format!("config line {} '{line}'", i + 1)
                        } else {
                            format!("'{line}'")
                        };
                        rejected = Some((format!("{}: {which} was rejected: {}", self.name, out.trim()), matched));
                        if checking.fails() {
                            break;
                        }
                    }
                }
                let output = self.output(transcript, Duration::ZERO, lines.join("\n"));
                if opts.exit {
                    if let Err(e) = self.exit_config_locked(conn, deadline) {
                        let Some((message, matched)) = rejected else { return Err(e) };
                        // The rejected line is what the caller must see first; the failed exit
                        // leaves the session in doubt, so it is marked for resynchronisation.
                        if matches!(e, Error::Timeout(_) | Error::Cancelled(_)) {
                            conn.dirty = true;
                        }
                        self.mark_broken();
                        let message = format!("{message}; then leaving configuration mode failed: {e}");
                        let output = Output { failure: Some(matched), elapsed: start.elapsed(), ..output };
                        return Err(Error::CommandFailed(Box::new(CommandFailure { message, output })));
                    }
                }
                Ok((Output { elapsed: start.elapsed(), ..output }, rejected))
            })?;
        let Some((message, matched)) = rejected else { return Ok(output) };
        self.fail_output(Output { failure: Some(matched), ..output }, checking.fails(), message)
    }

    /// Saves the running configuration (`write memory`, `copy running-config startup-config`,
    /// or a Junos `commit`), answering the confirmation questions it asks.
    pub fn save_config(&self, timeout: Option<Duration>) -> Result<Output> {
        let save = self.platform.save.clone().ok_or_else(|| {
            Error::InvalidArg(format!("{}: platform {} has no save command", self.name, self.platform.name))
        })?;
        let checking = self.checking(&Check::default())?;
        let (output, failed) = self.op(format_args!("save_config"), timeout, false, |conn, start, deadline| {
            if self.platform.commit.is_some() {
                self.config_locked(conn, deadline)?;
            } else {
                self.exit_config_locked(conn, deadline)?;
                if self.platform.enable.is_some() {
                    self.enable_locked(conn, deadline)?;
                }
            }
            self.send_line(conn, deadline, &save)?;
            let transcript = self.answer_until_prompt(
                conn,
                deadline,
                &format!("the prompt after '{save}'"),
                &self.platform.save_answers,
            )?;
            let text = clean(&self.platform, &transcript, &save);
            let output = self.output(text, start.elapsed(), save.clone());
            if let Some(matched) = checking.failure(&self.platform, &output.text) {
                // The session stays where the save left it: a failed commit keeps its changes
                // in the candidate for the caller to look at.
                let message = format!("{}: '{save}' failed: {}", self.name, output.text.trim());
                return Ok((Output { failure: Some(matched), ..output }, Some(message)));
            }
            if self.platform.commit.is_some() {
                self.exit_config_locked(conn, deadline)?;
            }
            Ok((self.output(output.text, start.elapsed(), save), None))
        })?;
        match failed {
            Some(message) => self.fail_output(output, true, message),
            None => Ok(output),
        }
    }
}
