//! Opening a session: TCP connect with a deadline, SSH handshake, host key policy, authentication,
//! PTY and shell.

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::ms;
use super::ssh_text::words;
use super::{Auth, Conn, DeviceOptions, HostKeyPolicy};
use crate::error::{Error, Result};
use crate::log::{Level, Target};

/// OpenSSH's SHA-256 fingerprint of a host key ("SHA256:" and unpadded base64).
pub(crate) fn fingerprint(key: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digest = Sha256::digest(key);
    let mut out = String::from("SHA256:");
    for chunk in digest.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub(crate) fn connect(name: &str, log_name: &str, opts: &DeviceOptions) -> Result<Conn> {
    let dev = Some(log_name);
    let addr = (opts.host.as_str(), opts.port)
        .to_socket_addrs()
        .map_err(|e| Error::Connect(format!("{name}: cannot resolve: {e}")))?
        .next()
        .ok_or_else(|| Error::Connect(format!("{name}: no address")))?;
    let start = Instant::now();
    let tcp = TcpStream::connect_timeout(&addr, opts.connect_timeout).map_err(|e| {
        if e.kind() == std::io::ErrorKind::TimedOut {
            Error::Timeout(format!(
                "{name}: TCP connect did not complete within {} ms",
                opts.connect_timeout.as_millis()
            ))
        } else {
            Error::Connect(format!("{name}: TCP connect failed: {e}"))
        }
    })?;
    let _ = tcp.set_nodelay(true);
    crate::log!(Level::Debug, Target::Device, dev, "TCP connected to {addr} in {:.1} ms", ms(start.elapsed()));
    let step = Instant::now();
    let tcp = Arc::new(tcp);
    let mut session = ssh2::Session::new()
        .map_err(|e| Error::Connect(format!("{name}: cannot start an SSH session: {}", super::ssh_text::words(&e))))?;
    session.set_tcp_stream(SharedTcp(Arc::clone(&tcp)));
    let left = opts.connect_timeout.saturating_sub(start.elapsed()).max(Duration::from_millis(1));
    session.set_timeout(super::ceil_ms(left));
    session.handshake().map_err(|e| match e.code() {
        ssh2::ErrorCode::Session(-9) => {
            Error::Timeout(format!("{name}: no SSH handshake within {} ms", opts.connect_timeout.as_millis()))
        }
        _ => Error::Connect(format!("{name}: SSH handshake failed: {}", super::ssh_text::words(&e))),
    })?;
    if crate::log::enabled(Level::Debug) {
        let m = |t| session.methods(t).unwrap_or("?").to_owned();
        use ssh2::MethodType as M;
        crate::log!(
            Level::Debug,
            Target::Device,
            dev,
            "SSH handshake done in {:.1} ms: kex {}, host key {}, cipher {} / {}, mac {} / {} (client to server / server to client)",
            ms(step.elapsed()),
            m(M::Kex),
            m(M::HostKey),
            m(M::CryptCs),
            m(M::CryptSc),
            m(M::MacCs),
            m(M::MacSc)
        );
    }
    check_host_key(name, &session, opts)?;
    crate::log!(Level::Debug, Target::Device, dev, "host key accepted ({})", policy_words(&opts.host_key));
    session.set_timeout(super::ceil_ms(opts.auth_timeout));
    authenticate(name, log_name, &session, opts)?;
    if let Some(every) = opts.keepalive {
        session.set_keepalive(false, every.as_secs().max(1) as u32);
    }
    let mut channel = session.channel_session().map_err(|e| {
        Error::Connect(format!("{name}: opening the shell channel failed: {}", super::ssh_text::words(&e)))
    })?;
    let (cols, rows) = opts.terminal;
    channel
        .request_pty("vt100", None, Some((cols, rows, 0, 0)))
        .and_then(|_| channel.shell())
        .map_err(|e| Error::Connect(format!("{name}: starting the shell failed: {}", super::ssh_text::words(&e))))?;
    crate::log!(Level::Debug, Target::Device, dev, "shell started (PTY {cols}x{rows})");
    Ok(Conn::new(session, channel, tcp))
}

/// The host key policy in words, for log records.
fn policy_words(policy: &HostKeyPolicy) -> String {
    match policy {
        HostKeyPolicy::Strict(p) => format!("strict, known in {}", p.display()),
        HostKeyPolicy::Pinned(f) => format!("pinned {f}"),
        HostKeyPolicy::AcceptNew(p) => format!("accept-new, {}", p.display()),
        HostKeyPolicy::InsecureAcceptAny => "insecure: any key accepted".into(),
    }
}

/// The socket as libssh2 gets it, shared with the device (which shuts it down when dropped)
/// without a second file descriptor.
struct SharedTcp(Arc<TcpStream>);

impl std::os::fd::AsRawFd for SharedTcp {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

fn check_host_key(name: &str, session: &ssh2::Session, opts: &DeviceOptions) -> Result<()> {
    let (key, _) = session.host_key().ok_or_else(|| Error::HostKey(format!("{name}: no host key")))?;
    let seen = fingerprint(key);
    // How known_hosts names this host: "host" on port 22, "[host]:port" elsewhere.
    let entry = if opts.port == 22 { opts.host.clone() } else { format!("[{}]:{}", opts.host, opts.port) };
    // Several threads and processes may record hosts in one file at once: each reads it under
    // a shared lock and records a host under an exclusive one, appending only that host's line,
    // so no addition is lost (reading, extending and rewriting the whole file loses the lines
    // another writer added in between). The locks are flock(2) locks (std's File::lock), which
    // exclude other open files of the same process too, so threads are covered as well.
    let lookup = |path: &PathBuf, shared_lock: bool| -> Result<Known> {
        let mut kh =
            session.known_hosts().map_err(|e| Error::HostKey(format!("{name}: known hosts: {}", words(&e))))?;
        // Held (with its lock, if asked for) until the file has been read.
        let file = match std::fs::File::open(path) {
            Ok(file) if shared_lock => {
                file.lock_shared().map_err(|e| Error::HostKey(format!("{name}: locking {}: {e}", path.display())))?;
                Some(file)
            }
            Ok(file) => Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::HostKey(format!("{name}: {}: {e}", path.display()))),
        };
        if file.is_some() {
            kh.read_file(path, ssh2::KnownHostFileKind::OpenSSH)
                .map_err(|e| Error::HostKey(format!("{name}: reading {}: {}", path.display(), words(&e))))?;
        }
        Ok(match kh.check_port(&opts.host, opts.port, key) {
            ssh2::CheckResult::Match => Known::Match,
            ssh2::CheckResult::Mismatch => Known::Mismatch(
                kh.iter()
                    .ok()
                    .and_then(|hosts| {
                        hosts.into_iter().find_map(|h| (h.name() == Some(entry.as_str())).then(|| h.key().to_owned()))
                    })
                    .and_then(|b64| decode_base64(&b64))
                    .map(|k| fingerprint(&k))
                    .unwrap_or_else(|| "(unreadable)".into()),
            ),
            ssh2::CheckResult::NotFound | ssh2::CheckResult::Failure => Known::NotFound(kh),
        })
    };
    let record = |path: &PathBuf| -> Result<Known> {
        let recording =
            |e: &dyn std::fmt::Display| Error::HostKey(format!("{name}: recording the key in {}: {e}", path.display()));
        let file =
            std::fs::OpenOptions::new().read(true).append(true).create(true).open(path).map_err(|e| recording(&e))?;
        file.lock().map_err(|e| recording(&e))?;
        // Under the lock: another writer may have recorded this host since the first look.
        let mut kh = match lookup(path, false)? {
            Known::NotFound(kh) => kh,
            found => return Ok(found),
        };
        let (_, kind) = session.host_key().expect("checked above");
        kh.add(&entry, key, "added by netrig (accept-new)", kind.into()).map_err(|e| recording(&words(&e)))?;
        let host = kh
            .iter()
            .map_err(|e| recording(&words(&e)))?
            .into_iter()
            .find(|h| h.name() == Some(entry.as_str()))
            .ok_or_else(|| recording(&"the new entry is missing"))?;
        let mut line = kh.write_string(&host, ssh2::KnownHostFileKind::OpenSSH).map_err(|e| recording(&words(&e)))?;
        if !line.ends_with('\n') {
            line.push('\n');
        }
        let len = file.metadata().map_err(|e| recording(&e))?.len();
        let mut last = [b'\n'];
        if len > 0 {
            use std::os::unix::fs::FileExt;
            file.read_exact_at(&mut last, len - 1).map_err(|e| recording(&e))?;
        }
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
        // One write of the whole line, at the end of the file whatever its length now.
        (&file).write_all(line.as_bytes()).map_err(|e| recording(&e))?;
        Ok(Known::Match)
    };
    let known_hosts = |path: &PathBuf, add: bool| -> Result<()> {
        let found = match lookup(path, true)? {
            Known::NotFound(_) if add => record(path)?,
            found => found,
        };
        match found {
            Known::Match => Ok(()),
            Known::Mismatch(known) => Err(Error::HostKey(format!(
                "{name}: HOST KEY CHANGED: known_hosts {} has {known}, the device presented {seen}",
                path.display()
            ))),
            Known::NotFound(_) => Err(Error::HostKey(format!(
                "{name}: host key {seen} is not in {} (strict host key checking)",
                path.display()
            ))),
        }
    };
    match &opts.host_key {
        HostKeyPolicy::InsecureAcceptAny => Ok(()),
        HostKeyPolicy::Pinned(want) if *want == seen => Ok(()),
        HostKeyPolicy::Pinned(want) => {
            Err(Error::HostKey(format!("{name}: HOST KEY CHANGED: pinned {want}, the device presented {seen}")))
        }
        HostKeyPolicy::Strict(path) => known_hosts(path, false),
        HostKeyPolicy::AcceptNew(path) => known_hosts(path, true),
    }
}

/// What a known_hosts file says about the device's key; when it does not know the host, the
/// file as read, for adding it.
enum Known {
    Match,
    /// The file has another key for the host: its fingerprint.
    Mismatch(String),
    NotFound(ssh2::KnownHosts),
}

pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        acc = acc << 6 | val(c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

struct Answer<'a>(&'a str);

impl ssh2::KeyboardInteractivePrompt for Answer<'_> {
    fn prompt<'b>(&mut self, _user: &str, _instructions: &str, prompts: &[ssh2::Prompt<'b>]) -> Vec<String> {
        prompts.iter().map(|_| self.0.to_owned()).collect()
    }
}

fn authenticate(name: &str, log_name: &str, session: &ssh2::Session, opts: &DeviceOptions) -> Result<()> {
    let result = authenticate_inner(name, log_name, session, opts);
    let answer = match &result {
        Ok(()) => "accepted".to_owned(),
        Err(e) => format!("{}: {e}", e.status().name().to_string_lossy()),
    };
    crate::log!(Level::Debug, Target::Device, Some(log_name), "authentication as '{}': {answer}", opts.username);
    result
}

fn authenticate_inner(name: &str, log_name: &str, session: &ssh2::Session, opts: &DeviceOptions) -> Result<()> {
    let dev = Some(log_name);
    let started = Instant::now();
    let user = opts.username.as_str();
    let mut tried = method(&opts.auth);
    // The methods the device accepts, from its answer to a refused attempt.
    let mut accepts: Option<String> = None;
    let result = match &opts.auth {
        // Many devices offer only keyboard-interactive for passwords; answer it with the password.
        // Password first: asking for the method list costs a round trip (and some servers
        // delay their answer to it) on every open, while keyboard-only devices are rare.
        Auth::Password(p) => session
            .userauth_password(user, p)
            .inspect(|_| {
                crate::log!(Level::Debug, Target::Device, dev, "auth method password as '{user}': accepted");
            })
            .or_else(|e| {
                crate::log!(
                    Level::Debug,
                    Target::Device,
                    dev,
                    "auth method password as '{user}': {}",
                    super::ssh_text::words(&e)
                );
                // Only a refusal leads to the fallback; a timeout stays a timeout, and the fallback
                // gets only what is left of the auth timeout.
                if e.code() != ssh2::ErrorCode::Session(-18) {
                    return Err(e);
                }
                session.set_timeout(super::ceil_ms(opts.auth_timeout.saturating_sub(started.elapsed())));
                match session.auth_methods(user) {
                    Ok(methods) => {
                        accepts = Some(methods.to_owned());
                        crate::log!(Level::Debug, Target::Device, dev, "the device accepts: {methods}");
                        if !methods.contains("password") && methods.contains("keyboard-interactive") {
                            tried.push_str(", then keyboard-interactive with the password");
                            crate::log!(
                                Level::Debug,
                                Target::Device,
                                dev,
                                "trying keyboard-interactive with the password"
                            );
                            session.userauth_keyboard_interactive(user, &mut Answer(p))
                        } else {
                            Err(e)
                        }
                    }
                    Err(_) => Err(e),
                }
            }),
        Auth::Agent => session.userauth_agent(user),
        Auth::KeyboardInteractive(p) => session.userauth_keyboard_interactive(user, &mut Answer(p)),
        Auth::KeyFile { path, passphrase } => session.userauth_pubkey_file(user, None, path, passphrase.as_deref()),
        Auth::KeyMemory { private_key, passphrase } => {
            session.userauth_pubkey_memory(user, None, private_key, passphrase.as_deref())
        }
    };
    if !matches!(opts.auth, Auth::Password(_)) {
        let answer = match &result {
            Ok(()) => "accepted".to_owned(),
            Err(e) => super::ssh_text::words(e),
        };
        crate::log!(Level::Debug, Target::Device, dev, "auth method {tried} as '{user}': {answer}");
    }
    match result {
        Ok(()) if session.authenticated() => Ok(()),
        Ok(()) => Err(Error::Auth(format!(
            "{name}: authentication as '{user}' by {tried} is incomplete: the device asks for a further method"
        ))),
        Err(e) if e.code() == ssh2::ErrorCode::Session(-9) => Err(Error::Timeout(format!(
            "{name}: no authentication answer within {} ms (tried {tried} as '{user}')",
            opts.auth_timeout.as_millis()
        ))),
        Err(e) if matches!(e.code(), ssh2::ErrorCode::Session(-18 | -19)) => {
            if accepts.is_none() {
                // Asked only after a refusal, within what is left of the auth timeout.
                let left = opts.auth_timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
                session.set_timeout(super::ceil_ms(left));
                accepts = session.auth_methods(user).ok().map(str::to_owned);
            }
            let answer = match accepts.as_deref() {
                Some(m) if !m.is_empty() => format!(" (it accepts: {})", m.replace(',', ", ")),
                _ => String::new(),
            };
            Err(Error::Auth(format!("{name}: authentication as '{user}' by {tried} refused by the device{answer}")))
        }
        Err(e) => {
            let why = match &opts.auth {
                Auth::Agent => agent_words(&e),
                _ => super::ssh_text::words(&e),
            };
            Err(Error::Auth(format!("{name}: authentication as '{user}' by {tried} failed: {why}")))
        }
    }
}

/// Why the agent could not be used: libssh2 reports these under generic codes ("bad use",
/// "invalid argument"), and only its message tells them apart.
fn agent_words(e: &ssh2::Error) -> String {
    match e.message() {
        "no auth sock variable" => "SSH_AUTH_SOCK is not set, so there is no agent to ask".into(),
        "failed connecting with agent" => "no agent answers at SSH_AUTH_SOCK".into(),
        "no identities found in the ssh agent" => "the agent holds no keys".into(),
        _ => super::ssh_text::words(e),
    }
}

/// The authentication method in words, as error texts name it (no secret, ever).
fn method(auth: &Auth) -> String {
    match auth {
        Auth::Password(_) => "password".into(),
        Auth::KeyboardInteractive(_) => "keyboard-interactive".into(),
        Auth::KeyFile { path, .. } => format!("public key from {}", path.display()),
        Auth::KeyMemory { .. } => "public key given in memory".into(),
        Auth::Agent => "the SSH agent's first key (agent at SSH_AUTH_SOCK)".into(),
    }
}
