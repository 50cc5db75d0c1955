//! The commands a caller sends to the CLI: one command read to the prompt, to an expect
//! pattern or to a quiet period, and interactive dialogues; the cleaning that turns the raw
//! bytes of a reply into [`Output`] text, and the check of that text for the device's error
//! lines, which the modes use for their replies too.

use std::time::Duration;

use regex::bytes::Regex;

use super::read::{tail_matcher, Done};
use super::{platform, Conn, Device, Output, Platform};
use crate::error::{CommandFailure, Error, Result};
use crate::log::{Level, Target};

/// How one operation checks its output for the lines a device prints when it refuses a
/// command. The default takes the device's: its error patterns (the platform's, or the
/// `error_pattern` option) and whether a match fails (`DeviceOptions::check_errors`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// Whether a matching output fails the operation with [`Error::CommandFailed`] (`None`:
    /// the device's default). With `Some(false)` the output is returned with
    /// [`Output::failure`] set instead, so a caller can look without catching.
    pub fail: Option<bool>,
    /// A regex (matched on each line, case-insensitive unless it starts with `(?-i)`) that
    /// replaces the error patterns for this call.
    pub error_pattern: Option<String>,
}

impl Check {
    /// A match fails the operation, whatever the device's default.
    pub fn on() -> Check {
        Check { fail: Some(true), error_pattern: None }
    }

    /// A match only sets [`Output::failure`].
    pub fn off() -> Check {
        Check { fail: Some(false), error_pattern: None }
    }

    /// The device's default with `pattern` as the error patterns.
    pub fn pattern(pattern: &str) -> Check {
        Check { fail: None, error_pattern: Some(pattern.to_owned()) }
    }
}

/// A [`Check`] made ready before the operation starts, so that a bad pattern fails before
/// anything is sent.
pub(super) struct Checking {
    fail: bool,
    own: Option<Regex>,
}

impl Checking {
    fn patterns<'a>(&'a self, platform: &'a Platform) -> Option<&'a Regex> {
        self.own.as_ref().or(platform.errors.as_ref())
    }

    /// The first line of `text` that matches the error patterns, without its newline and the
    /// spaces around it. A pattern's leading `\s*` can start the match on a blank line before
    /// the device's: the line is the one where the match's first visible character is.
    ///
    /// An output longer than twice [`CHECK_WINDOW`] is checked in its first and its last
    /// `CHECK_WINDOW` bytes (whole lines), where a CLI prints a refusal: its first lines for a
    /// command it does not take, its last for one that fails after it started (`copy`). Scanning
    /// all of a 2 MB `show tech-support` cost about 3 ms, a quarter of reading it.
    pub(super) fn failure(&self, platform: &Platform, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let re = self.patterns(platform)?;
        let m = if bytes.len() <= 2 * CHECK_WINDOW {
            re.find(bytes)?
        } else {
            let head = memchr::memrchr(b'\n', &bytes[..CHECK_WINDOW]).map_or(CHECK_WINDOW, |i| i + 1);
            let from = bytes.len() - CHECK_WINDOW;
            let tail = memchr::memchr(b'\n', &bytes[from..]).map_or(from, |i| from + i + 1);
            re.find(&bytes[..head]).or_else(|| re.find_at(bytes, tail))?
        };
        let at = bytes[m.start()..m.end()]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(m.start(), |i| m.start() + i);
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |i| at + i);
        Some(text[start..end].trim().to_owned())
    }

    pub(super) fn fails(&self) -> bool {
        self.fail
    }
}

/// How much of each end of a long output the error check reads ([`Checking::failure`]).
pub(super) const CHECK_WINDOW: usize = 64 * 1024;

/// Quotes a device's line for an error message.
pub(super) fn quote(line: &str) -> String {
    format!("\"{line}\"")
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

impl Device {
    /// An operation's result, named by what was sent and the platform that read it.
    pub(super) fn output(&self, text: String, elapsed: Duration, command: String) -> Output {
        Output { text, elapsed, command, platform: std::sync::Arc::from(self.platform.name.as_str()), failure: None }
    }

    /// Compiles a call's check against the device's defaults.
    pub(super) fn checking(&self, check: &Check) -> Result<Checking> {
        let own = match &check.error_pattern {
            None => None,
            Some(p) => Some(Regex::new(&format!("(?mi){p}")).map_err(|e| {
                Error::InvalidArg(format!("{}: error_pattern '{p}' is not a valid pattern: {e}", self.name))
            })?),
        };
        Ok(Checking { fail: check.fail.unwrap_or(self.check_errors), own })
    }

    /// Checks an operation's output (`what` names the command in messages): sets its
    /// `failure`, and fails with [`Error::CommandFailed`] when the check says a match fails.
    /// Either way the failure is logged at the device, with the command.
    pub(super) fn checked(&self, mut output: Output, checking: &Checking, what: &str) -> Result<Output> {
        output.failure = checking.failure(&self.platform, &output.text);
        let Some(line) = &output.failure else { return Ok(output) };
        let message = format!("{}: {what} failed: the device answered {}", self.name, quote(line));
        self.fail_output(output, checking.fail, message)
    }

    /// Logs a failed output, and returns it as an error when `fail` (else as the result).
    pub(super) fn fail_output(&self, output: Output, fail: bool, message: String) -> Result<Output> {
        let level = if fail { Level::Warn } else { Level::Info };
        crate::log!(
            level,
            Target::Device,
            Some(&self.log_name),
            "{}{}",
            message.strip_prefix(self.name.as_str()).map_or(message.as_str(), |m| m.trim_start_matches(": ")),
            if fail { "" } else { " (check off: returned as output)" }
        );
        if fail {
            Err(Error::CommandFailed(Box::new(CommandFailure { message, output })))
        } else {
            Ok(output)
        }
    }

    /// Sends one command and returns its output, read until the prompt comes back. The echoed
    /// command and the trailing prompt are removed; paging is answered if it appears.
    /// `timeout` defaults to the device's operation timeout. An output with a line that matches
    /// the device's error patterns is [`Error::CommandFailed`] (unless the device's
    /// `check_errors` is off); [`Device::send_command_with`] changes that for one call.
    pub fn send_command(&self, command: &str, timeout: Option<Duration>) -> Result<Output> {
        self.send_command_with(command, timeout, &Check::default())
    }

    /// `send_command` with its own check of the output.
    pub fn send_command_with(&self, command: &str, timeout: Option<Duration>, check: &Check) -> Result<Output> {
        self.command(command, None, timeout, false, check)
    }

    /// Like `send_command`, but returns `Error::Busy` at once if another operation is running.
    pub fn try_send_command(&self, command: &str, timeout: Option<Duration>) -> Result<Output> {
        self.command(command, None, timeout, true, &Check::default())
    }

    /// Sends one command and reads until `expect` (a regex) matches the output, instead of
    /// until the prompt. Use it for commands that end in a question or a custom marker. The
    /// output is checked as `send_command`'s.
    pub fn send_command_expect(&self, command: &str, expect: &str, timeout: Option<Duration>) -> Result<Output> {
        self.send_command_expect_with(command, expect, timeout, &Check::default())
    }

    /// `send_command_expect` with its own check of the output.
    pub fn send_command_expect_with(
        &self,
        command: &str,
        expect: &str,
        timeout: Option<Duration>,
        check: &Check,
    ) -> Result<Output> {
        let expect = pattern("expect pattern", expect)?;
        self.command(command, Some(&expect), timeout, false, check)
    }

    fn command(
        &self,
        command: &str,
        expect: Option<&Regex>,
        timeout: Option<Duration>,
        nowait: bool,
        check: &Check,
    ) -> Result<Output> {
        let checking = self.checking(check)?;
        let output = self.op(format_args!("command '{command}'"), timeout, nowait, |conn, start, deadline| {
            self.send_line(conn, deadline, command)?;
            let raw = match expect {
                None => self.read_prompt(conn, deadline, &format!("the prompt after '{command}'"))?,
                Some(re) => {
                    self.read_until(conn, deadline, &format!("'{}' after '{command}'", re.as_str()), tail_matcher(re))?
                }
            };
            self.note_early_end(conn, &raw);
            Ok(self.output(clean(&self.platform, &raw, command), start.elapsed(), command.to_owned()))
        })?;
        self.checked(output, &checking, &format!("command '{command}'"))
    }

    /// A read that ended before a prompt (an expect pattern, a quiet period) may leave the device
    /// still printing: the next line then resynchronises instead of taking that output as its own.
    fn note_early_end(&self, conn: &mut Conn, raw: &[u8]) {
        if !self.platform.at_prompt(raw) {
            conn.dirty = true;
        }
    }

    /// Sends one command and reads until the device has been quiet for `quiet` (for output that
    /// ends without a prompt). The deadline still bounds the whole operation. The output is
    /// checked as `send_command`'s.
    pub fn send_command_timing(&self, command: &str, quiet: Duration, timeout: Option<Duration>) -> Result<Output> {
        self.send_command_timing_with(command, quiet, timeout, &Check::default())
    }

    /// `send_command_timing` with its own check of the output.
    pub fn send_command_timing_with(
        &self,
        command: &str,
        quiet: Duration,
        timeout: Option<Duration>,
        check: &Check,
    ) -> Result<Output> {
        let checking = self.checking(check)?;
        let output =
            self.op(format_args!("command (timing) '{command}'"), timeout, false, |conn, start, deadline| {
                self.send_line(conn, deadline, command)?;
                let what = format!("a quiet period of {} ms after '{command}'", quiet.as_millis());
                let raw = self.read_until(conn, deadline, &what, |_, _| Done::IfQuiet(quiet))?;
                self.note_early_end(conn, &raw);
                Ok(self.output(clean(&self.platform, &raw, command), start.elapsed(), command.to_owned()))
            })?;
        self.checked(output, &checking, &format!("command '{command}'"))
    }

    /// Answers a dialogue: for each `(send, expect)` pair, sends `send` and a newline, then reads
    /// until `expect` (a regex) matches, or until the prompt when `expect` is empty. Answers to
    /// password prompts are redacted in the session log (and in the output's `command`, and in
    /// messages). Returns the whole transcript. Each step's answer is checked as
    /// `send_command`'s output; the first that matches names its step.
    pub fn send_interactive(&self, steps: &[(&str, &str)], timeout: Option<Duration>) -> Result<Output> {
        self.send_interactive_with(steps, timeout, &Check::default())
    }

    /// `send_interactive` with its own check of the answers.
    pub fn send_interactive_with(
        &self,
        steps: &[(&str, &str)],
        timeout: Option<Duration>,
        check: &Check,
    ) -> Result<Output> {
        let checking = self.checking(check)?;
        let patterns = steps
            .iter()
            .map(|(_, e)| if e.is_empty() { Ok(None) } else { pattern("expect pattern", e).map(Some) })
            .collect::<Result<Vec<_>>>()?;
        let (output, failed) =
            self.op(format_args!("interactive ({} steps)", steps.len()), timeout, false, |conn, start, deadline| {
                let mut transcript = Vec::new();
                let mut previous = conn.prompt.clone();
                let mut sent = Vec::with_capacity(steps.len());
                let mut failed = None;
                for (i, ((send, _), expect)) in steps.iter().zip(&patterns).enumerate() {
                    let secret = asks_secret(&previous);
                    if secret {
                        conn.write(&self.name, format!("{send}\n").as_bytes(), true)?;
                    } else {
                        self.send_line(conn, deadline, send)?;
                    }
                    let shown = if secret { "<secret>" } else { send };
                    sent.push(shown);
                    let raw = match expect {
                        None => self.read_prompt(conn, deadline, &format!("the prompt after '{shown}'"))?,
                        Some(re) => self.read_until(
                            conn,
                            deadline,
                            &format!("'{}' after '{shown}'", re.as_str()),
                            tail_matcher(re),
                        )?,
                    };
                    self.note_early_end(conn, &raw);
                    if failed.is_none() {
                        let answer = clean(&self.platform, &raw, if secret { "" } else { send });
                        failed = checking.failure(&self.platform, &answer).map(|line| (i, shown, line));
                    }
                    transcript.extend_from_slice(&raw);
                    previous = raw;
                }
                let text = clean(&self.platform, &transcript, "");
                Ok((self.output(text, start.elapsed(), sent.join("\n")), failed.map(|(i, s, l)| (i, s.to_owned(), l))))
            })?;
        let Some((i, send, line)) = failed else { return Ok(output) };
        let message = format!(
            "{}: step {} '{send}' of the dialogue failed: the device answered {}",
            self.name,
            i + 1,
            quote(&line)
        );
        let output = Output { failure: Some(line), ..output };
        self.fail_output(output, checking.fails(), message)
    }
}

/// Removes the echoed command (first line, when it is the command), the trailing prompt (last
/// line, when it is a prompt), ANSI escapes and carriage returns, and decodes the whole buffer
/// at once (so multi-byte characters split across reads come out whole). One pass over the
/// bytes: a 2 MB output is cleaned in about a millisecond.
pub(super) fn clean(platform: &Platform, raw: &[u8], command: &str) -> String {
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
    if let Some(strip) = &platform.strip_trailing {
        strip_trailing(&mut out, strip);
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Removes the lines at the end of `out` that match `strip` (context lines such as Junos'
/// `{master:0}` or `[edit]`), with the blank lines the device prints before them.
fn strip_trailing(out: &mut Vec<u8>, strip: &Regex) {
    let mut stripped = false;
    loop {
        let body = out.strip_suffix(b"\n").unwrap_or(out);
        let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
        let line = &body[start..];
        if (stripped && line.trim_ascii().is_empty() && !out.is_empty()) || (!line.is_empty() && strip.is_match(line)) {
            stripped |= !line.trim_ascii().is_empty();
            out.truncate(start);
        } else {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_output_is_checked_at_its_ends() {
        let ios = Platform::named("cisco_ios").unwrap();
        let checking = Checking { fail: true, own: None };
        let line = "GigabitEthernet0/1 is up, line protocol is up, 0 input errors\n";
        let body = line.repeat(3 * CHECK_WINDOW / line.len());
        let refusal = "% Invalid input detected at '^' marker.\n";
        let quoted = Some(refusal.trim().to_owned());
        assert_eq!(checking.failure(&ios, &body), None);
        assert_eq!(checking.failure(&ios, &format!("{refusal}{body}")), quoted, "first line");
        assert_eq!(checking.failure(&ios, &format!("{body}{refusal}")), quoted, "last line");
        // Near the end of the head window, and near the start of the tail window.
        let at = |pos: usize| {
            let cut = body[..pos].rfind('\n').unwrap() + 1;
            format!("{}{refusal}{}", &body[..cut], &body[cut..])
        };
        assert_eq!(checking.failure(&ios, &at(CHECK_WINDOW - refusal.len())), quoted, "end of the head");
        let text = at(body.len() - CHECK_WINDOW + 2 * line.len());
        assert_eq!(checking.failure(&ios, &text), quoted, "start of the tail");
        // The middle of a long output is not read; a short output is read whole.
        assert_eq!(checking.failure(&ios, &at(body.len() / 2)), None);
        let short = format!("{}{refusal}{}", line.repeat(800), line.repeat(800));
        assert!(short.len() <= 2 * CHECK_WINDOW);
        assert_eq!(checking.failure(&ios, &short), quoted);
    }

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
    fn junos_context_lines_are_stripped_from_the_end_only() {
        let junos = Platform::named("juniper_junos").unwrap();
        let raw = b"show version\r\nHostname: mx1\r\nModel: mx204\r\n\r\n{master:0}\r\nadmin@mx1> ";
        assert_eq!(clean(&junos, raw, "show version"), "Hostname: mx1\nModel: mx204\n");
        let raw = b"show | compare\r\n[edit system]\r\n-  host-name mx0;\r\n\r\n[edit]\r\nadmin@mx1# ";
        assert_eq!(clean(&junos, raw, "show | compare"), "[edit system]\n-  host-name mx0;\n");
        assert_eq!(clean(&junos, b"set x\r\n\r\n[edit]\r\nadmin@mx1# ", "set x"), "");
        assert_eq!(clean(&junos, b"show x\r\n{backup}\r\nvmx2> ", "show x"), "");
        // Not at the end: kept.
        assert_eq!(clean(&junos, b"x\r\n{master:0}\r\nline\r\nvmx2> ", "x"), "{master:0}\nline\n");
    }
}
