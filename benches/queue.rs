//! Work queue throughput: one item's life (push, claim, complete) in a loop, with 1 thread and
//! with 2 producer plus 2 consumer threads, for the in-memory queue, the durable queue under
//! both durabilities, and a baseline measured in the same run: a plain `Mutex<VecDeque>` plus
//! `Condvar` (push = lock, push_back, notify; claim = lock, wait while empty, pop_front;
//! complete = lock, count), which has no priorities, leases, attempts or bounds.
//!
//! Run: `cargo bench --bench queue`. `NETRIG_BENCH_SCALE` (default 1) multiplies the time spent
//! per measurement; the default run takes about 20 s. It ends with the time
//! a snapshot of 100000 items holds the queue's lock. Durable files go to the system temp dir
//! (`TMPDIR`), so the power-loss numbers are those of that disk's fsync. This is a report, not
//! a test: it never fails on timings.

use std::collections::VecDeque;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use netrig::journal::Durability;
use netrig::queue::{Queue, QueueOptions};
use netrig::Error;
use parking_lot::{Condvar, Mutex};

const PAYLOAD: [u8; 64] = [b'x'; 64];
const RUNS: usize = 3;

/// The same three operations on every target.
trait Target: Send + Sync {
    fn push(&self, payload: &[u8]) -> u64;
    /// Claims with a short timeout; None when nothing came.
    fn claim(&self) -> Option<(u64, u64)>;
    fn complete(&self, id: u64, token: u64);
}

impl Target for Queue {
    fn push(&self, payload: &[u8]) -> u64 {
        Queue::push(self, payload, 0).unwrap()
    }

    fn claim(&self) -> Option<(u64, u64)> {
        match Queue::claim(self, Some(Duration::from_millis(20))) {
            Ok(c) => Some((c.id, c.token)),
            Err(Error::Timeout(_)) => None,
            Err(e) => panic!("claim: {e}"),
        }
    }

    fn complete(&self, id: u64, token: u64) {
        Queue::complete(self, id, token).unwrap()
    }
}

#[derive(Default)]
struct BaselineState {
    items: VecDeque<(u64, Arc<[u8]>)>,
    next_id: u64,
    completed: u64,
}

#[derive(Default)]
struct Baseline {
    state: Mutex<BaselineState>,
    ready: Condvar,
}

impl Target for Baseline {
    fn push(&self, payload: &[u8]) -> u64 {
        let payload: Arc<[u8]> = Arc::from(payload);
        let mut st = self.state.lock();
        st.next_id += 1;
        let id = st.next_id;
        st.items.push_back((id, payload));
        drop(st);
        self.ready.notify_one();
        id
    }

    fn claim(&self) -> Option<(u64, u64)> {
        let mut st = self.state.lock();
        let deadline = Instant::now() + Duration::from_millis(20);
        loop {
            if let Some((id, payload)) = st.items.pop_front() {
                black_box(payload);
                return Some((id, 0));
            }
            if self.ready.wait_until(&mut st, deadline).timed_out() && st.items.is_empty() {
                return None;
            }
        }
    }

    fn complete(&self, id: u64, _token: u64) {
        self.state.lock().completed += 1;
        black_box(id);
    }
}

/// Items per second for `items` items through `target` with `producers` and `consumers`
/// threads (0 and 0: one thread does push, claim, complete in turn).
fn run_once(target: &dyn Target, items: u64, producers: u64, consumers: u64) -> f64 {
    if producers == 0 {
        let start = Instant::now();
        for _ in 0..items {
            target.push(&PAYLOAD);
            let (id, token) = target.claim().expect("just pushed");
            target.complete(id, token);
        }
        return items as f64 / start.elapsed().as_secs_f64();
    }
    let done = AtomicU64::new(0);
    let barrier = Barrier::new((producers + consumers) as usize + 1);
    let per_producer = items / producers;
    let total = per_producer * producers;
    thread::scope(|s| {
        for _ in 0..producers {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..per_producer {
                    target.push(&PAYLOAD);
                }
            });
        }
        for _ in 0..consumers {
            s.spawn(|| {
                barrier.wait();
                while done.load(Ordering::Relaxed) < total {
                    if let Some((id, token)) = target.claim() {
                        target.complete(id, token);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        while done.load(Ordering::Relaxed) < total {
            thread::sleep(Duration::from_micros(200));
        }
        total as f64 / start.elapsed().as_secs_f64()
    })
}

/// Calibrates the item count to the run time, then reports the median of `RUNS` runs.
fn measure(make: &dyn Fn() -> Box<dyn Target>, producers: u64, consumers: u64, scale: f64) -> f64 {
    let probe = {
        let t = make();
        run_once(&*t, 200, producers, consumers)
    };
    let items = ((0.4 * scale * probe) as u64).clamp(200, 2_000_000);
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = make();
            run_once(&*t, items, producers, consumers)
        })
        .collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates[RUNS / 2]
}

/// Makes a fresh, empty target for each run.
type MakeTarget = Box<dyn Fn() -> Box<dyn Target>>;

fn temp_file() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("netrig-bench-queue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("q{}.db", N.fetch_add(1, Ordering::Relaxed)))
}

fn main() {
    let scale: f64 = std::env::var("NETRIG_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let opts = QueueOptions { max_items: 10_000_000, ..Default::default() };
    let durable = |d: Durability| {
        let opts = opts.clone();
        move || -> Box<dyn Target> { Box::new(Queue::open(&temp_file(), "bench", opts.clone(), d).unwrap()) }
    };
    let memory_opts = opts.clone();
    let targets: Vec<(&str, MakeTarget)> = vec![
        ("baseline Mutex<VecDeque>+Condvar", Box::new(|| Box::new(Baseline::default()))),
        ("netrig in memory", Box::new(move || Box::new(Queue::new(memory_opts.clone()).unwrap()))),
        ("netrig durable, process crash", Box::new(durable(Durability::ProcessCrash))),
        ("netrig durable, power loss", Box::new(durable(Durability::PowerLoss))),
    ];
    println!("queue: push + claim + complete of a 64-byte item (3 operations per item), median of {RUNS} runs");
    for (label, producers, consumers) in [("1 thread", 0, 0), ("2 producers + 2 consumers", 2, 2)] {
        println!("\n{label}:");
        let mut baseline = 0.0;
        for (i, (name, make)) in targets.iter().enumerate() {
            let items = measure(&**make, producers, consumers, scale);
            if i == 0 {
                baseline = items;
            }
            println!(
                "  {name:<34} {:>10.0} items/s {:>10.0} ops/s   baseline / this = {:>7.1}",
                items,
                3.0 * items,
                baseline / items
            );
        }
    }
    // How long a snapshot holds the queue's lock: `snapshot` copies the item list under it;
    // the JSON is rendered afterwards, without it.
    let q = Queue::new(opts.clone()).unwrap();
    const HELD: usize = 100_000;
    for i in 0..HELD {
        q.push(&PAYLOAD, (i % 7) as i32).unwrap();
    }
    let mut copies: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(q.snapshot());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    copies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let snap = q.snapshot();
    let start = Instant::now();
    let json = black_box(snap.to_json());
    println!(
        "
snapshot of {HELD} items of 64 bytes: {:.1} ms under the lock, then {:.1} ms to render {} MB of JSON",
        copies[RUNS / 2],
        start.elapsed().as_secs_f64() * 1e3,
        json.len() >> 20
    );
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("netrig-bench-queue-{}", std::process::id())));
}
