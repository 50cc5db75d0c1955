//! `netrig_run_get_totals`, `netrig_run_host*`, `netrig_run_step*`, `netrig_run_error` and
//! `netrig_run_json`: the results of a finished run by host and by step (host names also while
//! it runs).

use std::ffi::c_char;
use std::sync::Arc;

use super::args::{write_buf, Out};
use super::guard::call;
use super::handle::CHandle;
use super::output::{netrig_output, COutput};
use super::run::{netrig_run, state_code, us, CRun};
use crate::error::{netrig_status, Error, Result};
use crate::run::{HostResult, Report, State, StepResult, Totals};

/// The outcome of a finished run, counted by host and by step.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct netrig_run_totals {
    /// Targets in the run.
    pub hosts: usize,
    /// Hosts whose connect and every step succeeded.
    pub succeeded: usize,
    /// Hosts whose first failure was a failure (not a timeout).
    pub failed: usize,
    /// Hosts whose first failure was a timeout.
    pub timed_out: usize,
    /// Hosts cut short by a cancel or an abort.
    pub cancelled: usize,
    /// Hosts never started.
    pub skipped: usize,
    /// Steps over all hosts, by how they ended.
    pub steps_succeeded: usize,
    pub steps_failed: usize,
    pub steps_timed_out: usize,
    pub steps_cancelled: usize,
    pub steps_skipped: usize,
    /// Wall time of the run, in microseconds.
    pub wall_us: u64,
    /// 1 when the run was cancelled (`netrig_run_cancel` or `netrig_run_free`). (Not
    /// `cancelled`, which counts hosts.)
    pub run_cancelled: u8,
    /// 1 when a failure stopped the run under NETRIG_ON_FAILURE_ABORT; `netrig_run_json` has the
    /// reason.
    pub run_aborted: u8,
}

/// How one host of a finished run went.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_host_result {
    /// NETRIG_STATE_OK when the connect and every step succeeded; else the state of the first
    /// failure (NETRIG_STATE_SKIPPED when the host never started, NETRIG_STATE_CANCELLED when a
    /// cancel or abort cut it short).
    pub state: u32,
    /// The status of that first failure (NETRIG_E_CANCELLED for a host cut short), or NETRIG_OK.
    pub status: netrig_status,
    /// Time spent on the host, in microseconds.
    pub duration_us: u64,
    /// How opening (or checking out) the session ended: a NETRIG_STATE_* value.
    pub connect_state: u32,
    pub connect_status: netrig_status,
    /// Steps of the job (each has a result, also when skipped).
    pub steps: usize,
}

/// How one step of one host went.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_step_result {
    /// A NETRIG_STATE_* value.
    pub state: u32,
    /// NETRIG_OK, or the failure's status (an exec step that exits non-zero is
    /// NETRIG_E_COMMAND).
    pub status: netrig_status,
    /// Exec steps: the command's exit status; -1 for other steps or when there was none.
    pub exit_status: i32,
    /// In microseconds.
    pub duration_us: u64,
}

/// The report of a finished run, or NETRIG_E_BUSY.
fn report(run: netrig_run) -> Result<(Arc<CRun>, Arc<Report>)> {
    let c = run.get()?;
    let report = c.run.report().ok_or_else(|| {
        Error::Busy("the run is still running; its results are ready once netrig_run_wait returns NETRIG_OK".into())
    })?;
    Ok((c, report))
}

fn host_of(report: &Report, host: usize) -> Result<&HostResult> {
    report.hosts.get(host).ok_or(Error::IndexOutOfRange {
        what: "the run's host list",
        index: host,
        len: report.hosts.len(),
    })
}

fn step_of(h: &HostResult, step: usize) -> Result<&StepResult> {
    h.steps.get(step).ok_or(Error::IndexOutOfRange { what: "the job's step list", index: step, len: h.steps.len() })
}

/// The counts of a finished run by host and by step. NETRIG_E_BUSY while it is running.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_get_totals(run: netrig_run, out: *mut netrig_run_totals) -> netrig_status {
    call("netrig_run_get_totals", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        let (t, s): (&Totals, &Totals) = (&r.totals, &r.step_totals);
        out.set(netrig_run_totals {
            hosts: r.hosts.len(),
            succeeded: t.succeeded,
            failed: t.failed,
            timed_out: t.timed_out,
            cancelled: t.cancelled,
            skipped: t.skipped,
            steps_succeeded: s.succeeded,
            steps_failed: s.failed,
            steps_timed_out: s.timed_out,
            steps_cancelled: s.cancelled,
            steps_skipped: s.skipped,
            wall_us: us(r.wall),
            run_cancelled: u8::from(r.cancelled),
            run_aborted: u8::from(r.aborted.is_some()),
        });
        Ok(())
    })
}

/// How host `host` (its index in the job's targets) of a finished run went. NETRIG_E_BUSY while
/// the run is running; NETRIG_E_NOT_FOUND when `host` is past the last target.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_host(run: netrig_run, host: usize, out: *mut netrig_host_result) -> netrig_status {
    call("netrig_run_host", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        let h = host_of(&r, host)?;
        out.set(netrig_host_result {
            state: state_code(h.state),
            status: match h.state {
                State::Ok => netrig_status::NETRIG_OK,
                // The host's status is its first failure's, as its HOST_FINISHED event says.
                _ => std::iter::once(&h.connect).chain(&h.steps).find(|s| s.state != State::Ok).map_or(
                    netrig_status::NETRIG_OK,
                    |s| {
                        if s.state == State::Skipped {
                            netrig_status::NETRIG_E_CANCELLED
                        } else {
                            s.status
                        }
                    },
                ),
            },
            duration_us: us(h.duration),
            connect_state: state_code(h.connect.state),
            connect_status: h.connect.status,
            steps: h.steps.len(),
        });
        Ok(())
    })
}

/// The name of host `host` (given by `netrig_job_add_target_named`, else "host:port"), copied with a NUL into
/// `buf` (capacity `buf_len`); `*out_len` receives its length without the NUL, also on
/// NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes (`buf` may be
/// NULL when `buf_len` is 0). Available at any time, also while the run is running (for event
/// callbacks). NETRIG_E_NOT_FOUND when `host` is past the last target.
///
/// Ownership: `buf` is the caller's. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_host_name(
    run: netrig_run,
    host: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_run_host_name", || {
        let out_len = Out::new(out_len, "out_len")?;
        let c = run.get()?;
        let name = c.names.get(host).ok_or(Error::IndexOutOfRange {
            what: "the run's host list",
            index: host,
            len: c.names.len(),
        })?;
        write_buf(buf.cast(), buf_len, name.as_bytes(), true, &out_len, &|| format!("name of host {host}"))
    })
}

/// How step `step` of host `host` of a finished run went (every step has a result; one that
/// never ran is NETRIG_STATE_SKIPPED). NETRIG_E_BUSY while the run is running;
/// NETRIG_E_NOT_FOUND when `host` or `step` is out of range.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_step(
    run: netrig_run,
    host: usize,
    step: usize,
    out: *mut netrig_step_result,
) -> netrig_status {
    call("netrig_run_step", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        let s = step_of(host_of(&r, host)?, step)?;
        out.set(netrig_step_result {
            state: state_code(s.state),
            status: s.status,
            exit_status: s.exit_status.unwrap_or(-1),
            duration_us: us(s.duration),
        });
        Ok(())
    })
}

/// The output of step `step` of host `host` as a result object: its text is the command's
/// output (exec: stdout; transfers: "<bytes> bytes"; empty for a step that failed or never
/// ran), `netrig_output_stderr` exec's stderr, `netrig_output_exit_status` exec's exit status
/// (-1 when it got none; 0 for other steps), `netrig_output_elapsed_us` the step's duration.
/// NETRIG_E_BUSY while the run is running; NETRIG_E_NOT_FOUND when `host` or `step` is out of
/// range.
///
/// Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`;
/// it is independent of the run handle. Blocking: never (copies the output).
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_step_output(
    run: netrig_run,
    host: usize,
    step: usize,
    out: *mut netrig_output,
) -> netrig_status {
    call("netrig_run_step_output", || {
        let out = Out::new(out, "out")?;
        let (c, r) = report(run)?;
        let s = step_of(host_of(&r, host)?, step)?;
        let none = if c.exec_steps.get(step).copied().unwrap_or(false) { -1 } else { 0 };
        let o = COutput::new(
            s.output.clone().into_bytes(),
            s.stderr.clone().into_bytes(),
            s.exit_status.unwrap_or(none),
            s.duration,
        );
        out.set(netrig_output::insert(o)?);
        Ok(())
    })
}

/// The error text of host `host`'s connect (`step` -1) or of step `step`: "" when it
/// succeeded, else what failed with context ("127.0.0.1:2201 step 2 (command 'show clock'):
/// ..."; for a step that never ran, why: "not run: an earlier step of this host failed").
/// Copied with a NUL into `buf` (capacity `buf_len`); `*out_len` receives its length without
/// the NUL, also on NETRIG_E_BUFFER_TOO_SMALL, so the caller can retry with `*out_len + 1` bytes
/// (`buf` may be NULL when `buf_len` is 0). NETRIG_E_BUSY while the run is running;
/// NETRIG_E_NOT_FOUND when `host` or `step` is out of range; NETRIG_E_INVALID_ARG for a `step`
/// below -1.
///
/// Ownership: `buf` is the caller's. Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_error(
    run: netrig_run,
    host: usize,
    step: i64,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_run_error", || {
        let out_len = Out::new(out_len, "out_len")?;
        if step < -1 {
            return Err(Error::InvalidArg(format!("step {step}: use -1 for the connect, or a step index from 0")));
        }
        let (_, r) = report(run)?;
        let h = host_of(&r, host)?;
        let s = if step == -1 { &h.connect } else { step_of(h, usize::try_from(step).unwrap_or(usize::MAX))? };
        write_buf(buf.cast(), buf_len, s.error.as_bytes(), true, &out_len, &|| {
            if step == -1 {
                format!("connect error of host {host}")
            } else {
                format!("error of host {host} step {step}")
            }
        })
    })
}

/// The whole report of a finished run as JSON, in the text of a result object: wall_ms,
/// cancelled, aborted (the reason or null), totals and step_totals (succeeded, failed,
/// timed_out, cancelled, skipped), failed_hosts (names), and hosts: name, data (the target's,
/// as given; {} by default), state, duration_ms,
/// connect and steps (state, status, error, output, stderr, exit_status, duration_ms).
/// Durations are milliseconds rounded to the microsecond (`1234.567`); status is the NETRIG_
/// name; texts keep every character (device output that was not UTF-8 has U+FFFD in place of
/// the bad bytes). NETRIG_E_BUSY while the run is running.
///
/// Ownership: on success `*out` receives a result the caller frees with `netrig_output_free`.
/// Blocking: never (builds the JSON). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_run_json(run: netrig_run, out: *mut netrig_output) -> netrig_status {
    call("netrig_run_json", || {
        let out = Out::new(out, "out")?;
        let (_, r) = report(run)?;
        out.set(netrig_output::insert(COutput::new(r.to_json().into_bytes(), Vec::new(), 0, r.wall))?);
        Ok(())
    })
}
