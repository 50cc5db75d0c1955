//! The interactive CLI of a fake device: a pure state machine from input bytes to output bytes,
//! driven by a [`Profile`]. It knows nothing about SSH, so it is tested directly.

use std::sync::Arc;

use crate::profile::{Profile, Step};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    User,
    Enable,
    Config,
    /// A config sub-mode, by name ("config-if").
    ConfigSub(String),
}

#[derive(Debug)]
enum Wait {
    /// Reading a command line.
    Line,
    /// Press RETURN to get started.
    Return,
    /// Reading the enable secret (not echoed); how many answers were wrong so far.
    Secret(usize),
    /// A page is shown; the rest waits for space (a page), return (a line) or q.
    More(Vec<String>),
    /// An interactive command waiting for the answer to step `next - 1`.
    Question { steps: Vec<Step>, next: usize },
    /// Leaving configuration mode for this mode with changes not committed: commit them?
    Uncommitted(Mode),
}

/// What the session should do after a chunk of input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub output: Vec<u8>,
    /// The device ended the session (logout).
    pub close: bool,
    /// Command lines completed by this input, in order (for fault injection and counters).
    pub lines: Vec<String>,
}

/// Answers command lines the profile does not know (a Linux device runs them), or None.
pub type Fallback = Box<dyn FnMut(&str) -> Option<String> + Send + Sync>;

pub struct Shell {
    profile: Arc<Profile>,
    fallback: Option<Fallback>,
    hostname: String,
    mode: Mode,
    page_length: usize,
    width: usize,
    wait: Wait,
    line: Vec<u8>,
    /// Swallows the LF of a CR LF pair after a line was ended by CR.
    after_cr: bool,
    /// Commands entered so far, plus one: a prompt's `{seq}` (EXOS `X460-48t.1 # `).
    seq: usize,
    /// The command line being answered (for `{word}` in `invalid`), and the prompt it was
    /// typed at (for `{caret}`).
    current: String,
    typed_at: String,
    /// The configuration changed since it was last saved (the profile's `unsaved` mark).
    unsaved: bool,
    /// An interactive command that saves the configuration is asking its questions.
    saving: bool,
    /// Changes not committed yet, on a profile with a commit model; a new hostname waits too.
    pending: bool,
    pending_hostname: Option<String>,
    /// The menu the prompt is in (RouterOS `/ip address`), empty at the top.
    menu: String,
    /// The in-place blocks open at the normal prompt, innermost last: (opening word, name).
    blocks: Vec<(String, String)>,
    /// Configuration changes made since entering config mode or the last commit.
    modified: bool,
}

impl Shell {
    pub fn new(profile: Arc<Profile>) -> Shell {
        Shell {
            fallback: None,
            hostname: profile.hostname.clone(),
            page_length: profile.paging.default_length,
            width: 80,
            mode: if profile.start_enabled && profile.enable.is_some() { Mode::Enable } else { Mode::User },
            wait: if profile.press_return { Wait::Return } else { Wait::Line },
            line: Vec::new(),
            after_cr: false,
            seq: 1,
            current: String::new(),
            typed_at: String::new(),
            unsaved: false,
            saving: false,
            pending: false,
            pending_hostname: None,
            menu: String::new(),
            blocks: Vec::new(),
            modified: false,
            profile,
        }
    }

    /// Sends command lines the profile does not know to `fallback` before calling them invalid.
    pub fn with_fallback(mut self, fallback: Fallback) -> Shell {
        self.fallback = Some(fallback);
        self
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Renames the device, as a `hostname` command would (the prompt follows).
    pub fn set_hostname(&mut self, name: &str) {
        self.hostname = name.to_owned();
    }

    /// What the device prints when the shell starts: the MOTD and the first prompt.
    pub fn start(&self) -> Vec<u8> {
        let mut out = String::new();
        if let Some(motd) = &self.profile.motd {
            out.push_str(motd);
        }
        match self.wait {
            Wait::Return => {
                let text = self.profile.press_return_text.as_deref().unwrap_or("Press RETURN to get started.");
                out.push_str(&format!("\r\n{text}\r\n"));
            }
            _ => out.push_str(&self.prompt()),
        }
        out.into_bytes()
    }

    /// The mode config mode is entered from and returns to: enable, or user mode on platforms
    /// without one (Junos).
    fn exec_mode(&self) -> Mode {
        if self.profile.enable.is_some() {
            Mode::Enable
        } else {
            Mode::User
        }
    }

    pub fn prompt(&self) -> String {
        let p = &self.profile.prompts;
        let template = match &self.mode {
            Mode::User => &p.user,
            Mode::Enable => p.enable.as_ref().unwrap_or(&p.user),
            Mode::Config => p.config.as_ref().unwrap_or(&p.user),
            Mode::ConfigSub(_) => p.config_sub.as_ref().or(p.config.as_ref()).unwrap_or(&p.user),
        };
        let in_config = matches!(self.mode, Mode::Config | Mode::ConfigSub(_));
        let template = match (&p.block, self.blocks.last()) {
            (Some(block), Some(_)) if !in_config => block,
            _ => template,
        };
        let block = self.blocks.last().map_or("", |(_, name)| name.as_str());
        let sub = match &self.mode {
            Mode::ConfigSub(s) => s.as_str(),
            _ => "",
        };
        let prompt = template
            .replace("{host}", &self.hostname)
            .replace("{user}", &self.profile.username)
            .replace("{sub}", sub)
            .replace("{seq}", &self.seq.to_string())
            .replace("{block}", block)
            .replace("{path}", &self.menu);
        let prompt = match &self.profile.unsaved {
            Some(u) if self.unsaved => format!("{}{prompt}", u.mark),
            _ => prompt,
        };
        let context = match &self.mode {
            Mode::Config | Mode::ConfigSub(_) => self.profile.config.as_ref().and_then(|c| c.context_line.as_ref()),
            _ => p.context.as_ref(),
        };
        match context {
            Some(context) => format!("\r\n{context}\r\n{prompt}"),
            None => prompt,
        }
    }

    /// Feeds bytes typed by the client; returns what the device prints back.
    pub fn feed(&mut self, input: &[u8]) -> Reply {
        let mut reply = Reply::default();
        for &b in input {
            if reply.close {
                break;
            }
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match self.wait {
                Wait::More(_) => self.more_key(b, &mut reply),
                _ => self.key(b, &mut reply),
            }
        }
        reply
    }

    fn key(&mut self, b: u8, reply: &mut Reply) {
        match b {
            b'\r' | b'\n' => {
                self.after_cr = b == b'\r';
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                if !matches!(self.wait, Wait::Secret(_)) {
                    reply.output.extend_from_slice(b"\r\n");
                    reply.lines.push(line.trim().to_owned());
                }
                self.line_done(line.trim(), reply);
            }
            // Backspace / delete.
            0x08 | 0x7f => {
                if self.line.pop().is_some() && !matches!(self.wait, Wait::Secret(_)) {
                    reply.output.extend_from_slice(b"\x08 \x08");
                }
            }
            // Ctrl-Z leaves config mode, like "end".
            0x1a => {
                if matches!(self.mode, Mode::Config | Mode::ConfigSub(_)) {
                    self.mode = self.exec_mode();
                    self.line.clear();
                    reply.output.extend_from_slice(b"^Z\r\n");
                    reply.output.extend_from_slice(self.prompt().as_bytes());
                }
            }
            _ => {
                self.line.push(b);
                if !matches!(self.wait, Wait::Secret(_)) {
                    reply.output.push(b);
                }
            }
        }
    }

    fn more_key(&mut self, b: u8, reply: &mut Reply) {
        let Wait::More(rest) = std::mem::replace(&mut self.wait, Wait::Line) else { unreachable!() };
        // Erase the --More-- marker the way IOS does (backspaces over it), or the profile's way.
        let erase = match &self.profile.paging.erase {
            Some(erase) => erase.clone(),
            None => "\x08".repeat(self.profile.paging.more.len()),
        };
        reply.output.extend_from_slice(erase.as_bytes());
        match b {
            b'q' | b'Q' | 0x03 => reply.output.extend_from_slice(self.prompt().as_bytes()),
            _ if self.profile.paging.dump.as_bytes().contains(&b) => self.page(rest, usize::MAX, reply),
            b'\r' | b'\n' => {
                self.after_cr = b == b'\r';
                self.page(rest, 1, reply);
            }
            _ => {
                let n = self.page_length.saturating_sub(1).max(1);
                self.page(rest, n, reply);
            }
        }
    }

    /// Prints up to `n` lines of `lines`; pauses at --More-- if some remain, else the prompt.
    fn page(&mut self, mut lines: Vec<String>, n: usize, reply: &mut Reply) {
        let rest = if lines.len() > n { lines.split_off(n) } else { Vec::new() };
        for l in &lines {
            reply.output.extend_from_slice(l.as_bytes());
            reply.output.extend_from_slice(b"\r\n");
        }
        if rest.is_empty() {
            reply.output.extend_from_slice(self.prompt().as_bytes());
        } else {
            reply.output.extend_from_slice(self.profile.paging.more.as_bytes());
            self.wait = Wait::More(rest);
        }
    }

    /// Prints a command's output (with paging when it is on), then the prompt.
    fn print(&mut self, text: &str, reply: &mut Reply) {
        let text = text.replace("{host}", &self.hostname);
        let lines: Vec<String> = text.split_terminator("\r\n").map(str::to_owned).collect();
        if self.page_length == 0 || lines.len() < self.page_length {
            reply.output.extend_from_slice(text.as_bytes());
            reply.output.extend_from_slice(self.prompt().as_bytes());
        } else {
            let first = self.page_length - 1;
            self.page(lines, first, reply);
        }
    }

    fn line_done(&mut self, line: &str, reply: &mut Reply) {
        match std::mem::replace(&mut self.wait, Wait::Line) {
            Wait::Return => reply.output.extend_from_slice(self.prompt().as_bytes()),
            Wait::Secret(wrong) => self.secret(line, wrong, reply),
            Wait::Question { steps, next } => self.answer(line, steps, next, reply),
            Wait::Uncommitted(to) => self.uncommitted(line, to, reply),
            Wait::Line => self.command(line, reply),
            Wait::More(_) => unreachable!("--More-- keys are handled by more_key"),
        }
    }

    fn secret(&mut self, line: &str, wrong: usize, reply: &mut Reply) {
        reply.output.extend_from_slice(b"\r\n");
        let enable = self.profile.enable.as_ref().expect("secret asked only with enable");
        if self.profile.secret.as_deref() == Some(line) {
            self.mode = Mode::Enable;
        } else if wrong + 1 < enable.attempts {
            reply.output.extend_from_slice(enable.secret_prompt.as_bytes());
            self.wait = Wait::Secret(wrong + 1);
            return;
        } else {
            reply.output.extend_from_slice(enable.wrong_secret.as_bytes());
        }
        reply.output.extend_from_slice(self.prompt().as_bytes());
    }

    fn ask(&mut self, steps: Vec<Step>, next: usize, reply: &mut Reply) {
        reply.output.extend_from_slice(steps[next].prompt.as_bytes());
        self.wait = Wait::Question { steps, next: next + 1 };
    }

    fn answer(&mut self, line: &str, steps: Vec<Step>, next: usize, reply: &mut Reply) {
        let step = &steps[next - 1];
        if let Some(expect) = &step.expect {
            if !line.to_ascii_lowercase().starts_with(&expect.to_ascii_lowercase()) {
                let abort = step.abort.clone().unwrap_or_default();
                self.saving = false;
                return self.print(&abort, reply);
            }
        }
        let output = step.output.clone();
        if next < steps.len() {
            reply.output.extend_from_slice(output.as_bytes());
            self.ask(steps, next, reply);
        } else {
            if std::mem::take(&mut self.saving) {
                self.unsaved = false;
            }
            self.print(&output, reply);
        }
    }

    /// Prints the profile's `invalid` text: `{caret}` is a `^` under the command's first
    /// character, `{word}` the command's first word (ProCurve's "Invalid input: bogus").
    fn invalid(&mut self, reply: &mut Reply) {
        let prompt = if self.typed_at.is_empty() { self.prompt() } else { self.typed_at.clone() };
        let prompt_line = prompt.rsplit("\r\n").next().unwrap_or(&prompt);
        let caret = format!("{}^", " ".repeat(prompt_line.chars().count()));
        let invalid = match &self.profile.exec.block_invalid {
            Some(text) if !self.blocks.is_empty() => text,
            _ => &self.profile.invalid,
        };
        let word = self.current.split_whitespace().next().unwrap_or("");
        let text = invalid.replace("{caret}", &caret).replace("{word}", word);
        self.print(&text, reply);
    }

    fn command(&mut self, line: &str, reply: &mut Reply) {
        let profile = self.profile.clone();
        if line.is_empty() {
            reply.output.extend_from_slice(self.prompt().as_bytes());
            return;
        }
        self.begin(line);
        if matches!(self.mode, Mode::Config | Mode::ConfigSub(_)) {
            return self.config_command(line, reply);
        }
        if profile.logout.iter().any(|c| c == line) {
            reply.close = true;
            return;
        }
        let length = Some(&profile.paging.length_command).filter(|c| !c.is_empty());
        if let Some(rest) = length.and_then(|c| line.strip_prefix(c.as_str())) {
            if let Ok(n) = rest.trim().parse() {
                self.page_length = n;
                return self.print("", reply);
            }
        }
        let width = Some(&profile.paging.width_command).filter(|c| !c.is_empty());
        if let Some(rest) = width.and_then(|c| line.strip_prefix(c.as_str())) {
            if let Ok(n) = rest.trim().parse() {
                self.width = n;
                return self.print("", reply);
            }
        }
        if profile.paging.off.iter().any(|c| c == line) {
            self.page_length = 0;
            return self.print("", reply);
        }
        if let Some(enable) = &profile.enable {
            if line == enable.command {
                if self.mode == Mode::User && enable.no_secret {
                    self.mode = Mode::Enable;
                    return self.print("", reply);
                }
                if self.mode == Mode::User {
                    reply.output.extend_from_slice(enable.secret_prompt.as_bytes());
                    self.wait = Wait::Secret(0);
                } else {
                    reply.output.extend_from_slice(self.prompt().as_bytes());
                }
                return;
            }
            if line == enable.disable {
                self.mode = Mode::User;
                return self.print("", reply);
            }
        }
        if let Some(config) = &profile.config {
            if config.enter.iter().any(|c| c == line) && self.mode == self.exec_mode() {
                self.mode = Mode::Config;
                self.discard();
                self.modified = false;
                return self.print(config.enter_message.as_deref().unwrap_or(""), reply);
            }
        }
        let privileged = self.mode == Mode::Enable || profile.enable.is_none();
        if let Some(steps) = profile.interactive.get(line).filter(|_| privileged) {
            return self.ask(steps.clone(), 0, reply);
        }
        if let Some(out) = profile.commands.get(line) {
            return self.print(out, reply);
        }
        if let Some(g) = profile.generated.get(line) {
            return self.print(&generated(line, g.lines, g.width), reply);
        }
        if let Some(out) = self.exec_line(line) {
            return self.print(&out, reply);
        }
        if let Some(out) = self.fallback.as_mut().and_then(|f| f(line)) {
            return self.print(&out, reply);
        }
        self.invalid(reply);
    }

    fn config_command(&mut self, line: &str, reply: &mut Reply) {
        let profile = self.profile.clone();
        let config = profile.config.as_ref().expect("config mode needs a config section");
        let first = line.split_whitespace().next().unwrap_or("");
        let leave = |shell: &mut Shell, to: Mode, reply: &mut Reply| {
            if !matches!(to, Mode::Config | Mode::ConfigSub(_)) {
                if let Some(msg) = &config.exit_message {
                    reply.output.extend_from_slice(msg.as_bytes());
                }
            }
            shell.mode = to;
        };
        if let Some(to) = self.leaves_with_changes(line) {
            let question = config.commit_model.as_ref().map(|c| c.question.clone()).unwrap_or_default();
            reply.output.extend_from_slice(question.as_bytes());
            self.wait = Wait::Uncommitted(to);
            return;
        }
        if let Some(commit) = &config.commit_model {
            if line == commit.command {
                self.commit_changes();
                return self.print(&commit.output, reply);
            }
            if commit.abort.as_deref() == Some(line) {
                self.discard();
                self.mode = self.exec_mode();
                return self.print("", reply);
            }
        }
        if line == config.exit && self.mode == Mode::Config && self.modified {
            if let Some(refusal) = &config.modified_exit {
                return self.print(refusal, reply);
            }
        }
        if config.commit.iter().any(|c| c == line) {
            self.modified = false;
        }
        if line == config.end {
            leave(self, self.exec_mode(), reply);
        } else if line == config.exit {
            let to = match self.mode {
                Mode::ConfigSub(_) => Mode::Config,
                _ => self.exec_mode(),
            };
            leave(self, to, reply);
        } else if config.reject.iter().any(|r| r == first) {
            return self.invalid(reply);
        } else if let Some(out) = config.commands.get(line) {
            return self.print(out, reply);
        } else if let Some(rest) = line.strip_prefix(config.hostname_command.as_str()) {
            match rest.split_whitespace().next() {
                Some(name) if rest.starts_with(' ') && config.commit_model.is_some() => {
                    self.pending_hostname = Some(name.to_owned())
                }
                Some(name) if rest.starts_with(' ') => self.hostname = name.to_owned(),
                _ => return self.invalid(reply),
            }
            self.changed();
        } else if let Some(sub) = config.sub_modes.get(first) {
            let arg = view_name(line.split_whitespace().skip(1));
            self.mode = Mode::ConfigSub(sub.replace("{arg}", &arg));
        } else {
            self.changed();
        }
        self.print("", reply);
    }

    /// Counts a command for `{seq}` and remembers it for the `invalid` text; an interactive
    /// command that saves the configuration clears the unsaved mark once its questions are
    /// answered, another one at once.
    fn begin(&mut self, line: &str) {
        self.typed_at = self.prompt();
        self.current = line.to_owned();
        self.seq += 1;
        if self.profile.unsaved.as_ref().is_some_and(|u| u.saved_by.iter().any(|c| c == line)) {
            if self.profile.interactive.contains_key(line) {
                self.saving = true;
            } else {
                self.unsaved = false;
            }
        }
    }

    /// A configuration line took effect: the configuration is modified (`modified_exit`), the
    /// unsaved mark shows, and on a commit model the change waits for the commit.
    fn changed(&mut self) {
        self.modified = true;
        self.unsaved |= self.profile.unsaved.is_some();
        self.pending |= self.profile.config.as_ref().is_some_and(|c| c.commit_model.is_some());
    }

    /// The mode `line` leaves configuration mode for, when it does so with changes not
    /// committed (`end`, or `exit` at the top level).
    fn leaves_with_changes(&self, line: &str) -> Option<Mode> {
        let config = self.profile.config.as_ref()?;
        config.commit_model.as_ref()?;
        let leaves = line == config.end || (line == config.exit && self.mode == Mode::Config);
        (self.pending && leaves).then(|| self.exec_mode())
    }

    fn commit_changes(&mut self) {
        if let Some(name) = self.pending_hostname.take() {
            self.hostname = name;
        }
        self.pending = false;
    }

    fn discard(&mut self) {
        self.pending_hostname = None;
        self.pending = false;
    }

    /// The answer to "Uncommitted changes found, commit them before exiting(yes/no/cancel)?".
    fn uncommitted(&mut self, line: &str, to: Mode, reply: &mut Reply) {
        let answer = line.to_ascii_lowercase();
        if answer.starts_with('y') {
            self.commit_changes();
            self.mode = to;
        } else if answer.starts_with('n') {
            self.discard();
            self.mode = to;
        }
        self.print("", reply);
    }

    /// A configuration line at the normal prompt (`[exec]`): menus, blocks and the lines taken
    /// in them. Returns what the device prints for a line it takes, or None.
    fn exec_line(&mut self, line: &str) -> Option<String> {
        let profile = self.profile.clone();
        let exec = &profile.exec;
        let first = line.split_whitespace().next()?;
        if self.mode != self.exec_mode() {
            return None;
        }
        if !exec.menus.is_empty() {
            if line == "/" {
                self.menu.clear();
                return Some(String::new());
            }
            if line == ".." {
                let up = self.menu.rfind(' ').unwrap_or(0);
                self.menu.truncate(up);
                return Some(String::new());
            }
            if exec.menus.iter().any(|m| m == line) {
                self.menu = line.to_owned();
                return Some(String::new());
            }
            if !self.menu.is_empty() && !line.starts_with('/') {
                let full = format!("{} {line}", self.menu);
                if let Some(out) = profile.commands.get(&full) {
                    return Some(out.clone());
                }
                if let Some(g) = profile.generated.get(&full) {
                    return Some(generated(&full, g.lines, g.width));
                }
            }
        }
        let closes =
            |(opener, _): &(String, String)| exec.blocks.get(opener).is_some_and(|c| c.iter().any(|w| w == first));
        if let Some(at) = self.blocks.iter().rposition(closes) {
            self.blocks.truncate(at);
            return Some(String::new());
        }
        let nested = !self.menu.is_empty() || !self.blocks.is_empty();
        let taken = exec.accept.iter().any(|w| w == first) || (nested && exec.inside.iter().any(|w| w == first));
        if !taken {
            return None;
        }
        if exec.blocks.contains_key(first) {
            let name = line.split_whitespace().last().unwrap_or(first).trim_matches('"');
            self.blocks.push((first.to_owned(), name.to_owned()));
        }
        self.changed();
        Some(String::new())
    }
}

/// A view's name from the words after its command, as VRP and Comware show it in the prompt:
/// the first two words run together, later ones after '-' ("vty", "0", "4" -> "vty0-4").
fn view_name<'a>(mut words: impl Iterator<Item = &'a str>) -> String {
    let mut name: String = words.by_ref().take(2).collect();
    for w in words {
        name.push('-');
        name.push_str(w);
    }
    name
}

/// `lines` lines of `width` characters, numbered, for commands with large outputs.
pub fn generated(command: &str, lines: usize, width: usize) -> String {
    let mut out = String::with_capacity(lines * (width + 2));
    for i in 0..lines {
        let head = format!("{command} line {i:06} ");
        out.push_str(&head);
        out.extend(std::iter::repeat_n('x', width.saturating_sub(head.len())));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ios() -> Shell {
        Shell::new(Arc::new(Profile::builtin("cisco_ios").unwrap()))
    }

    fn run(sh: &mut Shell, input: &str) -> String {
        String::from_utf8(sh.feed(input.as_bytes()).output).unwrap()
    }

    #[test]
    fn modes_enable_and_config() {
        let mut sh = ios();
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("R1>"));
        assert_eq!(run(&mut sh, "enable\n"), "enable\r\nPassword: ");
        assert_eq!(run(&mut sh, "wrong\n"), "\r\n% Access denied\r\nR1>");
        run(&mut sh, "enable\n");
        assert_eq!(run(&mut sh, "enablepass\r\n"), "\r\nR1#");
        assert_eq!(sh.mode(), &Mode::Enable);
        assert!(run(&mut sh, "conf t\n").ends_with("End with CNTL/Z.\r\nR1(config)#"));
        assert!(run(&mut sh, "interface Gi0/1\n").ends_with("R1(config-if)#"));
        assert!(run(&mut sh, "exit\n").ends_with("R1(config)#"));
        assert!(run(&mut sh, "hostname EDGE-7\n").ends_with("EDGE-7(config)#"));
        assert!(run(&mut sh, "bogus thing\n").contains("% Invalid input detected at '^' marker."));
        assert!(run(&mut sh, "end\n").ends_with("EDGE-7#"));
        assert!(run(&mut sh, "disable\n").ends_with("EDGE-7>"));
        assert!(sh.feed(b"exit\n").close);
    }

    #[test]
    fn a_secret_asked_again_and_a_context_line() {
        let mut p = Profile::builtin("cisco_ios").unwrap();
        p.enable.as_mut().unwrap().attempts = 3;
        p.prompts.context = Some("{master:0}".into());
        let mut sh = Shell::new(Arc::new(p));
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("\r\n{master:0}\r\nR1>"));
        assert_eq!(run(&mut sh, "enable\n"), "enable\r\nPassword: ");
        assert_eq!(run(&mut sh, "\n"), "\r\nPassword: ");
        assert_eq!(run(&mut sh, "wrong\n"), "\r\nPassword: ");
        assert_eq!(run(&mut sh, "\n"), "\r\n% Access denied\r\n\r\n{master:0}\r\nR1>");
        run(&mut sh, "enable\n");
        assert!(run(&mut sh, "enablepass\n").ends_with("R1#"));
    }

    #[test]
    fn every_profile_loads_and_names_itself() {
        let names = Profile::builtin_names();
        assert!(names.len() >= 4, "{names:?}");
        for name in names {
            let p = Profile::builtin(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.name, name, "profiles/{name}.toml names itself");
        }
    }

    #[test]
    fn paging_until_terminal_length_0() {
        let mut sh = ios();
        run(&mut sh, "enable\nenablepass\n");
        let out = run(&mut sh, "show version\n");
        assert!(out.ends_with(" --More-- "), "{out}");
        assert_eq!(out.matches("\r\n").count(), 1 + 23);
        let out = run(&mut sh, " ");
        assert!(out.ends_with("R1#") || out.ends_with(" --More-- "), "{out}");
        let out = run(&mut sh, "terminal length 0\n");
        assert!(out.ends_with("R1#"), "{out}");
        let out = run(&mut sh, "show version\n");
        assert!(out.contains("Configuration register is 0x2102\r\nR1#"));
        assert!(!out.contains("--More--"));
    }

    #[test]
    fn arista_modes_and_output_shapes() {
        let mut sh = Shell::new(Arc::new(Profile::builtin("arista_eos").unwrap()));
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("leaf1>"));
        run(&mut sh, "enable\n");
        assert!(run(&mut sh, "aristasecret\n").ends_with("leaf1#"));
        assert!(run(&mut sh, "configure\n").ends_with("leaf1(config)#"));
        assert!(run(&mut sh, "interface Ethernet1\n").ends_with("leaf1(config-if-Et1)#"));
        assert!(run(&mut sh, "end\n").ends_with("leaf1#"));
        assert_eq!(run(&mut sh, "show foo\n"), "show foo\r\n% Invalid input\r\nleaf1#");
        assert!(run(&mut sh, "terminal length 0\nshow version\n").contains("Software image version: 4.28.3M"));
    }

    #[test]
    fn every_network_profile_pages_until_paging_is_off() {
        for (name, command, off, more) in [
            ("cisco_ios", "show tech-support", "terminal length 0", " --More-- "),
            ("arista_eos", "show tech-support", "terminal length 0", " --More-- "),
            ("juniper_junos", "show log messages", "set cli screen-length 0", "---(more)---"),
        ] {
            let mut sh = Shell::new(Arc::new(Profile::builtin(name).unwrap()));
            let paged = run(&mut sh, &format!("{command}\n"));
            assert!(paged.ends_with(more) && paged.len() < 5000, "{name}: {}", paged.len());
            let rest = run(&mut sh, "q");
            assert!(rest.ends_with(&sh.prompt()), "{name}: q returns to the prompt");
            let whole = run(&mut sh, &format!("{off}\n{command}\n"));
            assert!(!whole.contains(more) && whole.len() > 2_000_000, "{name}: {}", whole.len());
        }
    }

    #[test]
    fn junos_configure_edit_and_commit() {
        let mut sh = Shell::new(Arc::new(Profile::builtin("juniper_junos").unwrap()));
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("admin@mx1> "));
        let out = run(&mut sh, "configure\n");
        assert_eq!(out, "configure\r\nEntering configuration mode\r\n\r\n[edit]\r\nadmin@mx1# ");
        assert!(run(&mut sh, "set system host-name mx9\n").ends_with("\r\n[edit]\r\nadmin@mx9# "));
        assert!(run(&mut sh, "commit check\n").contains("configuration check succeeds\r\n\r\n[edit]\r\nadmin@mx9# "));
        assert!(run(&mut sh, "commit\n").contains("commit complete\r\n"));
        let bad = run(&mut sh, "bogus\n");
        assert!(bad.contains("\r\n           ^\r\nsyntax error, expecting <command>."), "{bad:?}");
        assert!(run(&mut sh, "exit\n").ends_with("Exiting configuration mode\r\n\r\n{master:0}\r\nadmin@mx9> "));
        assert_eq!(sh.mode(), &Mode::User);
        assert!(run(&mut sh, "set cli screen-length 0\nshow version\n").contains("Hostname: mx9\r\n"));
    }

    fn shell(name: &str) -> Shell {
        Shell::new(Arc::new(Profile::builtin(name).unwrap()))
    }

    #[test]
    fn procurve_press_any_key_no_page_and_invalid_word() {
        let mut sh = shell("hp_procurve");
        let start = String::from_utf8(sh.start()).unwrap();
        assert!(start.ends_with("\r\nPress any key to continue\r\n"), "{start:?}");
        assert_eq!(run(&mut sh, "\n"), "\r\nHP-2920-24G> ");
        assert!(run(&mut sh, "show tech all\n")
            .ends_with("-- MORE --, next page: Space, next line: Enter, quit: Control-C"));
        run(&mut sh, "q");
        assert_eq!(run(&mut sh, "no page\n"), "no page\r\nHP-2920-24G> ");
        assert!(run(&mut sh, "show tech all\n").ends_with("HP-2920-24G> "));
        assert_eq!(run(&mut sh, "bogus thing\n"), "bogus thing\r\nInvalid input: bogus\r\nHP-2920-24G> ");
        assert_eq!(run(&mut sh, "enable\n"), "enable\r\nPassword: ");
        assert_eq!(run(&mut sh, "managerpass\n"), "\r\nHP-2920-24G# ");
        assert!(run(&mut sh, "configure terminal\ninterface 1\n").ends_with("HP-2920-24G(eth-1)# "));
        assert!(run(&mut sh, "end\nwrite memory\n").ends_with("write memory\r\nHP-2920-24G# "));
    }

    #[test]
    fn aoscx_starts_enabled_and_enables_without_a_secret() {
        let mut sh = shell("aruba_aoscx");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("core1# "));
        assert_eq!(sh.mode(), &Mode::Enable);
        assert_eq!(run(&mut sh, "disable\n"), "disable\r\ncore1> ");
        assert_eq!(run(&mut sh, "enable\n"), "enable\r\ncore1# ");
        assert!(run(&mut sh, "show tech\n").ends_with("quit: q"));
        run(&mut sh, "q");
        assert!(run(&mut sh, "no page\nshow tech\n").ends_with("core1# "));
        assert!(run(&mut sh, "configure terminal\nvlan 10\n").ends_with("core1(config-vlan-10)# "));
        assert!(run(&mut sh, "end\ncopy running-config startup-config\n").ends_with("\r\nSuccess\r\ncore1# "));
    }

    #[test]
    fn exos_counts_commands_takes_config_at_the_prompt_and_marks_unsaved() {
        let mut sh = shell("extreme_exos");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("\r\nX460-48t.1 # "));
        assert_eq!(run(&mut sh, "disable clipaging\n"), "disable clipaging\r\nX460-48t.2 # ");
        assert_eq!(run(&mut sh, "\n"), "\r\nX460-48t.2 # ", "an empty line is not a command");
        assert!(run(&mut sh, "show log\n").ends_with("xxxx\r\nX460-48t.3 # "));
        assert_eq!(run(&mut sh, "create vlan uplink\n"), "create vlan uplink\r\n* X460-48t.4 # ");
        let bad = run(&mut sh, "bogus command\n");
        assert_eq!(
            bad,
            "bogus command\r\n               ^\r\n%% Invalid input detected at '^' marker.\r\n* X460-48t.5 # "
        );
        let asked = run(&mut sh, "save configuration\n");
        assert!(asked.ends_with("overwrite it? (y/N) "), "{asked:?}");
        assert!(run(&mut sh, "n\n").ends_with("Save configuration cancelled.\r\n* X460-48t.6 # "));
        run(&mut sh, "save configuration\n");
        let saved = run(&mut sh, "y\n");
        assert!(saved.ends_with("Configuration saved to primary.cfg successfully.\r\nX460-48t.7 # "), "{saved:?}");
    }

    #[test]
    fn xr_changes_wait_for_commit() {
        let mut sh = shell("cisco_xr");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("RP/0/RP0/CPU0:xr1#"));
        assert_eq!(run(&mut sh, "configure terminal\n"), "configure terminal\r\nRP/0/RP0/CPU0:xr1(config)#");
        assert_eq!(run(&mut sh, "end\n"), "end\r\nRP/0/RP0/CPU0:xr1#", "nothing to commit: no question");
        run(&mut sh, "configure terminal\n");
        assert!(run(&mut sh, "hostname xr2\n").ends_with("RP/0/RP0/CPU0:xr1(config)#"), "the name waits for commit");
        let question = "Uncommitted changes found, commit them before exiting(yes/no/cancel)? [cancel]:";
        assert_eq!(run(&mut sh, "end\n"), format!("end\r\n{question}"));
        assert_eq!(run(&mut sh, "\n"), "\r\nRP/0/RP0/CPU0:xr1(config)#", "cancel stays");
        run(&mut sh, "end\n");
        assert_eq!(run(&mut sh, "no\n"), "no\r\nRP/0/RP0/CPU0:xr1#", "no discards");
        run(&mut sh, "configure terminal\ninterface GigabitEthernet0/0/0/0\ndescription uplink\n");
        assert!(run(&mut sh, "exit\n").ends_with("RP/0/RP0/CPU0:xr1(config)#"));
        assert!(run(&mut sh, "hostname xr2\nexit\n").ends_with(question), "exit at the top asks too");
        assert_eq!(run(&mut sh, "yes\n"), "yes\r\nRP/0/RP0/CPU0:xr2#", "yes commits");
        run(&mut sh, "configure terminal\nhostname xr3\n");
        assert_eq!(run(&mut sh, "commit\n"), "commit\r\nRP/0/RP0/CPU0:xr3(config)#");
        assert_eq!(run(&mut sh, "end\n"), "end\r\nRP/0/RP0/CPU0:xr3#");
        run(&mut sh, "configure terminal\nhostname xr4\n");
        assert_eq!(run(&mut sh, "abort\n"), "abort\r\nRP/0/RP0/CPU0:xr3#");
        let bad = run(&mut sh, "configure terminal\nbogus command\n");
        assert!(bad.ends_with("% Invalid input detected at '^' marker.\r\nRP/0/RP0/CPU0:xr3(config)#"), "{bad:?}");
        assert_eq!(run(&mut sh, "end\n"), "end\r\nRP/0/RP0/CPU0:xr3#", "a rejected line changes nothing");
    }

    #[test]
    fn sros_contexts_exit_all_and_admin_save() {
        let mut sh = shell("nokia_sros");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("A:router1#"));
        assert!(run(&mut sh, "show log log-id 99\n").ends_with("Press any key to continue (Q to quit)"));
        run(&mut sh, "q");
        assert!(run(&mut sh, "environment no more\nshow log log-id 99\n").ends_with("xxxx\r\nA:router1#"));
        assert_eq!(run(&mut sh, "configure\n"), "configure\r\nA:router1>config#");
        assert_eq!(run(&mut sh, "port 1/1/1\n"), "port 1/1/1\r\nA:router1>config>port#");
        assert_eq!(run(&mut sh, "description uplink\n"), "description uplink\r\n*A:router1>config>port#");
        assert_eq!(run(&mut sh, "exit\n"), "exit\r\n*A:router1>config#");
        assert_eq!(run(&mut sh, "system name pe1\n"), "system name pe1\r\n*A:pe1>config#");
        let bad = run(&mut sh, "router\nbogus\n");
        assert_eq!(bad, "router\r\n*A:pe1>config>router#bogus\r\n                     ^\r\nError: Bad command.\r\n*A:pe1>config>router#");
        assert_eq!(run(&mut sh, "exit all\n"), "exit all\r\n*A:pe1#");
        let saved = run(&mut sh, "admin save\n");
        assert!(saved.ends_with("Saving configuration ... OK\r\nCompleted.\r\nA:pe1#"), "{saved:?}");
    }

    #[test]
    fn nxos_xe_asa_and_os10_shapes() {
        let mut sh = shell("cisco_nxos");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("switch#"));
        assert!(run(&mut sh, "copy running-config startup-config\n")
            .ends_with("100%\r\nCopy complete, now saving to disk (please wait)...\r\nCopy complete.\r\nswitch#"));
        assert!(run(&mut sh, "conf t\nbogus\n").contains("% Invalid command at '^' marker.\r\nswitch(config)#"));
        let mut sh = shell("cisco_xe");
        run(&mut sh, "enable\n");
        assert_eq!(run(&mut sh, "wrong\n"), "\r\nPassword: ", "IOS XE asks three times");
        assert!(run(&mut sh, "xesecret\nterminal length 0\nshow version\n")
            .contains("Cisco IOS XE Software, Version 17.09.04a\r\n"));
        assert!(run(&mut sh, "write memory\n").ends_with("[OK]\r\nC8KV-1#"));
        let mut sh = shell("cisco_asa");
        run(&mut sh, "enable\nasasecret\n");
        assert!(run(&mut sh, "show tech-support\n").ends_with("<--- More --->"));
        run(&mut sh, "q");
        assert!(run(&mut sh, "terminal pager 0\nconfigure terminal\nbogus\n")
            .contains("ERROR: % Invalid input detected at '^' marker.\r\nciscoasa(config)# "));
        assert!(run(&mut sh, "end\nwrite memory\n").ends_with("[OK]\r\nciscoasa# "));
        let mut sh = shell("dell_os10");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("OS10# "));
        assert!(run(&mut sh, "configure terminal\ninterface ethernet1/1/1\n").ends_with("OS10(conf-if-eth1/1/1)# "));
        assert_eq!(run(&mut sh, "bogus\n"), "bogus\r\n% Error: Unrecognized command.\r\nOS10(conf-if-eth1/1/1)# ");
    }

    #[test]
    fn the_new_profiles_page_until_paging_is_off() {
        for (name, off) in [
            ("cisco_xe", "terminal length 0"),
            ("cisco_nxos", "terminal length 0"),
            ("cisco_xr", "terminal length 0"),
            ("cisco_asa", "terminal pager 0"),
            ("hp_procurve", "no page"),
            ("aruba_aoscx", "no page"),
            ("dell_os10", "terminal length 0"),
            ("extreme_exos", "disable clipaging"),
            ("nokia_sros", "environment no more"),
        ] {
            let p = Profile::builtin(name).unwrap();
            let command = p.e2e.paged.clone().unwrap();
            let more = p.paging.more.clone();
            let mut sh = Shell::new(Arc::new(p));
            sh.start();
            sh.feed(b"\n");
            let paged = run(&mut sh, &format!("{command}\n"));
            assert!(paged.ends_with(&more) && paged.len() < 5000, "{name}: {}", paged.len());
            let next = run(&mut sh, " ");
            assert!(next.starts_with(&"\x08".repeat(more.len())) && next.ends_with(&more), "{name}: space pages on");
            let rest = run(&mut sh, "q");
            assert!(rest.ends_with(&sh.prompt()), "{name}: q returns to the prompt");
            let whole = run(&mut sh, &format!("{off}\n{command}\n"));
            assert!(!whole.contains(&more) && whole.len() > 2_000_000, "{name}: {}", whole.len());
        }
    }

    /// What each profile's [e2e] section promises the platform test: its configuration lines
    /// are taken without an error, its rejected line gets the `invalid` text, and leaving
    /// configuration mode returns to the normal prompt.
    #[test]
    fn every_profile_takes_its_e2e_config_and_rejects_its_rejected_line() {
        for name in Profile::builtin_names() {
            let p = Profile::builtin(name).unwrap();
            let Some(rejected) = p.e2e.rejected.clone() else { continue };
            let error = p.invalid.split("\r\n").filter(|l| !l.is_empty()).last().unwrap();
            let error = error.split('{').next().unwrap().to_owned();
            let mut sh = Shell::new(Arc::new(p.clone()));
            sh.start();
            sh.feed(b"\n");
            if let (Some(enable), Some(secret)) = (&p.enable, &p.secret) {
                if sh.mode() == &Mode::User {
                    run(&mut sh, &format!("{}\n{secret}\n", enable.command));
                }
            }
            let normal = sh.mode().clone();
            if let Some(config) = &p.config {
                run(&mut sh, &format!("{}\n", config.enter[0]));
                assert!(matches!(sh.mode(), Mode::Config), "{name}: configuration mode");
            }
            for line in &p.e2e.config {
                let out = run(&mut sh, &format!("{line}\n"));
                assert!(!out.contains(&error), "{name}: '{line}' taken: {out:?}");
            }
            let out = run(&mut sh, &format!("{rejected}\n"));
            assert!(out.contains(&error), "{name}: '{rejected}' rejected: {out:?}");
            if let Some(config) = &p.config {
                let out = run(&mut sh, &format!("{}\n", config.end));
                if let Some(commit) = &config.commit_model {
                    assert!(out.ends_with(&commit.question), "{name}: {out:?}");
                    run(&mut sh, "no\n");
                }
            }
            assert_eq!(sh.mode(), &normal, "{name}: back at the normal prompt");
        }
    }

    #[test]
    fn vrp_views_named_after_their_arguments() {
        let mut sh = shell("huawei_vrp");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("<HUAWEI>"));
        let out = run(&mut sh, "system-view\n");
        assert_eq!(out, "system-view\r\nEnter system view, return user view with Ctrl+Z.\r\n[HUAWEI]");
        assert!(run(&mut sh, "interface GigabitEthernet 0/0/1\n").ends_with("\r\n[HUAWEI-GigabitEthernet0/0/1]"));
        assert!(run(&mut sh, "user-interface vty 0 4\n").ends_with("\r\n[HUAWEI-ui-vty0-4]"));
        assert!(run(&mut sh, "vlan 10\n").ends_with("\r\n[HUAWEI-vlan10]"));
        assert!(run(&mut sh, "quit\n").ends_with("\r\n[HUAWEI]"));
        assert!(run(&mut sh, "interface Vlanif10\nsysname CORE\n").ends_with("\r\n[CORE-Vlanif10]"));
        let bad = run(&mut sh, "bogus command\n");
        assert_eq!(
            bad,
            "bogus command\r\n               ^\r\nError: Unrecognized command found at '^' position.\r\n[CORE-Vlanif10]"
        );
        assert_eq!(run(&mut sh, "return\n"), "return\r\n<CORE>");
        assert!(run(&mut sh, "display logbuffer\n").ends_with("  ---- More ----"));
        run(&mut sh, "q");
        assert!(run(&mut sh, "screen-length 0 temporary\n").ends_with("\r\n<CORE>"));
        assert!(run(&mut sh, "display logbuffer\n").ends_with("xxxx\r\n<CORE>"));
        assert!(run(&mut sh, "save\n").ends_with("Are you sure to continue?[Y/N]:"));
        assert!(run(&mut sh, "y\n").ends_with("Save the configuration successfully.\r\n<CORE>"));
        assert!(sh.feed(b"quit\n").close);
    }

    #[test]
    fn comware_save_asks_three_questions() {
        let mut sh = shell("hp_comware");
        assert!(run(&mut sh, "system-view\n").ends_with("System View: return to User View with Ctrl+Z.\r\n[HPE]"));
        assert!(run(&mut sh, "line vty 0 63\n").ends_with("[HPE-line-vty0-63]"));
        assert!(run(&mut sh, "return\n").ends_with("<HPE>"));
        assert!(run(&mut sh, "save\n").ends_with("Are you sure? [Y/N]:"));
        assert!(run(&mut sh, "y\n").ends_with("press the enter key):"));
        assert!(run(&mut sh, "\n").ends_with("flash:/startup.cfg exists, overwrite? [Y/N]:"));
        assert!(
            run(&mut sh, "y\n").ends_with("Saved the current configuration to mainboard device successfully.\r\n<HPE>")
        );
        run(&mut sh, "save\ny\n\n");
        assert!(run(&mut sh, "n\n").ends_with("\r\n<HPE>"));
        assert!(run(&mut sh, "bogus\n").contains("\r\n     ^\r\n % Unrecognized command found at '^' position.\r\n"));
    }

    #[test]
    fn routeros_menus_and_lines_at_the_prompt() {
        let mut sh = shell("mikrotik_routeros");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("Press F1 for help\r\n\r\n[admin@MikroTik] > "));
        let add = "/ip address add address=10.0.0.1/24 interface=ether1";
        assert_eq!(run(&mut sh, &format!("{add}\n")), format!("{add}\r\n[admin@MikroTik] > "));
        assert_eq!(run(&mut sh, "/ip address\n"), "/ip address\r\n[admin@MikroTik] /ip address> ");
        assert!(run(&mut sh, "print\n").contains("0   192.168.88.1/24  192.168.88.0  bridge"));
        assert!(run(&mut sh, "add address=10.9.9.9/32 interface=lo\n").ends_with("\r\n[admin@MikroTik] /ip address> "));
        assert!(run(&mut sh, "..\n").ends_with("\r\n[admin@MikroTik] /ip> "));
        assert!(run(&mut sh, "/\n").ends_with("\r\n[admin@MikroTik] > "));
        let bad = run(&mut sh, "add address=1.1.1.1/32\n");
        assert_eq!(bad, "add address=1.1.1.1/32\r\nbad command name add (line 1 column 1)\r\n[admin@MikroTik] > ");
        assert!(run(&mut sh, "bogus command\n").contains("\r\nbad command name bogus (line 1 column 1)\r\n"));
    }

    #[test]
    fn routeros_pages_until_dumped() {
        let mut sh = shell("mikrotik_routeros");
        let paged = run(&mut sh, "/log print\n");
        assert!(paged.ends_with("\r\n-- [Q quit|D dump|down]"), "{}", &paged[paged.len() - 40..]);
        assert_eq!(paged.matches("\r\n").count(), 1 + 23);
        let next = run(&mut sh, " ");
        assert!(next.starts_with("\r\x1b[K/log print line 000023 ") && next.ends_with("-- [Q quit|D dump|down]"));
        let rest = run(&mut sh, "D");
        assert!(rest.starts_with("\r\x1b[K/log print line 000046 "), "{}", &rest[..40]);
        assert!(rest.contains("\r\n/log print line 019999 x") && rest.ends_with("x\r\n[admin@MikroTik] > "));
        assert!(!rest.contains("-- [Q quit"));
        assert_eq!(rest.matches("\r\n").count(), 20000 - 46);
    }

    #[test]
    fn fortios_config_blocks_change_the_prompt_in_place() {
        let mut sh = shell("fortinet");
        assert_eq!(String::from_utf8(sh.start()).unwrap(), "FGT # ");
        assert_eq!(run(&mut sh, "config system global\n"), "config system global\r\nFGT (global) # ");
        assert!(run(&mut sh, "set admintimeout 30\n").ends_with("\r\nFGT (global) # "));
        let bad = run(&mut sh, "bogus 1\n");
        assert_eq!(
            bad,
            "bogus 1\r\ncommand parse error before 'bogus'\r\nCommand fail. Return code -61\r\nFGT (global) # "
        );
        assert!(run(&mut sh, "end\n").ends_with("\r\nFGT # "));
        assert!(run(&mut sh, "config system interface\nedit \"port1\"\n").ends_with("\r\nFGT (port1) # "));
        assert!(run(&mut sh, "config ipv6\n").ends_with("\r\nFGT (ipv6) # "));
        assert!(run(&mut sh, "end\n").ends_with("\r\nFGT (port1) # "), "end leaves only the innermost config");
        assert!(run(&mut sh, "next\n").ends_with("\r\nFGT (interface) # "));
        assert!(run(&mut sh, "next\n").contains("command parse error before 'next'"), "no edit to close");
        assert!(run(&mut sh, "edit port2\nend\n").ends_with("\r\nFGT # "), "end leaves the edit and its config");
        assert_eq!(run(&mut sh, "set alias x\n"), "set alias x\r\nUnknown action 0\r\nFGT # ");
        assert_eq!(run(&mut sh, "end\n"), "end\r\nUnknown action 0\r\nFGT # ");
        assert!(run(&mut sh, "show full-configuration\n").ends_with("--More-- "));
        run(&mut sh, "q");
        assert!(run(&mut sh, "config system console\nset output standard\nend\n").ends_with("\r\nFGT # "));
        assert!(run(&mut sh, "show full-configuration\n").ends_with("x\r\nFGT # "));
        assert!(sh.feed(b"exit\n").close);
    }

    #[test]
    fn panos_configure_commit_and_unknown_commands() {
        let mut sh = shell("paloalto_panos");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("\r\n\r\n\r\nadmin@PA-VM> "));
        assert_eq!(
            run(&mut sh, "terminal length 0\n"),
            "terminal length 0\r\nUnknown command: terminal\r\nadmin@PA-VM> "
        );
        assert!(run(&mut sh, "show log system\n").ends_with("lines 1-23 "));
        run(&mut sh, "q");
        assert!(run(&mut sh, "set cli scripting-mode on\nset cli pager off\n").ends_with("\r\nadmin@PA-VM> "));
        assert!(run(&mut sh, "show log system\n").ends_with("x\r\nadmin@PA-VM> "));
        let out = run(&mut sh, "configure\n");
        assert_eq!(out, "configure\r\nEntering configuration mode\r\n\r\n[edit]\r\nadmin@PA-VM# ");
        assert!(run(&mut sh, "bogus command\n").contains("\r\nUnknown command: bogus\r\n\r\n[edit]\r\nadmin@PA-VM# "));
        assert!(run(&mut sh, "commit\n").contains("Configuration committed successfully\r\n"));
        assert!(run(&mut sh, "exit\n").ends_with("Exiting configuration mode\r\nadmin@PA-VM> "));
    }

    #[test]
    fn vyos_refuses_to_exit_with_uncommitted_changes() {
        let mut sh = shell("vyos");
        assert!(String::from_utf8(sh.start()).unwrap().ends_with("vyos@vyos:~$ "));
        assert_eq!(run(&mut sh, "configure\n"), "configure\r\n\r\n[edit]\r\nvyos@vyos# ");
        assert!(run(&mut sh, "exit\n").ends_with("vyos@vyos:~$ "), "nothing to commit: exit leaves");
        run(&mut sh, "configure\nset interfaces ethernet eth1 description uplink\n");
        let refused = run(&mut sh, "exit\n");
        assert!(refused.starts_with("exit\r\nCannot exit: configuration modified.\r\n"), "{refused:?}");
        assert!(refused.ends_with("\r\n[edit]\r\nvyos@vyos# "));
        assert!(run(&mut sh, "commit\n").ends_with("\r\n[edit]\r\nvyos@vyos# "));
        assert!(run(&mut sh, "save\n").contains("Saving configuration to '/config/config.boot'...\r\nDone\r\n"));
        assert!(run(&mut sh, "exit\n").ends_with("\r\nvyos@vyos:~$ "), "committed: exit leaves");
        run(&mut sh, "configure\nset system host-name r9\n");
        assert!(run(&mut sh, "bogus command\n").contains("\r\n  Invalid command: [bogus]\r\n"));
        assert!(run(&mut sh, "exit\n").contains("Cannot exit"));
        assert!(run(&mut sh, "exit discard\n").ends_with("\r\nvyos@r9:~$ "));
        assert_eq!(sh.mode(), &Mode::User);
        assert!(run(&mut sh, "show log\n").ends_with("\r\nlines 1-24 "));
        run(&mut sh, "q");
        assert!(run(&mut sh, "set terminal length 0\nshow log\n").ends_with("x\r\nvyos@r9:~$ "));
    }

    /// `[exec]` lines are taken only in the mode configuration is entered from (enable mode
    /// on a platform with one), and a line taken there shows the unsaved mark.
    #[test]
    fn exec_lines_only_in_the_exec_mode_and_they_mark_unsaved() {
        let mut p = Profile::builtin("cisco_ios").unwrap();
        p.exec.accept = vec!["vlan".into()];
        p.unsaved = Some(crate::profile::Unsaved { mark: "* ".into(), saved_by: vec!["write memory".into()] });
        let mut sh = Shell::new(Arc::new(p));
        assert!(
            run(
                &mut sh, "vlan 10
"
            )
            .contains("% Invalid input detected"),
            "not in user mode"
        );
        run(
            &mut sh,
            "enable
enablepass
",
        );
        assert_eq!(
            run(
                &mut sh, "vlan 10
"
            ),
            "vlan 10\r\n* R1#"
        );
        run(
            &mut sh,
            "write memory
",
        );
        assert!(run(&mut sh, "\n").ends_with("[OK]\r\nR1#"), "saved: no mark");
    }

    #[test]
    fn every_e2e_section_matches_its_profile() {
        for name in Profile::builtin_names() {
            let p = Profile::builtin(name).unwrap();
            if let Some(paged) = &p.e2e.paged {
                assert!(p.generated.contains_key(paged), "{name}: e2e.paged '{paged}' is generated");
            }
            if let Some(rejected) = &p.e2e.rejected {
                let first = rejected.split_whitespace().next().unwrap();
                let refused = p.config.as_ref().is_some_and(|c| c.reject.iter().any(|r| r == first))
                    || !p.exec.accept.iter().any(|a| a == first);
                assert!(refused, "{name}: e2e.rejected '{rejected}' is refused");
            }
        }
    }

    #[test]
    fn unknown_commands_and_interactive_ones() {
        let mut sh = ios();
        let out = run(&mut sh, "show nonsense\n");
        assert!(out.contains("\r\n   ^\r\n% Invalid input detected at '^' marker.\r\nR1>"), "{out:?}");
        run(&mut sh, "enable\nenablepass\n");
        assert!(run(&mut sh, "write memory\n").ends_with("[confirm]"));
        assert_eq!(run(&mut sh, "\n"), "\r\nBuilding configuration...\r\n[OK]\r\nR1#");
        run(&mut sh, "reload\n");
        assert!(run(&mut sh, "no\n").ends_with("Reload aborted.\r\nR1#"));
        assert!(run(&mut sh, "copy running-config startup-config\n").ends_with("[startup-config]? "));
        assert!(run(&mut sh, "\n").ends_with("[yes/no]: "));
        assert!(run(&mut sh, "yes\n").ends_with("[OK]\r\nR1#"));
        run(&mut sh, "copy running-config startup-config\n\n");
        assert!(run(&mut sh, "n\n").ends_with("%Copy aborted\r\nR1#"));
        assert!(run(&mut sh, "terminal width 511\n").ends_with("\r\nR1#"));
        let big = run(&mut sh, "terminal length 0\nshow tech-support\n");
        assert!(big.len() > 2_000_000, "{}", big.len());
    }
}
