//! `kill -9` of a process in the middle of its work on a durable queue: every operation it saw
//! return Ok is in the file afterwards.
//!
//! `harness = false`: the same binary is the parent (libtest's arguments, as `cargo test` passes
//! them) and the child (`--child FILE`), so the child is not a test that passes when run alone.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netrig::queue::{ItemStatus, QueueOptions};

#[path = "support/harness.rs"]
mod harness;
#[path = "support/queue_files.rs"]
mod queue_files;

const NAME: &str = "acknowledged_work_survives_kill_9";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, path] = &args[..] else {
            eprintln!("queue_kill: usage: queue_kill --child FILE");
            std::process::exit(2)
        };
        child(Path::new(path));
    }
    if harness::mode(NAME, &args) != harness::Mode::Run {
        return;
    }
    let started = Instant::now();
    acknowledged_work_survives_kill_9();
    println!("test {NAME} ... ok ({:.1} s)", started.elapsed().as_secs_f64());
}

use queue_files::{open, TempDir};

/// The child: works on the queue until it is killed, printing each operation after it
/// returned Ok.
fn child(path: &Path) -> ! {
    let q = open(path, "crash", QueueOptions { max_attempts: 5, ..Default::default() });
    for i in 0u64.. {
        let id = q.push(format!("item {i}").as_bytes(), 0).unwrap();
        println!("queue-child pushed {id}");
        if i % 3 == 0 {
            let c = q.claim(Some(Duration::ZERO)).unwrap();
            println!("queue-child claimed {} {}", c.id, c.attempt);
            if i % 2 == 0 {
                q.complete(c.id, c.token).unwrap();
                println!("queue-child completed {}", c.id);
            }
        }
    }
    unreachable!("the loop ends only with the kill")
}

/// A process pushes, claims and completes in a loop and is killed with SIGKILL: every
/// operation it saw return Ok is in the file, claimed items are pending again with their
/// attempt counted, nothing is duplicated, and ids continue.
fn acknowledged_work_survives_kill_9() {
    let dir = TempDir::new("kill9");
    let mut completed_before = 0;
    for round in 0..2 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--child")
            .arg(dir.file())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut pushed = HashSet::new();
        let mut claimed: HashMap<u64, u32> = HashMap::new();
        let mut completed = HashSet::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut acknowledged = 0;
        let mut killed = false;
        loop {
            let mut line = Vec::new();
            out.read_until(b'\n', &mut line).unwrap();
            // A line without its newline was cut by the kill; the pipe ends after it.
            if line.last() != Some(&b'\n') {
                break;
            }
            let line = String::from_utf8(line).unwrap();
            let Some(rest) = line.trim_end().strip_prefix("queue-child ") else { continue };
            acknowledged += 1;
            let words: Vec<&str> = rest.split(' ').collect();
            let id: u64 = words[1].parse().unwrap();
            match words[0] {
                "pushed" => assert!(pushed.insert(id), "id {id} pushed twice"),
                "claimed" => {
                    claimed.insert(id, words[2].parse().unwrap());
                }
                "completed" => assert!(completed.insert(id)),
                other => panic!("unexpected child line {other}"),
            }
            if acknowledged == 600 {
                // SIGKILL mid-work; the lines it wrote before dying are read on.
                child.kill().unwrap();
                killed = true;
            }
        }
        child.wait().unwrap();
        assert!(killed, "the child ended before it was killed");
        let q = open(&dir.file(), "crash", QueueOptions { max_attempts: 5, ..Default::default() });
        let s = q.snapshot();
        let held: HashMap<u64, _> = s.items.iter().map(|i| (i.id, i)).collect();
        assert_eq!(held.len(), s.items.len(), "an item is in the file twice");
        for id in &completed {
            assert!(!held.contains_key(id), "round {round}: completed item {id} came back");
        }
        for id in pushed.difference(&completed) {
            let item = held.get(id).unwrap_or_else(|| panic!("round {round}: acknowledged item {id} lost"));
            assert_eq!(item.status, ItemStatus::Pending);
            if let Some(&attempt) = claimed.get(id) {
                assert!(item.attempts >= attempt, "round {round}: item {id} lost its attempt");
            }
        }
        // At most the one operation in flight at the kill went further than acknowledged.
        let unacknowledged: Vec<u64> = held.keys().filter(|id| !pushed.contains(id)).copied().collect();
        assert!(unacknowledged.len() <= 1, "{unacknowledged:?}");
        let c = s.counts.completed - completed_before;
        let acked = completed.len() as u64;
        assert!(c == acked || c == acked + 1, "round {round}: {c} completions in the file, {acked} acknowledged");
        let highest = held.keys().chain(pushed.iter()).max().copied().unwrap();
        assert!(q.push(b"after", 0).unwrap() > highest);
        // Clean slate for the next round, through the queue itself.
        while let Ok(c) = q.claim(Some(Duration::ZERO)) {
            q.complete(c.id, c.token).unwrap();
        }
        completed_before = q.counts().completed;
    }
}
