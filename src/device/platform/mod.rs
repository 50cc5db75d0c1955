//! Platform profiles: how to recognise a device's prompt and prepare its session.

use regex::bytes::Regex;

use crate::error::{Error, Result};

/// What netrig needs to know about a platform's CLI.
#[derive(Debug, Clone)]
pub struct Platform {
    pub name: String,
    /// Matches the whole last line of output when the device waits for a command, in any mode.
    pub prompt: Regex,
    /// Matches the end of the output when the device pauses a long output (--More--).
    pub more: Option<Regex>,
    /// Commands sent once after login: paging off, terminal width.
    pub setup: Vec<String>,
    /// Command that enters privileged mode, when the platform has one.
    pub enable: Option<String>,
    /// Matches the end of the output when the device asks for the enable secret.
    pub secret_prompt: Option<Regex>,
    /// Whether the prompt means unprivileged mode (ends in '>').
    pub unprivileged: Option<Regex>,
    /// Command that leaves privileged mode.
    pub disable: Option<String>,
    /// Command that enters configuration mode.
    pub config_enter: Option<String>,
    /// Command that leaves configuration mode from any sub-mode.
    pub config_exit: Option<String>,
    /// Matches the prompt line while in configuration mode.
    pub config_prompt: Option<Regex>,
    /// Whether configuration changes need a commit (Junos style).
    pub commit: bool,
    /// Command that saves the running configuration (`save_config`).
    pub save: Option<String>,
    /// Matches a line of output that means the device rejected the command.
    pub errors: Regex,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// A Cisco-style prompt: host name, optional (config...) mode, then > or #.
/// ASCII classes: host names are ASCII, and Unicode `\w` repeated 63 times costs 17 ms to compile.
const CISCO_PROMPT: &str = r"(?-u)^[\w.\-@/:]{1,63}(\([\w.\-]+\))?[>#]\s*$";

/// Error lines of Cisco-style CLIs (IOS, NX-OS, EOS) and Junos.
const ERRORS: &str = r"(?m)^\s*(% ?(Invalid|Incomplete|Ambiguous|Unknown|Unrecognized|Bad|Error|Access denied)|%Error|syntax error|error:|unknown command|missing argument)";

impl Platform {
    /// A built-in platform by name: cisco_ios, cisco_xe, cisco_nxos, arista_eos,
    /// juniper_junos, linux. Each is built once per process (compiling its patterns takes
    /// about half a millisecond); later calls clone it, which shares the compiled patterns.
    pub fn named(name: &str) -> Result<Platform> {
        // Taken only by opens that name a platform, never by an operation.
        static BUILT: parking_lot::Mutex<Vec<Platform>> = parking_lot::Mutex::new(Vec::new());
        let mut built = BUILT.lock();
        if let Some(p) = built.iter().find(|p| p.name == name) {
            return Ok(p.clone());
        }
        let p = Self::build(name)?;
        built.push(p.clone());
        Ok(p)
    }

    fn build(name: &str) -> Result<Platform> {
        let cisco = |name: &str, setup: &[&str]| Platform {
            name: name.into(),
            prompt: re(CISCO_PROMPT),
            more: Some(re(r"(?: --More-- |--More--)[\x08 ]*$")),
            setup: setup.iter().map(|s| s.to_string()).collect(),
            enable: Some("enable".into()),
            secret_prompt: Some(re(r"(?i)password:\s*$")),
            unprivileged: Some(re(r">\s*$")),
            disable: Some("disable".into()),
            config_enter: Some("configure terminal".into()),
            config_exit: Some("end".into()),
            config_prompt: Some(re(r"\(conf[^)]*\)#\s*$")),
            commit: false,
            save: Some(if name == "cisco_nxos" { "copy running-config startup-config" } else { "write memory" }.into()),
            errors: re(ERRORS),
        };
        Ok(match name {
            "cisco_ios" | "cisco_xe" => cisco(name, &["terminal length 0", "terminal width 511"]),
            "cisco_nxos" => cisco(name, &["terminal length 0", "terminal width 511"]),
            "arista_eos" => cisco(name, &["terminal length 0", "terminal width 32767"]),
            "juniper_junos" => Platform {
                name: name.into(),
                prompt: re(r"^[\w.\-]+@[\w.\-]+[>#]\s*$"),
                more: Some(re(r"---\(more[^)]*\)---[\x08 ]*$")),
                setup: vec!["set cli screen-length 0".into(), "set cli screen-width 1024".into()],
                enable: None,
                secret_prompt: None,
                unprivileged: None,
                disable: None,
                config_enter: Some("configure".into()),
                config_exit: Some("exit configuration-mode".into()),
                config_prompt: Some(re(r"#\s*$")),
                commit: true,
                save: Some("commit".into()),
                errors: re(ERRORS),
            },
            "linux" => Platform {
                name: name.into(),
                prompt: re(r"^[\w.\-]+@[\w.\-]+:[^\n]*[$#]\s*$"),
                more: None,
                setup: Vec::new(),
                enable: None,
                secret_prompt: None,
                unprivileged: None,
                disable: None,
                config_enter: None,
                config_exit: None,
                config_prompt: None,
                commit: false,
                save: None,
                errors: re(r"(?m)^(-?\w*sh: .*(not found|No such file)|command not found)"),
            },
            other => {
                return Err(Error::InvalidArg(format!(
                    "unknown platform '{other}' (known: cisco_ios, cisco_xe, cisco_nxos, arista_eos, juniper_junos, \
                     linux, or a generic platform with its own prompt pattern)"
                )))
            }
        })
    }

    /// A platform described by the caller: a prompt pattern (a regex matched against the whole
    /// last line), an optional paging-off command and an optional enable command. Configuration
    /// commands are added with [`Platform::with_config`].
    pub fn generic(prompt: &str, paging_off: Option<&str>, enable: Option<&str>) -> Result<Platform> {
        let prompt = Regex::new(prompt).map_err(|e| Error::InvalidArg(format!("prompt pattern '{prompt}': {e}")))?;
        Ok(Platform {
            name: "generic".into(),
            prompt,
            more: None,
            setup: paging_off.map(|s| vec![s.to_owned()]).unwrap_or_default(),
            enable: enable.map(str::to_owned),
            secret_prompt: enable.map(|_| re(r"(?i)password:\s*$")),
            unprivileged: enable.map(|_| re(r">\s*$")),
            disable: enable.map(|_| "disable".to_owned()),
            config_enter: None,
            config_exit: None,
            config_prompt: None,
            commit: false,
            save: None,
            errors: re(ERRORS),
        })
    }

    /// Adds configuration mode to a generic platform: the command that enters it, the one
    /// that leaves it, and a pattern that matches the prompt line while in it.
    pub fn with_config(mut self, enter: &str, exit: &str, prompt: &str) -> Result<Platform> {
        let prompt =
            Regex::new(prompt).map_err(|e| Error::InvalidArg(format!("config prompt pattern '{prompt}': {e}")))?;
        self.config_enter = Some(enter.to_owned());
        self.config_exit = Some(exit.to_owned());
        self.config_prompt = Some(prompt);
        Ok(self)
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

/// Appends `bytes` to `out` without ANSI escapes (and without carriage returns when `drop_cr`),
/// copying the runs between them whole.
pub(crate) fn strip_into(bytes: &[u8], out: &mut Vec<u8>, drop_cr: bool) {
    let mut i = 0;
    loop {
        let next = if drop_cr { memchr::memchr2(0x1b, b'\r', &bytes[i..]) } else { memchr::memchr(0x1b, &bytes[i..]) };
        let Some(n) = next else {
            out.extend_from_slice(&bytes[i..]);
            return;
        };
        out.extend_from_slice(&bytes[i..i + n]);
        i += n + 1;
        if bytes[i - 1] == 0x1b && bytes.get(i) == Some(&b'[') {
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
    }
}
