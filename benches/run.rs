//! The parallel runner and the pool on a fleet of fake cisco_ios devices that runs in another
//! process (the release `fakedev` binary, spawned here), so that the numbers count the client
//! only and the fleet's memory never shows in this process's RSS.
//!
//! Four reports, each against a baseline measured in the same run:
//! 1. wall time of N devices x 5 short commands (N = 1, 50, 200, 500), with sessions already
//!    prewarmed in a pool and without a pool (connect included): the runner at its default
//!    `max_workers` and over a sweep of values, against a sequential loop over the raw `Device`
//!    API and against one thread per host (`std::thread::scope`). Contenders take turns in
//!    rounds, so a change in machine load hits all of them alike; the table shows medians.
//!    Then the pooled table once more on 500 devices that wait 5 ms before each response (a
//!    second fleet process), where the run waits on devices instead of on the CPUs.
//! 2. connections per second: `Pool::prewarm` of 200 devices with K connects in parallel,
//!    against `Device::open` on K plain threads and a raw ssh2 connect + handshake + password
//!    auth loop on K threads.
//! 3. client memory per connection: VmRSS of a fresh child process (this binary again, so no
//!    earlier phase's freed memory is reused) before and after prewarming N sessions into a
//!    pool, against N bare `Device`s and N raw ssh2 sessions with a shell.
//! 4. the cost of a pool hit (checkout + drop of an idle session), 1 thread and 8 threads on
//!    different hosts, against a minimal pool (a mutex around a map of session stacks) and
//!    against a fresh `Device::open`.
//!
//! Run: `make bench`, or `cargo build --release -p fakedev && cargo bench --bench run`. It needs
//! about 2 file descriptors per device in the fleet process and 1 here (`ulimit -n`); with fewer
//! it shrinks the fleet and says so. It prints numbers and ratios and never fails on timings;
//! it panics when a device answers wrongly or a run does not succeed on every host.
//! `NETRIG_BENCH_RUN_ONLY=checkout,memory,connect,wall,latency` (any subset) runs only those reports.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use netrig::device::{Auth, Device, DeviceOptions, HostKeyPolicy, Platform};
use netrig::pool::{Pool, PoolKey, PoolOptions};
use netrig::run::{Run, RunOptions, Step, Target, DEFAULT_MAX_WORKERS};
use parking_lot::Mutex;

/// Short, `show clock`-style commands: each host runs all five.
const COMMANDS: [&str; 5] =
    ["show clock", "show ip interface brief", "show interfaces description", "show version", "show clock"];
const SIZES: [usize; 4] = [1, 50, 200, 500];
/// `max_workers` values tried; values above the host count collapse to it.
const SWEEP: [usize; 8] = [4, 8, 16, 32, 64, 128, 256, 512];
/// Devices for the connections-per-second report, and the parallelism values tried.
const CONNECT_DEVICES: usize = 200;
const CONNECT_PARALLEL: [usize; 4] = [1, 8, 32, 128];
const MEMORY_SIZES: [usize; 2] = [200, 500];
/// Connections made in parallel when filling memory (and before it, once, to warm up).
const MEMORY_PARALLEL: usize = 8;
/// The latency report: devices, and the delay before each of their responses.
const LATENCY_DEVICES: usize = 500;
const LATENCY_MS: u64 = 5;
const MEMORY_ENV: &str = "NETRIG_BENCH_RUN_MEMORY";
const INVENTORY_ENV: &str = "NETRIG_BENCH_RUN_INVENTORY";

// ---------------------------------------------------------------------------------------------
// The fleet in its own process.

/// One device of the fleet's inventory.
#[derive(Debug, Clone)]
struct Dev {
    host: String,
    port: u16,
    username: String,
    password: String,
    secret: Option<String>,
    fingerprint: String,
}

fn parse_inventory(json: &str) -> Vec<Dev> {
    let v: serde_json::Value = serde_json::from_str(json).expect("fakedev inventory is JSON");
    let field =
        |d: &serde_json::Value, k: &str| d[k].as_str().unwrap_or_else(|| panic!("inventory: no {k} in {d}")).to_owned();
    v.as_array()
        .expect("fakedev inventory is an array")
        .iter()
        .map(|d| Dev {
            host: field(d, "host"),
            port: d["port"].as_u64().and_then(|p| u16::try_from(p).ok()).expect("inventory: port"),
            username: field(d, "username"),
            password: field(d, "password"),
            secret: d["secret"].as_str().map(str::to_owned),
            fingerprint: field(d, "host_key_fingerprint"),
        })
        .collect()
}

/// The fakedev process; dropping it closes its stdin, which stops it.
struct FleetProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    devices: Vec<Dev>,
    inventory: String,
}

impl FleetProcess {
    /// `count` cisco_ios devices without faults.
    fn spawn(count: usize) -> FleetProcess {
        FleetProcess::spawn_with(&["--profile", "cisco_ios", "--count", &count.to_string()], count)
    }

    /// `count` cisco_ios devices that wait `latency_ms` before each response.
    fn spawn_with_latency(count: usize, latency_ms: u64) -> (FleetProcess, PathBuf) {
        let path = std::env::temp_dir().join(format!("netrig-bench-run-{}-latency.toml", std::process::id()));
        let toml =
            format!("[[device]]\nprofile = \"cisco_ios\"\ncount = {count}\nfaults = {{ latency_ms = {latency_ms} }}\n");
        std::fs::write(&path, toml).expect("write the fleet inventory");
        let fleet = FleetProcess::spawn_with(&["--inventory", path.to_str().expect("UTF-8 temp path")], count);
        (fleet, path)
    }

    fn spawn_with(args: &[&str], count: usize) -> FleetProcess {
        let bin = fakedev_binary();
        let mut child = Command::new(&bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = child.stdin.take();
        // The inventory is pretty-printed: it ends with a line "]".
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut inventory = String::new();
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).expect("read the fakedev inventory");
            assert!(n > 0, "fakedev exited before printing its inventory: {inventory}");
            inventory.push_str(&line);
            if line.trim_end() == "]" {
                break;
            }
        }
        let devices = parse_inventory(&inventory);
        assert_eq!(devices.len(), count, "fakedev started {} devices, not {count}", devices.len());
        FleetProcess { child, stdin, devices, inventory }
    }

    fn rss_kib(&self) -> Option<u64> {
        vm_rss_kib(&format!("/proc/{}/status", self.child.id()))
    }
}

impl Drop for FleetProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The release fakedev next to this bench binary (target/release/deps/run-* ->
/// target/release/fakedev), built with cargo when it is missing.
fn fakedev_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let release = exe.parent().and_then(Path::parent).expect("the bench binary lives in target/<profile>/deps");
    let bin = release.join("fakedev");
    if !bin.exists() {
        eprintln!("{} is missing; running `cargo build --release -p fakedev`", bin.display());
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let ok = Command::new(cargo).args(["build", "--release", "-p", "fakedev"]).status().is_ok_and(|s| s.success());
        assert!(ok && bin.exists(), "cannot build fakedev; run `cargo build --release -p fakedev` first");
    }
    bin
}

/// The soft limit on open files, from /proc (the library has no libc binding to ask for it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn vm_rss_kib(status_path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn options(d: &Dev) -> DeviceOptions {
    let mut o = DeviceOptions::new(
        &d.host,
        d.port,
        &d.username,
        Auth::Password(d.password.clone()),
        Platform::named("cisco_ios").expect("built-in platform"),
    );
    o.host_key = HostKeyPolicy::Pinned(d.fingerprint.clone());
    o.secret = d.secret.clone();
    // Generous: 500 handshakes at once on 2 shared cores take seconds; this measures
    // throughput, not deadlines.
    o.connect_timeout = Duration::from_secs(60);
    o.auth_timeout = Duration::from_secs(60);
    o.timeout = Duration::from_secs(60);
    o
}

// ---------------------------------------------------------------------------------------------
// The raw baseline: plain ssh2.

/// TCP connect, SSH handshake and password auth: the floor under any SSH client's connect.
fn raw_connect_auth(d: &Dev) -> ssh2::Session {
    let tcp = TcpStream::connect((d.host.as_str(), d.port)).expect("raw: TCP connect");
    tcp.set_nodelay(true).expect("raw: TCP_NODELAY");
    let mut session = ssh2::Session::new().expect("raw: session");
    session.set_tcp_stream(tcp);
    session.set_timeout(60_000);
    session.handshake().expect("raw: handshake");
    session.userauth_password(&d.username, &d.password).expect("raw: auth");
    session
}

/// A raw session with a PTY and a shell, read up to its first prompt: the least a usable CLI
/// session holds.
fn raw_shell(d: &Dev) -> (ssh2::Session, ssh2::Channel) {
    let session = raw_connect_auth(d);
    let mut channel = session.channel_session().expect("raw: channel");
    channel.request_pty("vt100", None, Some((511, 24, 0, 0))).expect("raw: pty");
    channel.shell().expect("raw: shell");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.ends_with(b"R1>") {
        let n = channel.read(&mut chunk).expect("raw: read");
        assert!(n > 0, "raw: EOF before the first prompt");
        buf.extend_from_slice(&chunk[..n]);
    }
    (session, channel)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The five commands on one session, checking that the device answered them.
fn five(dev: &Device) {
    for (k, c) in COMMANDS.iter().enumerate() {
        let out = dev.send_command(c, None).unwrap_or_else(|e| panic!("{}: '{c}': {e}", dev.name()));
        if k == 0 {
            assert!(out.text.contains("UTC"), "{}: '{c}' gave {:?}", dev.name(), out.text);
        }
    }
}

/// Runs `f(i)` for i in 0..n on `parallel` threads that take indices from a shared counter,
/// and returns the results in order.
fn parallel_map<T: Send>(n: usize, parallel: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..parallel.clamp(1, n.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                *slots[i].lock() = Some(f(i));
            });
        }
    });
    slots.into_iter().map(|s| s.into_inner().expect("every index ran")).collect()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn pool_options(max_total: usize) -> PoolOptions {
    PoolOptions {
        max_total: max_total.max(PoolOptions::default().max_total),
        // Sessions sit idle between rounds for longer than the default 10 s; the report is about
        // the runner, not about health checks.
        health_check_after: Duration::from_secs(3600),
        ..PoolOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Wall time of N devices x 5 commands.

#[derive(Clone, Copy, PartialEq)]
enum Contender {
    /// A loop over the first `.0` hosts, its time scaled to all of them.
    Sequential(usize),
    ThreadPerHost,
    Runner(usize),
}

impl Contender {
    fn label(self, n: usize) -> String {
        match self {
            Contender::Sequential(m) if m < n => format!("sequential Device loop ({m} hosts, x{})", n / m),
            Contender::Sequential(_) => "sequential Device loop".into(),
            Contender::ThreadPerHost => format!("thread per host ({n} threads)"),
            Contender::Runner(w) if w == DEFAULT_MAX_WORKERS.min(n) => format!("runner max_workers={w} (default)"),
            Contender::Runner(w) => format!("runner max_workers={w}"),
        }
    }
}

/// The runner's worker counts to try on `n` hosts: the sweep and the default, capped at `n`
/// (the runner never starts more workers than hosts), without duplicates.
fn worker_counts(n: usize) -> Vec<usize> {
    let mut ws: Vec<usize> = SWEEP.iter().chain([&DEFAULT_MAX_WORKERS]).map(|&w| w.min(n)).collect();
    ws.sort_unstable();
    ws.dedup();
    ws
}

fn check_report(report: &netrig::run::Report, n: usize) {
    if report.totals.succeeded != n || report.step_totals.succeeded != n * COMMANDS.len() {
        let first = report.hosts.iter().find(|h| h.state != netrig::run::State::Ok);
        panic!("runner: {:?} hosts, {:?} steps; first failure: {first:?}", report.totals, report.step_totals);
    }
    let out = &report.hosts[0].steps[0].output;
    assert!(out.contains("UTC"), "runner: 'show clock' gave {out:?}");
}

fn run_runner(targets: Vec<Target>, workers: usize, pool: Option<Arc<Pool>>) -> f64 {
    let n = targets.len();
    let steps: Vec<Step> = COMMANDS.iter().map(|c| Step::command(c)).collect();
    let opts = RunOptions { max_workers: workers, ..RunOptions::default() };
    let start = Instant::now();
    let report = Run::run(targets, steps, opts, pool, None).expect("start the run");
    let took = start.elapsed().as_secs_f64();
    check_report(&report, n);
    took
}

/// One timed run of a contender with the sessions prewarmed in `pool`. The baselines get their
/// sessions from the pool untimed (checkouts are hits) and return them untimed.
fn pooled(c: Contender, pool: &Arc<Pool>, opts: &[DeviceOptions]) -> f64 {
    let checkout_all =
        |opts: &[DeviceOptions]| -> Vec<_> { opts.iter().map(|o| pool.checkout(o, None).expect("checkout")).collect() };
    match c {
        Contender::Sequential(m) => {
            let leases = checkout_all(&opts[..m]);
            time(|| leases.iter().for_each(|l| five(l))) * opts.len() as f64 / m as f64
        }
        Contender::ThreadPerHost => {
            let leases = checkout_all(opts);
            time(|| thread::scope(|s| leases.iter().for_each(|l| drop(s.spawn(move || five(l))))))
        }
        Contender::Runner(w) => {
            let targets = opts.iter().map(|o| Target::from(o.clone())).collect();
            run_runner(targets, w, Some(Arc::clone(pool)))
        }
    }
}

/// One timed run of a contender that opens (and closes) every session itself.
fn unpooled(c: Contender, opts: &[DeviceOptions]) -> f64 {
    let open = |o: &DeviceOptions| Device::open(o).unwrap_or_else(|e| panic!("open: {e}"));
    match c {
        Contender::Sequential(m) => {
            time(|| opts[..m].iter().for_each(|o| five(&open(o)))) * opts.len() as f64 / m as f64
        }
        Contender::ThreadPerHost => {
            time(|| thread::scope(|s| opts.iter().for_each(|o| drop(s.spawn(move || five(&open(o)))))))
        }
        Contender::Runner(w) => {
            let targets = opts.iter().map(|o| Target::from(o.clone())).collect();
            run_runner(targets, w, None)
        }
    }
}

struct WallRow {
    n: usize,
    seq: f64,
    tph: f64,
    default: f64,
    best: (usize, f64),
}

/// Times every contender `rounds` times, taking turns, and prints the table. The sequential
/// loop runs on the first `seq_hosts` hosts (all of them when that is `n`).
fn wall_table(
    title: &str,
    n: usize,
    seq_hosts: usize,
    rounds: usize,
    mut one: impl FnMut(Contender) -> f64,
) -> WallRow {
    let mut contenders = vec![Contender::Sequential(seq_hosts.min(n)), Contender::ThreadPerHost];
    contenders.extend(worker_counts(n).into_iter().map(Contender::Runner));
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        for (c, s) in contenders.iter().zip(&mut samples) {
            s.push(one(*c));
        }
    }
    let medians: Vec<f64> = samples.iter().map(|s| median(s)).collect();
    let (seq, tph) = (medians[0], medians[1]);
    println!("\n{title}: {n} devices x {} commands, median of {rounds}", COMMANDS.len());
    println!(
        "  {:<40} {:>10} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "contender", "median ms", "min ms", "max ms", "µs per host", "vs seq", "vs thr/host"
    );
    for ((c, s), m) in contenders.iter().zip(&samples).zip(&medians) {
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.iter().copied().fold(0.0, f64::max);
        println!(
            "  {:<40} {:>10.1} {:>10.1} {:>10.1} {:>12.0} {:>9.2}x {:>9.2}x",
            c.label(n),
            m * 1e3,
            min * 1e3,
            max * 1e3,
            m * 1e6 / n as f64,
            seq / m,
            tph / m
        );
    }
    let runners: Vec<(usize, f64)> = contenders
        .iter()
        .zip(&medians)
        .filter_map(|(c, m)| match c {
            Contender::Runner(w) => Some((*w, *m)),
            _ => None,
        })
        .collect();
    let default = runners.iter().find(|(w, _)| *w == DEFAULT_MAX_WORKERS.min(n)).expect("the default is swept").1;
    let best = runners.iter().copied().min_by(|a, b| a.1.partial_cmp(&b.1).expect("no NaN")).expect("a runner");
    println!(
        "  (ratios are speedups: >1x is faster than the baseline; best runner: max_workers={}, {:.2}x the default's speed)",
        best.0,
        default / best.1
    );
    WallRow { n, seq, tph, default, best }
}

fn summary(title: &str, rows: &[WallRow]) {
    println!("\n{title}: medians in ms; ratios are speedups over the baseline");
    println!(
        "  {:>4} {:>9} {:>9} {:>11} {:>7} {:>9} {:>12} {:>9} {:>12} {:>9}",
        "N", "seq", "thr/host", "runner(32)", "best w", "runner", "default/seq", "best/seq", "default/tph", "best/tph"
    );
    for r in rows {
        println!(
            "  {:>4} {:>9.1} {:>9.1} {:>11.1} {:>7} {:>9.1} {:>11.2}x {:>8.2}x {:>11.2}x {:>8.2}x",
            r.n,
            r.seq * 1e3,
            r.tph * 1e3,
            r.default * 1e3,
            r.best.0,
            r.best.1 * 1e3,
            r.seq / r.default,
            r.seq / r.best.1,
            r.tph / r.default,
            r.tph / r.best.1
        );
    }
}

fn bench_wall(devs: &[Dev]) {
    let mut with_pool = Vec::new();
    let mut without = Vec::new();
    for &n in SIZES.iter().filter(|&&n| n <= devs.len()) {
        let opts: Vec<DeviceOptions> = devs[..n].iter().map(options).collect();
        let pool = Arc::new(Pool::new(pool_options(n)).expect("pool"));
        let failed: Vec<_> = pool.prewarm(&opts, 32).into_iter().filter_map(Result::err).collect();
        assert!(failed.is_empty(), "prewarm: {} failed, first: {}", failed.len(), failed[0]);
        let rounds = match n {
            1 => 50,
            50 => 15,
            200 => 7,
            _ => 5,
        };
        with_pool.push(wall_table("pooled (sessions prewarmed)", n, n, rounds, |c| pooled(c, &pool, &opts)));
        let stats = pool.stats();
        assert_eq!(stats.created, n as u64, "the pooled rounds reused the prewarmed sessions: {stats:?}");
        drop(pool);
        let rounds = match n {
            1 => 30,
            50 => 9,
            _ => 5,
        };
        without
            .push(wall_table("no pool (connect + 5 commands + close per host)", n, n, rounds, |c| unpooled(c, &opts)));
    }
    summary("wall time, sessions prewarmed in a pool", &with_pool);
    summary("wall time, no pool (connect included)", &without);
}

/// The same pooled table on devices that answer after `LATENCY_MS`, as devices on a real network
/// do: on loopback the run is bound by the 2 CPUs, with latency by waiting, which is what
/// `max_workers` is for.
fn bench_wall_latency(count: usize) {
    let n = count.min(LATENCY_DEVICES);
    let (fleet, path) = FleetProcess::spawn_with_latency(n, LATENCY_MS);
    let opts: Vec<DeviceOptions> = fleet.devices.iter().map(options).collect();
    let pool = Arc::new(Pool::new(pool_options(n)).expect("pool"));
    let failed: Vec<_> = pool.prewarm(&opts, 256).into_iter().filter_map(Result::err).collect();
    assert!(failed.is_empty(), "prewarm: {} failed, first: {}", failed.len(), failed[0]);
    let title = format!("pooled, every device answering after {LATENCY_MS} ms (a fleet of its own)");
    let row = wall_table(&title, n, 20, 3, |c| pooled(c, &pool, &opts));
    summary(&format!("wall time, sessions prewarmed in a pool, {LATENCY_MS} ms device latency"), &[row]);
    drop(pool);
    drop(fleet);
    let _ = std::fs::remove_file(path);
}

// ---------------------------------------------------------------------------------------------
// 2. Connections per second.

fn bench_connect(devs: &[Dev]) {
    let n = CONNECT_DEVICES.min(devs.len());
    let opts: Vec<DeviceOptions> = devs[..n].iter().map(options).collect();
    let rounds = 2;
    println!("\nconnections per second: {n} devices, K connects in parallel, median of {rounds} (higher is better)");
    println!(
        "  {:>4} {:>16} {:>18} {:>20} {:>14} {:>14}",
        "K", "pool prewarm/s", "Device::open/s", "raw connect+auth/s", "prewarm/open", "prewarm/raw"
    );
    for k in CONNECT_PARALLEL.into_iter().map(|k| k.min(n)) {
        let (mut prewarm, mut open, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let pool = Pool::new(pool_options(n)).expect("pool");
            let mut results = Vec::new();
            prewarm.push(time(|| results = pool.prewarm(&opts, k)));
            assert!(results.iter().all(Result::is_ok), "prewarm failed: {:?}", results.iter().find(|r| r.is_err()));
            drop(pool);
            let mut devices = Vec::new();
            open.push(time(|| devices = parallel_map(n, k, |i| Device::open(&opts[i]).expect("open"))));
            drop(devices);
            let mut sessions = Vec::new();
            raw.push(time(|| sessions = parallel_map(n, k, |i| raw_connect_auth(&devs[i]))));
            drop(sessions);
        }
        let per_s = |v: &[f64]| n as f64 / median(v);
        let (p, o, r) = (per_s(&prewarm), per_s(&open), per_s(&raw));
        println!("  {k:>4} {p:>16.0} {o:>18.0} {r:>20.0} {:>13.2}x {:>13.2}x", p / o, p / r);
    }
    println!("  (raw connect+auth stops before the PTY, shell, prompt, paging, width and enable that open does)");
}

// ---------------------------------------------------------------------------------------------
// 3. Memory per connection, each figure from a fresh child process.

#[derive(Clone, Copy)]
enum MemoryMode {
    Pool,
    Device,
    Raw,
}

impl MemoryMode {
    fn name(self) -> &'static str {
        match self {
            MemoryMode::Pool => "pool",
            MemoryMode::Device => "device",
            MemoryMode::Raw => "raw",
        }
    }

    fn parse(s: &str) -> MemoryMode {
        match s {
            "pool" => MemoryMode::Pool,
            "device" => MemoryMode::Device,
            "raw" => MemoryMode::Raw,
            _ => panic!("unknown memory mode {s}"),
        }
    }
}

/// In the child: opens `n` sessions of one kind and prints "before_kib after_kib".
fn memory_child(spec: &str) {
    let (mode, n) = spec.split_once(':').expect("mode:n");
    let (mode, n) = (MemoryMode::parse(mode), n.parse::<usize>().expect("n"));
    let path = std::env::var(INVENTORY_ENV).expect("inventory path");
    let devs = parse_inventory(&std::fs::read_to_string(path).expect("read inventory"));
    let opts: Vec<DeviceOptions> = devs[..n].iter().map(options).collect();
    let pool = Pool::new(pool_options(n)).expect("pool");
    // Warm up on the same number of threads, so that library init, malloc arenas and cached
    // thread stacks are in place before the first reading.
    match mode {
        MemoryMode::Raw => drop(parallel_map(MEMORY_PARALLEL, MEMORY_PARALLEL, |i| raw_shell(&devs[i]))),
        _ => drop(parallel_map(MEMORY_PARALLEL, MEMORY_PARALLEL, |i| Device::open(&opts[i]).expect("open"))),
    }
    let rss = || vm_rss_kib("/proc/self/status").expect("VmRSS");
    let before = rss();
    let (after, held): (u64, Box<dyn std::any::Any>) = match mode {
        MemoryMode::Pool => {
            let results = pool.prewarm(&opts, MEMORY_PARALLEL);
            assert!(results.iter().all(Result::is_ok), "prewarm failed");
            assert_eq!(pool.stats().idle, n as u64);
            (rss(), Box::new(()))
        }
        MemoryMode::Device => {
            let held = parallel_map(n, MEMORY_PARALLEL, |i| Device::open(&opts[i]).expect("open"));
            (rss(), Box::new(held))
        }
        MemoryMode::Raw => {
            let held = parallel_map(n, MEMORY_PARALLEL, |i| raw_shell(&devs[i]));
            (rss(), Box::new(held))
        }
    };
    println!("{before} {after}");
    drop(held);
    drop(pool);
}

fn bench_memory(fleet: &FleetProcess) {
    let path = std::env::temp_dir().join(format!("netrig-bench-run-{}.json", std::process::id()));
    std::fs::write(&path, &fleet.inventory).expect("write the inventory");
    let exe = std::env::current_exe().expect("current exe");
    println!(
        "\nclient memory per connection: VmRSS of a fresh process before and after opening N sessions \
         ({MEMORY_PARALLEL} in parallel, after a warm-up of {MEMORY_PARALLEL})"
    );
    println!(
        "  {:>4} {:<34} {:>12} {:>12} {:>14} {:>10}",
        "N", "sessions", "before KiB", "after KiB", "KiB per conn", "vs raw"
    );
    for n in MEMORY_SIZES.into_iter().filter(|&n| n <= fleet.devices.len()) {
        let server_before = fleet.rss_kib();
        let mut rows = Vec::new();
        for mode in [MemoryMode::Raw, MemoryMode::Device, MemoryMode::Pool] {
            let out = Command::new(&exe)
                .env(MEMORY_ENV, format!("{}:{n}", mode.name()))
                .env(INVENTORY_ENV, &path)
                .stderr(Stdio::inherit())
                .output()
                .expect("run the memory child");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "memory child {} {n} failed: {text}", mode.name());
            let nums: Vec<u64> = text.split_whitespace().map(|x| x.parse().expect("KiB")).collect();
            rows.push((mode, nums[0], nums[1]));
        }
        let per = |b: u64, a: u64| (a as f64 - b as f64) / n as f64;
        let raw = per(rows[0].1, rows[0].2);
        for (mode, before, after) in rows {
            let label = match mode {
                MemoryMode::Raw => "raw ssh2 session + shell",
                MemoryMode::Device => "bare netrig Device",
                MemoryMode::Pool => "idle session in a netrig Pool",
            };
            let p = per(before, after);
            println!("  {n:>4} {label:<34} {before:>12} {after:>12} {p:>14.1} {:>9.2}x", p / raw);
        }
        if let (Some(b), Some(a)) = (server_before, fleet.rss_kib()) {
            println!("       (the fleet process: {} KiB RSS, not counted above)", a.max(b));
        }
    }
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------------------------------------
// 4. The cost of a pool hit.

/// The least a pool can do: a mutex around a map from key to a stack of idle sessions.
struct MinimalPool(Mutex<HashMap<PoolKey, Vec<Arc<Device>>>>);

impl MinimalPool {
    fn hit(&self, opts: &DeviceOptions) {
        let key = PoolKey::of(opts);
        let device = self.0.lock().get_mut(&key).and_then(Vec::pop).expect("an idle session");
        std::hint::black_box(&device);
        self.0.lock().get_mut(&key).expect("known key").push(device);
    }
}

const BATCH: usize = 256;

/// Median ns per call of `f` over `batches` batches of BATCH calls.
fn ns_per_call(batches: usize, mut f: impl FnMut()) -> f64 {
    let mut per: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            start.elapsed().as_secs_f64() * 1e9 / BATCH as f64
        })
        .collect();
    per.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    median(&per)
}

/// `threads` threads, thread t calling `f(t)`: the median over threads of each one's median ns
/// per call, and the calls per second of all of them together.
fn ns_per_call_threads(threads: usize, batches: usize, f: impl Fn(usize) + Sync) -> (f64, f64) {
    let barrier = Barrier::new(threads);
    let start = Instant::now();
    let per: Vec<f64> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    ns_per_call(batches, || f(t))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bench thread")).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    (median(&per), (threads * batches * BATCH) as f64 / wall)
}

fn bench_checkout(devs: &[Dev]) {
    const THREADS: usize = 8;
    const BATCHES: usize = 400;
    let opts: Vec<DeviceOptions> = devs[..THREADS].iter().map(options).collect();
    let keys: Vec<PoolKey> = opts.iter().map(PoolKey::of).collect();
    // Default options: a session checked in a moment ago gets no health check.
    let pool = Pool::new(PoolOptions::default()).expect("pool");
    assert!(pool.prewarm(&opts, THREADS).iter().all(Result::is_ok), "prewarm");
    let minimal = MinimalPool(Mutex::new(
        opts.iter().map(|o| (PoolKey::of(o), vec![Arc::new(Device::open(o).expect("open"))])).collect(),
    ));
    let checkout = |t: usize| drop(pool.checkout(&opts[t], None).expect("checkout"));
    let checkout_key = |t: usize| drop(pool.checkout_key(&keys[t], None).expect("checkout_key"));
    let min_hit = |t: usize| minimal.hit(&opts[t]);
    for f in [&checkout as &(dyn Fn(usize) + Sync), &checkout_key, &min_hit] {
        ns_per_call(20, || f(0)); // warm-up
    }
    let rows: Vec<(&str, f64, (f64, f64))> = vec![
        (
            "pool.checkout(&opts) + drop",
            ns_per_call(BATCHES, || checkout(0)),
            ns_per_call_threads(THREADS, BATCHES, checkout),
        ),
        (
            "pool.checkout_key(&key) + drop",
            ns_per_call(BATCHES, || checkout_key(0)),
            ns_per_call_threads(THREADS, BATCHES, checkout_key),
        ),
        (
            "minimal pool (mutex + map of stacks)",
            ns_per_call(BATCHES, || min_hit(0)),
            ns_per_call_threads(THREADS, BATCHES, min_hit),
        ),
    ];
    let stats = pool.stats();
    assert_eq!(stats.created, THREADS as u64, "every checkout was a hit: {stats:?}");
    assert_eq!(stats.health_checks, 0, "no health checks: {stats:?}");
    drop(minimal);

    let open_opts: Vec<DeviceOptions> =
        devs[THREADS..THREADS + 20.min(devs.len() - THREADS)].iter().map(options).collect();
    let opens: Vec<f64> = open_opts
        .iter()
        .map(|o| {
            let start = Instant::now();
            let d = Device::open(o).expect("open");
            let took = start.elapsed().as_secs_f64() * 1e9;
            drop(d);
            took
        })
        .collect();
    let open_ns = median(&opens);
    let base = &rows[2];
    println!(
        "\npool hit: checkout of an idle session + drop (check-in), median ns per call over {BATCHES} batches of {BATCH}"
    );
    println!(
        "  {:<38} {:>10} {:>14} {:>18} {:>12} {:>14}",
        "contender", "1 thread", "8 thr (each)", "8 thr total/s", "vs minimal", "open / this"
    );
    for (name, one, (eight, total)) in &rows {
        println!(
            "  {name:<38} {one:>10.0} {eight:>14.0} {total:>18.0} {:>11.2}x {:>13.0}x",
            one / base.1,
            open_ns / one
        );
    }
    println!("  Device::open (median of {}, same fleet)  {:>10.0} ns = {:.2} ms", opens.len(), open_ns, open_ns / 1e6);
    println!("  (8 threads use 8 different hosts; this machine has {} CPUs)", cpus());
}

fn cpus() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() {
    if let Ok(spec) = std::env::var(MEMORY_ENV) {
        memory_child(&spec);
        return;
    }
    let started = Instant::now();
    let want = *SIZES.iter().max().expect("sizes");
    // The fleet process needs a listener and a connection per device, this one a connection.
    let count = match open_files_limit() {
        Some(limit) if (limit as usize) < 2 * want + 64 => {
            let fit = (limit as usize).saturating_sub(64) / 2;
            eprintln!(
                "warning: the open files limit is {limit}; the fleet needs about {} for {want} devices. \
                 Running with {fit} devices; raise it with `ulimit -n 4096` (make bench does).",
                2 * want + 64
            );
            fit
        }
        _ => want,
    };
    let fleet = FleetProcess::spawn(count);
    println!(
        "netrig runner/pool benchmark: {} fake cisco_ios devices served by a separate fakedev process (pid {}, \
         2 tokio threads), {} CPUs shared by both processes; commands per host: {:?}",
        fleet.devices.len(),
        fleet.child.id(),
        cpus(),
        COMMANDS
    );
    println!("run: cargo build --release -p fakedev && cargo bench --bench run   (or: make bench)");

    let only = std::env::var("NETRIG_BENCH_RUN_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p == part);
    if wanted("checkout") {
        bench_checkout(&fleet.devices);
    }
    if wanted("memory") {
        bench_memory(&fleet);
    }
    if wanted("connect") {
        bench_connect(&fleet.devices);
    }
    if wanted("wall") {
        bench_wall(&fleet.devices);
    }
    let count = fleet.devices.len();
    drop(fleet);
    if wanted("latency") {
        bench_wall_latency(count);
    }

    println!("\ntotal benchmark time {:.1} s", started.elapsed().as_secs_f64());
}
