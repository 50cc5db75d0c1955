//! Platforms: how to recognise a device's prompt in each mode, page its output, change its
//! modes, spot its error lines and save its configuration. Every platform is a TOML file
//! (PLATFORMS.md): the built-in ones are compiled in from `builtin/`, a caller's own are read
//! at open (`file`), and the generic options of a device can change any of them.

mod file;

use std::path::Path;

use regex::bytes::Regex;

use crate::error::{Error, Result};
use file::{Layer, Origin, Pat};

/// What netrig needs to know about a platform's CLI, compiled from its file.
#[derive(Debug, Clone)]
pub struct Platform {
    pub name: String,
    /// What the platform is, in words ("Cisco IOS").
    pub description: String,
    /// The netmiko device_type names the platform answers to.
    pub netmiko: Vec<String>,
    /// Matches the whole last line of output when the device waits for a command, in any mode.
    pub prompt: Regex,
    /// Matches the end of the output when the device pauses a long output (--More--).
    pub more: Option<Regex>,
    /// What is sent to get the next page.
    pub more_answer: Vec<u8>,
    /// Commands sent once after login that turn paging off.
    pub paging_off: Vec<String>,
    /// Commands sent once after login, after `paging_off`: terminal width, CLI modes.
    pub setup: Vec<String>,
    /// Command that enters privileged mode, when the platform has one.
    pub enable: Option<String>,
    /// Matches the end of the output when the device asks for the enable secret.
    pub secret_prompt: Option<Regex>,
    /// Matches a prompt line of unprivileged (user) mode.
    pub unprivileged: Option<Regex>,
    /// Command that leaves privileged mode.
    pub disable: Option<String>,
    /// Whether the platform takes configuration sets at all.
    pub configurable: bool,
    /// Command that enters configuration mode; `None` on a configurable platform means the
    /// lines are sent at the prompt.
    pub config_enter: Option<String>,
    /// Command that leaves configuration mode from any sub-mode.
    pub config_exit: Option<String>,
    /// Matches the prompt line while in configuration mode.
    pub config_prompt: Option<Regex>,
    /// Questions leaving configuration mode may ask, with their answers.
    pub config_answers: Vec<Answer>,
    /// The commit command, on platforms whose changes need one (Junos style).
    pub commit: Option<String>,
    /// The command that validates a commit without activating it.
    pub commit_check: Option<String>,
    /// Command that saves the running configuration (`save_config`).
    pub save: Option<String>,
    /// Questions the save may ask, with their answers.
    pub save_answers: Vec<Answer>,
    /// Matches a line of output that means the device rejected the command.
    pub errors: Option<Regex>,
    /// Matches a line at the end of an output that is not part of it (Junos' `{master:0}`).
    pub strip_trailing: Option<Regex>,
    /// How `platform = "autodetect"` recognises this platform among those whose prompts look
    /// alike.
    pub detect: Detect,
    /// Set only on the "autodetect" placeholder that options carry until the device is open:
    /// the caller's options, applied to the platform detected.
    pub(crate) autodetect: Option<Box<Overrides>>,
}

/// The name that asks for the platform to be detected at open.
pub const AUTODETECT: &str = "autodetect";

/// A platform's `[detect]` table, compiled: the commands whose output identifies it, the
/// patterns (multi-line) that do, and its priority among platforms whose patterns both match.
#[derive(Debug, Clone, Default)]
pub struct Detect {
    pub commands: Vec<String>,
    pub patterns: Vec<Regex>,
    pub priority: i32,
}

/// The priority of a platform whose `[detect]` table sets none.
const DEFAULT_PRIORITY: i32 = 50;

/// A question the device may ask and the line that answers it (a newline follows `send`).
#[derive(Debug, Clone)]
pub struct Answer {
    pub question: Regex,
    pub send: String,
}

/// Where a platform comes from: a built-in name (or netmiko device_type), a file, or the text
/// of a file.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Named(&'a str),
    File(&'a Path),
    Text(&'a str),
}

/// The options that change a platform (the generic options of a device): each one set
/// replaces what the platform says. With the "generic" platform they describe the whole CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `prompt.pattern`.
    pub prompt_pattern: Option<String>,
    /// Replaces `paging.off` with this one command.
    pub paging_off_command: Option<String>,
    /// Replaces `enable.command`.
    pub enable_command: Option<String>,
    /// These three go together: `config.enter`, `config.exit` and `prompt.config`.
    pub config_command: Option<String>,
    pub config_exit_command: Option<String>,
    pub config_prompt_pattern: Option<String>,
    /// Replaces the error patterns (one regex, matched on each line, case-insensitive).
    pub error_pattern: Option<String>,
}

impl Overrides {
    fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }

    fn layer(&self) -> Result<Layer> {
        let pat = |v: &Option<String>, option: &str| v.as_deref().map(|p| Pat::option(p, option)).transpose();
        let mut layer = Layer::default();
        let prompt = file::PromptT {
            pattern: pat(&self.prompt_pattern, "options.prompt_pattern")?,
            user: None,
            config: pat(&self.config_prompt_pattern, "options.config_prompt_pattern")?,
        };
        if prompt.pattern.is_some() || prompt.config.is_some() {
            layer.prompt = Some(prompt);
        }
        if let Some(command) = &self.paging_off_command {
            layer.paging = Some(file::PagingT { off: Some(vec![command.clone()]), ..Default::default() });
        }
        if let Some(command) = &self.enable_command {
            layer.enable = Some(file::EnableT { command: Some(command.clone()), ..Default::default() });
        }
        match (&self.config_command, &self.config_exit_command, &self.config_prompt_pattern) {
            (Some(enter), Some(exit), Some(_)) => {
                layer.config =
                    Some(file::ConfigT { enter: Some(enter.clone()), exit: Some(exit.clone()), ..Default::default() })
            }
            (None, None, None) => {}
            _ => {
                return Err(Error::InvalidArg(
                    "options.config_command, config_exit_command and config_prompt_pattern go together".into(),
                ))
            }
        }
        if let Some(p) = &self.error_pattern {
            layer.errors = Some(file::ErrorsT {
                ignore_case: None,
                patterns: Some(vec![Pat::option(p, "options.error_pattern")?]),
            });
        }
        Ok(layer)
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// One regex for a list of patterns (`field` of platform `name`): any of them. Each compiled on
/// its own when its file was read; together they can still be too large.
fn any_of(patterns: &[Pat], flags: &str, name: &str, field: &str) -> Result<Option<Regex>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let alternatives: Vec<String> = patterns.iter().map(|p| format!("(?:{})", p.text)).collect();
    Regex::new(&format!("{flags}{}", alternatives.join("|")))
        .map(Some)
        .map_err(|e| Error::InvalidArg(format!("platform {name}: {field}: the patterns together do not compile: {e}")))
}

impl Platform {
    /// A built-in platform by name or netmiko device_type name ("cisco_ios", "juniper",
    /// "linux_ssh"). Each is compiled once per process (its patterns take about half a
    /// millisecond); later calls clone it, which shares the compiled patterns.
    /// "autodetect" gives the placeholder that has the platform detected at open.
    pub fn named(name: &str) -> Result<Platform> {
        if name == AUTODETECT {
            return Platform::load(Source::Named(name), &Overrides::default());
        }
        // Taken only by opens that name a platform, never by an operation.
        static BUILT: parking_lot::Mutex<Vec<(String, Platform)>> = parking_lot::Mutex::new(Vec::new());
        if let Some((_, p)) = BUILT.lock().iter().find(|(n, _)| n == name) {
            return Ok(p.clone());
        }
        let p = Platform::load_uncached(Source::Named(name), &Overrides::default())?;
        BUILT.lock().push((name.to_owned(), p.clone()));
        Ok(p)
    }

    /// A platform from a file of the format in PLATFORMS.md (it may extend a built-in one).
    pub fn from_file(path: &Path) -> Result<Platform> {
        Platform::load(Source::File(path), &Overrides::default())
    }

    /// A platform from the text of a platform file.
    pub fn from_toml(text: &str) -> Result<Platform> {
        Platform::load(Source::Text(text), &Overrides::default())
    }

    /// A platform from its source, changed by the caller's options.
    pub fn load(source: Source<'_>, overrides: &Overrides) -> Result<Platform> {
        match source {
            Source::Named(AUTODETECT) => {
                // A bad option is reported now, before anything is sent to the device.
                overrides.layer()?;
                let mut p = Platform::detecting(&Platform::builtins())?;
                p.autodetect = Some(Box::new(overrides.clone()));
                Ok(p)
            }
            Source::Named(name) if overrides.is_empty() => Platform::named(name),
            _ => Platform::load_uncached(source, overrides),
        }
    }

    fn load_uncached(source: Source<'_>, overrides: &Overrides) -> Result<Platform> {
        let base = match source {
            Source::Named(name) => {
                let (name, text) = file::builtin(name).ok_or_else(|| {
                    Error::InvalidArg(format!(
                        "unknown platform '{name}' (built-in: {}; or \"autodetect\", or give a platform file)",
                        Platform::builtin_names().join(", ")
                    ))
                })?;
                file::resolve(text, Origin::Builtin(name))?
            }
            Source::File(path) => {
                let (text, origin) = file::read(path)?;
                file::resolve(&text, origin)?
            }
            Source::Text(text) => file::resolve(text, Origin::Text)?,
        };
        let layer = if overrides.is_empty() { base } else { overrides.layer()?.over_keeping_name(base) };
        Platform::compile(layer)
    }

    /// The names of the built-in platforms, "generic" among them.
    pub fn builtin_names() -> Vec<&'static str> {
        file::BUILTIN.iter().map(|(name, _)| *name).collect()
    }

    /// The built-in platforms whose prompt pattern matches `line` (a prompt a device printed).
    pub fn matching(line: &[u8]) -> Vec<String> {
        Platform::builtins().into_iter().filter(|p| p.prompt.is_match(line)).map(|p| p.name).collect()
    }

    /// Every built-in platform that describes a CLI ("generic" describes none).
    pub fn builtins() -> Vec<Platform> {
        Platform::builtin_names().into_iter().filter_map(|n| Platform::named(n).ok()).collect()
    }

    /// Whether this is the "autodetect" placeholder, not a platform yet.
    pub fn is_autodetect(&self) -> bool {
        self.autodetect.is_some()
    }

    /// What a device running one of `candidates` is read with while the platform is detected:
    /// any of their prompts ends a read, and any of their paging markers is answered (with
    /// their answer when they agree on it, else a space), so that an identification command's
    /// output cannot stall on a page. Built once per set of candidates.
    pub fn detecting(candidates: &[Platform]) -> Result<Platform> {
        static BUILT: parking_lot::Mutex<Vec<(String, Platform)>> = parking_lot::Mutex::new(Vec::new());
        let key = candidates.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(" ");
        if let Some((_, p)) = BUILT.lock().iter().find(|(k, _)| *k == key) {
            return Ok(p.clone());
        }
        let union = |res: Vec<&Regex>, field: &str| -> Result<Option<Regex>> {
            if res.is_empty() {
                return Ok(None);
            }
            let alternatives: Vec<String> = res.iter().map(|r| format!("(?:{})", r.as_str())).collect();
            Regex::new(&alternatives.join("|"))
                .map(Some)
                .map_err(|e| Error::InvalidArg(format!("autodetect: the candidates' {field} patterns together: {e}")))
        };
        let prompt = union(candidates.iter().map(|p| &p.prompt).collect(), "prompt")?
            .ok_or_else(|| Error::InvalidArg("autodetect: no candidate platforms".into()))?;
        let more = union(candidates.iter().filter_map(|p| p.more.as_ref()).collect(), "paging.more")?;
        let mut answers = candidates.iter().filter(|p| p.more.is_some()).map(|p| &p.more_answer);
        let first = answers.next().cloned().unwrap_or_else(|| b" ".to_vec());
        let more_answer = if answers.all(|a| *a == first) { first } else { b" ".to_vec() };
        let p = Platform {
            name: AUTODETECT.to_owned(),
            description: format!("autodetect among {key}"),
            netmiko: Vec::new(),
            prompt,
            more,
            more_answer,
            paging_off: Vec::new(),
            setup: Vec::new(),
            enable: None,
            secret_prompt: None,
            unprivileged: None,
            disable: None,
            configurable: false,
            config_enter: None,
            config_exit: None,
            config_prompt: None,
            config_answers: Vec::new(),
            commit: None,
            commit_check: None,
            save: None,
            save_answers: Vec::new(),
            errors: None,
            strip_trailing: None,
            detect: Detect::default(),
            autodetect: None,
        };
        BUILT.lock().push((key, p.clone()));
        Ok(p)
    }

    /// The first of the platform's identification patterns that matches the output of one of
    /// its identification commands (`output` gives a command's output, when it was sent).
    pub fn identified_by<'a>(&self, output: impl Fn(&str) -> Option<&'a str>) -> Option<&Regex> {
        let outputs: Vec<&str> = self.detect.commands.iter().filter_map(|c| output(c)).collect();
        self.detect.patterns.iter().find(|re| outputs.iter().any(|o| re.is_match(o.as_bytes())))
    }

    fn compile(layer: Layer) -> Result<Platform> {
        let name = layer.name.clone().expect("every layer read has a name");
        let prompt = layer.prompt.unwrap_or_default();
        let Some(pattern) = prompt.pattern else {
            return Err(Error::InvalidArg(if name == "generic" {
                "platform generic needs a prompt pattern (options.prompt_pattern: a regex matching the whole prompt line)"
                    .to_owned()
            } else {
                format!("platform {name}: prompt.pattern is missing (and no prompt_pattern option is given)")
            }));
        };
        let paging = layer.paging.unwrap_or_default();
        let enable = layer.enable.unwrap_or_default();
        let has_enable = enable.command.is_some();
        let config = layer.config;
        let configurable = config.is_some();
        let config = config.unwrap_or_default();
        let save = layer.save.unwrap_or_default();
        let errors = layer.errors.unwrap_or_default();
        let case = if errors.ignore_case.unwrap_or(true) { "(?mi)" } else { "(?m)" };
        let detect = layer.detect.unwrap_or_default();
        let detect = Detect {
            commands: detect.commands.unwrap_or_default(),
            patterns: detect
                .patterns
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    // Compiled alone already: with the multi-line flag it compiles too.
                    Regex::new(&format!("(?m){}", p.text)).map_err(|e| {
                        Error::InvalidArg(format!("{}: detect.patterns: pattern '{}': {e}", p.place, p.text))
                    })
                })
                .collect::<Result<_>>()?,
            priority: detect.priority.unwrap_or(DEFAULT_PRIORITY),
        };
        let answers = |list: Option<Vec<file::AnswerT>>| {
            list.unwrap_or_default()
                .into_iter()
                .map(|a| Answer { question: a.question.regex().clone(), send: a.send })
                .collect::<Vec<_>>()
        };
        Ok(Platform {
            description: layer.description.unwrap_or_else(|| name.clone()),
            netmiko: layer.netmiko.unwrap_or_default(),
            prompt: pattern.regex().clone(),
            paging_off: paging.off.unwrap_or_default(),
            more: paging.more.map(|p| p.regex().clone()),
            more_answer: paging.answer.unwrap_or_else(|| " ".into()).into_bytes(),
            setup: layer.setup.unwrap_or_default(),
            secret_prompt: enable
                .secret_prompt
                .map(|p| p.regex().clone())
                .or_else(|| has_enable.then(|| re(r"(?i)password:\s*$"))),
            unprivileged: prompt.user.map(|p| p.regex().clone()).or_else(|| has_enable.then(|| re(r">\s*$"))),
            disable: enable.disable.or_else(|| has_enable.then(|| "disable".to_owned())),
            enable: enable.command,
            configurable,
            config_enter: config.enter,
            config_exit: config.exit,
            config_prompt: prompt.config.map(|p| p.regex().clone()),
            config_answers: answers(config.answers),
            commit: config.commit,
            commit_check: config.commit_check,
            save: save.command,
            save_answers: answers(save.answers),
            errors: any_of(errors.patterns.as_deref().unwrap_or_default(), case, &name, "errors.patterns")?,
            strip_trailing: any_of(
                layer.output.and_then(|o| o.strip_trailing).as_deref().unwrap_or_default(),
                "",
                &name,
                "output.strip_trailing",
            )?,
            detect,
            autodetect: None,
            name,
        })
    }

    /// A platform described by the caller: a prompt pattern (a regex matched against the whole
    /// last line), an optional paging-off command and an optional enable command. Configuration
    /// commands are added with [`Platform::with_config`].
    pub fn generic(prompt: &str, paging_off: Option<&str>, enable: Option<&str>) -> Result<Platform> {
        let overrides = Overrides {
            prompt_pattern: Some(prompt.to_owned()),
            paging_off_command: paging_off.map(str::to_owned),
            enable_command: enable.map(str::to_owned),
            ..Overrides::default()
        };
        Platform::load(Source::Named("generic"), &overrides)
    }

    /// Adds configuration mode to a platform: the command that enters it, the one that leaves
    /// it, and a pattern that matches the prompt line while in it.
    pub fn with_config(mut self, enter: &str, exit: &str, prompt: &str) -> Result<Platform> {
        let prompt = Pat::option(prompt, "config prompt pattern")?;
        self.configurable = true;
        self.config_enter = Some(enter.to_owned());
        self.config_exit = Some(exit.to_owned());
        self.config_prompt = Some(prompt.regex().clone());
        Ok(self)
    }

    /// Whether one line of output (without its newline) is a line the device prints when it
    /// rejects a command.
    pub fn is_error(&self, text: &[u8]) -> bool {
        self.errors.as_ref().is_some_and(|e| e.is_match(text))
    }

    /// The last line of `buf` without ANSI escapes and carriage returns.
    pub fn last_line(buf: &[u8]) -> Vec<u8> {
        let last = buf.rsplit(|&b| b == b'\n').next().unwrap_or(buf);
        strip_ansi(last).into_iter().filter(|&b| b != b'\r').collect()
    }

    /// Whether a prompt line means configuration mode.
    pub fn in_config(&self, prompt_line: &[u8]) -> bool {
        self.config_prompt.as_ref().is_some_and(|c| c.is_match(prompt_line))
    }

    /// Whether a prompt line means unprivileged (user) mode.
    pub fn in_user_mode(&self, prompt_line: &[u8]) -> bool {
        !self.in_config(prompt_line) && self.unprivileged.as_ref().is_some_and(|u| u.is_match(prompt_line))
    }

    /// Whether `buf` ends with a prompt: its last line, without ANSI escapes, matches.
    pub fn at_prompt(&self, buf: &[u8]) -> bool {
        self.prompt.is_match(&Self::last_line(buf))
    }

    /// Whether `buf` ends with the platform's paging marker.
    pub fn at_more(&self, buf: &[u8]) -> bool {
        let tail = &buf[buf.len().saturating_sub(64)..];
        self.more.as_ref().is_some_and(|m| m.is_match(&strip_ansi(tail)))
    }
}

/// Removes ANSI CSI sequences (colours, cursor moves, erase), character set selections and
/// other two-byte escapes.
pub fn strip_ansi(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    strip_into(bytes, &mut out, false);
    out
}

/// Appends `bytes` to `out` without ANSI escapes, copying the runs between them whole. With
/// `text` (a command's output, as the caller gets it) carriage returns go too, and a backspace
/// takes back the byte before it on its line, as on a terminal: devices erase a paging marker
/// (or a spinner) that way, with backspaces, or backspaces, spaces and backspaces.
pub(crate) fn strip_into(bytes: &[u8], out: &mut Vec<u8>, text: bool) {
    let mut i = 0;
    loop {
        let next =
            if text { memchr::memchr3(0x1b, b'\r', 0x08, &bytes[i..]) } else { memchr::memchr(0x1b, &bytes[i..]) };
        let Some(n) = next else {
            out.extend_from_slice(&bytes[i..]);
            return;
        };
        out.extend_from_slice(&bytes[i..i + n]);
        i += n + 1;
        if bytes[i - 1] == 0x08 {
            if out.last().is_some_and(|&b| b != b'\n') {
                out.pop();
            }
        } else if bytes[i - 1] == 0x1b && bytes.get(i) == Some(&b'[') {
            i += 1;
            while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                i += 1;
            }
            i = (i + 1).min(bytes.len());
        } else if bytes[i - 1] == 0x1b {
            // ESC ( B and friends (character set selection) take one more byte.
            let width = if bytes.get(i).is_some_and(|b| b"()*+#%".contains(b)) { 2 } else { 1 };
            i = (i + width).min(bytes.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_of_each_platform() {
        let ios = Platform::named("cisco_ios").unwrap();
        for p in ["R1>", "R1#", "R1(config)#", "R1(config-if)#", "core-sw.lab#  ", "\x1b[1;32mR1#\x1b[0m"] {
            assert!(ios.at_prompt(format!("output\r\n{p}").as_bytes()), "{p:?}");
        }
        assert!(!ios.at_prompt(b"Building configuration...\r\n"));
        assert!(ios.at_more(b"line\r\n --More-- "));
        let junos = Platform::named("juniper_junos").unwrap();
        assert!(junos.at_prompt(b"[edit]\r\nadmin@mx1# "));
        assert!(junos.at_more(b"x\r\n---(more)---"));
        let linux = Platform::named("linux").unwrap();
        assert!(linux.at_prompt(b"admin@board1:~$ "));
        assert!(matches!(Platform::named("vax_vms"), Err(crate::Error::InvalidArg(_))));
        assert_eq!(Platform::named("cisco_ios_ssh").unwrap().name, "cisco_ios", "a netmiko name");
        let g = Platform::generic(r"^\[ok\] $", Some("paging off"), None).unwrap();
        assert!(g.at_prompt(b"x\n[ok] "));
        assert!(matches!(Platform::generic("(", None, None), Err(crate::Error::InvalidArg(_))));
    }

    #[test]
    fn ansi_is_stripped() {
        assert_eq!(strip_ansi(b"\x1b[1;32mR1#\x1b[0m\x1b[K"), b"R1#");
        assert_eq!(strip_ansi(b"a\x1b(Bb\x1b"), b"ab");
        assert_eq!(strip_ansi(b"x\x1b[1;3"), b"x");
        let mut out = Vec::new();
        strip_into(b"l1\r\n\x1b[Kl2\r\r\n", &mut out, true);
        assert_eq!(out, b"l1\nl2\n");
        // A paging marker erased after the answer: backspaces over nothing, or over spaces.
        let mut out = Vec::new();
        strip_into(b"a\r\n\x08\x08\x08b\r\n\x08\x08   \x08\x08\x08c\r\nab\x08\x08x\n", &mut out, true);
        assert_eq!(out, b"a\nb\nc\nx\n");
    }
}
