//! The read loop that every CLI operation is built on: reads against the deadline in slices of
//! at most [`SLICE`], checks the cancel flag between slices, answers paging markers, matches the
//! prompt or an expect pattern on the newest bytes only, and resynchronises on a line's echo
//! after an earlier operation gave up. It is the one place where deadlines and cancels are
//! enforced, so the modes and commands built on it cannot wait past either.

use std::io::Read;
use std::time::{Duration, Instant};

use regex::bytes::Regex;

use super::{ceil_ms, is_timeout, platform, tail, Conn, Device, Platform, SLICE};
use crate::error::{Error, Result};

/// Matches `re` against the bytes that arrived since the last call (plus an overlap), so that a
/// long output is scanned once, not once per chunk.
pub(super) fn tail_matcher(re: &Regex) -> impl FnMut(&Platform, &[u8]) -> Done + '_ {
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
pub(super) enum Done {
    No,
    Yes,
    /// Done if nothing more arrives for this long.
    IfQuiet(Duration),
}

/// How long a prompt-shaped line of an unfamiliar name must stand with nothing after it before
/// it is taken as the prompt.
const PROMPT_GRACE: Duration = Duration::from_millis(50);

/// The host part of a prompt line ("R1" of "R1(config)#", "admin@mx1" of "admin@mx1> ",
/// "admin@board1" of "admin@board1:~$ ", "admin@rhel1" of "[admin@rhel1 ~]$ ", "/" of "/ # ").
/// Brackets, '<' and an unsaved mark ("* ") that open a prompt are skipped (RHEL's
/// "[user@host dir]$", Huawei's "<HUAWEI>", EXOS' "* X460.3 #"), so the name is compared, not
/// the punctuation around it.
fn prompt_base(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|&b| !b"[<* ".contains(&b)).unwrap_or(line.len());
    let line = &line[start..];
    let end = line.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"._-@/~".contains(&b))).unwrap_or(line.len());
    &line[..end]
}

/// Whether a prompt's host part is the known one's: the same, or the same with a sub-view
/// after a '-' (Huawei's and Comware's `[HUAWEI-GigabitEthernet0/0/1]` after `<HUAWEI>`).
fn same_host(base: &[u8], known: &[u8]) -> bool {
    base == known || (base.len() > known.len() && base.starts_with(known) && base[known.len()] == b'-')
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

impl Device {
    /// Reads until `done(platform, buffer)` says so, answering paging markers on the way. Each
    /// read blocks at most [`SLICE`]; between reads the deadline and the cancel flag are
    /// checked. Starts with the bytes left in `conn.pending`; when the operation gives up
    /// (timeout, cancel), what was read goes back there, so nothing received is lost and the
    /// next operation can resynchronise on it.
    pub(super) fn read_until(
        &self,
        conn: &mut Conn,
        deadline: Instant,
        what: &str,
        mut done: impl FnMut(&Platform, &[u8]) -> Done,
    ) -> Result<Vec<u8>> {
        let mut buf = std::mem::take(&mut conn.pending);
        let mut last_data = Instant::now();
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
                conn.write(&self.name, &self.platform.more_answer, false)?;
                continue;
            }
            if self.cancel_requested() {
                let message = format!("{}: cancelled while waiting for {what}; last bytes: {}", self.name, tail(&buf));
                conn.pending = buf;
                return Err(Error::Cancelled(message));
            }
            let now = Instant::now();
            if now >= deadline {
                // The whole operation's wait, not this read's: an open's first prompt is read
                // twice (before and after the RETURN it sends), and the caller set one deadline.
                let message = format!(
                    "{}: {what} not seen within {} ms; last bytes: {}",
                    self.name,
                    conn.op_started.elapsed().as_millis(),
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
                    conn.log.record(super::log::Dir::In, &conn.chunk[..n], false);
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
    pub(super) fn read_prompt(&self, conn: &mut Conn, deadline: Instant, what: &str) -> Result<Vec<u8>> {
        let result = self.prompt_only(conn, deadline, what);
        if matches!(result, Err(Error::Timeout(_) | Error::Cancelled(_))) {
            conn.owed += 1;
        }
        result
    }

    pub(super) fn prompt_only(&self, conn: &mut Conn, deadline: Instant, what: &str) -> Result<Vec<u8>> {
        let known = prompt_base(&conn.prompt).to_vec();
        self.read_until(conn, deadline, what, move |p, b| {
            if !p.at_prompt(b) {
                Done::No
            } else if known.is_empty() || same_host(prompt_base(&Platform::last_line(b)), &known) {
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
    pub(super) fn send_line(&self, conn: &mut Conn, deadline: Instant, line: &str) -> Result<()> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_hosts_are_compared_without_their_punctuation() {
        for (line, base) in [
            (&b"R1(config)#"[..], &b"R1"[..]),
            (b"admin@mx1> ", b"admin@mx1"),
            (b"admin@board1:~$ ", b"admin@board1"),
            (b"[admin@rhel1 ~]$ ", b"admin@rhel1"),
            (b"<HUAWEI>", b"HUAWEI"),
            (b"* X460-48t.3 # ", b"X460-48t.3"),
            (b"/ # ", b"/"),
            (b"~ # ", b"~"),
            (b"# ", b""),
        ] {
            assert_eq!(prompt_base(line), base, "{:?}", String::from_utf8_lossy(line));
        }
        assert!(same_host(b"HUAWEI-GigabitEthernet0/0/1", b"HUAWEI"));
        assert!(same_host(b"R1", b"R1"));
        assert!(!same_host(b"R10", b"R1") && !same_host(b"R2", b"R1"));
    }
}
