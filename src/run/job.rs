//! What a job is made of: its targets, its steps and the options of the run. Plain data that
//! callers build (the C ABI from its structs) before a run starts, and that the workers only read.

use std::path::PathBuf;
use std::time::Duration;

#[cfg(doc)]
use super::Run;
use crate::device::{ConfigOptions, DeviceOptions, Protocol};
use crate::pool::PoolKey;

/// A device to run on, with the name results, events and errors call it by and the caller's
/// data about it (an inventory's merged `data`), carried into the report untouched.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    name: String,
    data: serde_json::Value,
}

/// How a run reaches a target's device.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Options to open it with.
    Options(Box<DeviceOptions>),
    /// Needs a pool that was given the options for this key before (a checkout or prewarm).
    Key(PoolKey),
}

impl Target {
    /// A target reached through the run's pool by key, named "host:port".
    pub fn key(key: PoolKey) -> Target {
        Target::new(Endpoint::Key(key))
    }

    fn new(endpoint: Endpoint) -> Target {
        let name = match &endpoint {
            Endpoint::Options(o) => format!("{}:{}", o.host, o.port),
            Endpoint::Key(k) => format!("{}:{}", k.host, k.port),
        };
        Target { endpoint, name, data: serde_json::Value::Object(Default::default()) }
    }

    /// Names the target ("sw1"); the default is "host:port". Names need not be unique: results
    /// stay in the order of the targets.
    pub fn named(mut self, name: impl Into<String>) -> Target {
        self.name = name.into();
        self
    }

    /// Attaches free-form data (default: an empty object), which the report carries as given.
    pub fn with_data(mut self, data: serde_json::Value) -> Target {
        self.data = data;
        self
    }

    /// The name results, events and errors use: the one given, else "host:port".
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn data(&self) -> &serde_json::Value {
        &self.data
    }

    pub(super) fn host_port(&self) -> (&str, u16) {
        match &self.endpoint {
            Endpoint::Options(o) => (&o.host, o.port),
            Endpoint::Key(k) => (&k.host, k.port),
        }
    }
}

impl From<DeviceOptions> for Target {
    fn from(o: DeviceOptions) -> Target {
        Target::new(Endpoint::Options(Box::new(o)))
    }
}

impl From<PoolKey> for Target {
    fn from(k: PoolKey) -> Target {
        Target::key(k)
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Command(String),
    Config {
        lines: Vec<String>,
        opts: ConfigOptions,
    },
    /// Succeeds only with exit status 0.
    Exec(String),
    Put {
        local: PathBuf,
        remote: String,
        protocol: Protocol,
    },
    /// `local` may hold `{name}`, `{host}` and `{port}`, replaced per target, so hosts do not
    /// overwrite each other's files.
    Get {
        remote: String,
        local: String,
        protocol: Protocol,
    },
}

/// One step of a job: an action with its own deadline (`None`: the device's default).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    pub timeout: Option<Duration>,
    /// Command steps: parse the output with its TextFSM template (the target's
    /// `DeviceOptions::templates`, else `NETRIG_TEMPLATES`) into the result's `records`. A
    /// missing template fails the step.
    pub parse: bool,
}

impl Step {
    pub fn command(command: &str) -> Step {
        Step { action: Action::Command(command.into()), timeout: None, parse: false }
    }

    pub fn config(lines: &[&str], opts: ConfigOptions) -> Step {
        Step {
            action: Action::Config { lines: lines.iter().map(|l| l.to_string()).collect(), opts },
            timeout: None,
            parse: false,
        }
    }

    pub fn exec(command: &str) -> Step {
        Step { action: Action::Exec(command.into()), timeout: None, parse: false }
    }

    pub fn put(local: impl Into<PathBuf>, remote: &str, protocol: Protocol) -> Step {
        Step {
            action: Action::Put { local: local.into(), remote: remote.into(), protocol },
            timeout: None,
            parse: false,
        }
    }

    pub fn get(remote: &str, local: &str, protocol: Protocol) -> Step {
        Step {
            action: Action::Get { remote: remote.into(), local: local.into(), protocol },
            timeout: None,
            parse: false,
        }
    }

    /// A command step whose output is parsed into records (see [`Step::parse`]).
    pub fn parsed(command: &str) -> Step {
        Step { parse: true, ..Step::command(command) }
    }

    pub fn timeout(mut self, timeout: Duration) -> Step {
        self.timeout = Some(timeout);
        self
    }

    /// "command 'show clock'", as error messages name the step.
    pub fn describe(&self) -> String {
        match &self.action {
            Action::Command(c) => format!("command '{c}'"),
            Action::Config { lines, .. } => format!("config set of {} lines", lines.len()),
            Action::Exec(c) => format!("exec '{c}'"),
            Action::Put { local, remote, .. } => format!("put {} -> {remote}", local.display()),
            Action::Get { remote, local, .. } => format!("get {remote} -> {local}"),
        }
    }
}

/// How steps are ordered across hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Each host runs all its steps as fast as it can, independently of the others.
    #[default]
    Free,
    /// Step k runs on every host before step k+1 starts on any.
    Linear,
}

/// What a failed step does to the rest of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Go on with the host's next step.
    Continue,
    /// Skip the host's remaining steps; other hosts go on.
    #[default]
    SkipHost,
    /// Stop the whole run: in-flight steps are cancelled, unstarted ones skipped.
    Abort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads at most (and so devices worked on at once).
    pub max_workers: usize,
    pub strategy: Strategy,
    pub on_failure: OnFailure,
    /// Keep every event in a queue for [`Run::next_event`] (for callers that cannot take
    /// callbacks on foreign threads).
    pub events: bool,
}

/// Devices answer in milliseconds, so a worker mostly waits: with 5 ms of device latency, 500
/// devices took 537 ms with 32 workers and 162 ms with 128 (`cargo bench --bench run`); on a
/// loopback fleet with no latency 128 costs about the same as the best (8-16). Threads are
/// created per run, at most one per target.
pub const DEFAULT_MAX_WORKERS: usize = 128;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_workers: DEFAULT_MAX_WORKERS,
            strategy: Strategy::Free,
            on_failure: OnFailure::SkipHost,
            events: false,
        }
    }
}
