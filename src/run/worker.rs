//! The executor: what each worker thread does with the shared state of a run. It takes hosts
//! (or, under [`Strategy::Linear`], one step of a host at a time), opens or checks out their
//! sessions, performs the steps under the failure policy, reports events, and the last worker
//! to finish builds the report.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    Action, Endpoint, Event, EventKind, HostResult, OnFailure, Report, Shared, State, Step, StepResult, Strategy,
    Target, Totals,
};
use crate::device::Device;
use crate::error::{netrig_status, Error, Result};
use crate::pool::{Lease, PoolKey};

/// A session in use by a worker: opened by the run, or lent by a pool.
pub(super) enum Session {
    Owned(Box<Device>),
    Leased(Lease),
}

impl std::ops::Deref for Session {
    type Target = Device;
    fn deref(&self) -> &Device {
        match self {
            Session::Owned(d) => d,
            Session::Leased(l) => l,
        }
    }
}

impl Shared {
    fn emit(&self, e: Event) {
        self.call_back(&e);
        self.enqueue(e);
    }

    fn call_back(&self, e: &Event) {
        if let Some(progress) = &self.progress {
            // A panicking callback must not take the worker (and the run's end) with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| progress(e)));
        }
    }

    fn enqueue(&self, e: Event) {
        if let Some((queue, cond)) = &self.queue {
            let mut q = queue.lock();
            q.ended |= e.kind == EventKind::RunFinished;
            q.events.push_back(e);
            drop(q);
            cond.notify_all();
        }
    }

    fn event(
        &self,
        kind: EventKind,
        host: usize,
        step: Option<usize>,
        state: Option<(State, netrig_status)>,
        elapsed: Duration,
        worker: usize,
    ) {
        let (state, status) = match state {
            Some((s, st)) => (Some(s), st),
            None => (None, netrig_status::NETRIG_OK),
        };
        self.emit(Event { kind, host: Some(host), step, state, status, elapsed, worker });
    }

    pub(super) fn work(&self, w: usize) {
        match self.opts.strategy {
            Strategy::Free => loop {
                let i = self.next[0].fetch_add(1, Ordering::Relaxed);
                if i >= self.targets.len() || self.stop.load(Ordering::SeqCst) {
                    break;
                }
                self.guarded(i, w, || self.run_host(i, w));
            },
            Strategy::Linear => {
                for k in 0..self.next.len() {
                    loop {
                        let i = self.next[k].fetch_add(1, Ordering::Relaxed);
                        if i >= self.targets.len() || self.stop.load(Ordering::SeqCst) {
                            break;
                        }
                        self.guarded(i, w, || self.linear_step(i, k, w));
                    }
                    self.barrier.wait();
                }
                // After a cancel or abort, sessions of hosts that did not reach the last step
                // are still open: close them and settle those hosts.
                loop {
                    let i = self.cleanup.fetch_add(1, Ordering::Relaxed);
                    if i >= self.targets.len() {
                        break;
                    }
                    let session = self.sessions[i].lock().take();
                    if let Some(session) = session {
                        self.release(session);
                        let took = self.hosts[i].lock().duration;
                        self.finish_host(i, took, w);
                    }
                }
            }
        }
        self.worker_done(w);
    }

    /// Runs a host's work so that a panic (a bug in netrig) fails that host instead of leaving
    /// the run without its worker.
    fn guarded(&self, i: usize, w: usize, f: impl FnOnce()) {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            let e = Error::Panic(crate::error::panic_text(&*panic));
            let mut h = self.hosts[i].lock();
            h.connect = StepResult::failed(&e, self.targets[i].name(), Duration::ZERO);
            drop(h);
            self.sessions[i].lock().take();
            self.finish_host(i, Duration::ZERO, w);
        }
    }

    pub(super) fn worker_done(&self, w: usize) {
        if self.workers_left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.finish(w);
        }
    }

    /// Opens the host's session: a pool checkout, or a device of its own.
    fn connect(&self, i: usize, w: usize) -> Option<Session> {
        let start = Instant::now();
        let target = &self.targets[i];
        let result = match (&self.pool, &target.endpoint) {
            // A wait in the pool ends when the run is cancelled.
            (Some(pool), Endpoint::Options(o)) => {
                pool.checkout_or_stop(&PoolKey::of(o), Some(o), None, &self.stop).map(Session::Leased)
            }
            (Some(pool), Endpoint::Key(k)) => pool.checkout_or_stop(k, None, None, &self.stop).map(Session::Leased),
            (None, Endpoint::Options(o)) => Device::open(o).map(|d| Session::Owned(Box::new(d))),
            (None, Endpoint::Key(_)) => unreachable!("checked by Run::start"),
        };
        let elapsed = start.elapsed();
        let (connect, session) = match result {
            Ok(s) => {
                s.link_cancel(Some(Arc::clone(&self.stop)));
                (StepResult::ok(String::new(), elapsed), Some(s))
            }
            Err(e) => {
                let failed = StepResult::failed(&e, &format!("{}: connect", target.name()), elapsed);
                // A host that cannot be reached is a failure like a failed step; under the
                // other policies it simply has nothing left to run.
                if self.opts.on_failure == OnFailure::Abort && failed.state != State::Cancelled {
                    self.abort(failed.error.clone());
                }
                (failed, None)
            }
        };
        let ev = (connect.state, connect.status);
        self.hosts[i].lock().connect = connect;
        self.event(EventKind::Connected, i, None, Some(ev), elapsed, w);
        session
    }

    /// Gives the session back (or closes it) without the run's cancel flag.
    fn release(&self, session: Session) {
        session.link_cancel(None);
        drop(session);
    }

    /// Free strategy: all of one host's steps.
    fn run_host(&self, i: usize, w: usize) {
        let start = Instant::now();
        self.event(EventKind::HostStarted, i, None, None, Duration::ZERO, w);
        if let Some(session) = self.connect(i, w) {
            for k in 0..self.steps.len() {
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                if !self.step(&session, i, k, w) {
                    break;
                }
            }
            self.release(session);
        }
        self.finish_host(i, start.elapsed(), w);
    }

    /// Linear strategy: step `k` of host `i`, opening its session first at step 0. Between
    /// steps the session waits in the host's slot (no lock is held while a step runs).
    fn linear_step(&self, i: usize, k: usize, w: usize) {
        let session = if k == 0 {
            self.event(EventKind::HostStarted, i, None, None, Duration::ZERO, w);
            let start = Instant::now();
            let session = self.connect(i, w);
            self.hosts[i].lock().duration = start.elapsed();
            session
        } else {
            self.sessions[i].lock().take()
        };
        let Some(session) = session else {
            if k == 0 {
                let took = self.hosts[i].lock().duration;
                self.finish_host(i, took, w);
            }
            return;
        };
        let start = Instant::now();
        let go_on = self.steps.is_empty() || self.step(&session, i, k, w);
        let took = {
            let mut h = self.hosts[i].lock();
            h.duration += start.elapsed();
            h.duration
        };
        if go_on && k + 1 < self.next.len() {
            *self.sessions[i].lock() = Some(session);
        } else {
            self.release(session);
            self.finish_host(i, took, w);
        }
    }

    /// Runs step `k` on host `i`; false when the host should stop (per the failure policy).
    fn step(&self, dev: &Device, i: usize, k: usize, w: usize) -> bool {
        let step = &self.steps[k];
        self.event(EventKind::StepStarted, i, Some(k), None, Duration::ZERO, w);
        let start = Instant::now();
        let prefix = format!("{} step {} ({})", self.targets[i].name(), k + 1, step.describe());
        let result = match self.perform(dev, step, &self.targets[i]) {
            Ok(r) => r,
            Err(e) => StepResult::failed(&e, &prefix, Duration::ZERO),
        };
        let result = StepResult { duration: start.elapsed(), ..result };
        let failed = result.state != State::Ok;
        let ev = (result.state, result.status);
        let error = result.error.clone();
        self.hosts[i].lock().steps[k] = result;
        self.event(EventKind::StepFinished, i, Some(k), Some(ev), start.elapsed(), w);
        if !failed {
            return true;
        }
        match self.opts.on_failure {
            OnFailure::Continue => true,
            OnFailure::SkipHost => false,
            OnFailure::Abort => {
                self.abort(if error.is_empty() { prefix } else { error });
                false
            }
        }
    }

    /// Stops the run because of `why` (the first failure under [`OnFailure::Abort`]).
    fn abort(&self, why: String) {
        let mut aborted = self.aborted.lock();
        if aborted.is_none() && !self.cancelled.load(Ordering::SeqCst) {
            *aborted = Some(why);
        }
        drop(aborted);
        self.stop.store(true, Ordering::SeqCst);
    }

    fn perform(&self, dev: &Device, step: &Step, target: &Target) -> Result<StepResult> {
        let t = step.timeout;
        Ok(match &step.action {
            Action::Command(c) => {
                let out = dev.send_command(c, t)?;
                let records = if step.parse {
                    let dir = match &target.endpoint {
                        Endpoint::Options(o) => o.templates.as_deref(),
                        Endpoint::Key(_) => None,
                    };
                    Some(crate::parse::parse(&out.text, &out.platform, &out.command, dir)?)
                } else {
                    None
                };
                StepResult { records, ..StepResult::ok(out.text, Duration::ZERO) }
            }
            Action::Config { lines, opts } => {
                let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
                StepResult::ok(dev.send_config_set(&lines, *opts, t)?.text, Duration::ZERO)
            }
            Action::Exec(c) => {
                let out = dev.exec(c, t)?;
                let mut r = StepResult::ok(String::from_utf8_lossy(&out.stdout).into_owned(), Duration::ZERO);
                r.stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                r.exit_status = Some(out.exit_status);
                if out.exit_status != 0 {
                    r.state = State::Failed;
                    r.status = netrig_status::NETRIG_E_COMMAND;
                    r.error = format!("{}: exec '{c}' exited with status {}", dev.name(), out.exit_status);
                }
                r
            }
            Action::Put { local, remote, protocol } => {
                let done = dev.put_file(local, remote, *protocol, None, t)?;
                StepResult::ok(format!("{} bytes", done.bytes), Duration::ZERO)
            }
            Action::Get { remote, local, protocol } => {
                let (host, port) = target.host_port();
                let local =
                    local.replace("{name}", target.name()).replace("{host}", host).replace("{port}", &port.to_string());
                let done = dev.get_file(remote, std::path::Path::new(&local), *protocol, None, t)?;
                StepResult::ok(format!("{} bytes", done.bytes), Duration::ZERO)
            }
        })
    }

    /// Settles the host's state and the steps it never ran, and says so.
    fn finish_host(&self, i: usize, took: Duration, w: usize) {
        let (state, status, took) = {
            let mut h = self.hosts[i].lock();
            let why = if self.cancelled.load(Ordering::SeqCst) {
                "not run: the run was cancelled"
            } else if self.aborted.lock().is_some() {
                "not run: the run was aborted"
            } else if h.connect.state != State::Ok {
                "not run: the connect failed"
            } else {
                "not run: an earlier step of this host failed"
            };
            for s in h.steps.iter_mut().filter(|s| s.state == State::Skipped) {
                s.error = why.into();
            }
            let first_bad = std::iter::once(&h.connect).chain(h.steps.iter()).find(|s| s.state != State::Ok);
            let (state, status) = match first_bad {
                None => (State::Ok, netrig_status::NETRIG_OK),
                // A cancel that stopped no step of this host still cut its work short.
                Some(s) if s.state == State::Skipped => (State::Cancelled, netrig_status::NETRIG_E_CANCELLED),
                Some(s) => (s.state, s.status),
            };
            h.state = state;
            h.duration = took;
            (state, status, took)
        };
        self.event(EventKind::HostFinished, i, None, Some((state, status)), took, w);
    }

    /// Builds the report (the last worker does), then says RunFinished.
    pub(super) fn finish(&self, w: usize) {
        let hosts: Vec<HostResult> = self
            .hosts
            .iter()
            .map(|h| {
                let mut h = h.lock().clone();
                if h.connect.state == State::Skipped {
                    let why = if self.cancelled.load(Ordering::SeqCst) {
                        "not started: the run was cancelled"
                    } else {
                        "not started: the run was aborted"
                    };
                    h.connect.error = why.into();
                    for s in &mut h.steps {
                        s.error = why.into();
                    }
                }
                h
            })
            .collect();
        let mut totals = Totals::default();
        let mut step_totals = Totals::default();
        for h in &hosts {
            totals.add(h.state);
            for s in &h.steps {
                step_totals.add(s.state);
            }
        }
        let wall = self.started.elapsed();
        crate::log!(
            crate::log::Level::Info,
            crate::log::Target::Run,
            None,
            "run ended in {:.3} s{}: hosts {} ok, {} failed, {} timed out, {} cancelled, {} skipped; steps {} ok, {} failed, {} timed out, {} cancelled, {} skipped",
            wall.as_secs_f64(),
            if self.cancelled.load(Ordering::SeqCst) { " (cancelled)" } else { "" },
            totals.succeeded,
            totals.failed,
            totals.timed_out,
            totals.cancelled,
            totals.skipped,
            step_totals.succeeded,
            step_totals.failed,
            step_totals.timed_out,
            step_totals.cancelled,
            step_totals.skipped
        );
        let report = Arc::new(Report {
            hosts,
            totals,
            step_totals,
            wall,
            cancelled: self.cancelled.load(Ordering::SeqCst),
            aborted: self.aborted.lock().clone(),
        });
        let event = Event {
            kind: EventKind::RunFinished,
            host: None,
            step: None,
            state: None,
            status: netrig_status::NETRIG_OK,
            elapsed: wall,
            worker: w,
        };
        // The report is readable from the RunFinished callback (`Run::report`) ...
        self.report.lock().report = Some(report);
        // ... and that last callback returns before `wait` does: a C caller frees its user_data
        // then.
        self.call_back(&event);
        // RunFinished joins the stream as the run ends, so that a reader who took it sees
        // `is_finished`, and one who sees `is_finished` finds it queued.
        let mut finish = self.report.lock();
        finish.ended = true;
        self.enqueue(event);
        drop(finish);
        self.done.notify_all();
    }
}
