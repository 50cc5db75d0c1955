//! How to reach a device: the options [`Device::open`](super::Device::open) takes, the login
//! methods and host-key policies they name, and the defaults a caller gets without asking.
//! Options are cloned freely (pool keys, parallel jobs), so the secrets they hold are wiped on
//! drop and [`Auth`]'s `Debug` never shows them.

use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroize;

use super::Platform;

/// How to prove who we are.
#[derive(Clone)]
pub enum Auth {
    Password(String),
    KeyboardInteractive(String),
    KeyFile {
        path: PathBuf,
        passphrase: Option<String>,
    },
    KeyMemory {
        private_key: String,
        passphrase: Option<String>,
    },
    /// Keys held by the SSH agent of SSH_AUTH_SOCK.
    Agent,
}

impl Drop for Auth {
    fn drop(&mut self) {
        // Passwords, keys and passphrases do not outlive their use in memory.
        match self {
            Auth::Password(p) | Auth::KeyboardInteractive(p) => p.zeroize(),
            Auth::KeyFile { passphrase, .. } => passphrase.zeroize(),
            Auth::KeyMemory { private_key, passphrase } => {
                private_key.zeroize();
                passphrase.zeroize();
            }
            Auth::Agent => {}
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs or error messages.
        f.write_str(match self {
            Auth::Password(_) => "Password(..)",
            Auth::KeyboardInteractive(_) => "KeyboardInteractive(..)",
            Auth::KeyFile { .. } => "KeyFile(..)",
            Auth::KeyMemory { .. } => "KeyMemory(..)",
            Auth::Agent => "Agent",
        })
    }
}

/// Which host keys to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// The key must be in this known_hosts file (the default, with ~/.ssh/known_hosts).
    Strict(PathBuf),
    /// The key's SHA-256 fingerprint must be this one ("SHA256:..." as OpenSSH prints it).
    Pinned(String),
    /// Trust and record a host's key on first use; a changed key is refused.
    AcceptNew(PathBuf),
    /// Trust any key. Named so that nobody uses it by accident.
    InsecureAcceptAny,
}

#[derive(Clone)]
pub struct DeviceOptions {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub auth: Auth,
    /// Enable secret; when set, `open` enters privileged mode. Wiped from memory on drop.
    pub secret: Option<String>,
    pub host_key: HostKeyPolicy,
    /// TCP connect plus SSH handshake.
    pub connect_timeout: Duration,
    pub auth_timeout: Duration,
    /// Default deadline of each operation.
    pub timeout: Duration,
    /// SSH keepalive interval while an operation waits on the device; `None` sends none.
    pub keepalive: Option<Duration>,
    pub platform: Platform,
    /// Columns and rows of the PTY.
    pub terminal: (u32, u32),
    /// Append a transcript of the session to this file (secrets redacted).
    pub session_log: Option<PathBuf>,
    /// Start every chunk written to the session log with its UTC time and direction, on a line
    /// of its own: `[2026-12-04T18:40:01.123456Z <<] ` for bytes received, `>>` for bytes sent,
    /// `--` for netrig's notes (exec's command and exit status). Off by default: the log is
    /// then the plain transcript.
    pub session_log_timestamps: bool,
    /// Whether a command whose output has a line matching the error patterns fails
    /// ([`Error::CommandFailed`](crate::Error::CommandFailed)); the default of every call's
    /// [`Check`](super::Check). On by default: a refused command must not pass for a result.
    pub check_errors: bool,
    /// The TextFSM templates directory (with an ntc-templates style `index`) that parsing this
    /// device's output uses; `None`: `NETRIG_TEMPLATES`.
    pub templates: Option<PathBuf>,
}

/// Written by hand so that the enable secret never reaches a log or a panic message (`Auth`
/// hides its own secrets the same way).
impl std::fmt::Debug for DeviceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("auth", &self.auth)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("host_key", &self.host_key)
            .field("connect_timeout", &self.connect_timeout)
            .field("auth_timeout", &self.auth_timeout)
            .field("timeout", &self.timeout)
            .field("keepalive", &self.keepalive)
            .field("platform", &self.platform)
            .field("terminal", &self.terminal)
            .field("session_log", &self.session_log)
            .field("session_log_timestamps", &self.session_log_timestamps)
            .field("check_errors", &self.check_errors)
            .field("templates", &self.templates)
            .finish()
    }
}

impl Drop for DeviceOptions {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl DeviceOptions {
    pub fn new(host: &str, port: u16, username: &str, auth: Auth, platform: Platform) -> DeviceOptions {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        DeviceOptions {
            host: host.into(),
            port,
            username: username.into(),
            auth,
            secret: None,
            host_key: HostKeyPolicy::Strict(home.join(".ssh/known_hosts")),
            connect_timeout: Duration::from_secs(10),
            auth_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            keepalive: Some(Duration::from_secs(30)),
            platform,
            terminal: (511, 24),
            session_log: None,
            session_log_timestamps: false,
            check_errors: true,
            templates: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secret() {
        let mut o =
            DeviceOptions::new("h", 22, "u", Auth::Password("pw-123".into()), Platform::named("cisco_ios").unwrap());
        o.secret = Some("enable-456".into());
        let text = format!("{o:?}");
        assert!(!text.contains("pw-123") && !text.contains("enable-456"), "{text}");
        assert!(text.contains("<redacted>") && text.contains("host: \"h\""), "{text}");
    }
}
