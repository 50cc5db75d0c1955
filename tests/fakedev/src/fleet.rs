//! Many fake devices in one process, each on its own loopback port, with a JSON inventory.

use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{Algorithm, HashAlg, PrivateKey};
use russh::server::Server as _;
use serde::Serialize;

use crate::profile::Profile;
use crate::server::{Device, Stats, StatsSnapshot};

/// One device of a running fleet, as the inventory lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub profile: String,
    pub username: String,
    pub password: String,
    pub secret: Option<String>,
    /// "SHA256:..." as OpenSSH prints it.
    pub host_key_fingerprint: String,
    #[serde(skip)]
    stats: Arc<Stats>,
}

impl DeviceInfo {
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A running fleet. Dropping it stops every device.
pub struct Fleet {
    devices: Vec<DeviceInfo>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").field("devices", &self.devices.len()).finish()
    }
}

impl Fleet {
    /// Starts `count` devices of one profile on free loopback ports, served by a runtime of its
    /// own (two worker threads) so that the caller's threads stay free for the client side.
    pub fn start(profile: Profile, count: usize) -> std::io::Result<Fleet> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fakedev")
            .enable_all()
            .build()?;
        let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).map_err(std::io::Error::other)?;
        let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();
        let config = Arc::new(russh::server::Config {
            keys: vec![key],
            nodelay: true,
            auth_rejection_time: Duration::from_millis(10),
            auth_rejection_time_initial: Some(Duration::ZERO),
            inactivity_timeout: Some(Duration::from_secs(3600)),
            ..Default::default()
        });
        let profile = Arc::new(profile);
        let mut devices = Vec::with_capacity(count);
        for i in 0..count {
            let listener = StdListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            let port = listener.local_addr()?.port();
            let stats = Arc::new(Stats::default());
            let mut device = Device { profile: profile.clone(), stats: stats.clone() };
            let config = config.clone();
            runtime.spawn(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("inside the runtime");
                let _ = device.run_on_socket(config, &listener).await;
            });
            devices.push(DeviceInfo {
                name: format!("{}-{:04}", profile.name, i + 1),
                host: "127.0.0.1".into(),
                port,
                profile: profile.name.clone(),
                username: profile.username.clone(),
                password: profile.password.clone(),
                secret: profile.secret.clone(),
                host_key_fingerprint: fingerprint.clone(),
                stats,
            });
        }
        Ok(Fleet { devices, runtime: Some(runtime) })
    }

    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// The inventory: a JSON array with one object per device.
    pub fn inventory_json(&self) -> String {
        serde_json::to_string_pretty(&self.devices).expect("inventory serialises")
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
