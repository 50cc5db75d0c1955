//! Inventories in Nornir's SimpleInventory format (hosts.yaml, groups.yaml, defaults.yaml),
//! turned into named runner targets that carry their merged data.
//!
//! Each host, group and the defaults may set Nornir's `hostname`, `port`, `username`,
//! `password`, `platform`, `data` (and hosts and groups `groups`), and netrig's device options
//! under the names of the Python `Device` keywords, at the top level of the entry (`secret`,
//! `fingerprint`, `host_key`, `known_hosts`, `timeout`, `platform_file`, `prompt_pattern`, ...;
//! times in seconds, `keepalive: 0` for none). Nornir's `connection_options` is refused rather
//! than silently ignored. A value is looked up on the host, then on its groups in order, each
//! group before that group's own groups (depth first), then in the defaults; `data` is merged
//! key by key the same way. `null` means "not set here". `${env:NAME}` in a string is replaced
//! by that environment variable (an error names it when it is not set). Relative paths are
//! relative to the file's folder. `hostname` defaults to the host's name; `username` and a
//! platform (`platform`, `platform_file` or `platform_text`) must come from somewhere.
//!
//! Every error names the file, the line and the key:
//! `hosts.yaml, line 7: sw3.groups: group 'core' is not defined in groups.yaml`.

mod entry;
mod filter;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value as Json};
use zeroize::Zeroize;

use crate::device::{Auth, DeviceOptions, HostKeyPolicy, Overrides, Platform, Source};
use crate::error::{Error, Result};
use crate::run::Target;
use entry::{entry, Entry, Origin};
pub use filter::Filter;
use yaml::{Node, Value};

/// One host with everything resolved.
#[derive(Clone)]
pub struct Host {
    pub name: String,
    /// The host's own groups, in file order.
    pub groups: Vec<String>,
    /// Every group it belongs to, directly or through other groups, in resolution order.
    pub all_groups: Vec<String>,
    /// The merged data (an object).
    pub data: Json,
    /// The merged options under the Python `Device` keyword names (`host`, `port`,
    /// `username`, `password`, ...), secrets included.
    options: Map<String, Json>,
    device: DeviceOptions,
}

/// Written by hand: the options hold passwords and secrets.
impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("groups", &self.groups)
            .field("data", &self.data)
            .field("device", &self.device)
            .finish()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // As DeviceOptions wipes its own copies.
        for key in ["password", "secret", "passphrase", "private_key"] {
            if let Some(Json::String(s)) = self.options.get_mut(key) {
                s.zeroize();
            }
        }
    }
}

impl Host {
    /// The options the host's sessions are opened with.
    pub fn device_options(&self) -> &DeviceOptions {
        &self.device
    }

    /// A runner target named after the host, carrying its data.
    pub fn target(&self) -> Target {
        Target::from(self.device.clone()).named(self.name.clone()).with_data(self.data.clone())
    }
}

#[derive(Debug, Clone)]
pub struct Inventory {
    hosts: Vec<Host>,
}

/// A file read and parsed, with the name its errors use.
struct File {
    name: String,
    dir: PathBuf,
    root: Option<Node>,
}

fn read(path: &Path) -> Result<File> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Absent(format!("inventory file {name}: no such file")),
        _ => Error::Io(format!("inventory file {name}: {e}")),
    })?;
    let root = yaml::parse(&name, &text)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(File { name, dir, root })
}

/// The `name: entry` pairs of a hosts or groups file.
fn entries(f: &File, what: &str) -> Result<Vec<Entry>> {
    let map = match &f.root {
        None => return Ok(Vec::new()),
        Some(Node { value: Value::Map(m), .. }) => m,
        Some(n) => {
            return Err(Error::InvalidArg(format!(
                "{}, line {}: the file is a mapping of {what} names to their entries, not {}",
                f.name,
                n.line,
                n.value.kind()
            )))
        }
    };
    map.iter()
        .map(|(name, line, node)| {
            let o = Origin { file: &f.name, dir: &f.dir, prefix: format!("{name}."), groups_allowed: true };
            // Errors about the whole entry point at its name.
            entry(&o, name, node).map(|e| Entry { line: *line, ..e })
        })
        .collect()
}

impl Inventory {
    /// Loads an inventory. `groups` and `defaults` may be left out (no groups, no defaults).
    pub fn load(hosts: &Path, groups: Option<&Path>, defaults: Option<&Path>) -> Result<Inventory> {
        let hosts_file = read(hosts)?;
        let groups_file = groups.map(read).transpose()?;
        let defaults_file = defaults.map(read).transpose()?;
        let hosts = entries(&hosts_file, "host")?;
        let groups = match &groups_file {
            Some(f) => entries(f, "group")?,
            None => Vec::new(),
        };
        let defaults = match &defaults_file {
            Some(f) => match &f.root {
                None => Entry::default(),
                Some(n) => {
                    let o = Origin { file: &f.name, dir: &f.dir, prefix: String::new(), groups_allowed: false };
                    entry(&o, "defaults", n)?
                }
            },
            None => Entry::default(),
        };
        let by_name: BTreeMap<&str, &Entry> = groups.iter().map(|g| (g.name.as_str(), g)).collect();
        let groups_name = groups_file.as_ref().map_or("groups.yaml (none was given)".to_owned(), |f| f.name.clone());
        let check_refs = |e: &Entry, file: &str| -> Result<()> {
            for (g, line) in &e.groups {
                if !by_name.contains_key(g.as_str()) {
                    return Err(Error::InvalidArg(format!(
                        "{file}, line {line}: {}.groups: group '{g}' is not defined in {groups_name}",
                        e.name
                    )));
                }
            }
            Ok(())
        };
        for g in &groups {
            check_refs(g, &groups_file.as_ref().expect("groups come from a file").name)?;
        }
        for g in &groups {
            cycle(g, &by_name, &mut Vec::new(), &groups_file.as_ref().expect("groups come from a file").name)?;
        }
        let defaults_name = defaults_file.as_ref().map(|f| f.name.as_str());
        let hosts = hosts
            .iter()
            .map(|h| {
                check_refs(h, &hosts_file.name)?;
                resolve(h, &by_name, &defaults, &hosts_file.name, defaults_name)
            })
            .collect::<Result<_>>()?;
        Ok(Inventory { hosts })
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The hosts `filter` takes (all with `None`), in file order.
    pub fn filter(&self, filter: Option<&Filter>) -> Vec<&Host> {
        self.hosts.iter().filter(|h| filter.is_none_or(|f| f.matches(h))).collect()
    }

    /// Runner targets for the hosts `filter` takes.
    pub fn targets(&self, filter: Option<&Filter>) -> Vec<Target> {
        self.filter(filter).into_iter().map(Host::target).collect()
    }

    /// The hosts `filter` takes as a JSON array of objects: `name`, `groups`, `all_groups`,
    /// `data` and `options` (the Python `Device` keywords, passwords and secrets included in
    /// clear: this is for the caller's own process, never for a log).
    pub fn to_json(&self, filter: Option<&Filter>) -> String {
        let hosts: Vec<Json> = self
            .filter(filter)
            .into_iter()
            .map(|h| {
                serde_json::json!({
                    "name": h.name,
                    "groups": h.groups,
                    "all_groups": h.all_groups,
                    "data": h.data,
                    "options": h.options,
                })
            })
            .collect();
        crate::json::to_string(&hosts)
    }
}

/// Refuses a group that is, through its groups, its own member.
fn cycle<'a>(g: &'a Entry, by_name: &BTreeMap<&str, &'a Entry>, path: &mut Vec<&'a str>, file: &str) -> Result<()> {
    if let Some(at) = path.iter().position(|p| *p == g.name) {
        let first = by_name[path[at]];
        let chain: Vec<&str> = path[at..].iter().copied().chain([g.name.as_str()]).collect();
        let line = first.groups.first().map_or(first.line, |(_, l)| *l);
        return Err(Error::InvalidArg(format!(
            "{file}, line {line}: {}.groups: the groups form a cycle: {}",
            first.name,
            chain.join(" -> ")
        )));
    }
    path.push(&g.name);
    for (parent, _) in &g.groups {
        cycle(by_name[parent.as_str()], by_name, path, file)?;
    }
    path.pop();
    Ok(())
}

/// The groups of `e` in resolution order: each group, then its own groups, depth first; a
/// group reached twice counts where it was reached first.
fn lineage<'a>(e: &Entry, by_name: &BTreeMap<&str, &'a Entry>, out: &mut Vec<&'a Entry>) {
    for (g, _) in &e.groups {
        let g = by_name[g.as_str()];
        if !out.iter().any(|x| x.name == g.name) {
            out.push(g);
            lineage(g, by_name, out);
        }
    }
}

fn resolve(
    h: &Entry,
    by_name: &BTreeMap<&str, &Entry>,
    defaults: &Entry,
    file: &str,
    defaults_file: Option<&str>,
) -> Result<Host> {
    let mut groups = Vec::new();
    lineage(h, by_name, &mut groups);
    let order: Vec<&Entry> = std::iter::once(h).chain(groups.iter().copied()).chain([defaults]).collect();
    let mut options = Map::new();
    // Where each option was set: errors about it point there.
    let mut set_at: BTreeMap<&str, (&Entry, usize)> = BTreeMap::new();
    let mut data = Map::new();
    for e in &order {
        for (k, v, line) in &e.options {
            if !options.contains_key(*k) {
                options.insert(k.to_string(), v.clone());
                set_at.insert(k, (e, *line));
            }
        }
        for (k, v) in &e.data {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    options.entry("host").or_insert_with(|| Json::String(h.name.clone()));
    let err = |key: &str, what: String| Error::InvalidArg(format!("{file}, line {}: {}.{key}: {what}", h.line, h.name));
    let whence = || {
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        let groups = if names.is_empty() { String::new() } else { format!(", its groups ({})", names.join(", ")) };
        let defaults = defaults_file.map_or(String::new(), |d| format!(" or {d}"));
        format!("not set on the host{groups}{defaults}")
    };
    if !options.contains_key("username") {
        return Err(err("username", whence()));
    }
    if !["platform", "platform_file", "platform_text"].iter().any(|k| options.contains_key(*k)) {
        return Err(err("platform", format!("{} (give platform, platform_file or platform_text)", whence())));
    }
    let device = device_options(&options).map_err(|(key, e)| match set_at.get(key) {
        // "groups.yaml, line 3: ios.platform (for host sw1): unknown platform ..."
        Some((at, line)) if !std::ptr::eq(*at, h) => {
            let prefix = if std::ptr::eq(*at, defaults) { String::new() } else { format!("{}.", at.name) };
            Error::InvalidArg(format!("{}, line {line}: {prefix}{key} (for host {}): {e}", at.file, h.name))
        }
        Some((_, line)) => Error::InvalidArg(format!("{file}, line {line}: {}.{key}: {e}", h.name)),
        None => err(key, e.to_string()),
    })?;
    Ok(Host {
        name: h.name.clone(),
        groups: h.groups.iter().map(|(g, _)| g.clone()).collect(),
        all_groups: groups.iter().map(|g| g.name.clone()).collect(),
        data: Json::Object(data),
        options,
        device,
    })
}

/// The merged options as [`DeviceOptions`], with the defaults and checks of the Python
/// `Device` and C `netrig_device_options`.
/// An error comes with the option it is about.
fn device_options(o: &Map<String, Json>) -> std::result::Result<DeviceOptions, (&'static str, Error)> {
    let s = |k: &str| o.get(k).and_then(Json::as_str);
    let secs =
        |k: &str, d: u64| o.get(k).and_then(Json::as_f64).map_or(Duration::from_secs(d), Duration::from_secs_f64);
    let passphrase = s("passphrase").map(str::to_owned);
    let auth = if let Some(path) = s("private_key_file") {
        Auth::KeyFile { path: path.into(), passphrase }
    } else if let Some(key) = s("private_key") {
        Auth::KeyMemory { private_key: key.into(), passphrase }
    } else if o.get("use_agent") == Some(&Json::Bool(true)) {
        Auth::Agent
    } else if let Some(p) = s("password") {
        Auth::Password(p.into())
    } else {
        return Err((
            "password",
            Error::InvalidArg("no credentials: set password, private_key_file, private_key or use_agent".into()),
        ));
    };
    let overrides = Overrides {
        prompt_pattern: s("prompt_pattern").map(str::to_owned),
        paging_off_command: s("paging_off_command").map(str::to_owned),
        enable_command: s("enable_command").map(str::to_owned),
        config_command: s("config_command").map(str::to_owned),
        config_exit_command: s("config_exit_command").map(str::to_owned),
        config_prompt_pattern: s("config_prompt_pattern").map(str::to_owned),
        error_pattern: s("error_pattern").map(str::to_owned),
    };
    let source = match (s("platform_file"), s("platform_text")) {
        (Some(_), Some(_)) => {
            return Err((
                "platform_text",
                Error::InvalidArg("platform_file and platform_text: give one of them".into()),
            ))
        }
        (Some(path), None) => Source::File(Path::new(path)),
        (None, Some(text)) => Source::Text(text),
        (None, None) => Source::Named(s("platform").unwrap_or("generic")),
    };
    let loaded = !matches!(source, Source::Named(_));
    let platform_key = match source {
        Source::File(_) => "platform_file",
        Source::Text(_) => "platform_text",
        Source::Named(_) => "platform",
    };
    let platform = Platform::load(source, &overrides).map_err(|e| (platform_key, e))?;
    if let Some(n) = s("platform") {
        if loaded && n != platform.name && !platform.netmiko.iter().any(|m| m == n) {
            return Err((
                "platform",
                Error::InvalidArg(format!(
                    "platform is '{n}' but the platform file describes '{}'; leave platform out",
                    platform.name
                )),
            ));
        }
    }
    let port = o.get("port").and_then(Json::as_u64).map_or(22, |p| p as u16);
    let mut d =
        DeviceOptions::new(s("host").unwrap_or_default(), port, s("username").unwrap_or_default(), auth, platform);
    d.secret = s("secret").map(str::to_owned);
    let fingerprint = s("fingerprint");
    let policy = s("host_key").unwrap_or(if fingerprint.is_some() { "pinned" } else { "strict" });
    if fingerprint.is_some() && policy != "pinned" {
        return Err((
            "host_key",
            Error::InvalidArg(format!("fingerprint is given but host_key is '{policy}'; use host_key: pinned")),
        ));
    }
    let known_hosts = || match (s("known_hosts"), &d.host_key) {
        (Some(p), _) => PathBuf::from(p),
        (None, HostKeyPolicy::Strict(p)) => p.clone(),
        (None, _) => PathBuf::new(),
    };
    d.host_key = match policy {
        "strict" => HostKeyPolicy::Strict(known_hosts()),
        "accept-new" => HostKeyPolicy::AcceptNew(known_hosts()),
        "pinned" => HostKeyPolicy::Pinned(
            fingerprint
                .ok_or_else(|| {
                    ("host_key", Error::InvalidArg("host_key is 'pinned' but no fingerprint is given".into()))
                })?
                .to_owned(),
        ),
        _ => HostKeyPolicy::InsecureAcceptAny,
    };
    d.connect_timeout = secs("connect_timeout", 10);
    d.auth_timeout = secs("auth_timeout", 10);
    d.timeout = secs("timeout", 30);
    d.keepalive = match o.get("keepalive") {
        None => Some(Duration::from_secs(30)),
        Some(Json::Null) => None,
        Some(v) => v.as_f64().map(Duration::from_secs_f64),
    };
    if let Some(Json::Array(t)) = o.get("terminal") {
        let n = |i: usize| t.get(i).and_then(Json::as_u64).unwrap_or(0) as u32;
        d.terminal = (n(0), n(1));
    }
    d.session_log = s("session_log").map(PathBuf::from);
    d.templates = s("templates").map(PathBuf::from);
    d.session_log_timestamps = o.get("session_log_timestamps") == Some(&Json::Bool(true));
    d.check_errors = o.get("check_errors") != Some(&Json::Bool(false));
    Ok(d)
}
