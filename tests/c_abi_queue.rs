//! The work queue's C ABI driven exactly as a C caller drives it: handles as ids, raw pointers,
//! statuses, out-parameters and the thread-local last error. It needs no SSH, so it takes its
//! helpers from tests/support/abi.rs alone.

use std::collections::HashSet;
use std::ffi::c_char;
use std::ptr::{null, null_mut};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use netrig::ffi::*;
use netrig::netrig_status::{self, *};

#[path = "support/abi.rs"]
mod abi;
use abi::{c, expect, last_error, ok, options_default, BAD_UTF8};

/// NETRIG_WAIT_FOREVER (defined in Rust by the SSH-enabled build only).
const WAIT_FOREVER: u32 = u32::MAX;

/// Room for a loaded machine (2 cores, two CPU hogs) where only the order of events matters:
/// well under the 5 s and forever waits these tests tell apart from a prompt answer.
const MARGIN: Duration = Duration::from_secs(1);

fn bad_utf8() -> *const c_char {
    BAD_UTF8.as_ptr().cast()
}

fn defaults() -> netrig_queue_options {
    options_default(netrig_queue_options_default)
}

fn new_queue(opts: Option<netrig_queue_options>) -> netrig_queue {
    let mut q = netrig_queue { id: 0 };
    let p = opts.as_ref().map_or(null(), |o| o as *const _);
    // SAFETY: live options or NULL, live out pointer.
    ok(unsafe { netrig_queue_new(p, &mut q) });
    q
}

fn push(q: netrig_queue, payload: &[u8], priority: i32) -> u64 {
    let mut id = 0;
    // SAFETY: a live slice and out pointer.
    ok(unsafe { netrig_queue_push(q, payload.as_ptr(), payload.len(), priority, &mut id) });
    id
}

fn try_claim(q: netrig_queue, timeout_ms: u32) -> Result<netrig_item, netrig_status> {
    let mut item = netrig_item { id: 0 };
    // SAFETY: live out pointer.
    match unsafe { netrig_queue_claim(q, timeout_ms, &mut item) } {
        NETRIG_OK => Ok(item),
        st => {
            assert_eq!(item.id, 0, "claim wrote its out-parameter although it failed");
            Err(st)
        }
    }
}

fn claim(q: netrig_queue) -> netrig_item {
    try_claim(q, 0).unwrap_or_else(|st| panic!("claim: {st:?}: {}", last_error()))
}

fn item_id(item: netrig_item) -> u64 {
    let mut id = 0;
    // SAFETY: live out pointer.
    ok(unsafe { netrig_item_id(item, &mut id) });
    id
}

fn payload(item: netrig_item) -> Vec<u8> {
    let (mut data, mut len) = (null(), usize::MAX);
    // SAFETY: live out pointers; the bytes stay valid until the item is freed, after this copy.
    unsafe {
        ok(netrig_item_payload(item, &mut data, &mut len));
        assert!(!data.is_null());
        std::slice::from_raw_parts(data, len).to_vec()
    }
}

fn counts(q: netrig_queue) -> [u64; 5] {
    let mut c = netrig_queue_counts::default();
    // SAFETY: live out pointer.
    ok(unsafe { netrig_queue_get_counts(q, &mut c) });
    [c.pending, c.processing, c.suspended, c.failed, c.completed]
}

fn fail(q: netrig_queue, item: netrig_item, retry: bool, error: &str) -> u32 {
    let error = c(error);
    let mut status = 0;
    // SAFETY: live C string and out pointer.
    ok(unsafe { netrig_queue_fail(q, item, retry, error.as_ptr(), &mut status) });
    status
}

/// The snapshot JSON, read with the documented grow-and-retry loop.
fn snapshot(q: netrig_queue) -> serde_json::Value {
    let mut len = 0;
    // SAFETY: NULL buffer with capacity 0 asks for the length.
    let st = unsafe { netrig_queue_snapshot_json(q, null_mut(), 0, &mut len) };
    assert_eq!(st, NETRIG_E_BUFFER_TOO_SMALL, "{}", last_error());
    loop {
        let mut buf = vec![0u8; len * 5 / 4 + 4096];
        // SAFETY: `buf` holds buf.len() writable bytes; live out pointer.
        match unsafe { netrig_queue_snapshot_json(q, buf.as_mut_ptr().cast(), buf.len(), &mut len) } {
            NETRIG_OK => {
                assert_eq!(buf[len], 0, "NUL-terminated");
                return serde_json::from_slice(&buf[..len]).unwrap();
            }
            NETRIG_E_BUFFER_TOO_SMALL => continue,
            st => panic!("snapshot_json: {st:?}: {}", last_error()),
        }
    }
}

#[test]
fn options_default_and_checked() {
    let d = defaults();
    assert_eq!((d.max_items, d.max_attempts, d.lease_ms, d.max_payload), (100_000, 3, 30_000, 16 << 20));
    // SAFETY: NULL out.
    expect(
        unsafe { netrig_queue_options_default(null_mut(), size_of::<netrig_queue_options>()) },
        NETRIG_E_NULL_ARG,
        "'out'",
    );
    for (field, o) in [
        ("max_items", netrig_queue_options { max_items: 0, ..d }),
        ("max_attempts", netrig_queue_options { max_attempts: 0, ..d }),
        ("lease_ms", netrig_queue_options { lease_ms: 0, ..d }),
        ("max_payload", netrig_queue_options { max_payload: 0, ..d }),
    ] {
        let mut q = netrig_queue { id: 0 };
        // SAFETY: live options and out pointer.
        expect(unsafe { netrig_queue_new(&o, &mut q) }, NETRIG_E_INVALID_ARG, &format!("options.{field} is 0"));
        assert_eq!(q.id, 0, "out written on failure");
    }
    // NULL options are the defaults; huge bounds are fine.
    let q = new_queue(None);
    ok(netrig_queue_free(q));
    let q = new_queue(Some(netrig_queue_options {
        max_items: usize::MAX,
        lease_ms: u32::MAX,
        max_payload: usize::MAX,
        ..d
    }));
    push(q, b"x", 0);
    let item = claim(q);
    ok(netrig_queue_complete(q, item));
    ok(netrig_item_free(item));
    ok(netrig_queue_free(q));
}

/// Every function refuses a zero, forged, freed or wrong-kind handle with
/// NETRIG_E_INVALID_HANDLE, and writes no out-parameter.
#[test]
fn every_function_refuses_bad_handles() {
    let live = new_queue(None);
    push(live, b"x", 0);
    let live_item = claim(live);
    let freed_q = new_queue(None);
    ok(netrig_queue_free(freed_q));
    let freed_item = {
        push(live, b"y", 0);
        let i = claim(live);
        ok(netrig_queue_complete(live, i));
        ok(netrig_item_free(i));
        i
    };
    let mut store = netrig_store { id: 0 };
    // SAFETY: NULL options, live out pointer.
    ok(unsafe { netrig_store_new(null(), &mut store) });
    let bad_queues = [
        (netrig_queue { id: 0 }, "NULL"),
        (netrig_queue { id: 0xdead_beef_dead_beef }, "not a netrig handle"),
        (freed_q, "freed"),
        (netrig_queue { id: store.id }, "is a netrig_store, not a netrig_queue"),
        (netrig_queue { id: live_item.id }, "is a netrig_item, not a netrig_queue"),
    ];
    let bad_items = [
        (netrig_item { id: 0 }, "NULL"),
        (netrig_item { id: 0x0d00_0000_0000_0001 ^ 0xffff }, "freed or never issued"),
        (freed_item, "freed"),
        (netrig_item { id: live.id }, "is a netrig_queue, not a netrig_item"),
    ];
    let err = c("e");
    for (q, why) in bad_queues {
        let (mut id, mut n, mut status, mut len) = (7u64, 7usize, 7u32, 7usize);
        let mut item = netrig_item { id: 0 };
        let mut cnt = netrig_queue_counts::default();
        let mut buf = [0 as c_char; 64];
        // SAFETY: every pointer is a live local.
        unsafe {
            expect(netrig_queue_close(q), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_push(q, b"x".as_ptr(), 1, 0, &mut id), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_claim(q, 0, &mut item), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_claim_with_lease(q, 0, 10, &mut item), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_complete(q, live_item), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_fail(q, live_item, true, err.as_ptr(), &mut status), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_extend(q, live_item, 10), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_suspend(q, 1), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_resume(q, 1), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_resume_all(q, &mut n), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_retry_failed(q, &mut n), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_purge_failed(q, &mut n), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_get_counts(q, &mut cnt), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_snapshot_json(q, buf.as_mut_ptr(), buf.len(), &mut len), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_free(q), NETRIG_E_INVALID_HANDLE, why);
        }
        assert_eq!((id, n, status, len, item.id, cnt.pending), (7, 7, 7, 7, 0, 0), "{why}: out written on failure");
    }
    for (item, why) in bad_items {
        let (mut id, mut prio, mut attempt, mut len, mut status) = (7u64, 7i32, 7u32, 7usize, 7u32);
        let mut data: *const u8 = null();
        // SAFETY: every pointer is a live local.
        unsafe {
            expect(netrig_item_id(item, &mut id), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_item_payload(item, &mut data, &mut len), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_item_priority(item, &mut prio), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_item_attempt(item, &mut attempt), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_complete(live, item), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_fail(live, item, false, err.as_ptr(), &mut status), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_queue_extend(live, item, 10), NETRIG_E_INVALID_HANDLE, why);
            expect(netrig_item_free(item), NETRIG_E_INVALID_HANDLE, why);
        }
        assert_eq!((id, prio, attempt, len, status, data), (7, 7, 7, 7, 7, null()), "{why}: out written on failure");
    }
    // Nothing above touched the live queue's items.
    assert_eq!(counts(live), [0, 1, 0, 0, 1]);
    ok(netrig_queue_complete(live, live_item));
    ok(netrig_item_free(live_item));
    ok(netrig_queue_free(live));
    expect(netrig_queue_free(live), NETRIG_E_INVALID_HANDLE, "freed");
    ok(netrig_store_free(store));
}

#[test]
fn null_arguments_are_refused_by_name() {
    let q = new_queue(None);
    let mut out_q = netrig_queue { id: 0 };
    let mut item = netrig_item { id: 0 };
    let path = c("/tmp/never-created.db");
    let name = c("q");
    let (mut len, mut data) = (0usize, null());
    // SAFETY: every non-NULL pointer is a live local.
    unsafe {
        expect(netrig_queue_new(null(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_queue_open(null(), name.as_ptr(), null(), 0, &mut out_q), NETRIG_E_NULL_ARG, "'path'");
        expect(netrig_queue_open(path.as_ptr(), null(), null(), 0, &mut out_q), NETRIG_E_NULL_ARG, "'name'");
        expect(netrig_queue_open(path.as_ptr(), name.as_ptr(), null(), 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!(out_q.id, 0);
        expect(netrig_queue_push(q, null(), 3, 0, null_mut()), NETRIG_E_NULL_ARG, "'payload'");
        expect(netrig_queue_claim(q, 0, null_mut()), NETRIG_E_NULL_ARG, "'out_item'");
        expect(netrig_queue_claim_with_lease(q, 0, 10, null_mut()), NETRIG_E_NULL_ARG, "'out_item'");
        expect(netrig_queue_get_counts(q, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_queue_snapshot_json(q, null_mut(), 0, null_mut()), NETRIG_E_NULL_ARG, "'out_len'");
        expect(netrig_queue_snapshot_json(q, null_mut(), 10, &mut len), NETRIG_E_NULL_ARG, "'buf'");
    }
    assert_eq!(counts(q), [0, 0, 0, 0, 0], "a NULL payload with a length pushed nothing");
    // Optional out-parameters may be NULL; a NULL payload of length 0 is an empty payload.
    // SAFETY: NULL with length 0 is allowed; NULL optional outs.
    unsafe {
        ok(netrig_queue_push(q, null(), 0, 0, null_mut()));
        item = {
            ok(netrig_queue_claim(q, 0, &mut item));
            item
        };
        expect(netrig_queue_fail(q, item, true, null(), null_mut()), NETRIG_E_NULL_ARG, "'error'");
        expect(netrig_item_id(item, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_item_priority(item, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_item_attempt(item, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_item_payload(item, null_mut(), &mut len), NETRIG_E_NULL_ARG, "'data'");
        expect(netrig_item_payload(item, &mut data, null_mut()), NETRIG_E_NULL_ARG, "'len'");
        assert_eq!(payload(item), b"");
        let e = c("retry me");
        ok(netrig_queue_fail(q, item, true, e.as_ptr(), null_mut()));
        ok(netrig_queue_resume_all(q, null_mut()));
        ok(netrig_queue_retry_failed(q, null_mut()));
        ok(netrig_queue_purge_failed(q, null_mut()));
    }
    assert_eq!(counts(q), [1, 0, 0, 0, 0]);
    ok(netrig_item_free(item));
    ok(netrig_queue_free(q));
}

#[test]
fn bad_utf8_and_huge_sizes_are_refused_and_change_nothing() {
    let q = new_queue(Some(netrig_queue_options { max_payload: 16, ..defaults() }));
    push(q, b"x", 0);
    let item = claim(q);
    let mut status = 99;
    let mut out_q = netrig_queue { id: 0 };
    let (path, name) = (c("/tmp/netrig-never.db"), c("q"));
    let small = [0u8; 4];
    let mut id = 0;
    // SAFETY: every non-NULL pointer is live; the huge lengths are refused before any read.
    unsafe {
        expect(netrig_queue_fail(q, item, false, bad_utf8(), &mut status), NETRIG_E_UTF8, "'error'");
        assert_eq!(status, 99);
        expect(netrig_queue_open(bad_utf8(), name.as_ptr(), null(), 0, &mut out_q), NETRIG_E_UTF8, "'path'");
        expect(netrig_queue_open(path.as_ptr(), bad_utf8(), null(), 0, &mut out_q), NETRIG_E_UTF8, "'name'");
        for len in [17, 1 << 40, usize::MAX] {
            expect(
                netrig_queue_push(q, small.as_ptr(), len, 0, &mut id),
                NETRIG_E_INVALID_ARG,
                &format!("payload of {len} bytes is over max_payload 16"),
            );
        }
        expect(
            netrig_queue_claim_with_lease(q, 0, 0, &mut netrig_item { id: 0 }),
            NETRIG_E_INVALID_ARG,
            "lease_ms is 0",
        );
        expect(netrig_queue_extend(q, item, 0), NETRIG_E_INVALID_ARG, "lease_ms is 0");
        // An error text longer than the bound is kept cut.
        let long = c(&"é".repeat(5000));
        ok(netrig_queue_fail(q, item, false, long.as_ptr(), &mut status));
    }
    assert_eq!((out_q.id, id), (0, 0));
    assert_eq!(status, NETRIG_ITEM_FAILED);
    let snap = snapshot(q);
    let kept = snap["items"][0]["last_error"].as_str().unwrap();
    assert!(kept.len() <= NETRIG_QUEUE_MAX_ERROR_LEN && kept.len() > NETRIG_QUEUE_MAX_ERROR_LEN - 2, "{}", kept.len());
    // A small snapshot buffer reports the needed size.
    let mut buf = [0 as c_char; 8];
    let mut len = 0;
    // SAFETY: `buf` holds 8 writable bytes.
    let st = unsafe { netrig_queue_snapshot_json(q, buf.as_mut_ptr(), buf.len(), &mut len) };
    expect(st, NETRIG_E_BUFFER_TOO_SMALL, "snapshot of queue 'memory' needs");
    assert!(len > 8);
    ok(netrig_item_free(item));
    ok(netrig_queue_free(q));
}

#[test]
fn a_whole_workflow_through_the_abi() {
    let q = new_queue(Some(netrig_queue_options { max_items: 5, max_attempts: 2, ..defaults() }));
    let a = push(q, b"low", -5);
    let b = push(q, b"high", 9);
    let c_ = push(q, &[0xff, 0x01], 0);
    assert!(a < b && b < c_);
    // Highest priority first; the accessors give what was pushed.
    let item = claim(q);
    assert_eq!(item_id(item), b);
    assert_eq!(payload(item), b"high");
    let (mut prio, mut attempt) = (0, 0);
    // SAFETY: live out pointers.
    unsafe {
        ok(netrig_item_priority(item, &mut prio));
        ok(netrig_item_attempt(item, &mut attempt));
    }
    assert_eq!((prio, attempt), (9, 1));
    ok(netrig_queue_extend(q, item, 60_000));
    ok(netrig_queue_complete(q, item));
    expect(netrig_queue_complete(q, item), NETRIG_E_LEASE, &format!("item {b} is no longer in the queue"));
    ok(netrig_item_free(item));
    // Fail with retry, then on the last attempt.
    let item = claim(q);
    assert_eq!(item_id(item), c_);
    assert_eq!(fail(q, item, true, "flaky"), NETRIG_ITEM_PENDING);
    expect(netrig_queue_complete(q, item), NETRIG_E_LEASE, "already ended with fail()");
    ok(netrig_item_free(item));
    let item = claim(q);
    assert_eq!(item_id(item), c_);
    assert_eq!(fail(q, item, true, "still flaky"), NETRIG_ITEM_FAILED);
    ok(netrig_item_free(item));
    assert_eq!(counts(q), [1, 0, 0, 1, 1]);
    // Suspend and resume by id.
    ok(netrig_queue_suspend(q, a));
    let st = try_claim(q, 0).map_or_else(|st| st, |_| NETRIG_OK);
    expect(st, NETRIG_E_TIMEOUT, "no item to claim, none pending (0 processing, 1 suspended, 1 failed)");
    expect(netrig_queue_suspend(q, 999), NETRIG_E_NOT_FOUND, "queue 'memory': item 999 is not there");
    expect(netrig_queue_resume(q, c_), NETRIG_E_INVALID_ARG, "retry_failed()");
    ok(netrig_queue_resume(q, a));
    ok(netrig_queue_suspend(q, a));
    let mut n = 0;
    // SAFETY: live out pointer.
    ok(unsafe { netrig_queue_resume_all(q, &mut n) });
    assert_eq!(n, 1);
    // SAFETY: live out pointer.
    ok(unsafe { netrig_queue_retry_failed(q, &mut n) });
    assert_eq!(n, 1);
    assert_eq!(counts(q), [2, 0, 0, 0, 1]);
    // Fill it up: FULL names the counts.
    for i in 0..3 {
        push(q, format!("fill {i}").as_bytes(), 0);
    }
    let mut id = 0;
    // SAFETY: live slice and out pointer.
    let st = unsafe { netrig_queue_push(q, b"over".as_ptr(), 4, 0, &mut id) };
    expect(st, NETRIG_E_FULL, "queue 'memory' full: 5 of 5 items (5 pending");
    assert_eq!(id, 0);
    // The snapshot in claim order, payloads as text or hex.
    let snap = snapshot(q);
    assert_eq!(snap["counts"]["pending"], 5);
    assert_eq!(snap["counts"]["completed"], 1);
    let items = snap["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], c_);
    assert_eq!(items[0]["payload"], "ff01");
    assert_eq!(items[0]["payload_encoding"], "hex");
    assert_eq!(items[0]["attempts"], 0);
    assert_eq!(items[0]["last_error"], "still flaky");
    assert_eq!(items.last().unwrap()["id"], a);
    // Purge.
    let item = claim(q);
    assert_eq!(fail(q, item, false, "bad"), NETRIG_ITEM_FAILED);
    ok(netrig_item_free(item));
    // SAFETY: live out pointer.
    ok(unsafe { netrig_queue_purge_failed(q, &mut n) });
    assert_eq!(n, 1);
    assert_eq!(counts(q), [4, 0, 0, 0, 1]);
    ok(netrig_queue_free(q));
}

#[test]
fn leases_expire_and_foreign_items_are_refused() {
    let q = new_queue(None);
    let other = new_queue(None);
    push(q, b"job", 0);
    push(other, b"other job", 0);
    let mut item = netrig_item { id: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_queue_claim_with_lease(q, 0, 50, &mut item) });
    let foreign = claim(other);
    assert_eq!(item_id(foreign), item_id(item), "both are item 1 of their queue");
    expect(netrig_queue_complete(q, foreign), NETRIG_E_LEASE, "this token holds no lease on it");
    // A blocked claimer gets the item when the 50 ms lease expires.
    let start = Instant::now();
    let again = try_claim(q, 5_000).unwrap();
    let waited = start.elapsed();
    assert!(waited < Duration::from_millis(50) + MARGIN, "{waited:?}");
    let mut attempt = 0;
    // SAFETY: live out pointer.
    ok(unsafe { netrig_item_attempt(again, &mut attempt) });
    assert_eq!(attempt, 2);
    expect(netrig_queue_complete(q, item), NETRIG_E_LEASE, "lease of claim 1 expired");
    expect(netrig_queue_extend(q, item, 1000), NETRIG_E_LEASE, "expired");
    ok(netrig_queue_complete(q, again));
    ok(netrig_queue_complete(other, foreign));
    for i in [item, again, foreign] {
        ok(netrig_item_free(i));
    }
    assert_eq!(counts(q), [0, 0, 0, 0, 1]);
    ok(netrig_queue_free(q));
    ok(netrig_queue_free(other));
}

#[test]
fn claim_timeouts_and_a_push_from_another_thread() {
    let q = new_queue(None);
    let start = Instant::now();
    assert_eq!(try_claim(q, 0), Err(NETRIG_E_TIMEOUT));
    assert!(start.elapsed() < MARGIN, "a claim with timeout 0 waited {:?}", start.elapsed());
    let start = Instant::now();
    assert_eq!(try_claim(q, 200), Err(NETRIG_E_TIMEOUT));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(200) + MARGIN, "{took:?}");
    assert!(last_error().contains("none came within 2"), "{}", last_error());
    // Blocked forever until another thread pushes.
    let (started, claiming) = std::sync::mpsc::channel();
    let claimer = thread::spawn(move || {
        started.send(()).unwrap();
        let item = try_claim(q, WAIT_FOREVER).unwrap();
        (item, Instant::now())
    });
    // Told right before the claim; the short wait lets it reach its wait.
    claiming.recv().unwrap();
    thread::sleep(Duration::from_millis(100));
    let pushed_at = Instant::now();
    let id = push(q, b"wake", 0);
    let (item, got_at) = claimer.join().unwrap();
    assert_eq!(item_id(item), id);
    assert!(got_at.duration_since(pushed_at) < MARGIN, "woke {:?} after the push", got_at.duration_since(pushed_at));
    ok(netrig_queue_complete(q, item));
    ok(netrig_item_free(item));
    ok(netrig_queue_free(q));
}

/// `netrig_queue_free` while claims block in other threads: they return NETRIG_E_CLOSED at
/// once, and the free does not wait for them.
#[test]
fn free_while_claimers_block_returns_closed_quickly() {
    let q = new_queue(None);
    let ready = Arc::new(Barrier::new(4));
    let claimers: Vec<_> = (0..3)
        .map(|_| {
            let ready = Arc::clone(&ready);
            thread::spawn(move || {
                ready.wait();
                let r = try_claim(q, WAIT_FOREVER);
                (r, last_error(), Instant::now())
            })
        })
        .collect();
    ready.wait();
    thread::sleep(Duration::from_millis(100));
    let freed_at = Instant::now();
    ok(netrig_queue_free(q));
    assert!(freed_at.elapsed() < MARGIN, "free waited {:?}", freed_at.elapsed());
    for c in claimers {
        let (r, err, at) = c.join().unwrap();
        assert_eq!(r, Err(NETRIG_E_CLOSED));
        assert!(err.contains("netrig_queue_claim: queue 'memory' is closed"), "{err}");
        assert!(at.duration_since(freed_at) < MARGIN, "woke {:?} after the free", at.duration_since(freed_at));
    }
    assert_eq!(try_claim(q, 0), Err(NETRIG_E_INVALID_HANDLE));
}

#[test]
fn close_stops_pushes_and_claims_but_holders_settle() {
    let q = new_queue(None);
    push(q, b"a", 0);
    let item = claim(q);
    ok(netrig_queue_close(q));
    ok(netrig_queue_close(q));
    let mut id = 0;
    // SAFETY: live slice and out pointer.
    expect(unsafe { netrig_queue_push(q, b"x".as_ptr(), 1, 0, &mut id) }, NETRIG_E_CLOSED, "is closed");
    assert_eq!(try_claim(q, WAIT_FOREVER), Err(NETRIG_E_CLOSED));
    ok(netrig_queue_extend(q, item, 1000));
    ok(netrig_queue_complete(q, item));
    assert_eq!(counts(q), [0, 0, 0, 0, 1]);
    ok(netrig_item_free(item));
    ok(netrig_queue_free(q));
}

/// Items stay readable after their queue's handle is freed; settling them through the freed
/// handle is refused as an invalid handle.
#[test]
fn items_outlive_the_queue_handle() {
    let q = new_queue(None);
    push(q, b"survivor", 4);
    let item = claim(q);
    ok(netrig_queue_free(q));
    assert_eq!(payload(item), b"survivor");
    assert_eq!(item_id(item), 1);
    expect(netrig_queue_complete(q, item), NETRIG_E_INVALID_HANDLE, "freed");
    ok(netrig_item_free(item));
    expect(netrig_item_free(item), NETRIG_E_INVALID_HANDLE, "freed");
}

/// Two producers and three consumers through the ABI (item handles made and freed on every
/// thread at once): every item is completed exactly once.
#[test]
fn producers_and_consumers_through_the_abi() {
    let q = new_queue(None);
    const PER_PRODUCER: usize = 500;
    let completed = Arc::new(Mutex::new(HashSet::new()));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            thread::spawn(move || {
                (0..PER_PRODUCER).map(|i| push(q, format!("{p}/{i}").as_bytes(), (i % 4) as i32)).collect::<Vec<_>>()
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|n| {
            let completed = Arc::clone(&completed);
            thread::spawn(move || loop {
                match try_claim(q, 300) {
                    Ok(item) => {
                        let id = item_id(item);
                        let text = String::from_utf8(payload(item)).unwrap();
                        assert!(text.contains('/'), "{text}");
                        let mut attempt = 0;
                        // SAFETY: live out pointer.
                        ok(unsafe { netrig_item_attempt(item, &mut attempt) });
                        if attempt == 1 && (id + n).is_multiple_of(7) {
                            assert_eq!(fail(q, item, true, "again"), NETRIG_ITEM_PENDING);
                        } else {
                            ok(netrig_queue_complete(q, item));
                            assert!(completed.lock().unwrap().insert(id), "item {id} completed twice");
                        }
                        ok(netrig_item_free(item));
                    }
                    Err(NETRIG_E_TIMEOUT) => return,
                    Err(st) => panic!("claim: {st:?}: {}", last_error()),
                }
            })
        })
        .collect();
    let pushed: HashSet<u64> = producers.into_iter().flat_map(|p| p.join().unwrap()).collect();
    for c in consumers {
        c.join().unwrap();
    }
    assert_eq!(pushed.len(), 2 * PER_PRODUCER);
    assert_eq!(*completed.lock().unwrap(), pushed);
    assert_eq!(counts(q), [0, 0, 0, 0, pushed.len() as u64]);
    ok(netrig_queue_free(q));
}

#[cfg(feature = "durable")]
#[test]
fn a_durable_queue_through_the_abi() {
    let dir = std::env::temp_dir().join(format!("netrig-c-abi-queue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = c(dir.join("q.db").to_str().unwrap());
    let name = c("uploads");
    let open = |durability: u32| {
        let mut q = netrig_queue { id: 0 };
        // SAFETY: live C strings and out pointer; NULL options are the defaults.
        let st = unsafe { netrig_queue_open(path.as_ptr(), name.as_ptr(), null(), durability, &mut q) };
        (st, q)
    };
    let (st, q) = open(NETRIG_DURABLE_POWER_LOSS);
    ok(st);
    push(q, b"one", 0);
    push(q, b"two", 0);
    let item = claim(q);
    // The same name twice in one process is refused.
    let (st, none) = open(NETRIG_DURABLE_PROCESS_CRASH);
    expect(st, NETRIG_E_BUSY, "queue 'uploads' of durable file");
    assert_eq!(none.id, 0);
    let (st, _) = open(7);
    expect(st, NETRIG_E_INVALID_ARG, "durability 7");
    ok(netrig_queue_free(q));
    // Reopened: the claimed item is pending again with its attempt counted.
    let (st, q) = open(NETRIG_DURABLE_PROCESS_CRASH);
    ok(st);
    assert_eq!(counts(q), [2, 0, 0, 0, 0]);
    let again = claim(q);
    assert_eq!(item_id(again), item_id(item));
    let mut attempt = 0;
    // SAFETY: live out pointer.
    ok(unsafe { netrig_item_attempt(again, &mut attempt) });
    assert_eq!(attempt, 2);
    expect(netrig_queue_complete(q, item), NETRIG_E_LEASE, "holds no lease");
    ok(netrig_queue_complete(q, again));
    ok(netrig_item_free(item));
    ok(netrig_item_free(again));
    ok(netrig_queue_free(q));
    let (st, q) = open(NETRIG_DURABLE_PROCESS_CRASH);
    ok(st);
    assert_eq!(counts(q), [1, 0, 0, 0, 1]);
    ok(netrig_queue_free(q));
    // An unusable path is an I/O error naming the file.
    let bad = c(dir.join("missing/dir/q.db").to_str().unwrap());
    let mut q = netrig_queue { id: 0 };
    // SAFETY: live C strings and out pointer.
    let st = unsafe { netrig_queue_open(bad.as_ptr(), name.as_ptr(), null(), 0, &mut q) };
    expect(st, NETRIG_E_IO, "missing/dir/q.db");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn status_constants_are_distinct_and_documented_values() {
    let all = [NETRIG_ITEM_PENDING, NETRIG_ITEM_PROCESSING, NETRIG_ITEM_SUSPENDED, NETRIG_ITEM_FAILED];
    assert_eq!(all, [1, 2, 3, 4]);
    assert_eq!((NETRIG_DURABLE_PROCESS_CRASH, NETRIG_DURABLE_POWER_LOSS), (0, 1));
    assert_eq!(NETRIG_QUEUE_MAX_ERROR_LEN, netrig::queue::MAX_ERROR_LEN);
    #[cfg(feature = "ssh")]
    assert_eq!(WAIT_FOREVER, NETRIG_WAIT_FOREVER);
    assert_eq!(netrig_status::NETRIG_E_LEASE as i32, 23);
    // SAFETY: netrig_status_str returns a static NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(netrig_status_str(NETRIG_E_LEASE as i32)) };
    assert_eq!(name.to_str().unwrap(), "NETRIG_E_LEASE");
}
