//! Regressions found by the outside probe of the C ABI (issue 12, section 5): each test drove
//! the defect it is named after before the fix, through the C ABI as a C caller drives it.
#![cfg(feature = "ssh")]

use std::ffi::c_void;
use std::path::PathBuf;
use std::process::Command;
use std::ptr::{null, null_mut};
use std::thread;
use std::time::{Duration, Instant};

use fakedev::{Faults, Fleet, Group, Inventory};
use netrig::ffi::*;
use netrig::netrig_status::{self, *};
use support::abi::{c, expect, last_error, ok};
use support::c_abi::Opts;

mod support;

fn fleet(profile: &str, n: usize, faults: Faults) -> Fleet {
    Fleet::start_inventory(&Inventory::default().group(Group::new(profile, n).faults(faults))).unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-c-abi-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// Polls `done` until it holds, failing the test after `limit`.
#[track_caller]
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(2));
    }
}

// ---- 1. netrig_pool_free wakes a waiting checkout with NETRIG_E_CLOSED ----

fn pool_stats(pool: netrig_pool) -> netrig_pool_stats {
    let mut s = netrig_pool_stats::default();
    // SAFETY: live out pointer.
    ok(unsafe { netrig_pool_get_stats(pool, &mut s) });
    s
}

#[test]
fn pool_free_ends_a_waiting_checkout_with_closed() {
    let f = fleet("cisco_ios", 1, Faults::default());
    let o = Opts::new(&f.devices()[0], "cisco_ios");
    let mut po = support::abi::options_default(netrig_pool_options_default);
    po.max_per_host = 1;
    let mut pool = netrig_pool { id: 0 };
    // SAFETY: live options and out pointer.
    ok(unsafe { netrig_pool_new(&po, &mut pool) });
    let mut held = netrig_device { id: 0 };
    // SAFETY: the options' strings live in `o`; live out pointer.
    ok(unsafe { netrig_pool_checkout(pool, &o.o, 0, &mut held) });

    let waiter = {
        let d = f.devices()[0].clone();
        thread::spawn(move || {
            let o = Opts::new(&d, "cisco_ios");
            let mut dev = netrig_device { id: 0 };
            // SAFETY: the options' strings live in `o`; live out pointer.
            let st = unsafe { netrig_pool_checkout(pool, &o.o, 10_000, &mut dev) };
            (st, last_error(), dev.id, Instant::now())
        })
    };
    wait_for("the second checkout waits", Duration::from_secs(10), || pool_stats(pool).waits == 1);
    let freed_at = Instant::now();
    ok(netrig_pool_free(pool));
    let (st, err, id, returned_at) = waiter.join().unwrap();
    assert_eq!(st, NETRIG_E_CLOSED, "{err}");
    assert!(err.starts_with("netrig_pool_checkout: ") && err.contains("closed"), "{err}");
    assert_eq!(id, 0, "out written on failure");
    // The 10 s checkout timeout is what the waiter got before the fix.
    assert!(returned_at - freed_at < Duration::from_secs(2), "woke {:?} after the free", returned_at - freed_at);
    // The session on loan stays usable and is closed at its free.
    ok(netrig_device_free(held));
}

// ---- 2. accept-new appends to one known_hosts file from threads and processes ----

fn known_hosts_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.trim().is_empty()).map(String::from).collect()
}

/// Every device opens with STRICT against the file: its entry survived.
fn strict_opens(f: &Fleet, kh: &std::path::Path) {
    for d in f.devices() {
        let mut o = Opts::new(d, "cisco_ios");
        o.o.host_key_policy = NETRIG_HOSTKEY_STRICT;
        o.set(|o| &mut o.known_hosts, kh.to_str().unwrap());
        match o.open() {
            Ok(dev) => ok(netrig_device_free(dev)),
            Err(st) => panic!("{}: {st:?}: {}", d.addr(), last_error()),
        }
    }
}

#[test]
fn accept_new_from_several_threads_keeps_every_entry() {
    const N: usize = 6;
    let f = fleet("cisco_ios", N, Faults::default());
    let kh = temp("known_hosts_threads");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(N));
    let opens: Vec<_> = f
        .devices()
        .iter()
        .map(|d| {
            let (d, kh, barrier) = (d.clone(), kh.clone(), barrier.clone());
            thread::spawn(move || {
                let mut o = Opts::new(&d, "cisco_ios");
                o.o.host_key_policy = NETRIG_HOSTKEY_ACCEPT_NEW;
                o.set(|o| &mut o.known_hosts, kh.to_str().unwrap());
                barrier.wait();
                o.open().map(|dev| netrig_device_free(dev)).map_err(|st| format!("{st:?}: {}", last_error()))
            })
        })
        .collect();
    for t in opens {
        assert_eq!(t.join().unwrap(), Ok(NETRIG_OK));
    }
    let lines = known_hosts_lines(&kh);
    assert_eq!(lines.len(), N, "{lines:#?}");
    for d in f.devices() {
        let entry = format!("[{}]:{} ", d.host, d.port);
        assert_eq!(lines.iter().filter(|l| l.starts_with(&entry)).count(), 1, "{entry}: {lines:#?}");
    }
    strict_opens(&f, &kh);
}

/// The child role of the test below (in its own process): opens, with accept-new, every device
/// in `NETRIG_PROBE_KH_CHILD` ("known_hosts path" then "host port user password" per line),
/// all at once, each on its own thread.
fn accept_new_child(spec: &str) {
    let mut lines = spec.lines();
    let kh = PathBuf::from(lines.next().unwrap());
    let opens: Vec<_> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let mut o = netrig::device::DeviceOptions::new(
                f[0],
                f[1].parse().unwrap(),
                f[2],
                netrig::device::Auth::Password(f[3].into()),
                netrig::device::Platform::named("cisco_ios").unwrap(),
            );
            o.host_key = netrig::device::HostKeyPolicy::AcceptNew(kh.clone());
            thread::spawn(move || netrig::device::Device::open(&o).map(drop))
        })
        .collect();
    for t in opens {
        t.join().unwrap().unwrap();
    }
}

#[test]
fn accept_new_from_several_processes_keeps_every_entry() {
    if let Ok(spec) = std::env::var("NETRIG_PROBE_KH_CHILD") {
        return accept_new_child(&spec);
    }
    const CHILDREN: usize = 3;
    const EACH: usize = 3;
    let f = fleet("cisco_ios", CHILDREN * EACH, Faults::default());
    let kh = temp("known_hosts_processes");
    let spawned: Vec<_> = f
        .devices()
        .chunks(EACH)
        .map(|devices| {
            let mut spec = kh.display().to_string();
            for d in devices {
                spec += &format!("\n{} {} {} {}", d.host, d.port, d.username, d.password);
            }
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "accept_new_from_several_processes_keeps_every_entry", "--test-threads=1"])
                .env("NETRIG_PROBE_KH_CHILD", spec)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in spawned {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let lines = known_hosts_lines(&kh);
    assert_eq!(lines.len(), CHILDREN * EACH, "{lines:#?}");
    strict_opens(&f, &kh);
}

// ---- 3. every thread in netrig_run_next_event gets NETRIG_E_CLOSED at the end ----

#[test]
fn run_end_gives_closed_to_every_thread_waiting_for_events() {
    let f = fleet("cisco_ios", 1, Faults { hang_on: vec!["show hang".into()], ..Faults::default() });
    let target = Opts::new(&f.devices()[0], "cisco_ios");
    for round in 0..3 {
        let mut job = netrig_job { id: 0 };
        // SAFETY: live out pointer, the options' strings live in `target`, a live C string.
        unsafe {
            ok(netrig_job_new(&mut job));
            ok(netrig_job_add_target(job, &target.o));
            ok(netrig_job_add_command(job, c("show hang").as_ptr(), 20_000));
        }
        let mut opts = support::abi::options_default(netrig_run_options_default);
        opts.events = 1;
        let mut run = netrig_run { id: 0 };
        // SAFETY: live options and out pointer; no callback.
        ok(unsafe { netrig_run_start(job, netrig_pool { id: 0 }, &opts, None, null_mut(), &mut run) });
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let taken = taken.clone();
                thread::spawn(move || loop {
                    let mut e = netrig_event {
                        kind: 0,
                        host: 0,
                        step: 0,
                        state: 0,
                        status: NETRIG_OK,
                        elapsed_us: 0,
                        worker: 0,
                    };
                    // SAFETY: live out pointer.
                    match unsafe { netrig_run_next_event(run, NETRIG_WAIT_FOREVER, &mut e) } {
                        NETRIG_OK => {
                            if e.kind == NETRIG_EVENT_STEP_STARTED {
                                taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            }
                        }
                        st => return (st, last_error()),
                    }
                })
            })
            .collect();
        // The run hangs in its step: both threads are (or soon are) waiting for the next event
        // when the cancel ends it. Whatever the interleaving, both must end with CLOSED.
        wait_for("the step started", Duration::from_secs(10), || taken.load(std::sync::atomic::Ordering::SeqCst) == 1);
        thread::sleep(Duration::from_millis(20));
        ok(netrig_run_cancel(run));
        for t in takers {
            let (st, err) = t.join().unwrap();
            assert_eq!(st, NETRIG_E_CLOSED, "round {round}: {err}");
            assert!(err.contains("all its events were taken"), "{err}");
        }
        ok(netrig_run_free(run));
        ok(netrig_job_free(job));
    }
}

// ---- 5 and 6. no input size aborts or panics ----

extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> i32;
}

const TIB: usize = 1 << 40;

/// `len` readable bytes (all zero) that cost no memory: a read-only private anonymous mapping
/// without swap reservation.
struct Huge {
    p: *mut c_void,
    len: usize,
}

impl Huge {
    fn new(len: usize) -> Huge {
        const PROT_READ: i32 = 1;
        const MAP_PRIVATE: i32 = 2;
        const MAP_ANONYMOUS: i32 = 0x20;
        const MAP_NORESERVE: i32 = 0x4000;
        // SAFETY: a fresh anonymous mapping; no existing memory is touched.
        let p = unsafe { mmap(null_mut(), len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) };
        assert!(p as isize != -1, "mmap of {len} bytes failed");
        Huge { p, len }
    }

    fn ptr(&self) -> *const u8 {
        self.p.cast()
    }
}

impl Drop for Huge {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { munmap(self.p, self.len) };
    }
}

/// Whether the kernel refuses an allocation larger than its memory (its default heuristic,
/// and strict accounting); with "always overcommit" it grants 1 TiB and only the copy would
/// fail, in the kernel's OOM killer, which no library can turn into a status.
fn refuses_huge_allocations() -> bool {
    std::fs::read_to_string("/proc/sys/vm/overcommit_memory").map_or(true, |m| m.trim() != "1")
}

fn bytes_value(p: *const u8, len: usize) -> netrig_value {
    netrig_value {
        kind: netrig_type::NETRIG_TYPE_BYTES as u32,
        b: 0,
        i: 0,
        d: 0.0,
        str: null(),
        bytes: p,
        bytes_len: len,
    }
}

fn new_store(opts: Option<netrig_store_options>) -> netrig_store {
    let mut s = netrig_store { id: 0 };
    let p = opts.as_ref().map_or(null(), |o| o as *const _);
    // SAFETY: live options or NULL, live out pointer.
    ok(unsafe { netrig_store_new(p, &mut s) });
    s
}

/// A status that is neither OK nor a panic, with a readable message naming the function.
#[track_caller]
fn refused(st: netrig_status, function: &str, want: &[netrig_status]) {
    let err = last_error();
    assert!(want.contains(&st), "{function}: {st:?}: {err}");
    assert!(err.starts_with(function), "{err}");
    for fragment in ["Error", "unwrap", "Layout", "{ ", "(.."] {
        assert!(!err.contains(fragment), "not a readable message: {err}");
    }
}

#[test]
fn store_values_past_the_bound_are_full_before_any_copy() {
    let huge = Huge::new(TIB);
    let s = new_store(None);
    let k = c("big");
    for len in [TIB, isize::MAX as usize, (256 << 20) + 1] {
        // SAFETY: `huge` is readable for TIB bytes; longer lengths are refused before any read.
        unsafe {
            let st = netrig_store_set_bytes(s, k.as_ptr(), huge.ptr(), len, 0);
            refused(st, "netrig_store_set_bytes", &[NETRIG_E_FULL]);
            assert!(last_error().contains("can never fit"), "{}", last_error());
            let v = bytes_value(huge.ptr(), len);
            let st = netrig_store_cas(s, k.as_ptr(), 0, &v, 0, null_mut());
            refused(st, "netrig_store_cas", &[NETRIG_E_FULL]);
        }
    }
    // The store is untouched and still works.
    let mut n = usize::MAX;
    // SAFETY: live out pointer; a 3-byte buffer.
    unsafe {
        ok(netrig_store_len(s, &mut n));
        assert_eq!(n, 0);
        ok(netrig_store_set_bytes(s, k.as_ptr(), b"abc".as_ptr(), 3, 0));
    }
    ok(netrig_store_free(s));
}

#[test]
fn sizes_no_allocator_can_give_are_a_status() {
    let huge = Huge::new(TIB);
    // A store with no byte bound, a batch (bound to no store) and a queue with no payload bound:
    // only the allocator can refuse. PTRDIFF_MAX can never be allocated; 1 TiB is refused by a
    // kernel that does not overcommit without limit.
    let mut lens = vec![isize::MAX as usize, isize::MAX as usize - 8];
    if refuses_huge_allocations() {
        lens.push(TIB);
    }
    let mut so = support::abi::options_default(netrig_store_options_default);
    so.max_bytes = u64::MAX;
    let s = new_store(Some(so));
    let mut batch = netrig_batch { id: 0 };
    let mut qo = support::abi::options_default(netrig_queue_options_default);
    let mut q = netrig_queue { id: 0 };
    let k = c("big");
    // SAFETY (block): live out pointers; `huge` is readable for TIB bytes, longer lengths are
    // refused before any read.
    unsafe {
        ok(netrig_batch_new(&mut batch));
        qo.max_payload = usize::MAX;
        ok(netrig_queue_new(&qo, &mut q));
        for len in lens {
            let v = bytes_value(huge.ptr(), len);
            let st = netrig_store_set_bytes(s, k.as_ptr(), huge.ptr(), len, 0);
            refused(st, "netrig_store_set_bytes", &[NETRIG_E_FULL]);
            let st = netrig_store_cas(s, k.as_ptr(), 0, &v, 0, null_mut());
            refused(st, "netrig_store_cas", &[NETRIG_E_FULL]);
            let st = netrig_batch_set(batch, k.as_ptr(), &v, 0);
            refused(st, "netrig_batch_set", &[NETRIG_E_FULL]);
            let mut id = 0;
            let st = netrig_queue_push(q, huge.ptr(), len, 0, &mut id);
            refused(st, "netrig_queue_push", &[NETRIG_E_FULL]);
            assert_eq!(id, 0);
        }
        let mut n = usize::MAX;
        ok(netrig_batch_len(batch, &mut n));
        assert_eq!(n, 0);
        // Everything still works with sizes that fit.
        ok(netrig_store_set_bytes(s, k.as_ptr(), huge.ptr(), 1 << 20, 0));
        ok(netrig_queue_push(q, huge.ptr(), 1 << 20, 0, null_mut()));
        ok(netrig_batch_set(batch, k.as_ptr(), &bytes_value(huge.ptr(), 1 << 20), 0));
        ok(netrig_store_apply(s, batch));
    }
    ok(netrig_batch_free(batch));
    ok(netrig_queue_free(q));
    ok(netrig_store_free(s));
}

// ---- 7. get_value with a NULL buffer and a non-zero length ----

#[test]
fn get_value_refuses_a_null_buffer_with_a_length_for_every_type() {
    let s = new_store(None);
    let (ki, ks) = (c("n"), c("s"));
    // SAFETY (block): live C strings and out pointers; `buf` NULL with a length is the input
    // under test, which must be refused before anything is written through it.
    unsafe {
        ok(netrig_store_set_int(s, ki.as_ptr(), 7, 0));
        ok(netrig_store_set_str(s, ks.as_ptr(), c("x").as_ptr(), 0));
        for k in [&ki, &ks] {
            let mut v = bytes_value(null(), 0);
            let mut len = 99usize;
            let st = netrig_store_get_value(s, k.as_ptr(), &mut v, null_mut(), 16, &mut len, null_mut());
            expect(st, NETRIG_E_NULL_ARG, "'buf'");
            assert_eq!((v.kind, len), (netrig_type::NETRIG_TYPE_BYTES as u32, 99), "out written on failure");
        }
        // NULL with 0 stays fine for a scalar.
        let mut v = bytes_value(null(), 0);
        let mut len = 99usize;
        ok(netrig_store_get_value(s, ki.as_ptr(), &mut v, null_mut(), 0, &mut len, null_mut()));
        assert_eq!((v.kind, v.i, len), (netrig_type::NETRIG_TYPE_INT as u32, 7, 0));
    }
    ok(netrig_store_free(s));
}
