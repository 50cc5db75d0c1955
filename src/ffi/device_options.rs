//! `netrig_device_options`: what `netrig_device_open` (and pool checkouts, runner targets and
//! prewarm) take, its defaults, and its translation into the core's
//! [`DeviceOptions`](crate::device::DeviceOptions), platform included.

use std::ffi::c_char;

use super::args::{ms, opt_str, options_default, str_arg, timeout_or_default, GrowableOptions};
use super::guard::call;
use crate::device::{Auth, DeviceOptions, HostKeyPolicy, Overrides, Platform, Source};
use crate::error::{netrig_status, Error, Result};

/// Host key policy: the key must be in the known_hosts file (the default).
pub const NETRIG_HOSTKEY_STRICT: u32 = 0;
/// Host key policy: the key's SHA-256 fingerprint must equal `host_key_fingerprint`.
pub const NETRIG_HOSTKEY_PINNED: u32 = 1;
/// Host key policy: record an unknown host's key in known_hosts; refuse a changed one.
pub const NETRIG_HOSTKEY_ACCEPT_NEW: u32 = 2;
/// Host key policy: trust any key. For throw-away lab setups only.
pub const NETRIG_HOSTKEY_INSECURE_ACCEPT_ANY: u32 = 3;

/// Options of `netrig_device_open`. Start from `netrig_device_options_default(&o, sizeof o)`
/// and set what you need; string fields are borrowed for the call and NULL means "not given".
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_device_options {
    /// `sizeof` this struct in the caller's netrig.h, set by `netrig_device_options_default(&o,
    /// sizeof o)`. The library reads only that many bytes, so the fields a newer header added
    /// take their defaults for a program built against an older one (OPTIONS in the preamble).
    pub struct_size: usize,
    /// Host name or address (required).
    pub host: *const c_char,
    /// TCP port (default 22).
    pub port: u16,
    /// Login name (required).
    pub username: *const c_char,
    /// Password; used for password authentication, or keyboard-interactive when that is all
    /// the device offers.
    pub password: *const c_char,
    /// Path of a private key file (OpenSSH or PEM); takes precedence over `password`.
    pub private_key_file: *const c_char,
    /// A private key in memory (PEM text); takes precedence over `password`.
    pub private_key: *const c_char,
    /// Passphrase of the private key.
    pub passphrase: *const c_char,
    /// Non-zero: authenticate with the SSH agent of SSH_AUTH_SOCK (when no key is given).
    pub use_agent: u8,
    /// Enable secret; when given, open enters privileged mode.
    pub secret: *const c_char,
    /// One of NETRIG_HOSTKEY_* (default NETRIG_HOSTKEY_STRICT).
    pub host_key_policy: u32,
    /// known_hosts file for STRICT and ACCEPT_NEW; NULL means ~/.ssh/known_hosts.
    pub known_hosts: *const c_char,
    /// "SHA256:..." for NETRIG_HOSTKEY_PINNED.
    pub host_key_fingerprint: *const c_char,
    /// TCP connect plus SSH handshake, in ms (default 10000).
    pub connect_timeout_ms: u32,
    /// Authentication, in ms (default 10000).
    pub auth_timeout_ms: u32,
    /// Default deadline of each operation, in ms (default 30000); also bounds the session
    /// preparation in open.
    pub timeout_ms: u32,
    /// SSH keepalive interval while an operation waits, in ms (default 30000; 0 = none).
    pub keepalive_ms: u32,
    /// A built-in platform by name or netmiko device_type ("cisco_ios", "juniper_junos",
    /// "linux", ...: `netrig_platforms()` lists them); "autodetect" (the platform is told from
    /// the first prompt and `show version`-like commands at open, PLATFORMS.md "Autodetect";
    /// `netrig_device_platform` names it); or "generic" (or NULL) with `prompt_pattern`. With
    /// `platform_file` or `platform_text`, NULL or that platform's name. NULL with none of
    /// these is NETRIG_E_INVALID_ARG: there is no default platform.
    pub platform: *const c_char,
    /// A regex matching the whole prompt line; replaces the platform's prompt pattern (any
    /// platform; required with "generic"). This and the five options after it change any
    /// platform, built-in or loaded (PLATFORMS.md, "Options that change a platform").
    pub prompt_pattern: *const c_char,
    /// The command that turns paging off; replaces the platform's paging-off commands.
    pub paging_off_command: *const c_char,
    /// The command that enters privileged mode.
    pub enable_command: *const c_char,
    /// The command that enters configuration mode (with the next two, all or none).
    pub config_command: *const c_char,
    /// The command that leaves configuration mode.
    pub config_exit_command: *const c_char,
    /// A regex matching the prompt line in configuration mode.
    pub config_prompt_pattern: *const c_char,
    /// PTY size (default 511 x 24).
    pub term_cols: u32,
    pub term_rows: u32,
    /// Append a transcript of the session to this file; passwords and secrets are redacted.
    pub session_log: *const c_char,
    /// Non-zero: start every chunk written to the session log with its UTC time and direction,
    /// on a line of its own: `[2026-12-04T18:40:01.123456Z <<] ` for bytes received, `>>` for
    /// bytes sent, `--` for netrig's notes. 0 (the default): the plain transcript.
    pub session_log_timestamps: u8,
    /// Path of a platform file (PLATFORMS.md) describing the device's CLI; it may extend a
    /// built-in platform. Read and checked at open, before connecting: a bad file is
    /// NETRIG_E_INVALID_ARG naming the file, the line and the field.
    pub platform_file: *const c_char,
    /// The text of a platform file, instead of `platform_file`.
    pub platform_text: *const c_char,
    /// A regex matching a line of output that means the device rejected a command (matched on
    /// each line, case-insensitive unless it starts with `(?-i)`); replaces the platform's
    /// error patterns.
    pub error_pattern: *const c_char,
    /// Non-zero (the default): a command whose output has a line matching the error patterns
    /// fails with NETRIG_E_COMMAND. 0: such outputs are returned, with `netrig_output_failed`
    /// true. A call's `netrig_command_options.check` overrides it.
    pub check_errors: u8,
    /// The TextFSM templates directory (with an ntc-templates style `index`) for parsing this
    /// device's output in runner steps (`netrig_output_parse` takes its own); NULL:
    /// `NETRIG_TEMPLATES`.
    pub templates: *const c_char,
}

fn platform(o: &netrig_device_options) -> Result<Platform> {
    let name = opt_str(o.platform, "options.platform")?;
    let file = opt_str(o.platform_file, "options.platform_file")?;
    let text = opt_str(o.platform_text, "options.platform_text")?;
    let overrides = Overrides {
        prompt_pattern: opt_str(o.prompt_pattern, "options.prompt_pattern")?.map(str::to_owned),
        paging_off_command: opt_str(o.paging_off_command, "options.paging_off_command")?.map(str::to_owned),
        enable_command: opt_str(o.enable_command, "options.enable_command")?.map(str::to_owned),
        config_command: opt_str(o.config_command, "options.config_command")?.map(str::to_owned),
        config_exit_command: opt_str(o.config_exit_command, "options.config_exit_command")?.map(str::to_owned),
        config_prompt_pattern: opt_str(o.config_prompt_pattern, "options.config_prompt_pattern")?.map(str::to_owned),
        error_pattern: opt_str(o.error_pattern, "options.error_pattern")?.map(str::to_owned),
    };
    let source = match (file, text) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidArg("options.platform_file and options.platform_text: give one of them".into()))
        }
        (Some(path), None) => Source::File(std::path::Path::new(path)),
        (None, Some(text)) => Source::Text(text),
        (None, None) => match name {
            Some(name) => Source::Named(name),
            None if overrides.prompt_pattern.is_some() => Source::Named("generic"),
            None => {
                return Err(Error::InvalidArg(
                    "options.platform is NULL: name a platform (netrig_platforms() lists them), \"autodetect\", \
                     or set platform_file/platform_text, or prompt_pattern with \"generic\""
                        .into(),
                ))
            }
        },
    };
    let loaded = matches!(source, Source::File(_) | Source::Text(_));
    let p = Platform::load(source, &overrides)?;
    match name {
        Some(n) if loaded && n != p.name && !p.netmiko.iter().any(|m| m == n) => Err(Error::InvalidArg(format!(
            "options.platform is '{n}' but the platform file describes '{}'; leave options.platform NULL",
            p.name
        ))),
        _ => Ok(p),
    }
}

impl netrig_device_options {
    pub(super) fn to_options(self) -> Result<DeviceOptions> {
        let host = str_arg(self.host, "options.host")?;
        let username = str_arg(self.username, "options.username")?;
        let passphrase = opt_str(self.passphrase, "options.passphrase")?.map(str::to_owned);
        let auth = if let Some(path) = opt_str(self.private_key_file, "options.private_key_file")? {
            Auth::KeyFile { path: path.into(), passphrase }
        } else if let Some(key) = opt_str(self.private_key, "options.private_key")? {
            Auth::KeyMemory { private_key: key.to_owned(), passphrase }
        } else if self.use_agent != 0 {
            Auth::Agent
        } else if let Some(password) = opt_str(self.password, "options.password")? {
            Auth::Password(password.to_owned())
        } else {
            return Err(Error::InvalidArg(
                "no credentials: set options.password, private_key_file, private_key or use_agent".into(),
            ));
        };
        let mut o = DeviceOptions::new(host, self.port, username, auth, platform(&self)?);
        o.secret = opt_str(self.secret, "options.secret")?.map(str::to_owned);
        let default_known_hosts = match &o.host_key {
            HostKeyPolicy::Strict(path) => path.clone(),
            _ => std::path::PathBuf::new(),
        };
        let known_hosts = || -> Result<std::path::PathBuf> {
            Ok(opt_str(self.known_hosts, "options.known_hosts")?.map(Into::into).unwrap_or(default_known_hosts.clone()))
        };
        o.host_key = match self.host_key_policy {
            NETRIG_HOSTKEY_STRICT => HostKeyPolicy::Strict(known_hosts()?),
            NETRIG_HOSTKEY_ACCEPT_NEW => HostKeyPolicy::AcceptNew(known_hosts()?),
            NETRIG_HOSTKEY_PINNED => HostKeyPolicy::Pinned(
                opt_str(self.host_key_fingerprint, "options.host_key_fingerprint")?
                    .ok_or_else(|| {
                        Error::InvalidArg("NETRIG_HOSTKEY_PINNED needs options.host_key_fingerprint".into())
                    })?
                    .to_owned(),
            ),
            NETRIG_HOSTKEY_INSECURE_ACCEPT_ANY => HostKeyPolicy::InsecureAcceptAny,
            other => {
                return Err(Error::InvalidArg(format!("options.host_key_policy {other} is not a NETRIG_HOSTKEY_*")))
            }
        };
        let required_ms = |v: u32, what: &str| {
            if v == 0 {
                Err(Error::InvalidArg(format!("options.{what} is 0; use netrig_device_options_default()")))
            } else {
                Ok(ms(v))
            }
        };
        if self.port == 0 {
            return Err(Error::InvalidArg("options.port is 0".into()));
        }
        o.connect_timeout = required_ms(self.connect_timeout_ms, "connect_timeout_ms")?;
        o.auth_timeout = required_ms(self.auth_timeout_ms, "auth_timeout_ms")?;
        o.timeout = required_ms(self.timeout_ms, "timeout_ms")?;
        o.keepalive = timeout_or_default(self.keepalive_ms);
        if self.term_cols == 0 || self.term_rows == 0 {
            return Err(Error::InvalidArg("options.term_cols and term_rows must be > 0".into()));
        }
        o.terminal = (self.term_cols, self.term_rows);
        o.session_log = opt_str(self.session_log, "options.session_log")?.map(Into::into);
        o.session_log_timestamps = self.session_log_timestamps != 0;
        o.check_errors = self.check_errors != 0;
        o.templates = opt_str(self.templates, "options.templates")?.map(Into::into);
        Ok(o)
    }
}

/// The built-in platforms, their names separated by single spaces in alphabetical order
/// ("arista_eos busybox cisco_asa ..."; "generic" among them): the values `options.platform`
/// takes besides netmiko device_type names. PLATFORMS.md describes each and the file format.
///
/// Ownership: the string is static; do not free it. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_platforms() -> *const c_char {
    static NAMES: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    super::guard::call_value("netrig_platforms", c"".as_ptr(), || {
        NAMES
            .get_or_init(|| {
                // File names have no NUL (they are file stems of this crate).
                std::ffi::CString::new(Platform::builtin_names().join(" ")).unwrap_or_default()
            })
            .as_ptr()
    })
}

/// Fills `*out` with the default device options: port 22, strict host key checking against
/// ~/.ssh/known_hosts, connect and auth timeouts 10 s, operation timeout 30 s, keepalive 30 s,
/// a 511 x 24 terminal, and every string NULL (host, username, credentials and platform must be
/// set). `struct_size` is `sizeof *out` (see OPTIONS in the preamble); NETRIG_E_INVALID_ARG when
/// it is smaller than a size_t or larger than this library's struct.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_device_options_default(
    out: *mut netrig_device_options,
    struct_size: usize,
) -> netrig_status {
    call("netrig_device_options_default", || options_default(out, struct_size))
}

// SAFETY: #[repr(C)], `struct_size: usize` first, and every other field an integer or a raw
// pointer (valid for any bits).
unsafe impl GrowableOptions for netrig_device_options {
    const NAME: &'static str = "netrig_device_options";
    fn defaults() -> Self {
        default_device_options()
    }
}

fn default_device_options() -> netrig_device_options {
    let null = std::ptr::null();
    netrig_device_options {
        struct_size: std::mem::size_of::<netrig_device_options>(),
        host: null,
        port: 22,
        username: null,
        password: null,
        private_key_file: null,
        private_key: null,
        passphrase: null,
        use_agent: 0,
        secret: null,
        host_key_policy: NETRIG_HOSTKEY_STRICT,
        known_hosts: null,
        host_key_fingerprint: null,
        connect_timeout_ms: 10_000,
        auth_timeout_ms: 10_000,
        timeout_ms: 30_000,
        keepalive_ms: 30_000,
        platform: null,
        prompt_pattern: null,
        paging_off_command: null,
        enable_command: null,
        config_command: null,
        config_exit_command: null,
        config_prompt_pattern: null,
        term_cols: 511,
        term_rows: 24,
        session_log: null,
        session_log_timestamps: 0,
        platform_file: null,
        platform_text: null,
        error_pattern: null,
        check_errors: 1,
        templates: null,
    }
}
