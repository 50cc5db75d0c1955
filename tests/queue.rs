//! The work queue from Rust: order, bounds, blocking claims, leases, retries, suspend/resume,
//! counts and snapshots, the many-producers-many-consumers invariant (in memory and durable),
//! and durability: reopen, and `kill -9` of a process in the middle of its work.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use netrig::queue::{Claim, Counts, ItemStatus, Queue, QueueOptions};
use netrig::Error;

#[cfg(feature = "durable")]
#[path = "support/queue_files.rs"]
mod queue_files;

/// Room for a loaded machine (two cores, two CPU hogs) where only the order of events
/// matters, not their exact time: a prompt wake-up against a 10 s or endless wait.
const MARGIN: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn queue(opts: QueueOptions) -> Queue {
    Queue::new(opts).unwrap()
}

fn now_claim(q: &Queue) -> Claim {
    q.claim(Some(Duration::ZERO)).unwrap()
}

fn counts(pending: usize, processing: usize, suspended: usize, failed: usize, completed: u64) -> Counts {
    Counts { pending, processing, suspended, failed, completed }
}

#[track_caller]
fn lease_error(r: Result<impl std::fmt::Debug, Error>, needle: &str) -> String {
    match r {
        Err(Error::Lease(m)) => {
            assert!(m.contains(needle), "lease error {m:?} lacks {needle:?}");
            m
        }
        other => panic!("expected Error::Lease containing {needle:?}, got {other:?}"),
    }
}

/// A small xorshift generator: reproducible per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn higher_priority_first_then_push_order() {
    let q = queue(QueueOptions::default());
    let pushes = [(b"a", 0), (b"b", 5), (b"c", 0), (b"d", -3), (b"e", 5), (b"f", i32::MAX), (b"g", i32::MIN)];
    let ids: Vec<u64> = pushes.iter().map(|(p, prio)| q.push(&p[..], *prio).unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "ids increase: {ids:?}");
    let order: Vec<u8> = (0..pushes.len()).map(|_| now_claim(&q).payload[0]).collect();
    assert_eq!(order, b"fbeacdg");
    // An item that goes back to pending keeps its place: before newer items of its priority.
    let q = queue(QueueOptions::default());
    let first = q.push(b"1", 0).unwrap();
    q.push(b"2", 0).unwrap();
    let c = now_claim(&q);
    assert_eq!(c.id, first);
    assert_eq!(q.fail(c.id, c.token, true, "again").unwrap(), ItemStatus::Pending);
    let again = now_claim(&q);
    assert_eq!((again.id, again.attempt, &*again.payload), (first, 2, &b"1"[..]));
}

#[test]
fn a_full_queue_says_what_it_holds_and_changes_nothing() {
    let q = queue(QueueOptions { max_items: 4, max_attempts: 1, max_payload: 8, ..Default::default() });
    for i in 0..4 {
        q.push(&[i], 0).unwrap();
    }
    let e = q.push(b"x", 0).unwrap_err();
    assert_eq!(e.status(), netrig::netrig_status::NETRIG_E_FULL);
    assert_eq!(
        e.to_string(),
        "queue 'memory' full: 4 of 4 items (4 pending, 0 processing, 0 suspended, 0 failed); \
         workers must complete items first"
    );
    let c = now_claim(&q);
    q.fail(c.id, c.token, true, "boom").unwrap();
    let c = now_claim(&q);
    q.suspend(c.id).unwrap();
    let e = q.push(b"x", 0).unwrap_err().to_string();
    assert!(
        e.contains("4 of 4 items (2 pending, 0 processing, 1 suspended, 1 failed); retry_failed() or purge_failed()"),
        "{e}"
    );
    assert_eq!(q.counts(), counts(2, 0, 1, 1, 0));
    assert_eq!(q.purge_failed().unwrap(), 1);
    q.push(b"fits", 0).unwrap();
    // Completing makes room too; completed items are not held.
    let c = now_claim(&q);
    q.complete(c.id, c.token).unwrap();
    q.push(b"y", 0).unwrap();
    // Payload bound.
    let e = q.push(&[0; 9], 0).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("9 bytes is over max_payload 8")), "{e}");
    assert!(matches!(q.push(&[0; 8], 0), Err(Error::Full(_))), "full again, not too big");
    assert_eq!(q.counts(), counts(3, 0, 1, 0, 1));
}

/// `claim(Some(t))` returns `Timeout` no earlier than `t` and, on the best of three tries
/// (a loaded machine can delay any single wake-up), within 10 % after it.
#[test]
fn claim_timeout_is_accurate() {
    let q = queue(QueueOptions::default());
    let wanted = ms(300);
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let e = q.claim(Some(wanted)).unwrap_err();
        let took = start.elapsed();
        assert!(took >= wanted, "returned after {took:?}, before the {wanted:?} timeout");
        assert!(matches!(&e, Error::Timeout(m) if m.contains("queue 'memory': no item to claim")), "{e}");
        best = best.min(took);
    }
    assert!(best <= wanted + wanted / 10, "best of 3 timeouts took {best:?} for {wanted:?}");
    // Zero only looks.
    let start = Instant::now();
    let e = q.claim(Some(Duration::ZERO)).unwrap_err();
    assert!(start.elapsed() < MARGIN, "{:?}", start.elapsed());
    assert!(matches!(&e, Error::Timeout(m) if m.contains("none pending")), "{e}");
}

#[test]
fn a_blocked_claim_wakes_promptly_on_a_push_from_another_thread() {
    let q = Arc::new(queue(QueueOptions::default()));
    for _ in 0..3 {
        let (started, claiming) = std::sync::mpsc::channel();
        let claimer = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                started.send(()).unwrap();
                let c = q.claim(None).unwrap();
                (c, Instant::now())
            })
        };
        // Told right before the claim; the short wait lets it block (if it has not, it finds
        // the item at once: the latency check below holds either way).
        claiming.recv().unwrap();
        thread::sleep(ms(100));
        let pushed_at = Instant::now();
        let id = q.push(b"wake up", 0).unwrap();
        let (c, got_at) = claimer.join().unwrap();
        assert_eq!(c.id, id);
        let latency = got_at.duration_since(pushed_at);
        assert!(latency < MARGIN, "the claim returned {latency:?} after the push");
        q.complete(c.id, c.token).unwrap();
    }
}

/// A claimer blocked with nothing pending gets the item of an expired lease at its deadline,
/// with the next attempt; the first claimer's settle is refused.
#[test]
fn an_expired_lease_goes_to_a_blocked_claimer_at_the_deadline() {
    let q = Arc::new(queue(QueueOptions::default()));
    let id = q.push(b"job", 7).unwrap();
    let first = q.claim_with_lease(Some(Duration::ZERO), ms(300)).unwrap();
    assert_eq!((first.id, first.attempt, first.priority), (id, 1, 7));
    let second = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            let c = q.claim(Some(Duration::from_secs(10))).unwrap();
            (c, Instant::now())
        })
    };
    let (c, got_at) = second.join().unwrap();
    assert_eq!((c.id, c.attempt), (id, 2));
    assert_ne!(c.token, first.token);
    assert!(got_at >= first.lease_deadline, "reclaimed before the deadline");
    let late = got_at.duration_since(first.lease_deadline);
    assert!(late < MARGIN, "reclaimed {late:?} after the deadline (its own timeout is 10 s)");
    let m = lease_error(q.complete(first.id, first.token), "lease of claim 1 expired");
    assert!(m.contains("processing again under claim 2"), "{m}");
    lease_error(q.extend(first.id, first.token, ms(1000)), "expired");
    lease_error(q.fail(first.id, first.token, true, "late"), "expired");
    q.complete(c.id, c.token).unwrap();
    assert_eq!(q.counts(), counts(0, 0, 0, 0, 1));
}

/// A claimer that went to sleep for a 30 s lease still takes the item back on time when that
/// lease is shortened to 150 ms while it sleeps.
#[test]
fn a_lease_shortened_while_claimers_wait_is_reclaimed_on_time() {
    let q = Arc::new(queue(QueueOptions::default()));
    let id = q.push(b"job", 0).unwrap();
    let first = q.claim_with_lease(Some(Duration::ZERO), Duration::from_secs(30)).unwrap();
    // Each waiter's own timeout (10 s) is far past the shortened lease, so only the shortening
    // can wake one on time.
    let (done, results) = std::sync::mpsc::channel();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (q, done) = (Arc::clone(&q), done.clone());
            thread::spawn(move || {
                done.send(q.claim(Some(Duration::from_secs(10))).map(|c| (c, Instant::now()))).unwrap()
            })
        })
        .collect();
    thread::sleep(ms(100));
    let deadline = q.extend(first.id, first.token, ms(150)).unwrap();
    let (c, at) = results.recv().unwrap().expect("the first waiter to return got the item");
    assert_eq!((c.id, c.attempt), (id, 2));
    assert!(
        at >= deadline && at.duration_since(deadline) < MARGIN,
        "{:?} after the deadline",
        at.duration_since(deadline)
    );
    // The other waiter is still waiting; a second item releases it.
    let other = q.push(b"for the other waiter", 0).unwrap();
    let (c2, _) = results.recv().unwrap().expect("the other waiter gets the second item");
    assert_eq!(c2.id, other);
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn a_stale_or_foreign_token_gets_lease_and_changes_nothing() {
    let q = queue(QueueOptions::default());
    let other = queue(QueueOptions::default());
    let id = q.push(b"x", 0).unwrap();
    other.push(b"y", 0).unwrap();
    let c = now_claim(&q);
    let foreign = now_claim(&other);
    assert_eq!(foreign.id, c.id, "both queues start at id 1");
    lease_error(q.complete(c.id, c.token + 1), "this token holds no lease on it");
    lease_error(q.complete(foreign.id, foreign.token), "this token holds no lease on it");
    lease_error(q.fail(c.id, 0, false, "x"), "holds no lease");
    lease_error(q.extend(c.id, 12345, ms(10)), "holds no lease");
    assert_eq!(q.counts(), counts(0, 1, 0, 0, 0));
    q.complete(c.id, c.token).unwrap();
    let m = lease_error(q.complete(c.id, c.token), "no longer in the queue");
    assert!(m.contains(&format!("item {id}")), "{m}");
    assert_eq!(q.counts(), counts(0, 0, 0, 0, 1));
    // Ids never pushed are NotFound, not Lease.
    assert!(matches!(q.complete(99, 1), Err(Error::Absent(_))));
    assert!(matches!(q.complete(0, 1), Err(Error::Absent(_))));
    assert!(matches!(q.suspend(99), Err(Error::Absent(_))));
}

/// A lease is checked against its deadline even when no other call has taken the item back yet.
#[test]
fn an_expired_lease_is_refused_before_anyone_reclaims_it() {
    let q = queue(QueueOptions::default());
    q.push(b"x", 0).unwrap();
    let c = q.claim_with_lease(Some(Duration::ZERO), ms(30)).unwrap();
    // The condition is the clock itself: wait past the deadline.
    thread::sleep(c.lease_deadline.saturating_duration_since(Instant::now()) + ms(5));
    let m = lease_error(q.complete(c.id, c.token), "lease of claim 1 expired");
    assert!(m.contains("the item is pending again"), "{m}");
    assert_eq!(q.counts(), counts(1, 0, 0, 0, 0));
    let info = &q.snapshot().items[0];
    assert_eq!(info.attempts, 1);
    assert!(info.last_error.as_deref().unwrap().contains("lease of attempt 1 of 3 expired"), "{info:?}");
}

#[test]
fn extend_keeps_the_lease_alive() {
    let q = queue(QueueOptions::default());
    q.push(b"long job", 0).unwrap();
    // Renewed every 200 ms for 600 ms leases: a renewal may come 400 ms late (a loaded
    // machine) and still be in time.
    let c = q.claim_with_lease(Some(Duration::ZERO), ms(600)).unwrap();
    let mut deadline = c.lease_deadline;
    for _ in 0..4 {
        thread::sleep(ms(200));
        let renewed = q.extend(c.id, c.token, ms(600)).unwrap();
        assert!(renewed > deadline);
        deadline = renewed;
    }
    // 800 ms after the claim, past the first 600 ms lease, it still holds.
    assert!(c.lease_deadline < Instant::now());
    assert!(matches!(q.claim(Some(Duration::ZERO)), Err(Error::Timeout(_))));
    assert!(matches!(q.extend(c.id, c.token, Duration::ZERO), Err(Error::InvalidArg(m)) if m.contains("lease is 0")));
    q.complete(c.id, c.token).unwrap();
}

#[test]
fn fail_retries_until_max_attempts_then_fails() {
    let q = queue(QueueOptions { max_attempts: 3, ..Default::default() });
    let id = q.push(b"flaky", 0).unwrap();
    for attempt in 1..=3 {
        let c = now_claim(&q);
        assert_eq!((c.id, c.attempt), (id, attempt));
        let want = if attempt < 3 { ItemStatus::Pending } else { ItemStatus::Failed };
        assert_eq!(q.fail(c.id, c.token, true, &format!("error {attempt}")).unwrap(), want);
        lease_error(q.complete(c.id, c.token), &format!("claim {attempt} already ended with fail()"));
    }
    assert_eq!(q.counts(), counts(0, 0, 0, 1, 0));
    let s = q.snapshot();
    assert_eq!(s.items[0].status, ItemStatus::Failed);
    assert_eq!(s.items[0].attempts, 3);
    assert_eq!(s.items[0].last_error.as_deref(), Some("error 3"));
    // Without retry, the first failure is final.
    let id2 = q.push(b"bad input", 0).unwrap();
    let c = now_claim(&q);
    assert_eq!(q.fail(c.id, c.token, false, &"e".repeat(10_000)).unwrap(), ItemStatus::Failed);
    let s = q.snapshot();
    let info = s.items.iter().find(|i| i.id == id2).unwrap();
    assert_eq!(info.attempts, 1);
    assert_eq!(info.last_error.as_ref().unwrap().len(), netrig::queue::MAX_ERROR_LEN, "long errors are cut");
    // An expired lease on the last attempt fails the item too.
    let q = queue(QueueOptions { max_attempts: 1, ..Default::default() });
    q.push(b"hangs", 0).unwrap();
    q.claim_with_lease(Some(Duration::ZERO), ms(20)).unwrap();
    let e = q.claim(Some(ms(300))).unwrap_err();
    assert!(matches!(e, Error::Timeout(_)));
    assert_eq!(q.counts(), counts(0, 0, 0, 1, 0));
}

#[test]
fn suspend_resume_retry_and_purge() {
    let q = queue(QueueOptions { max_attempts: 1, ..Default::default() });
    let ids: Vec<u64> = (0..6).map(|i| q.push(format!("item {i}").as_bytes(), 0).unwrap()).collect();
    q.suspend(ids[0]).unwrap();
    q.suspend(ids[0]).unwrap(); // already suspended: no change
    q.suspend(ids[1]).unwrap();
    assert_eq!(now_claim(&q).id, ids[2], "suspended items are skipped");
    // Suspending a processing item revokes its lease.
    let c = now_claim(&q);
    assert_eq!(c.id, ids[3]);
    q.suspend(c.id).unwrap();
    lease_error(q.complete(c.id, c.token), "claim 1 was revoked by suspend()");
    assert_eq!(q.counts(), counts(2, 1, 3, 0, 0));
    q.resume(ids[1]).unwrap();
    q.resume(ids[4]).unwrap(); // pending: no change
    assert_eq!(now_claim(&q).id, ids[1], "a resumed item keeps its place in line");
    assert_eq!(q.resume_all().unwrap(), 2);
    assert_eq!(q.resume_all().unwrap(), 0);
    assert_eq!(q.counts(), counts(4, 2, 0, 0, 0));
    // Fail everything pending, then retry and purge.
    while let Ok(c) = q.claim(Some(Duration::ZERO)) {
        q.fail(c.id, c.token, true, "no").unwrap();
    }
    assert_eq!(q.counts(), counts(0, 2, 0, 4, 0));
    assert!(matches!(q.suspend(ids[0]), Err(Error::InvalidArg(m)) if m.contains("retry_failed()")));
    assert!(matches!(q.resume(ids[0]), Err(Error::InvalidArg(_))));
    assert_eq!(q.retry_failed().unwrap(), 4);
    let c = now_claim(&q);
    assert_eq!(c.attempt, 1, "retry_failed resets attempts");
    q.fail(c.id, c.token, false, "final").unwrap();
    assert_eq!(q.counts(), counts(3, 2, 0, 1, 0));
    assert_eq!(q.purge_failed().unwrap(), 1);
    assert_eq!(q.purge_failed().unwrap(), 0);
    assert!(matches!(q.suspend(c.id), Err(Error::Absent(_))));
    assert_eq!(q.counts(), counts(3, 2, 0, 0, 0));
}

#[test]
fn a_resume_wakes_a_blocked_claimer() {
    let q = Arc::new(queue(QueueOptions::default()));
    let id = q.push(b"held back", 0).unwrap();
    q.suspend(id).unwrap();
    let claimer = {
        let q = Arc::clone(&q);
        thread::spawn(move || (q.claim(Some(Duration::from_secs(10))).unwrap(), Instant::now()))
    };
    thread::sleep(ms(100));
    let resumed_at = Instant::now();
    q.resume(id).unwrap();
    let (c, at) = claimer.join().unwrap();
    assert_eq!(c.id, id);
    assert!(at.duration_since(resumed_at) < MARGIN, "woke {:?} after the resume", at.duration_since(resumed_at));
}

#[test]
fn counts_and_snapshot_agree_and_export_json() {
    let q = queue(QueueOptions::default());
    let a = q.push(b"low", -1).unwrap();
    let b = q.push(b"high", 10).unwrap();
    let c = q.push(&[0xff, 0x00, 0x7f], 0).unwrap();
    let d = q.push(b"say \"hi\"\n", 0).unwrap();
    let claimed = now_claim(&q);
    assert_eq!(claimed.id, b);
    q.suspend(a).unwrap();
    let s = q.snapshot();
    assert_eq!(s.counts, counts(2, 1, 1, 0, 0));
    assert_eq!(s.counts, q.counts());
    let order: Vec<(u64, ItemStatus)> = s.items.iter().map(|i| (i.id, i.status)).collect();
    assert_eq!(
        order,
        [(c, ItemStatus::Pending), (d, ItemStatus::Pending), (b, ItemStatus::Processing), (a, ItemStatus::Suspended)]
    );
    let lease = s.items[2].lease_remaining.unwrap();
    assert!(lease <= Duration::from_secs(30) && lease > Duration::from_secs(29), "{lease:?}");
    assert!(s.items.iter().filter(|i| i.id != b).all(|i| i.lease_remaining.is_none()));
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["queue"], "memory");
    assert_eq!(json["counts"]["pending"], 2);
    assert_eq!(json["counts"]["completed"], 0);
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["payload"], "ff007f");
    assert_eq!(items[0]["payload_encoding"], "hex");
    assert_eq!(items[1]["payload"], "say \"hi\"\n");
    assert_eq!(items[1]["payload_encoding"], "utf8");
    assert_eq!(items[2]["status"], "processing");
    assert!(items[2]["lease_remaining_ms"].as_u64().unwrap() > 29_000);
    assert_eq!(items[3]["status"], "suspended");
    assert!(items[3]["last_error"].is_null());
}

#[test]
fn close_wakes_every_claimer_and_lets_holders_settle() {
    let q = Arc::new(queue(QueueOptions::default()));
    q.push(b"held", 0).unwrap();
    let held = now_claim(&q);
    let ready = Arc::new(Barrier::new(5));
    let claimers: Vec<_> = (0..4)
        .map(|i| {
            let (q, ready) = (Arc::clone(&q), Arc::clone(&ready));
            thread::spawn(move || {
                ready.wait();
                let r = if i % 2 == 0 { q.claim(None) } else { q.claim(Some(Duration::from_secs(30))) };
                (r, Instant::now())
            })
        })
        .collect();
    ready.wait();
    thread::sleep(ms(100));
    let closed_at = Instant::now();
    q.close().unwrap();
    for c in claimers {
        let (r, at) = c.join().unwrap();
        assert!(matches!(&r, Err(Error::Closed(m)) if m == "queue 'memory' is closed"), "{r:?}");
        assert!(at.duration_since(closed_at) < MARGIN, "woke {:?} after close", at.duration_since(closed_at));
    }
    assert!(q.is_closed());
    assert!(matches!(q.push(b"x", 0), Err(Error::Closed(_))));
    assert!(matches!(q.claim(Some(Duration::ZERO)), Err(Error::Closed(_))));
    q.extend(held.id, held.token, ms(1000)).unwrap();
    q.complete(held.id, held.token).unwrap();
    q.close().unwrap();
    assert_eq!(q.counts(), counts(0, 0, 0, 0, 1));
}

/// What the consumers of the invariant test saw.
#[derive(Default)]
struct Ledger {
    pushed: Mutex<HashSet<u64>>,
    completed: Mutex<HashSet<u64>>,
    failed_by_fail: Mutex<HashSet<u64>>,
    /// Claims left to expire, to be settled (and refused) at the end.
    abandoned: Mutex<Vec<Claim>>,
    stale_refused: AtomicUsize,
}

/// N producers and M consumers on one queue, with random completes, fails with and without
/// retry, abandoned claims (short leases left to expire) and extended leases. Every pushed item
/// ends completed or failed exactly once: none is lost, none completed twice, and every settle
/// of a lease that had ended is refused.
fn many_producers_and_consumers(q: Arc<Queue>, per_producer: u64) -> (Arc<Ledger>, Counts) {
    const PRODUCERS: u64 = 4;
    const CONSUMERS: u64 = 6;
    let ledger = Arc::new(Ledger::default());
    let producing = Arc::new(AtomicUsize::new(PRODUCERS as usize));
    let done = Arc::new(AtomicBool::new(false));
    let mut threads = vec![];
    for p in 0..PRODUCERS {
        let (q, ledger, producing) = (Arc::clone(&q), Arc::clone(&ledger), Arc::clone(&producing));
        threads.push(thread::spawn(move || {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (p + 1));
            for i in 0..per_producer {
                let id = q.push(format!("p{p} #{i}").as_bytes(), rng.below(3) as i32).unwrap();
                assert!(ledger.pushed.lock().unwrap().insert(id), "id {id} handed out twice");
            }
            producing.fetch_sub(1, Ordering::SeqCst);
        }));
    }
    for c in 0..CONSUMERS {
        let (q, ledger, producing, done) =
            (Arc::clone(&q), Arc::clone(&ledger), Arc::clone(&producing), Arc::clone(&done));
        threads.push(thread::spawn(move || {
            let mut rng = Rng(0xdead_beef_cafe_f00d ^ (c + 101));
            loop {
                let claim = match q.claim_with_lease(Some(ms(50)), ms(20 + rng.below(31))) {
                    Ok(claim) => claim,
                    Err(Error::Timeout(_)) => {
                        if done.load(Ordering::SeqCst) {
                            return;
                        }
                        let n = q.counts();
                        if producing.load(Ordering::SeqCst) == 0 && n.pending == 0 && n.processing == 0 {
                            done.store(true, Ordering::SeqCst);
                            return;
                        }
                        continue;
                    }
                    Err(e) => panic!("claim: {e}"),
                };
                let settled = match rng.below(100) {
                    0..50 => q.complete(claim.id, claim.token).map(|()| {
                        assert!(ledger.completed.lock().unwrap().insert(claim.id), "item {} completed twice", claim.id);
                    }),
                    50..65 => q.fail(claim.id, claim.token, true, "transient").map(|s| {
                        if s == ItemStatus::Failed {
                            ledger.failed_by_fail.lock().unwrap().insert(claim.id);
                        }
                    }),
                    65..72 => q.fail(claim.id, claim.token, false, "permanent").map(|s| {
                        assert_eq!(s, ItemStatus::Failed);
                        ledger.failed_by_fail.lock().unwrap().insert(claim.id);
                    }),
                    72..85 => {
                        ledger.abandoned.lock().unwrap().push(claim);
                        continue;
                    }
                    _ => q.extend(claim.id, claim.token, ms(100)).and_then(|_| {
                        q.complete(claim.id, claim.token).map(|()| {
                            assert!(
                                ledger.completed.lock().unwrap().insert(claim.id),
                                "item {} completed twice",
                                claim.id
                            );
                        })
                    }),
                };
                match settled {
                    Ok(()) => {}
                    // The short lease ran out first (a slow thread): the item is someone else's.
                    Err(Error::Lease(_)) => {
                        ledger.stale_refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => panic!("settle: {e}"),
                }
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    // Every abandoned claim's lease has ended (its item was settled by someone else since).
    for claim in ledger.abandoned.lock().unwrap().iter() {
        lease_error(q.complete(claim.id, claim.token), "");
    }
    let final_counts = q.counts();
    let snapshot = q.snapshot();
    let pushed = ledger.pushed.lock().unwrap();
    let completed = ledger.completed.lock().unwrap();
    let failed: HashSet<u64> = snapshot.items.iter().map(|i| i.id).collect();
    assert_eq!(pushed.len() as u64, PRODUCERS * per_producer);
    assert!(snapshot.items.iter().all(|i| i.status == ItemStatus::Failed), "only failed items remain");
    assert_eq!((final_counts.pending, final_counts.processing, final_counts.suspended), (0, 0, 0));
    assert_eq!(final_counts.completed, completed.len() as u64);
    assert_eq!(final_counts.failed, failed.len());
    assert!(completed.is_disjoint(&failed), "an item both completed and failed");
    let ended: HashSet<u64> = completed.union(&failed).copied().collect();
    assert_eq!(ended, *pushed, "lost items: {:?}", pushed.difference(&ended).collect::<Vec<_>>());
    assert!(ledger.failed_by_fail.lock().unwrap().is_subset(&failed));
    let abandoned = ledger.abandoned.lock().unwrap().len();
    assert!(abandoned > 0, "the test abandoned no claim");
    eprintln!(
        "{} items: {} completed, {} failed, {abandoned} claims abandoned, {} late settles refused",
        pushed.len(),
        completed.len(),
        failed.len(),
        ledger.stale_refused.load(Ordering::Relaxed)
    );
    drop((pushed, completed));
    (ledger, final_counts)
}

#[test]
fn invariant_many_producers_and_consumers_in_memory() {
    let q = Arc::new(queue(QueueOptions::default()));
    many_producers_and_consumers(q, 750);
}

#[cfg(feature = "durable")]
mod durable {
    use super::*;
    use netrig::journal::Durability;
    use std::collections::HashMap;

    use super::queue_files::{open, TempDir};

    #[test]
    fn invariant_many_producers_and_consumers_durable() {
        let dir = TempDir::new("invariant");
        let q = Arc::new(open(&dir.file(), "work", QueueOptions::default()));
        let (ledger, counts) = many_producers_and_consumers(Arc::clone(&q), 250);
        drop(Arc::try_unwrap(q).expect("threads joined"));
        // The file agrees with what the run ended with.
        let q = open(&dir.file(), "work", QueueOptions::default());
        assert_eq!(q.counts(), counts);
        let failed: HashSet<u64> = q.snapshot().items.iter().map(|i| i.id).collect();
        assert!(failed.is_disjoint(&ledger.completed.lock().unwrap()));
        assert_eq!(failed.len() + ledger.completed.lock().unwrap().len(), ledger.pushed.lock().unwrap().len());
    }

    #[test]
    fn reopen_keeps_items_counts_and_ids_and_returns_claimed_items() {
        let dir = TempDir::new("reopen");
        let opts = QueueOptions { max_attempts: 2, ..Default::default() };
        let (done, held_once, held_twice, suspended, failed, pending);
        {
            let q = open(&dir.file(), "jobs", opts.clone());
            done = q.push(b"done", 0).unwrap();
            held_once = q.push(b"claimed once", 3).unwrap();
            held_twice = q.push(b"claimed twice", 3).unwrap();
            suspended = q.push(b"suspended", 0).unwrap();
            failed = q.push(&[1, 2, 3], 0).unwrap();
            pending = q.push(b"pending", -1).unwrap();
            // held_twice: a first claim fails with retry, the second is left held.
            let c = now_claim(&q);
            assert_eq!(c.id, held_once);
            let c2 = now_claim(&q);
            assert_eq!(c2.id, held_twice);
            q.fail(c2.id, c2.token, true, "first try").unwrap();
            assert_eq!(now_claim(&q).id, held_twice);
            let c = now_claim(&q);
            assert_eq!(c.id, done);
            q.complete(c.id, c.token).unwrap();
            q.suspend(suspended).unwrap();
            let c = now_claim(&q);
            assert_eq!(c.id, failed);
            q.fail(c.id, c.token, false, "bad bytes").unwrap();
            assert_eq!(q.counts(), counts(1, 2, 1, 1, 1));
            // Dropped with two items claimed, as if the process ended.
        }
        let q = open(&dir.file(), "jobs", opts.clone());
        // held_once comes back pending with its attempt counted; held_twice used both of its
        // attempts and is failed.
        assert_eq!(q.counts(), counts(2, 0, 1, 2, 1));
        let s = q.snapshot();
        let by_id: HashMap<u64, _> = s.items.iter().map(|i| (i.id, i)).collect();
        assert!(!by_id.contains_key(&done));
        assert_eq!((by_id[&held_once].status, by_id[&held_once].attempts), (ItemStatus::Pending, 1));
        assert!(by_id[&held_once].last_error.as_deref().unwrap().contains("the process ended while attempt 1 of 2"));
        assert_eq!((by_id[&held_twice].status, by_id[&held_twice].attempts), (ItemStatus::Failed, 2));
        assert_eq!(by_id[&suspended].status, ItemStatus::Suspended);
        assert_eq!(by_id[&failed].status, ItemStatus::Failed);
        assert_eq!(by_id[&failed].last_error.as_deref(), Some("bad bytes"));
        assert_eq!(&*by_id[&failed].payload, &[1, 2, 3]);
        assert_eq!(by_id[&pending].status, ItemStatus::Pending);
        // Claim order survives: priority 3 before -1.
        let c = now_claim(&q);
        assert_eq!((c.id, c.attempt, &*c.payload), (held_once, 2, &b"claimed once"[..]));
        q.complete(c.id, c.token).unwrap();
        // Ids continue after the highest ever handed out, even once that item is gone.
        let last = now_claim(&q);
        assert_eq!(last.id, pending);
        q.complete(last.id, last.token).unwrap();
        drop(q);
        let q = open(&dir.file(), "jobs", opts);
        assert_eq!(q.counts(), counts(0, 0, 1, 2, 3));
        assert_eq!(q.push(b"new", 0).unwrap(), pending + 1);
    }

    #[test]
    fn queues_share_a_file_by_name_and_a_name_opens_once() {
        let dir = TempDir::new("names");
        let a = open(&dir.file(), "a", QueueOptions::default());
        let b = open(&dir.file(), "b", QueueOptions::default());
        assert_eq!(a.push(b"for a", 0).unwrap(), 1);
        assert_eq!(b.push(b"for b", 0).unwrap(), 1);
        b.push(b"for b too", 0).unwrap();
        let e = Queue::open(&dir.file(), "a", QueueOptions::default(), Durability::PowerLoss).unwrap_err();
        assert!(matches!(&e, Error::Busy(m) if m.contains("queue 'a'") && m.contains("already open")), "{e}");
        // Through another spelling of the same path, too.
        let other = dir.0.join(".").join("queue.db");
        assert!(matches!(
            Queue::open(&other, "a", QueueOptions::default(), Durability::ProcessCrash),
            Err(Error::Busy(_))
        ));
        drop((a, b));
        let a = open(&dir.file(), "a", QueueOptions::default());
        let b = open(&dir.file(), "b", QueueOptions::default());
        assert_eq!(a.counts().pending, 1);
        assert_eq!(b.counts().pending, 2);
        assert_eq!(&*now_claim(&a).payload, b"for a");
        for bad in ["", &"n".repeat(257), "a\0b"] {
            let e = Queue::open(&dir.file(), bad, QueueOptions::default(), Durability::ProcessCrash).unwrap_err();
            assert!(matches!(e, Error::InvalidArg(_)), "{e}");
        }
        let e = Queue::open(&dir.0.join("no/such/dir/q.db"), "a", QueueOptions::default(), Durability::ProcessCrash)
            .unwrap_err();
        assert!(matches!(&e, Error::Io(m) if m.contains("no/such/dir/q.db")), "{e}");
    }
}
