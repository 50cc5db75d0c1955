//! Store throughput: netrig through its C ABI, netrig called from Rust directly, and a plain C
//! mutex-plus-hash-map baseline (benches/baseline.c), measured in the same run.
//!
//! For each target it times `set_int` and `get_int` with 1 thread and 2 threads on distinct keys
//! (each thread cycles through its own 1024 keys) and with 2 threads on one hot key. It also
//! times the handle lookup alone (`HandleTable::with`), which every C ABI call pays.
//!
//! A second table compares the store's modes through the Rust API: in memory (the default),
//! in memory with a subscriber that hears every write (drained by a thread) or none of them,
//! and durable on a SQLite file (process-crash and power-loss durability, 1 and 2 writer
//! threads), against a raw rusqlite loop committing one upsert per transaction in the same
//! WAL mode: the least any durable acknowledgement can cost.
//!
//! Run: `cargo bench --bench store`. `NETRIG_BENCH_SCALE` (default 1) multiplies the time spent
//! per measurement; the default run takes about 15 s. This is a report, not a test: it never
//! fails on timings. The targets it reports against (from the issue): at most 100 ns per
//! uncontended C ABI op, and two threads on distinct keys faster in total than one.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use netrig::ffi::handle::{HandleTable, Kind};
use netrig::ffi::{self, netrig_store, NETRIG_TTL_DEFAULT};
use netrig::{netrig_status, Store, StoreOptions, Ttl, Value};

extern "C" {
    fn baseline_new(cap: usize) -> *mut c_void;
    fn baseline_set_int(map: *mut c_void, key: *const c_char, v: i64) -> c_int;
    fn baseline_get_int(map: *mut c_void, key: *const c_char, out: *mut i64) -> c_int;
    fn baseline_free(map: *mut c_void);
}

/// The C baseline's map pointer, shared by the benchmark threads.
struct Baseline(*mut c_void);
// SAFETY: baseline.c takes its one pthread mutex around every access to the map, so the
// pointer may be used from any thread; it is freed only after every thread has been joined.
unsafe impl Sync for Baseline {}
// SAFETY: as for Sync; the map holds no thread-affine state.
unsafe impl Send for Baseline {}

const KEYS_PER_THREAD: usize = 1024;
const RUNS: usize = 3;
const BASE_RUN_SECS: f64 = 0.2;

struct Key {
    c: CString,
    s: Box<str>,
}

impl Key {
    fn new(s: String) -> Key {
        Key { c: CString::new(s.clone()).unwrap(), s: s.into_boxed_str() }
    }
}

/// The key sets of one scenario: `sets[t]` is thread t's, a power-of-two long.
struct Scenario {
    label: &'static str,
    sets: Vec<Vec<Key>>,
}

impl Scenario {
    fn distinct(threads: usize) -> Scenario {
        let sets = (0..threads)
            .map(|t| (0..KEYS_PER_THREAD).map(|i| Key::new(format!("bench/t{t}/status/{i:04}"))).collect())
            .collect();
        Scenario { label: "distinct", sets }
    }

    fn hot(threads: usize) -> Scenario {
        Scenario { label: "one hot key", sets: (0..threads).map(|_| vec![Key::new("bench/hot".into())]).collect() }
    }

    fn threads(&self) -> usize {
        self.sets.len()
    }

    fn key(&self, thread: usize, i: u64) -> &Key {
        let set = &self.sets[thread];
        &set[i as usize & (set.len() - 1)]
    }
}

#[derive(Clone, Copy)]
struct Sample {
    /// Wall time per operation as one thread sees it.
    ns_per_op: f64,
    /// Operations per second of all threads together, in millions.
    mops_total: f64,
}

/// Runs `op(thread, i)` for `ops` iterations on each of `threads` threads started together and
/// returns the wall time from the first start to the last finish.
fn run_once<F: Fn(usize, u64) -> i64 + Sync>(threads: usize, ops: u64, op: &F) -> Duration {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let mut acc = 0i64;
                    for i in 0..ops {
                        acc = acc.wrapping_add(op(t, black_box(i)));
                    }
                    black_box(acc);
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("benchmark thread panicked")).collect()
    });
    let start = spans.iter().map(|s| s.0).min().unwrap();
    let end = spans.iter().map(|s| s.1).max().unwrap();
    end - start
}

/// Calibrates the iteration count to the run time, then reports the median of `RUNS` runs.
fn measure<F: Fn(usize, u64) -> i64 + Sync>(threads: usize, scale: f64, op: F) -> Sample {
    let probe = 50_000;
    let per_op = run_once(threads, probe, &op).as_secs_f64() / probe as f64;
    let ops = ((BASE_RUN_SECS * scale / per_op.max(1e-9)) as u64).clamp(10_000, 500_000_000);
    let mut walls: Vec<f64> = (0..RUNS).map(|_| run_once(threads, ops, &op).as_secs_f64()).collect();
    walls.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let wall = walls[RUNS / 2];
    Sample { ns_per_op: wall * 1e9 / ops as f64, mops_total: (threads as u64 * ops) as f64 / wall / 1e6 }
}

#[cold]
fn failed(what: &str, status: netrig_status) -> ! {
    // SAFETY: netrig_last_error returns a NUL-terminated string owned by this thread.
    let text = unsafe { CStr::from_ptr(ffi::netrig_last_error()) };
    panic!("{what} returned {status:?}: {}", text.to_string_lossy());
}

#[inline(always)]
fn check(what: &str, status: netrig_status) {
    if status != netrig_status::NETRIG_OK {
        failed(what, status);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    CAbi,
    Rust,
    Baseline,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::CAbi => "netrig C ABI",
            Target::Rust => "netrig Rust",
            Target::Baseline => "C mutex+map",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Set,
    Get,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Set => "set_int",
            Op::Get => "get_int",
        }
    }
}

struct Row {
    target: Target,
    op: Op,
    threads: usize,
    keys: &'static str,
    sample: Sample,
}

/// The three stores under test, each fresh for a scenario.
struct Stores {
    c: netrig_store,
    rust: Store,
    base: Baseline,
}

impl Stores {
    fn new() -> Stores {
        let mut c = netrig_store { id: 0 };
        // SAFETY: NULL options mean the defaults; `c` is a valid out-parameter.
        check("netrig_store_new", unsafe { ffi::netrig_store_new(std::ptr::null(), &mut c) });
        let rust = Store::new(StoreOptions::default()).expect("default options are valid");
        // SAFETY: plain constructor; a NULL result is checked below.
        let base = Baseline(unsafe { baseline_new(4 * KEYS_PER_THREAD) });
        assert!(!base.0.is_null(), "baseline_new: out of memory");
        Stores { c, rust, base }
    }
}

impl Drop for Stores {
    fn drop(&mut self) {
        check("netrig_store_free", ffi::netrig_store_free(self.c));
        // SAFETY: every benchmark thread has been joined; the map is not used again.
        unsafe { baseline_free(self.base.0) };
    }
}

fn bench_scenario(sc: &Scenario, scale: f64, rows: &mut Vec<Row>) {
    let stores = Stores::new();
    let threads = sc.threads();
    let (c, rust, base) = (stores.c, &stores.rust, &stores.base);
    for op in [Op::Set, Op::Get] {
        for target in [Target::CAbi, Target::Rust, Target::Baseline] {
            let sample = match (target, op) {
                (Target::CAbi, Op::Set) => measure(threads, scale, |t, i| {
                    let k = sc.key(t, i);
                    // SAFETY: `k.c` is a NUL-terminated string that outlives the call.
                    let st = unsafe { ffi::netrig_store_set_int(c, k.c.as_ptr(), i as i64, NETRIG_TTL_DEFAULT) };
                    check("netrig_store_set_int", st);
                    0
                }),
                (Target::CAbi, Op::Get) => measure(threads, scale, |t, i| {
                    let k = sc.key(t, i);
                    let mut v = 0i64;
                    // SAFETY: `k.c` is NUL-terminated; `v` is a valid out-parameter; the
                    // version out-parameter may be NULL.
                    let st = unsafe { ffi::netrig_store_get_int(c, k.c.as_ptr(), &mut v, std::ptr::null_mut()) };
                    check("netrig_store_get_int", st);
                    v
                }),
                (Target::Rust, Op::Set) => measure(threads, scale, |t, i| {
                    rust.set(&sc.key(t, i).s, Value::Int(i as i64), Ttl::Default).expect("set") as i64
                }),
                (Target::Rust, Op::Get) => {
                    measure(threads, scale, |t, i| rust.get_int(&sc.key(t, i).s).expect("get_int").value)
                }
                (Target::Baseline, Op::Set) => measure(threads, scale, |t, i| {
                    // SAFETY: the map is live for the whole scenario; the key is NUL-terminated.
                    let rc = unsafe { baseline_set_int(base.0, sc.key(t, i).c.as_ptr(), i as i64) };
                    assert_eq!(rc, 0, "baseline_set_int: out of memory");
                    0
                }),
                (Target::Baseline, Op::Get) => measure(threads, scale, |t, i| {
                    let mut v = 0i64;
                    // SAFETY: as above; `v` is a valid out-parameter.
                    let rc = unsafe { baseline_get_int(base.0, sc.key(t, i).c.as_ptr(), &mut v) };
                    assert_eq!(rc, 0, "baseline_get_int: key missing");
                    v
                }),
            };
            rows.push(Row { target, op, threads, keys: sc.label, sample });
        }
    }
}

/// The lookup every C ABI call makes before it reaches the store.
fn bench_handle(threads: usize, scale: f64) -> Sample {
    static TABLE: HandleTable<u64> = HandleTable::new(Kind::Store);
    let id = TABLE.insert(42).expect("insert");
    let sample = measure(threads, scale, |_, _| match TABLE.with(black_box(id), |v| *v) {
        Ok(v) => v as i64,
        Err(e) => panic!("HandleTable::with: {e}"),
    });
    TABLE.remove(id).expect("remove");
    sample
}

fn find(rows: &[Row], target: Target, op: Op, threads: usize, keys: &str) -> Sample {
    rows.iter()
        .find(|r| r.target == target && r.op == op && r.threads == threads && r.keys == keys)
        .map(|r| r.sample)
        .expect("every combination was measured")
}

fn main() {
    let scale: f64 = match std::env::var("NETRIG_BENCH_SCALE") {
        Ok(s) => s.parse().ok().filter(|v: &f64| *v > 0.0).unwrap_or_else(|| {
            eprintln!("NETRIG_BENCH_SCALE must be a positive number, got '{s}'; using 1");
            1.0
        }),
        Err(_) => 1.0,
    };
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "netrig store benchmark: {cpus} CPUs, median of {RUNS} runs of ~{:.2} s each (NETRIG_BENCH_SCALE={scale})",
        BASE_RUN_SECS * scale
    );
    if cpus < 2 {
        println!("note: fewer than 2 CPUs, so the 2-thread numbers measure time-slicing, not parallelism");
    }
    let started = Instant::now();

    let mut rows = Vec::new();
    for sc in [Scenario::distinct(1), Scenario::distinct(2), Scenario::hot(2)] {
        bench_scenario(&sc, scale, &mut rows);
    }
    let handle_1 = bench_handle(1, scale);
    let handle_2 = bench_handle(2, scale);

    println!();
    println!("{:<14} {:<8} {:>7}  {:<16} {:>9} {:>13}", "target", "op", "threads", "keys", "ns/op", "Mops/s total");
    for r in &rows {
        let keys = if r.keys == "distinct" { format!("distinct x{KEYS_PER_THREAD}") } else { r.keys.to_string() };
        println!(
            "{:<14} {:<8} {:>7}  {:<16} {:>9.1} {:>13.2}",
            r.target.name(),
            r.op.name(),
            r.threads,
            keys,
            r.sample.ns_per_op,
            r.sample.mops_total
        );
    }
    for (threads, s) in [(1, handle_1), (2, handle_2)] {
        println!(
            "{:<14} {:<8} {:>7}  {:<16} {:>9.1} {:>13.2}",
            "handle check", "with", threads, "one handle", s.ns_per_op, s.mops_total
        );
    }

    println!();
    println!("ratios (ns/op of the first over the second; below 1 means the first is faster):");
    for op in [Op::Set, Op::Get] {
        for (threads, keys) in [(1, "distinct"), (2, "distinct"), (2, "one hot key")] {
            let c = find(&rows, Target::CAbi, op, threads, keys);
            let r = find(&rows, Target::Rust, op, threads, keys);
            let b = find(&rows, Target::Baseline, op, threads, keys);
            println!(
                "  {:<8} {threads} thread(s), {:<12} C ABI / Rust direct = {:>5.2}   C ABI / C baseline = {:>5.2}",
                op.name(),
                keys,
                c.ns_per_op / r.ns_per_op,
                c.ns_per_op / b.ns_per_op
            );
        }
    }
    println!("scaling (total throughput, 2 threads on distinct keys / 1 thread):");
    for op in [Op::Set, Op::Get] {
        let line: Vec<String> = [Target::CAbi, Target::Rust, Target::Baseline]
            .iter()
            .map(|&t| {
                let one = find(&rows, t, op, 1, "distinct");
                let two = find(&rows, t, op, 2, "distinct");
                format!("{} {:.2}x", t.name(), two.mops_total / one.mops_total)
            })
            .collect();
        println!("  {:<8} {}", op.name(), line.join("   "));
    }
    let c_set = find(&rows, Target::CAbi, Op::Set, 1, "distinct");
    let c_get = find(&rows, Target::CAbi, Op::Get, 1, "distinct");
    println!(
        "handle check: {:.1} ns (1 thread), {:.1} ns (2 threads on one handle) = {:.0}% of an uncontended C ABI get",
        handle_1.ns_per_op,
        handle_2.ns_per_op,
        100.0 * handle_1.ns_per_op / c_get.ns_per_op
    );

    println!();
    println!("targets (reported, never enforced here):");
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let worst = c_set.ns_per_op.max(c_get.ns_per_op);
    println!(
        "  uncontended C ABI op <= 100 ns: {} (set {:.1} ns, get {:.1} ns)",
        verdict(worst <= 100.0),
        c_set.ns_per_op,
        c_get.ns_per_op
    );
    for op in [Op::Set, Op::Get] {
        let one = find(&rows, Target::CAbi, op, 1, "distinct");
        let two = find(&rows, Target::CAbi, op, 2, "distinct");
        println!(
            "  C ABI {} 2 threads on distinct keys faster in total than 1: {} ({:.2} vs {:.2} Mops/s)",
            op.name(),
            verdict(two.mops_total > one.mops_total),
            two.mops_total,
            one.mops_total
        );
    }
    bench_modes(scale);
    println!("\ntotal benchmark time {:.1} s", started.elapsed().as_secs_f64());
}

/// Ops/s of `op(thread, i)` on `threads` threads for about `secs` (median of 3 runs).
fn ops_per_sec<F: Fn(usize, u64) -> i64 + Sync>(threads: usize, secs: f64, op: F) -> f64 {
    let probe = 200;
    let per_op = run_once(threads, probe, &op).as_secs_f64() / probe as f64;
    let ops = ((secs / per_op.max(1e-9)) as u64).clamp(200, 50_000_000);
    let mut walls: Vec<f64> = (0..3).map(|_| run_once(threads, ops, &op).as_secs_f64()).collect();
    walls.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (threads as u64 * ops) as f64 / walls[1]
}

fn bench_modes(scale: f64) {
    use netrig::journal::Durability;
    use std::sync::Arc;
    let dir = std::env::temp_dir().join(format!("netrig-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let secs = BASE_RUN_SECS * scale;
    let keys: Vec<Vec<String>> =
        (0..2).map(|t| (0..KEYS_PER_THREAD).map(|i| format!("bench/t{t}/status/{i:04}")).collect()).collect();
    fn setter<'a>(s: &'a Store, keys: &'a [Vec<String>]) -> impl Fn(usize, u64) -> i64 + Sync + 'a {
        move |t, i| {
            let k = &keys[t][i as usize & (KEYS_PER_THREAD - 1)];
            s.set(k, Value::Int(i as i64), Ttl::Never).expect("set") as i64
        }
    }

    let mut rows: Vec<(String, f64)> = Vec::new();

    let mem = Arc::new(Store::new(StoreOptions::default()).expect("store"));
    rows.push(("in memory, 1 thread".into(), ops_per_sec(1, secs, setter(&mem, &keys))));
    rows.push(("in memory, 2 threads".into(), ops_per_sec(2, secs, setter(&mem, &keys))));
    {
        let (_, other) = mem.subscribe("elsewhere/", 0).expect("subscribe");
        rows.push(("in memory + 1 subscriber of another prefix".into(), ops_per_sec(1, secs, setter(&mem, &keys))));
        drop(other);
        let (_, all) = mem.subscribe("bench/", 1 << 16).expect("subscribe");
        let all = Arc::new(all);
        let drain = {
            let all = all.clone();
            thread::spawn(move || {
                let mut n = 0u64;
                loop {
                    match all.poll(None) {
                        Ok(_) | Err(netrig::Error::Lagged { .. }) => n += 1,
                        Err(_) => return n,
                    }
                }
            })
        };
        rows.push(("in memory + 1 subscriber of every write".into(), ops_per_sec(1, secs, setter(&mem, &keys))));
        let st = all.stats();
        all.close();
        drain.join().expect("drain thread");
        println!(
            "\nsubscriber of every write: {} events delivered, {} dropped (queue 65536, drained by one thread)",
            st.delivered, st.dropped
        );
    }

    let path = dir.join("process.db");
    let durable = Store::open(&path, StoreOptions::default(), Durability::ProcessCrash).expect("open");
    rows.push(("durable (process crash), 1 thread".into(), ops_per_sec(1, secs, setter(&durable, &keys))));
    rows.push(("durable (process crash), 2 threads".into(), ops_per_sec(2, secs, setter(&durable, &keys))));
    drop(durable);
    let path = dir.join("power.db");
    let durable = Store::open(&path, StoreOptions::default(), Durability::PowerLoss).expect("open");
    rows.push(("durable (power loss), 1 thread".into(), ops_per_sec(1, secs, setter(&durable, &keys))));
    rows.push(("durable (power loss), 2 threads".into(), ops_per_sec(2, secs, setter(&durable, &keys))));
    drop(durable);

    // Baselines: the same upsert through rusqlite, one transaction per write, in WAL mode with
    // the synchronous level of each durability.
    let raw_loop = |file: &str, sync: &str| {
        let conn = rusqlite::Connection::open(dir.join(file)).expect("open raw");
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
             CREATE TABLE kv (key TEXT PRIMARY KEY, ival INTEGER, version INTEGER) WITHOUT ROWID;"
        ))
        .expect("raw schema");
        let level: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("pragma");
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("pragma");
        println!("raw loop {file}: journal_mode={mode} synchronous={level}");
        let conn = parking_lot::Mutex::new(conn);
        ops_per_sec(1, secs, |t, i| {
            let mut c = conn.lock();
            let tx = c.transaction().expect("tx");
            let k = &keys[t][i as usize & (KEYS_PER_THREAD - 1)];
            tx.prepare_cached(
                "INSERT INTO kv VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET ival = ?2, version = ?3",
            )
            .expect("prepare")
            .execute(rusqlite::params![k, i as i64, i as i64])
            .expect("upsert");
            tx.commit().expect("commit");
            i as i64
        })
    };
    let raw = raw_loop("raw.db", "NORMAL");
    let raw_full = raw_loop("raw_full.db", "FULL");
    rows.push(("raw rusqlite upsert + commit, NORMAL (baseline)".into(), raw));
    rows.push(("raw rusqlite upsert + commit, FULL".into(), raw_full));
    let power: Vec<f64> = rows.iter().filter(|r| r.0.contains("power loss")).map(|r| r.1).collect();
    println!(
        "\ndurable (power loss) / raw FULL loop: {:.2}x (1 thread), {:.2}x (2 threads)",
        power[0] / raw_full,
        power[1] / raw_full
    );

    println!("\nstore modes, set_int through the Rust API (ops/s, and as a multiple of the raw NORMAL loop's ops/s):");
    for (name, ops) in &rows {
        println!("  {name:<52} {ops:>12.0} ops/s   {:>6.2}x the raw rusqlite loop", ops / raw);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
