//! The SSH side of a fake device: an accept loop that applies connection-level faults, and
//! russh handlers that authenticate, open session channels and connect each shell channel to
//! a [`Shell`], shaping its output as the device's faults say.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use russh::keys::{Algorithm, PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, Response, Session};
use russh::{Channel, ChannelId};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::faults::Faults;
use crate::linux::{self, Fs};
use crate::profile::Profile;
use crate::shell::Shell;

/// Counters of one device, so that pool tests can prove there are no duplicate connections.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub refused: AtomicU64,
    pub sessions: AtomicU64,
    pub active_connections: AtomicU64,
    pub auth_failures: AtomicU64,
    pub commands: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub connections: u64,
    pub refused: u64,
    pub sessions: u64,
    pub active_connections: u64,
    pub auth_failures: u64,
    pub commands: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        StatsSnapshot {
            connections: get(&self.connections),
            refused: get(&self.refused),
            sessions: get(&self.sessions),
            active_connections: get(&self.active_connections),
            auth_failures: get(&self.auth_failures),
            commands: get(&self.commands),
        }
    }
}

/// One device: what it is, how it misbehaves, and its counters.
#[derive(Clone)]
pub struct Device {
    pub profile: Arc<Profile>,
    pub faults: Arc<Faults>,
    pub stats: Arc<Stats>,
    /// Public keys accepted for public-key authentication (any user name of the profile).
    pub authorized_keys: Arc<Vec<PublicKey>>,
    pub config: Arc<russh::server::Config>,
    /// What exec commands and SFTP see; shared by all sessions of the device.
    pub fs: Fs,
}

/// Accepts connections forever, applying the connection-level faults.
pub async fn serve(listener: TcpListener, device: Device) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let device = device.clone();
        tokio::spawn(async move { device.connection(stream).await });
    }
}

impl Device {
    async fn connection(self, stream: TcpStream) {
        let stats = &self.stats;
        let seen = stats.connections.fetch_add(1, Ordering::SeqCst);
        if let Some(max) = self.faults.max_sessions {
            if stats.active_connections.load(Ordering::SeqCst) >= max {
                stats.refused.fetch_add(1, Ordering::SeqCst);
                return; // dropping the stream closes it before any SSH byte
            }
        }
        let _ = stream.set_nodelay(true);
        stats.active_connections.fetch_add(1, Ordering::SeqCst);
        if self.faults.banner_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.faults.banner_delay_ms)).await;
        }
        let config = if self.faults.new_host_key_each_connection && seen > 0 {
            let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).expect("ed25519 key");
            Arc::new(russh::server::Config { keys: vec![key], ..clone_config(&self.config) })
        } else if self.faults.keyboard_interactive_only {
            let mut config = clone_config(&self.config);
            config.methods.remove(russh::MethodKind::Password);
            Arc::new(config)
        } else {
            self.config.clone()
        };
        let cut = Cut::default();
        let stream = Cuttable { inner: stream, cut: cut.clone() };
        let handler = Connection { device: self.clone(), cut, shells: HashMap::new(), unclaimed: HashMap::new() };
        if let Ok(session) = russh::server::run_stream(config, stream, handler).await {
            let _ = session.await;
        }
        self.stats.active_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

fn clone_config(c: &russh::server::Config) -> russh::server::Config {
    russh::server::Config {
        keys: c.keys.clone(),
        nodelay: c.nodelay,
        auth_rejection_time: c.auth_rejection_time,
        auth_rejection_time_initial: c.auth_rejection_time_initial,
        inactivity_timeout: c.inactivity_timeout,
        methods: c.methods.clone(),
        ..Default::default()
    }
}

/// A switch that makes a connection's socket fail, so the connection drops like a pulled
/// cable: no SSH disconnect message, just a closed TCP connection.
#[derive(Clone, Default)]
struct Cut {
    cut: Arc<AtomicBool>,
    reader: Arc<Mutex<Option<Waker>>>,
    /// Bytes written to the socket so far, so a cut can wait until data is on its way.
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl Cut {
    fn now(&self) {
        self.cut.store(true, Ordering::SeqCst);
        if let Some(w) = self.reader.lock().unwrap().take() {
            w.wake();
        }
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

struct Cuttable {
    inner: TcpStream,
    cut: Cut,
}

fn reset() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault: connection cut")
}

impl AsyncRead for Cuttable {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        *self.cut.reader.lock().unwrap() = Some(cx.waker().clone());
        if self.cut.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Cuttable {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.cut.written.fetch_add(*n as u64, Ordering::SeqCst);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What a shell channel's writer sends next.
enum Out {
    Data(Vec<u8>),
    /// Send the first half, then cut the connection.
    DataThenCut(Vec<u8>),
    Close,
}

struct ShellChannel {
    shell: Shell,
    /// Set when output is shaped by faults: a task sends in order, with delays and fragments.
    writer: Option<mpsc::UnboundedSender<Out>>,
    hung: bool,
    commands: u64,
}

/// One client connection.
pub struct Connection {
    device: Device,
    cut: Cut,
    shells: HashMap<ChannelId, ShellChannel>,
    /// Session channels whose first request has not come yet. A subsystem request takes its
    /// channel (SFTP reads it as a stream); any other request drops it, because russh queues
    /// every incoming message into a kept channel and a full queue would stall the connection.
    unclaimed: HashMap<ChannelId, Channel<Msg>>,
}

impl Connection {
    async fn auth_pause(&self) {
        if self.device.faults.auth_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.device.faults.auth_delay_ms)).await;
        }
    }

    fn verdict(&self, user: &str, ok: bool) -> Auth {
        if ok && user == self.device.profile.username && !self.device.faults.auth_always_fails {
            Auth::Accept
        } else {
            self.device.stats.auth_failures.fetch_add(1, Ordering::SeqCst);
            Auth::reject()
        }
    }

    fn decorate(&self, shell: &Shell, mut out: Vec<u8>) -> Vec<u8> {
        if self.device.faults.ansi {
            let text = String::from_utf8_lossy(&out).into_owned();
            let prompt = shell.prompt();
            let text = text.replace("\r\n", "\x1b[K\r\n").replace(&prompt, &format!("\x1b[1;32m{prompt}\x1b[0m"));
            out = text.into_bytes();
        }
        out
    }
}

async fn write_shaped(
    handle: russh::server::Handle,
    channel: ChannelId,
    faults: Arc<Faults>,
    cut: Cut,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    while let Some(out) = rx.recv().await {
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
        }
        match out {
            Out::Data(bytes) => {
                for part in faults.fragments(&bytes) {
                    if handle.data(channel, part).await.is_err() {
                        return;
                    }
                }
            }
            Out::DataThenCut(bytes) => {
                let half = bytes.len() / 2;
                let before = cut.written();
                let _ = handle.data(channel, bytes[..half].to_vec()).await;
                // Let the half reach the socket before it goes away: its SSH packet is written
                // (a loaded machine can take a while to get there), then a moment more.
                let give_up = std::time::Instant::now() + Duration::from_secs(5);
                while cut.written() < before + half as u64 && std::time::Instant::now() < give_up {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                cut.now();
                return;
            }
            Out::Close => {
                let _ = handle.exit_status_request(channel, 0).await;
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
                return;
            }
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        Ok(self.device.profile.login_banner.clone())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if self.device.faults.keyboard_interactive_only {
            let others = [russh::MethodKind::KeyboardInteractive, russh::MethodKind::PublicKey];
            return Ok(Auth::Reject { proceed_with_methods: Some((&others[..]).into()), partial_success: false });
        }
        self.auth_pause().await;
        Ok(self.verdict(user, password == self.device.profile.password))
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        let Some(mut response) = response else {
            return Ok(Auth::Partial {
                name: "".into(),
                instructions: "".into(),
                prompts: vec![("Password: ".into(), false)].into(),
            });
        };
        self.auth_pause().await;
        let answer = response.next();
        Ok(self.verdict(user, answer.as_deref() == Some(self.device.profile.password.as_bytes())))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.auth_pause().await;
        let known = self.device.authorized_keys.iter().any(|k| k.key_data() == key.public_key.key_data());
        Ok(self.verdict(user, known))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.device.stats.sessions.fetch_add(1, Ordering::SeqCst);
        self.unclaimed.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_w: u32,
        _pix_h: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.unclaimed.remove(&channel);
        session.channel_success(channel)
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.unclaimed.remove(&channel);
        let mut shell = Shell::new(self.device.profile.clone());
        if linux::serves(&self.device.profile) {
            let fs = self.device.fs.clone();
            shell = shell.with_fallback(Box::new(move |line| {
                let r = linux::exec(&fs, line);
                let text = String::from_utf8_lossy(&[r.stdout, r.stderr].concat()).replace('\n', "\r\n");
                Some(text)
            }));
        }
        session.channel_success(channel)?;
        let writer = self.device.faults.shapes_output().then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_shaped(session.handle(), channel, self.device.faults.clone(), self.cut.clone(), rx));
            tx
        });
        let start = self.decorate(&shell, shell.start());
        match &writer {
            Some(w) => drop(w.send(Out::Data(start))),
            None => session.data(channel, start)?,
        }
        self.shells.insert(channel, ShellChannel { shell, writer, hung: false, commands: 0 });
        Ok(())
    }

    /// One command without a PTY: stdout and stderr apart, then the exit status, EOF and close.
    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.unclaimed.remove(&channel);
        if !linux::serves(&self.device.profile) {
            return session.channel_failure(channel);
        }
        self.device.stats.commands.fetch_add(1, Ordering::SeqCst);
        let result = linux::exec(&self.device.fs, &String::from_utf8_lossy(data));
        session.channel_success(channel)?;
        if !result.stdout.is_empty() {
            session.data(channel, result.stdout)?;
        }
        if !result.stderr.is_empty() {
            session.extended_data(channel, 1, result.stderr)?;
        }
        session.exit_status_request(channel, result.status)?;
        session.eof(channel)?;
        session.close(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.unclaimed.remove(&channel) {
            Some(ch) if name == "sftp" && linux::serves(&self.device.profile) => {
                session.channel_success(channel)?;
                tokio::spawn(linux::serve_sftp(ch, self.device.fs.clone()));
                Ok(())
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn data(&mut self, channel: ChannelId, data: &[u8], session: &mut Session) -> Result<(), Self::Error> {
        let faults = self.device.faults.clone();
        let Some(mut sc) = self.shells.remove(&channel) else { return Ok(()) };
        if sc.hung {
            self.shells.insert(channel, sc);
            return Ok(());
        }
        let reply = sc.shell.feed(data);
        let mut out = reply.output;
        let mut cut = false;
        for line in &reply.lines {
            sc.commands += 1;
            self.device.stats.commands.fetch_add(1, Ordering::SeqCst);
            if faults.hang_on.iter().any(|c| c == line) {
                let prompt = sc.shell.prompt();
                if out.ends_with(prompt.as_bytes()) {
                    out.truncate(out.len() - prompt.len());
                }
                sc.hung = true;
            }
            cut |= faults.drop_on.iter().any(|c| c == line);
            if faults.prompt_change_after == Some(sc.commands) {
                let old = sc.shell.prompt();
                let renamed = format!("{}-B", sc.shell.hostname());
                sc.shell.set_hostname(&renamed);
                let text = String::from_utf8_lossy(&out).replacen(&old, &sc.shell.prompt(), usize::MAX);
                out = text.into_bytes();
            }
        }
        let out = self.decorate(&sc.shell, out);
        match &sc.writer {
            Some(w) => {
                if cut {
                    let _ = w.send(Out::DataThenCut(out));
                } else if !out.is_empty() {
                    let _ = w.send(Out::Data(out));
                }
                if reply.close {
                    let _ = w.send(Out::Close);
                }
            }
            None => {
                if !out.is_empty() {
                    session.data(channel, out)?;
                }
                if reply.close {
                    session.exit_status_request(channel, 0)?;
                    session.eof(channel)?;
                    session.close(channel)?;
                }
            }
        }
        if !reply.close {
            self.shells.insert(channel, sc);
        }
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.shells.remove(&channel);
        self.unclaimed.remove(&channel);
        Ok(())
    }
}
