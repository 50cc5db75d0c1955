//! Crash test of the durable store and queue: a child process writes in a loop, printing each
//! change only after netrig acknowledged it, and is killed with SIGKILL at a random moment, 20
//! times over the same files. After each kill the parent reopens the files and checks that every
//! acknowledged change is there, that batches are whole, that claimed-but-uncompleted items are
//! pending again, and that nothing is duplicated.
//!
//! `harness = false`: the same binary is the parent (no arguments) and the child (`--child DIR
//! SEED BASE`), so the child is exactly the code under test, with no extra test target.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netrig::journal::Durability;
use netrig::queue::{Claim, ItemStatus, Queue, QueueOptions};
use netrig::store::{Batch, Store, StoreOptions, Ttl, Value};

#[path = "support/harness.rs"]
mod harness;

const ROUNDS: usize = 20;
const KEYS: u64 = 50;

/// A small deterministic generator (xorshift), so a failing round can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn store_path(dir: &Path) -> PathBuf {
    dir.join("store.db")
}

fn open_queue(dir: &Path) -> Queue {
    // Attempts are not what this test is about: crashes must never fail an item here.
    let opts = QueueOptions { max_attempts: 1_000_000, ..QueueOptions::default() };
    Queue::open(&dir.join("queue.db"), "work", opts, Durability::ProcessCrash).expect("open queue")
}

/// The child: writes until killed. Each line on stdout is one acknowledged change.
fn child(dir: &Path, seed: u64, base: i64) {
    let store = Store::open(store_path(dir), StoreOptions::default(), Durability::ProcessCrash).expect("open store");
    let queue = open_queue(dir);
    let mut held: Vec<Claim> = Vec::new();
    let mut rng = Rng(seed | 1);
    let mut out = std::io::stdout().lock();
    // Values only grow across rounds, and every round's are its own: a write committed just
    // before the kill may be ahead of the counter in the file, so the parent gives each round a
    // base above anything earlier rounds can have reached (payloads must be unique to tell a
    // duplicated item from a re-used number).
    let mut n = store.get_int("counter").map_or(0, |v| v.value).max(base);
    loop {
        n += 1;
        match rng.below(6) {
            3 => {
                let id = queue.push(format!("p{n}").as_bytes(), (n % 3) as i32).expect("push");
                writeln!(out, "push {id} p{n}").unwrap();
            }
            4 => match queue.claim(Some(Duration::ZERO)) {
                Ok(c) => {
                    writeln!(out, "claim {} {n}", c.id).unwrap();
                    held.push(c);
                }
                Err(netrig::Error::Timeout(_)) => {}
                Err(e) => panic!("claim: {e}"),
            },
            5 => {
                if let Some(c) = held.pop() {
                    if rng.below(4) == 0 {
                        queue.fail(c.id, c.token, true, "retry").expect("fail");
                        writeln!(out, "retry {} {n}", c.id).unwrap();
                    } else {
                        queue.complete(c.id, c.token).expect("complete");
                        writeln!(out, "done {} {n}", c.id).unwrap();
                    }
                }
            }
            0 => {
                let key = format!("k/{}", rng.below(KEYS));
                store.set(&key, Value::Int(n), Ttl::Never).expect("set");
                writeln!(out, "set {key} {n}").unwrap();
            }
            1 => {
                let mut b = Batch::new();
                b.set("b/left", Value::Int(n), Ttl::Never).set("b/right", Value::Int(n), Ttl::Never);
                store.apply(&b).expect("batch");
                writeln!(out, "batch {n}").unwrap();
            }
            _ => {
                let key = format!("k/{}", rng.below(KEYS));
                match store.delete(&key) {
                    Ok(()) => writeln!(out, "del {key} {n}").unwrap(),
                    Err(netrig::Error::NotFound(_)) => {}
                    Err(e) => panic!("delete: {e}"),
                }
            }
        }
        store.set("counter", Value::Int(n), Ttl::Never).expect("counter");
        out.flush().unwrap();
    }
}

/// What the parent knows was acknowledged.
#[derive(Default)]
struct Model {
    /// Per key: the last acknowledged value (None = last acknowledged change was a delete).
    keys: BTreeMap<String, Option<i64>>,
    batch: i64,
    /// Queue items pushed and not known completed: id -> payload.
    items: BTreeMap<u64, String>,
    /// Items claimed (and not settled) in this round: pending again after the kill.
    claimed: BTreeSet<u64>,
    completed: u64,
}

impl Model {
    fn apply(&mut self, line: &str) {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["set", key, n] => drop(self.keys.insert(key.to_string(), Some(n.parse().unwrap()))),
            ["del", key, _] => drop(self.keys.insert(key.to_string(), None)),
            ["batch", n] => self.batch = n.parse().unwrap(),
            ["push", id, payload] => drop(self.items.insert(id.parse().unwrap(), payload.to_string())),
            ["claim", id, _] => drop(self.claimed.insert(id.parse().unwrap())),
            ["retry", id, _] => drop(self.claimed.remove(&id.parse().unwrap())),
            ["done", id, _] => {
                let id: u64 = id.parse().unwrap();
                assert!(self.items.remove(&id).is_some(), "completed item {id} was never pushed");
                self.claimed.remove(&id);
                self.completed += 1;
            }
            _ => panic!("unexpected line from the child: {line:?}"),
        }
    }

    /// Checks the reopened store against the acknowledged changes, then adopts the file's state.
    /// Exactly one operation per round was in flight at the kill (never acknowledged): it may or
    /// may not be in the file, so at most one key may differ from the model, and only as that
    /// operation would have made it (a value above every acknowledged one, or a delete).
    /// The reopened queue: every acknowledged push is there once (completed ones are gone),
    /// nothing is processing, items claimed at the kill are pending again, and the completed
    /// count matches. The in-flight operation may have pushed or completed one more item.
    fn check_queue(&mut self, queue: &Queue, round: usize, last_acked: i64, in_flight: &mut Vec<String>) {
        let snap = queue.snapshot();
        let mut payloads = BTreeSet::new();
        let mut held = BTreeMap::new();
        for it in &snap.items {
            let payload = String::from_utf8(it.payload.to_vec()).unwrap();
            assert!(payloads.insert(payload.clone()), "round {round}: payload {payload} held twice");
            assert_ne!(
                it.status,
                ItemStatus::Processing,
                "round {round}: item {} still processing after reopen",
                it.id
            );
            held.insert(it.id, (payload, it.status));
        }
        for id in std::mem::take(&mut self.claimed) {
            if let Some((_, status)) = held.get(&id) {
                assert_eq!(*status, ItemStatus::Pending, "round {round}: claimed item {id} is not pending again");
            }
        }
        let model_ids: Vec<u64> = self.items.keys().copied().collect();
        for id in model_ids {
            match held.get(&id) {
                Some((payload, _)) => assert_eq!(payload, &self.items[&id], "round {round}: item {id} changed"),
                None => {
                    // Only the in-flight operation, a complete, can have removed it.
                    in_flight.push(format!("item {id} completed"));
                    self.items.remove(&id);
                    self.completed += 1;
                }
            }
        }
        for (id, (payload, _)) in &held {
            if !self.items.contains_key(id) {
                let n: i64 = payload[1..].parse().unwrap();
                assert!(n > last_acked, "round {round}: item {id} ({payload}) was completed yet is back");
                in_flight.push(format!("item {id} pushed"));
                self.items.insert(*id, payload.clone());
            }
        }
        assert_eq!(snap.counts.completed, self.completed, "round {round}: completed count");
    }

    fn check(&mut self, store: &Store, queue: &Queue, round: usize, last_acked: i64) {
        let mut in_flight = Vec::new();
        for (key, want) in self.keys.iter_mut() {
            let got = store.get_int(key).ok().map(|v| v.value);
            if got == *want {
                continue;
            }
            let unacked = match got {
                Some(g) => g > last_acked,
                None => true,
            };
            assert!(unacked, "round {round}: key {key} acknowledged as {want:?}, the file has {got:?}");
            in_flight.push(format!("{key}: {want:?} -> {got:?}"));
            *want = got;
        }
        let left = store.get_int("b/left").map_or(0, |v| v.value);
        let right = store.get_int("b/right").map_or(0, |v| v.value);
        assert_eq!(left, right, "round {round}: a batch was torn on disk");
        if left != self.batch {
            assert!(left > last_acked, "round {round}: acknowledged batch {} lost (the file has {left})", self.batch);
            in_flight.push(format!("batch {} -> {left}", self.batch));
            self.batch = left;
        }
        self.check_queue(queue, round, last_acked, &mut in_flight);
        assert!(in_flight.len() <= 1, "round {round}: more than the one in-flight change differs: {in_flight:?}");
        // Keys written by the in-flight set that the model never saw.
        for e in store.snapshot("k/").entries() {
            if !self.keys.contains_key(&*e.key) {
                let Value::Int(v) = e.value else { panic!("{e:?}") };
                assert!(v > last_acked && in_flight.is_empty(), "round {round}: unknown key {} = {v}", e.key);
                self.keys.insert(e.key.to_string(), Some(v));
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let [_, _, dir, seed, base] = &args[..] else {
            eprintln!("durable_kill: usage: durable_kill --child DIR SEED BASE");
            std::process::exit(2)
        };
        child(Path::new(dir), seed.parse().unwrap(), base.parse().unwrap());
        return;
    }
    // `cargo test` passes libtest's flags and filters; anything else is an error.
    if harness::mode("durable_kill", &args[1..]) != harness::Mode::Run {
        return;
    }
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("netrig-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seed0 = std::env::var("NETRIG_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64);
    println!("durable_kill: seed {seed0} (NETRIG_KILL_SEED={seed0} replays the kill points)");
    let mut rng = Rng(seed0 | 1);
    let mut model = Model::default();
    let mut total_acks = 0usize;
    for round in 0..ROUNDS {
        let mut child = Command::new(&args[0])
            .args(["--child", dir.to_str().unwrap(), &rng.next().to_string(), &((round as i64 + 1) << 32).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait for the child's first acknowledgement, then kill it at a random moment.
        let first = lines.next().expect("child wrote nothing").unwrap();
        model.apply(&first);
        let reader = std::thread::spawn(move || lines.map(|l| l.unwrap()).collect::<Vec<String>>());
        std::thread::sleep(Duration::from_micros(1_000 + rng.below(150_000)));
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: the child was not killed ({status})");
        let acks = reader.join().unwrap();
        // Lines are written whole (one write of less than PIPE_BUF each), so every line read
        // was acknowledged before the kill.
        for line in &acks {
            model.apply(line);
        }
        let last_acked = std::iter::once(&first)
            .chain(&acks)
            .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        total_acks += acks.len() + 1;
        let store = Store::open(store_path(&dir), StoreOptions::default(), Durability::ProcessCrash)
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let queue = open_queue(&dir);
        model.check(&store, &queue, round, last_acked);
        drop(store);
        drop(queue);
    }
    println!(
        "durable_kill: {ROUNDS} SIGKILLs, {total_acks} acknowledged changes checked, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
