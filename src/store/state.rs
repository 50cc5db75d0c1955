//! Test-execution and service state (seed 003's managers) as ordinary store keys.
//!
//! Everything lives under two documented prefixes, so subscribers, snapshots and the durable
//! file see it like any other key:
//!
//! - `netrig/test/`: `running` (bool), `script`, `bin`, `topology` (str), `pid`, `run` (the
//!   number of tests started), `started_ms`, `stopped_ms` (int, Unix ms), and `field/<name>`
//!   (str) for any extra field.
//! - `netrig/service/<name>/`: `running` (bool), `detail` (str), `since_ms` (int, Unix ms of the
//!   last change of `running`).
//!
//! There is no lock of its own. Every change reads the current keys from a snapshot and writes
//! them back in one batch whose precondition is the version of the `running` key it read; every
//! change writes `running` too. So two changes can never interleave: the second one's
//! precondition fails, it reads again, and (for a start) finds the test running and returns
//! [`Error::Busy`].

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{Batch, Snapshot, Store, Ttl, Value};
use crate::error::{Error, Result};

pub const TEST_PREFIX: &str = "netrig/test/";
pub const SERVICE_PREFIX: &str = "netrig/service/";
const TEST_RUNNING: &str = "netrig/test/running";
const FIELD_PREFIX: &str = "netrig/test/field/";

/// What a test start records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestStart {
    pub script: String,
    pub pid: i64,
    pub bin: String,
    pub topology: String,
    /// Extra fields, kept until the next start.
    pub fields: Vec<(String, String)>,
}

/// Fields to change in the current test state; `None` leaves a field as it is. A field value
/// of `None` in `fields` removes that extra field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestUpdate {
    pub script: Option<String>,
    pub pid: Option<i64>,
    pub bin: Option<String>,
    pub topology: Option<String>,
    pub fields: Vec<(String, Option<String>)>,
}

/// The test-execution state at one instant. Its `Serialize` form is [`TestState::to_json`]'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestState {
    pub running: bool,
    pub script: Option<String>,
    pub pid: Option<i64>,
    pub bin: Option<String>,
    pub topology: Option<String>,
    /// How many tests were started in this store.
    pub run: i64,
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub fields: BTreeMap<String, String>,
    /// Version of the state: changes with every start, stop and update.
    pub version: u64,
}

/// One service's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceState {
    pub name: String,
    pub running: bool,
    pub detail: String,
    /// Unix ms when `running` last changed (or the service was first set).
    pub since_ms: i64,
    pub version: u64,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn text(s: &str, what: &str) -> Result<Value> {
    Value::str(s).map_err(|_| Error::InvalidArg(format!("{what} contains NUL")))
}

fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.contains('\0') {
        return Err(Error::InvalidArg(format!(
            "{what} '{}' must be non-empty and hold no '/' or NUL",
            name.escape_debug()
        )));
    }
    Ok(())
}

impl TestState {
    fn from_snapshot(snap: &Snapshot) -> TestState {
        let mut st = TestState::default();
        for e in snap.entries() {
            let Some(name) = e.key.strip_prefix(TEST_PREFIX) else { continue };
            let s = |v: &Value| match v {
                Value::Str(s) => Some(s.to_string()),
                _ => None,
            };
            let i = |v: &Value| match v {
                Value::Int(i) => Some(*i),
                _ => None,
            };
            match name {
                "running" => {
                    st.running = e.value == Value::Bool(true);
                    st.version = e.version;
                }
                "script" => st.script = s(&e.value),
                "pid" => st.pid = i(&e.value),
                "bin" => st.bin = s(&e.value),
                "topology" => st.topology = s(&e.value),
                "run" => st.run = i(&e.value).unwrap_or(0),
                "started_ms" => st.started_ms = i(&e.value),
                "stopped_ms" => st.stopped_ms = i(&e.value),
                _ => {
                    if let (Some(field), Some(v)) = (name.strip_prefix("field/"), s(&e.value)) {
                        st.fields.insert(field.to_owned(), v);
                    }
                }
            }
        }
        st
    }

    /// `{"running":true,"script":"x.sh","pid":12,"bin":"b","topology":"t","run":3,
    /// "started_ms":1700000000000,"stopped_ms":null,"fields":{"k":"v"},"version":7}`: the
    /// fields of [`TestState`] under their own names, absent ones null, `fields` an object.
    /// Strings keep every character; JSON escapes what it must.
    pub fn to_json(&self) -> String {
        crate::json::to_string(self)
    }
}

impl ServiceState {
    fn from_snapshot(snap: &Snapshot, name: &str) -> Option<ServiceState> {
        let key = |k: &str| format!("{SERVICE_PREFIX}{name}/{k}");
        let running = snap.get(&key("running"))?;
        let mut st = ServiceState {
            name: name.to_owned(),
            running: running.value == Value::Bool(true),
            version: running.version,
            ..ServiceState::default()
        };
        if let Some(Value::Str(d)) = snap.get(&key("detail")).map(|e| &e.value) {
            st.detail = d.to_string();
        }
        if let Some(Value::Int(t)) = snap.get(&key("since_ms")).map(|e| &e.value) {
            st.since_ms = *t;
        }
        Some(st)
    }
}

/// One service in [`services_json`]: its name is the key.
#[derive(Serialize)]
struct ServiceJson<'a> {
    running: bool,
    detail: &'a str,
    since_ms: i64,
    version: u64,
}

/// All services as one JSON object keyed by name, in the order given:
/// `{"qsfp_service":{"running":true,"detail":"pid 7","since_ms":1700000000000,"version":4}}`,
/// `{}` for none. Names and details keep every character; JSON escapes what it must.
pub fn services_json(services: &[ServiceState]) -> String {
    struct All<'a>(&'a [ServiceState]);
    impl Serialize for All<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|sv| {
                let json =
                    ServiceJson { running: sv.running, detail: &sv.detail, since_ms: sv.since_ms, version: sv.version };
                (&sv.name, json)
            }))
        }
    }
    crate::json::to_string(&All(services))
}

impl Store {
    /// Applies `build`'s batch with the precondition that `guard_key` still has the version
    /// seen in the snapshot `build` was given; reads and tries again when another change won.
    fn change_state<T>(
        &self,
        prefix: &str,
        guard_key: &str,
        mut build: impl FnMut(&Snapshot, &mut Batch) -> Result<T>,
    ) -> Result<T> {
        loop {
            let snap = self.snapshot(prefix);
            let seen = snap.get(guard_key).map_or(0, |e| e.version);
            let mut batch = Batch::new();
            let out = build(&snap, &mut batch)?;
            batch.expect_version(guard_key, seen);
            match self.apply(&batch) {
                Ok(()) => return Ok(out),
                Err(Error::Conflict { ref key, .. }) if key == guard_key => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Records that a test started. Atomic: when a test is already running, nothing changes and
    /// the error is [`Error::Busy`] naming the running script and pid, so two threads (or a C
    /// and a Python caller) can never both start one. Extra fields of the previous test are
    /// removed.
    pub fn test_start(&self, start: &TestStart) -> Result<TestState> {
        let script = text(&start.script, "test script")?;
        let bin = text(&start.bin, "test bin")?;
        let topology = text(&start.topology, "test topology")?;
        for (name, value) in &start.fields {
            check_name(name, "test field name")?;
            text(value, "test field value")?;
        }
        self.change_state(TEST_PREFIX, TEST_RUNNING, |snap, b| {
            let cur = TestState::from_snapshot(snap);
            if cur.running {
                return Err(Error::Busy(format!(
                    "a test is already running: script '{}' pid {} (run {}, started at {} ms)",
                    cur.script.as_deref().unwrap_or(""),
                    cur.pid.unwrap_or(0),
                    cur.run,
                    cur.started_ms.unwrap_or(0)
                )));
            }
            for name in cur.fields.keys() {
                b.delete(format!("{FIELD_PREFIX}{name}"));
            }
            let t = |k: &str| format!("{TEST_PREFIX}{k}");
            b.set(TEST_RUNNING, Value::Bool(true), Ttl::Never)
                .set(t("script"), script.clone(), Ttl::Never)
                .set(t("pid"), Value::Int(start.pid), Ttl::Never)
                .set(t("bin"), bin.clone(), Ttl::Never)
                .set(t("topology"), topology.clone(), Ttl::Never)
                .set(t("run"), Value::Int(cur.run + 1), Ttl::Never)
                .set(t("started_ms"), Value::Int(now_ms()), Ttl::Never)
                .delete(t("stopped_ms"));
            for (name, value) in &start.fields {
                b.set(format!("{FIELD_PREFIX}{name}"), Value::str(value)?, Ttl::Never);
            }
            Ok(())
        })?;
        Ok(self.test_state())
    }

    /// Records that the running test stopped and returns the state as stopped (script, pid and
    /// fields stay readable until the next start). [`Error::Absent`] when no test is running.
    pub fn test_stop(&self) -> Result<TestState> {
        self.change_state(TEST_PREFIX, TEST_RUNNING, |snap, b| {
            let cur = TestState::from_snapshot(snap);
            if !cur.running {
                return Err(Error::Absent(match cur.script {
                    Some(s) => format!("no test is running (the last one, '{s}', already stopped)"),
                    None => "no test is running (none was started in this store)".to_owned(),
                }));
            }
            b.set(TEST_RUNNING, Value::Bool(false), Ttl::Never).set(
                format!("{TEST_PREFIX}stopped_ms"),
                Value::Int(now_ms()),
                Ttl::Never,
            );
            Ok(())
        })?;
        Ok(self.test_state())
    }

    /// Changes several fields of the test state at once (running or not).
    pub fn test_update(&self, update: &TestUpdate) -> Result<TestState> {
        let t = |k: &str| format!("{TEST_PREFIX}{k}");
        let mut sets = Vec::new();
        if let Some(s) = &update.script {
            sets.push((t("script"), Some(text(s, "test script")?)));
        }
        if let Some(p) = update.pid {
            sets.push((t("pid"), Some(Value::Int(p))));
        }
        if let Some(s) = &update.bin {
            sets.push((t("bin"), Some(text(s, "test bin")?)));
        }
        if let Some(s) = &update.topology {
            sets.push((t("topology"), Some(text(s, "test topology")?)));
        }
        for (name, value) in &update.fields {
            check_name(name, "test field name")?;
            let v = value.as_deref().map(|v| text(v, "test field value")).transpose()?;
            sets.push((format!("{FIELD_PREFIX}{name}"), v));
        }
        self.change_state(TEST_PREFIX, TEST_RUNNING, |snap, b| {
            let running = TestState::from_snapshot(snap).running;
            b.set(TEST_RUNNING, Value::Bool(running), Ttl::Never);
            for (key, value) in &sets {
                match value {
                    Some(v) => b.set(key.clone(), v.clone(), Ttl::Never),
                    None => b.delete(key.clone()),
                };
            }
            Ok(())
        })?;
        Ok(self.test_state())
    }

    /// The test-execution state, read at one instant.
    pub fn test_state(&self) -> TestState {
        TestState::from_snapshot(&self.snapshot(TEST_PREFIX))
    }

    /// Sets a service's running flag and detail text together. `since_ms` moves only when the
    /// running flag changes.
    pub fn service_set(&self, name: &str, running: bool, detail: &str) -> Result<ServiceState> {
        check_name(name, "service name")?;
        let detail = text(detail, "service detail")?;
        let prefix = format!("{SERVICE_PREFIX}{name}/");
        let running_key = format!("{prefix}running");
        self.change_state(&prefix, &running_key, |snap, b| {
            let cur = ServiceState::from_snapshot(snap, name);
            b.set(running_key.clone(), Value::Bool(running), Ttl::Never).set(
                format!("{prefix}detail"),
                detail.clone(),
                Ttl::Never,
            );
            if cur.is_none_or(|c| c.running != running) {
                b.set(format!("{prefix}since_ms"), Value::Int(now_ms()), Ttl::Never);
            }
            Ok(())
        })?;
        self.service_get(name)
    }

    /// One service's state, read at one instant. [`Error::Absent`] for a service never set.
    pub fn service_get(&self, name: &str) -> Result<ServiceState> {
        check_name(name, "service name")?;
        ServiceState::from_snapshot(&self.snapshot(&format!("{SERVICE_PREFIX}{name}/")), name)
            .ok_or_else(|| Error::Absent(format!("service '{name}' was never set")))
    }

    /// Forgets a service. [`Error::Absent`] for a service never set.
    pub fn service_remove(&self, name: &str) -> Result<()> {
        check_name(name, "service name")?;
        let prefix = format!("{SERVICE_PREFIX}{name}/");
        let running_key = format!("{prefix}running");
        self.change_state(&prefix, &running_key, |snap, b| {
            if snap.is_empty() {
                return Err(Error::Absent(format!("service '{name}' was never set")));
            }
            for e in snap.entries() {
                b.delete(e.key.to_string());
            }
            Ok(())
        })
    }

    /// Every service, sorted by name, read at one instant.
    pub fn services(&self) -> Vec<ServiceState> {
        let snap = self.snapshot(SERVICE_PREFIX);
        let mut names: Vec<&str> = snap
            .entries()
            .iter()
            .filter_map(|e| e.key.strip_prefix(SERVICE_PREFIX)?.strip_suffix("/running"))
            .collect();
        names.dedup();
        names.iter().filter_map(|n| ServiceState::from_snapshot(&snap, n)).collect()
    }
}
