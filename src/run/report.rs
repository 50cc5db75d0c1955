//! How a run went: the result of each step, connect and host, the totals, and the [`Report`]
//! with its JSON form. The workers fill these in; callers read them once the run has ended.

use std::time::Duration;

use serde::Serialize;

#[cfg(doc)]
use super::OnFailure;
use crate::error::{netrig_status, Error};

/// How a step (or a host, or the connect) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Failed,
    TimedOut,
    /// Stopped in flight by a cancel or an abort.
    Cancelled,
    /// Never started.
    Skipped,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Failed => "failed",
            State::TimedOut => "timed_out",
            State::Cancelled => "cancelled",
            State::Skipped => "skipped",
        }
    }

    pub(super) fn of(e: &Error) -> State {
        match e {
            Error::Timeout(_) => State::TimedOut,
            Error::Cancelled(_) => State::Cancelled,
            _ => State::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub state: State,
    /// NETRIG_OK, or the status of the error.
    pub status: netrig_status,
    /// The command's output (exec: stdout; transfers: a byte count), also when the device
    /// refused the command.
    pub output: String,
    /// exec only.
    pub stderr: String,
    /// exec only.
    pub exit_status: Option<i32>,
    /// Empty when the step succeeded; else names the host, the step and the cause.
    pub error: String,
    pub duration: Duration,
    /// A parsed command step's TextFSM records; `None` for other steps.
    pub records: Option<Vec<crate::parse::Record>>,
}

impl StepResult {
    pub(super) fn skipped(why: &str) -> StepResult {
        StepResult {
            state: State::Skipped,
            status: netrig_status::NETRIG_OK,
            output: String::new(),
            stderr: String::new(),
            exit_status: None,
            error: why.into(),
            duration: Duration::ZERO,
            records: None,
        }
    }

    pub(super) fn ok(output: String, duration: Duration) -> StepResult {
        StepResult { state: State::Ok, error: String::new(), ..StepResult::skipped("") }.with(output, duration)
    }

    fn with(mut self, output: String, duration: Duration) -> StepResult {
        self.output = output;
        self.duration = duration;
        self
    }

    /// A failed step; a command the device refused keeps its output.
    pub(super) fn failed(e: &Error, prefix: &str, duration: Duration) -> StepResult {
        StepResult {
            state: State::of(e),
            status: e.status(),
            error: format!("{prefix}: {e}"),
            output: e.output().map(|o| o.text.clone()).unwrap_or_default(),
            duration,
            ..StepResult::skipped("")
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HostResult {
    /// The target's name ("host:port" unless it was given one).
    pub name: String,
    /// The target's data, as given.
    pub data: serde_json::Value,
    /// Ok when the connect and every step succeeded; else the state of the first failure (or
    /// Skipped when the host never started, Cancelled when a cancel stopped it).
    pub state: State,
    /// Opening the session (or checking it out of the pool).
    pub connect: StepResult,
    pub steps: Vec<StepResult>,
    pub duration: Duration,
}

/// Hosts (or steps) by how they ended. Serializes as the `totals` objects of
/// [`Report::to_json`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub succeeded: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub cancelled: usize,
    pub skipped: usize,
}

impl Totals {
    pub(super) fn add(&mut self, state: State) {
        match state {
            State::Ok => self.succeeded += 1,
            State::Failed => self.failed += 1,
            State::TimedOut => self.timed_out += 1,
            State::Cancelled => self.cancelled += 1,
            State::Skipped => self.skipped += 1,
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub hosts: Vec<HostResult>,
    /// By host.
    pub totals: Totals,
    /// By step, over all hosts.
    pub step_totals: Totals,
    pub wall: Duration,
    pub cancelled: bool,
    /// Why an [`OnFailure::Abort`] run stopped.
    pub aborted: Option<String>,
}

impl Report {
    /// Hosts that failed or timed out.
    pub fn failed_hosts(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| matches!(h.state, State::Failed | State::TimedOut))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// The report as one JSON object: `wall_ms`, `cancelled`, `aborted` (the reason or null),
    /// `totals` and `step_totals` ([`Totals`]' fields), `failed_hosts` (names, as
    /// [`Report::failed_hosts`]) and `hosts`: `name`, `data` (the target's, as given), `state`, `duration_ms`, `connect` and
    /// `steps` (`state`, `status` as its NETRIG_ name, `error`, `output`, `stderr`,
    /// `exit_status` or null, `duration_ms`, and `records`, the TextFSM records of a parsed
    /// command step, only there). Durations are milliseconds as numbers rounded to
    /// the microsecond (`1234.567`, `0.0`). Texts keep every character (device output that was
    /// not UTF-8 was already replaced with U+FFFD when it became a `String`); JSON escapes what
    /// it must.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Doc<'a> {
            wall_ms: f64,
            cancelled: bool,
            aborted: Option<&'a str>,
            totals: &'a Totals,
            step_totals: &'a Totals,
            failed_hosts: Vec<&'a str>,
            hosts: Vec<HostJson<'a>>,
        }
        crate::json::to_string(&Doc {
            wall_ms: millis(self.wall),
            cancelled: self.cancelled,
            aborted: self.aborted.as_deref(),
            totals: &self.totals,
            step_totals: &self.step_totals,
            failed_hosts: self.failed_hosts(),
            hosts: self
                .hosts
                .iter()
                .map(|h| HostJson {
                    name: &h.name,
                    data: &h.data,
                    state: h.state.name(),
                    duration_ms: millis(h.duration),
                    connect: StepJson::of(&h.connect),
                    steps: h.steps.iter().map(StepJson::of).collect(),
                })
                .collect(),
        })
    }
}

#[derive(Serialize)]
struct HostJson<'a> {
    name: &'a str,
    data: &'a serde_json::Value,
    state: &'static str,
    duration_ms: f64,
    connect: StepJson<'a>,
    steps: Vec<StepJson<'a>>,
}

#[derive(Serialize)]
struct StepJson<'a> {
    state: &'static str,
    status: &'static str,
    error: &'a str,
    output: &'a str,
    stderr: &'a str,
    exit_status: Option<i32>,
    duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<&'a [crate::parse::Record]>,
}

impl StepJson<'_> {
    fn of(s: &StepResult) -> StepJson<'_> {
        StepJson {
            state: s.state.name(),
            status: s.status.name().to_str().unwrap_or("?"),
            error: &s.error,
            output: &s.output,
            stderr: &s.stderr,
            exit_status: s.exit_status,
            duration_ms: millis(s.duration),
            records: s.records.as_deref(),
        }
    }
}

/// `d` in milliseconds, rounded to the microsecond, so that the JSON number reads like
/// `1234.567` rather than a binary fraction's 17 digits.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
