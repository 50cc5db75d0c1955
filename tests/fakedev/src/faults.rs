//! Fault injection, per device: what a misbehaving device under test does to its clients.
//! Set in an inventory entry (`[device.faults]`) or in code.

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Wait this long after accepting TCP before sending the SSH banner.
    pub banner_delay_ms: u64,
    /// Wait this long before answering each authentication attempt.
    pub auth_delay_ms: u64,
    /// Refuse every authentication attempt, whatever the credentials.
    pub auth_always_fails: bool,
    /// Wait this long before each response of the shell.
    pub latency_ms: u64,
    /// Send output in data messages of at most this many bytes (1 = byte by byte), each
    /// flushed on its own.
    pub fragment: Option<usize>,
    /// Commands after which the device prints its output but never a prompt again, and
    /// ignores further input (a hang).
    pub hang_on: Vec<String>,
    /// Commands during whose output the TCP connection is cut (after half the output), with no
    /// SSH disconnect message.
    pub drop_on: Vec<String>,
    /// Wrap prompts in ANSI colour and end output lines with an erase-line escape.
    pub ansi: bool,
    /// After this many commands the hostname, and so the prompt, changes.
    pub prompt_change_after: Option<u64>,
    /// Split multi-byte UTF-8 characters of the output across two data messages.
    pub split_utf8: bool,
    /// Refuse (close at once) a connection while this many are open.
    pub max_sessions: Option<u64>,
    /// Present a new host key on every connection after the first.
    pub new_host_key_each_connection: bool,
    /// Offer keyboard-interactive (and public key) but not password authentication, like
    /// devices whose PAM setup takes passwords only through keyboard-interactive.
    pub keyboard_interactive_only: bool,
}

impl Faults {
    /// Whether output has to go through the shaping writer (delays, fragments, splits, cuts).
    pub fn shapes_output(&self) -> bool {
        self.latency_ms > 0 || self.fragment.is_some() || self.split_utf8 || !self.drop_on.is_empty()
    }

    /// Cuts `out` into the data messages the device sends.
    pub fn fragments(&self, out: &[u8]) -> Vec<Vec<u8>> {
        if let Some(n) = self.fragment {
            return out.chunks(n.max(1)).map(<[u8]>::to_vec).collect();
        }
        if self.split_utf8 {
            // Split right after the first byte of the first multi-byte character.
            if let Some(i) = out.iter().position(|b| *b >= 0xc0) {
                return vec![out[..=i].to_vec(), out[i + 1..].to_vec()];
            }
        }
        vec![out.to_vec()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_split_where_asked() {
        let f = Faults { fragment: Some(2), ..Faults::default() };
        assert_eq!(f.fragments(b"abcde"), vec![b"ab".to_vec(), b"cd".to_vec(), b"e".to_vec()]);
        let f = Faults { split_utf8: true, ..Faults::default() };
        let parts = f.fragments("t°C".as_bytes());
        assert_eq!(parts.len(), 2);
        assert!(std::str::from_utf8(&parts[0]).is_err(), "the first part ends inside '°'");
        assert_eq!(parts.concat(), "t°C".as_bytes());
        assert!(!Faults::default().shapes_output());
    }
}
