//! The SSH side of a fake device: russh handlers that authenticate, open session channels and
//! connect each shell channel to a [`Shell`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId};
use serde::Serialize;

use crate::profile::Profile;
use crate::shell::Shell;

/// Counters of one device, so that pool tests can prove there are no duplicate connections.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub sessions: AtomicU64,
    pub active_connections: AtomicU64,
    pub auth_failures: AtomicU64,
    pub commands: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub connections: u64,
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
            sessions: get(&self.sessions),
            active_connections: get(&self.active_connections),
            auth_failures: get(&self.auth_failures),
            commands: get(&self.commands),
        }
    }
}

/// One device: its profile and counters. `russh` clones it per listener.
#[derive(Clone)]
pub struct Device {
    pub profile: Arc<Profile>,
    pub stats: Arc<Stats>,
}

impl russh::server::Server for Device {
    type Handler = Connection;

    fn new_client(&mut self, _peer: Option<std::net::SocketAddr>) -> Connection {
        self.stats.connections.fetch_add(1, Ordering::SeqCst);
        self.stats.active_connections.fetch_add(1, Ordering::SeqCst);
        Connection { device: self.clone(), shells: HashMap::new() }
    }
}

/// One client connection.
pub struct Connection {
    device: Device,
    shells: HashMap<ChannelId, Shell>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.device.stats.active_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        Ok(self.device.profile.login_banner.clone())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let p = &self.device.profile;
        if user == p.username && password == p.password {
            Ok(Auth::Accept)
        } else {
            self.device.stats.auth_failures.fetch_add(1, Ordering::SeqCst);
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.device.stats.sessions.fetch_add(1, Ordering::SeqCst);
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
        session.channel_success(channel)
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        let shell = Shell::new(self.device.profile.clone());
        session.channel_success(channel)?;
        session.data(channel, shell.start())?;
        self.shells.insert(channel, shell);
        Ok(())
    }

    async fn data(&mut self, channel: ChannelId, data: &[u8], session: &mut Session) -> Result<(), Self::Error> {
        let Some(shell) = self.shells.get_mut(&channel) else { return Ok(()) };
        if data.contains(&b'\n') || data.contains(&b'\r') {
            self.device.stats.commands.fetch_add(1, Ordering::SeqCst);
        }
        let reply = shell.feed(data);
        if !reply.output.is_empty() {
            session.data(channel, reply.output)?;
        }
        if reply.close {
            self.shells.remove(&channel);
            session.exit_status_request(channel, 0)?;
            session.eof(channel)?;
            session.close(channel)?;
        }
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.shells.remove(&channel);
        Ok(())
    }
}
