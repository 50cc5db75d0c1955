//! Many fake devices in one process, each on its own loopback port, with a JSON inventory.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{Algorithm, HashAlg, PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};

use crate::faults::Faults;
use crate::linux::Fs;
use crate::profile::Profile;
use crate::server::{serve, Device, Stats, StatsSnapshot};

/// What to start: groups of devices, each group one profile with its faults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// OpenSSH private key file for every device's host key; created on first use, so the key
    /// (and the fingerprint in known_hosts files) stays stable across runs. Random if absent.
    #[serde(default)]
    pub host_key: Option<PathBuf>,
    #[serde(default, rename = "device")]
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// A built-in profile name (cisco_ios, ...) or a path to a profile TOML file.
    pub profile: String,
    #[serde(default = "one")]
    pub count: usize,
    /// Name prefix; devices are `<name>-0001`, ... (default: the profile's name).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub faults: Faults,
    /// OpenSSH public key lines accepted for public-key authentication.
    #[serde(default)]
    pub authorized_keys: Vec<String>,
}

fn one() -> usize {
    1
}

impl Group {
    pub fn new(profile: &str, count: usize) -> Group {
        Group { profile: profile.into(), count, name: None, faults: Faults::default(), authorized_keys: Vec::new() }
    }

    pub fn faults(mut self, faults: Faults) -> Group {
        self.faults = faults;
        self
    }

    pub fn name(mut self, name: &str) -> Group {
        self.name = Some(name.into());
        self
    }

    pub fn authorized_key(mut self, openssh_line: &str) -> Group {
        self.authorized_keys.push(openssh_line.into());
        self
    }
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn group(mut self, group: Group) -> Inventory {
        self.groups.push(group);
        self
    }
}

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
    pub faults: Faults,
    #[serde(skip)]
    stats: Arc<Stats>,
}

impl Serialize for Faults {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The inventory says which faults a device has, not their settings.
        let on: Vec<&str> = [
            (self.banner_delay_ms > 0, "banner_delay"),
            (self.auth_delay_ms > 0, "auth_delay"),
            (self.auth_always_fails, "auth_always_fails"),
            (self.latency_ms > 0, "latency"),
            (self.fragment.is_some(), "fragment"),
            (!self.hang_on.is_empty(), "hang"),
            (!self.drop_on.is_empty(), "drop"),
            (self.ansi, "ansi"),
            (self.prompt_change_after.is_some(), "prompt_change"),
            (self.split_utf8, "split_utf8"),
            (self.max_sessions.is_some(), "max_sessions"),
            (self.new_host_key_each_connection, "new_host_key"),
            (self.keyboard_interactive_only, "keyboard_interactive_only"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        on.serialize(s)
    }
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

fn host_key(path: Option<&Path>) -> Result<PrivateKey, String> {
    let random = || PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).map_err(|e| e.to_string());
    let Some(path) = path else { return random() };
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return PrivateKey::from_openssh(text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let key = random()?;
    let text = key.to_openssh(russh::keys::ssh_key::LineEnding::LF).map_err(|e| e.to_string())?;
    std::fs::write(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key)
}

impl Fleet {
    /// Starts `count` devices of one profile with no faults.
    pub fn start(profile: Profile, count: usize) -> Result<Fleet, String> {
        Fleet::start_with(&Inventory::default(), vec![(Arc::new(profile), Group::new("", count))])
    }

    /// Starts every group of an inventory.
    /// One device of each profile, in order (profiles changed in code, say).
    pub fn start_profiles(profiles: Vec<Profile>) -> Result<Fleet, String> {
        let groups = profiles.into_iter().map(|p| (Arc::new(p), Group::new("", 1))).collect();
        Fleet::start_with(&Inventory::default(), groups)
    }

    pub fn start_inventory(inventory: &Inventory) -> Result<Fleet, String> {
        let groups = inventory
            .groups
            .iter()
            .map(|g| {
                let profile = if g.profile.ends_with(".toml") {
                    Profile::load(Path::new(&g.profile))?
                } else {
                    Profile::builtin(&g.profile)?
                };
                Ok((Arc::new(profile), g.clone()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Fleet::start_with(inventory, groups)
    }

    /// Serves from a runtime of its own (two worker threads) so that the caller's threads stay
    /// free for the client side.
    fn start_with(inventory: &Inventory, groups: Vec<(Arc<Profile>, Group)>) -> Result<Fleet, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fakedev")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let key = host_key(inventory.host_key.as_deref())?;
        let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();
        let config = Arc::new(russh::server::Config {
            keys: vec![key],
            nodelay: true,
            auth_rejection_time: Duration::from_millis(10),
            auth_rejection_time_initial: Some(Duration::ZERO),
            inactivity_timeout: Some(Duration::from_secs(3600)),
            ..Default::default()
        });
        let mut devices = Vec::new();
        for (profile, group) in groups {
            let authorized_keys = group
                .authorized_keys
                .iter()
                .map(|line| PublicKey::from_openssh(line).map_err(|e| format!("authorized key {line:?}: {e}")))
                .collect::<Result<Vec<_>, String>>()?;
            let template = Device {
                profile: profile.clone(),
                faults: Arc::new(group.faults.clone()),
                stats: Arc::default(),
                authorized_keys: Arc::new(authorized_keys),
                config: config.clone(),
                fs: Fs::for_profile(&profile),
            };
            let prefix = group.name.clone().unwrap_or_else(|| profile.name.clone());
            for _ in 0..group.count {
                let listener = StdListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
                listener.set_nonblocking(true).map_err(|e| e.to_string())?;
                let port = listener.local_addr().map_err(|e| e.to_string())?.port();
                let device = Device { stats: Arc::default(), fs: Fs::for_profile(&profile), ..template.clone() };
                let stats = device.stats.clone();
                runtime.spawn(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("inside the runtime");
                    serve(listener, device).await;
                });
                devices.push(DeviceInfo {
                    name: format!("{prefix}-{:04}", devices.len() + 1),
                    host: "127.0.0.1".into(),
                    port,
                    profile: profile.name.clone(),
                    username: profile.username.clone(),
                    password: profile.password.clone(),
                    secret: profile.secret.clone(),
                    host_key_fingerprint: fingerprint.clone(),
                    faults: group.faults.clone(),
                    stats,
                });
            }
        }
        Ok(Fleet { devices, runtime: Some(runtime) })
    }

    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// The device called `name`.
    pub fn device(&self, name: &str) -> Option<&DeviceInfo> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// The inventory: a JSON array with one object per device.
    pub fn inventory_json(&self) -> String {
        serde_json::to_string_pretty(&self.devices).expect("inventory serialises")
    }

    /// One JSON object: device name -> counters.
    pub fn stats_json(&self) -> String {
        let stats: std::collections::BTreeMap<&str, StatsSnapshot> =
            self.devices.iter().map(|d| (d.name.as_str(), d.stats())).collect();
        serde_json::to_string(&stats).expect("stats serialise")
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
