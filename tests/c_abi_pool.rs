//! The pool and runner half of the C ABI driven exactly as a C caller drives it: handles as ids,
//! option structs of raw string pointers, statuses, out-parameters, the thread-local last error,
//! and a C callback with `user_data` called on the run's worker threads, against fake devices
//! that speak real SSH on loopback (tests/fakedev).
#![cfg(feature = "ssh")]

use std::collections::HashSet;
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use fakedev::{Faults, Fleet, Group, Inventory};
use netrig::ffi::*;
use netrig::netrig_status::{self, *};
use support::abi::{c, expect, last_error, ok, options_default, BAD_UTF8};
use support::c_abi::{start_blocked, Opts};

mod support;

/// The promise of netrig_device_cancel's and netrig_run_cancel's docs, with room for a loaded
/// 2-core machine where only the ordering matters (what is cancelled would otherwise run for
/// its 20 s deadline, or forever).
const CANCEL_LIMIT: Duration = Duration::from_millis(1000);

const CLOCK: &str = "*10:42:13.123 UTC Sat Nov 21 2026\n";

fn fleet(groups: &[(&str, usize, Faults)]) -> Fleet {
    let inv = groups.iter().fold(Inventory::default(), |inv, (profile, n, faults)| {
        inv.group(Group::new(profile, *n).faults(faults.clone()))
    });
    Fleet::start_inventory(&inv).unwrap()
}

fn hang_faults() -> Faults {
    Faults { hang_on: vec!["show hang".into()], ..Faults::default() }
}

fn new_pool(opts: Option<netrig_pool_options>) -> netrig_pool {
    let mut p = netrig_pool { id: 0 };
    let o = opts.as_ref().map_or(null(), |o| o as *const _);
    // SAFETY: a live options struct or NULL, and a live out pointer.
    ok(unsafe { netrig_pool_new(o, &mut p) });
    p
}

fn stats(pool: netrig_pool) -> netrig_pool_stats {
    let mut s = netrig_pool_stats::default();
    // SAFETY: live out pointer.
    ok(unsafe { netrig_pool_get_stats(pool, &mut s) });
    s
}

fn checkout(pool: netrig_pool, o: &Opts) -> netrig_device {
    let mut dev = netrig_device { id: 0 };
    // SAFETY: the options' strings live in `o`; live out pointer.
    ok(unsafe { netrig_pool_checkout(pool, &o.o, 0, &mut dev) });
    dev
}

/// The text of a result, checked against its reported length, and the result freed.
fn take_text(out: netrig_output) -> String {
    let (mut p, mut len) = (null(), usize::MAX);
    // SAFETY: live locals; the text stays valid until the output is freed, after this copy.
    let t = unsafe {
        ok(netrig_output_text(out, &mut p, &mut len));
        let bytes = CStr::from_ptr(p).to_bytes();
        assert_eq!(bytes.len(), len);
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    ok(netrig_output_free(out));
    t
}

fn send(dev: netrig_device, command: &str) -> Result<String, netrig_status> {
    let command = c(command);
    let mut out = netrig_output { id: 0 };
    // SAFETY: live C string and out pointer.
    match unsafe { netrig_device_send_command(dev, command.as_ptr(), 0, &mut out) } {
        NETRIG_OK => Ok(take_text(out)),
        st => Err(st),
    }
}

fn new_job() -> netrig_job {
    let mut job = netrig_job { id: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_job_new(&mut job) });
    job
}

fn add_targets(job: netrig_job, targets: &[Opts]) {
    for t in targets {
        // SAFETY: the options' strings live in `t`.
        ok(unsafe { netrig_job_add_target(job, &t.o) });
    }
}

fn add_command(job: netrig_job, command: &str, timeout_ms: u32) {
    let command = c(command);
    // SAFETY: live C string.
    ok(unsafe { netrig_job_add_command(job, command.as_ptr(), timeout_ms) });
}

fn add_config(job: netrig_job, lines: &[&str]) {
    let lines: Vec<CString> = lines.iter().map(|l| c(l)).collect();
    let ptrs: Vec<*const c_char> = lines.iter().map(|l| l.as_ptr()).collect();
    // SAFETY: `ptrs` points at live C strings.
    ok(unsafe { netrig_job_add_config(job, ptrs.as_ptr(), ptrs.len(), 0, 0) });
}

fn run_options() -> netrig_run_options {
    options_default(netrig_run_options_default)
}

fn start(
    job: netrig_job,
    pool: netrig_pool,
    opts: Option<netrig_run_options>,
    callback: netrig_event_fn,
    user_data: *mut c_void,
) -> netrig_run {
    let mut run = netrig_run { id: 0 };
    let o = opts.as_ref().map_or(null(), |o| o as *const _);
    // SAFETY: live options or NULL, live out pointer; the callers keep `user_data` alive until
    // netrig_run_wait returned NETRIG_OK.
    ok(unsafe { netrig_run_start(job, pool, o, callback, user_data, &mut run) });
    run
}

const NO_POOL: netrig_pool = netrig_pool { id: 0 };

fn wait(run: netrig_run) {
    ok(netrig_run_wait(run, NETRIG_WAIT_FOREVER));
}

fn totals(run: netrig_run) -> netrig_run_totals {
    let mut t = netrig_run_totals::default();
    // SAFETY: live out pointer.
    ok(unsafe { netrig_run_get_totals(run, &mut t) });
    t
}

fn host(run: netrig_run, i: usize) -> netrig_host_result {
    let mut h = netrig_host_result {
        state: 99,
        status: NETRIG_E_PANIC,
        duration_us: 0,
        connect_state: 99,
        connect_status: NETRIG_E_PANIC,
        steps: 99,
    };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_run_host(run, i, &mut h) });
    h
}

fn step(run: netrig_run, i: usize, k: usize) -> netrig_step_result {
    let mut s = netrig_step_result { state: 99, status: NETRIG_E_PANIC, exit_status: 99, duration_us: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_run_step(run, i, k, &mut s) });
    s
}

fn step_text(run: netrig_run, i: usize, k: usize) -> String {
    let mut out = netrig_output { id: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_run_step_output(run, i, k, &mut out) });
    take_text(out)
}

/// A string through the caller-buffer convention: ask for the length, then fetch it.
fn buffered(f: impl Fn(*mut c_char, usize, *mut usize) -> netrig_status) -> String {
    let mut len = usize::MAX;
    let st = f(null_mut(), 0, &mut len);
    assert!(st == NETRIG_E_BUFFER_TOO_SMALL, "{st:?}: {}", last_error());
    let mut buf = vec![0u8; len + 1];
    let mut got = 0usize;
    ok(f(buf.as_mut_ptr().cast(), buf.len(), &mut got));
    assert_eq!(got, len);
    assert_eq!(buf[len], 0, "NUL-terminated");
    String::from_utf8(buf[..len].to_vec()).unwrap()
}

fn host_name(run: netrig_run, i: usize) -> String {
    // SAFETY: the buffer pointer and length come from `buffered`; live out pointer.
    buffered(|buf, len, out| unsafe { netrig_run_host_name(run, i, buf, len, out) })
}

fn error_text(run: netrig_run, i: usize, k: i64) -> String {
    let mut len = usize::MAX;
    let mut buf = [0u8; 1];
    // SAFETY: a one-byte buffer; live out pointer.
    let st = unsafe { netrig_run_error(run, i, k, buf.as_mut_ptr().cast(), 1, &mut len) };
    if st == NETRIG_OK {
        assert_eq!(len, 0);
        return String::new();
    }
    // SAFETY: the buffer pointer and length come from `buffered`; live out pointer.
    buffered(|buf, len, out| unsafe { netrig_run_error(run, i, k, buf, len, out) })
}

fn json(run: netrig_run) -> String {
    let mut out = netrig_output { id: 0 };
    // SAFETY: live out pointer.
    ok(unsafe { netrig_run_json(run, &mut out) });
    take_text(out)
}

/// Waits until `cond` holds (sessions close asynchronously on the device's side).
#[track_caller]
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(5), "never happened: {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn pool_and_run_options_defaults() {
    let o = options_default(netrig_pool_options_default);
    // SAFETY (whole test): live out pointers or NULL.
    unsafe {
        expect(netrig_pool_options_default(null_mut(), size_of_val(&o)), NETRIG_E_NULL_ARG, "'out'");
        let mut r = run_options();
        expect(netrig_run_options_default(null_mut(), size_of_val(&r)), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!((o.max_per_host, o.max_total, o.idle_timeout_ms, o.max_lifetime_ms), (4, 512, 300_000, 3_600_000));
        assert_eq!((o.checkout_timeout_ms, o.health_check_after_ms, o.health_check_timeout_ms), (30_000, 10_000, 5000));
        assert_eq!(
            (r.max_workers, r.strategy, r.on_failure, r.events),
            (netrig::run::DEFAULT_MAX_WORKERS as u32, NETRIG_STRATEGY_FREE, NETRIG_ON_FAILURE_SKIP_HOST, 0)
        );
        // Every default is accepted as is.
        let mut p = netrig_pool { id: 0 };
        ok(netrig_pool_new(&o, &mut p));
        ok(netrig_pool_free(p));
        r.events = 1;
        let job = new_job();
        let run = start(job, NO_POOL, Some(r), None, null_mut());
        wait(run);
        ok(netrig_run_free(run));
        ok(netrig_job_free(job));
    }
}

#[test]
fn pool_functions_check_handles_and_arguments() {
    let f = fleet(&[("cisco_ios", 1, Faults::default())]);
    let o = Opts::new(&f.devices()[0], "cisco_ios");
    let pool = new_pool(None);
    let mut store = netrig_store { id: 0 };
    let (host, user, platform) = (c("127.0.0.1"), c("admin"), c("cisco_ios"));
    // SAFETY (whole test): every pointer passed is a live local, a C string kept alive by its
    // owner, or NULL.
    unsafe {
        ok(netrig_store_new(null(), &mut store));
        let defaults = options_default(netrig_pool_options_default);
        let mut p = netrig_pool { id: 7 };
        expect(netrig_pool_new(null(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        for field in 0..7 {
            let mut bad = defaults;
            let (slot, name) = match field {
                0 => (&mut bad.max_per_host, "max_per_host"),
                1 => (&mut bad.max_total, "max_total"),
                2 => (&mut bad.idle_timeout_ms, "idle_timeout_ms"),
                3 => (&mut bad.max_lifetime_ms, "max_lifetime_ms"),
                4 => (&mut bad.checkout_timeout_ms, "checkout_timeout_ms"),
                5 => (&mut bad.health_check_after_ms, "health_check_after_ms"),
                _ => (&mut bad.health_check_timeout_ms, "health_check_timeout_ms"),
            };
            *slot = 0;
            expect(netrig_pool_new(&bad, &mut p), NETRIG_E_INVALID_ARG, &format!("options.{name} is 0"));
        }
        assert_eq!(p.id, 7, "out-parameters are written only on success");

        // Zero, forged, wrong-kind and freed handles, for every function that takes a pool.
        let freed = new_pool(None);
        ok(netrig_pool_free(freed));
        let store_as_pool = netrig_pool { id: store.id };
        let mut dev = netrig_device { id: 9 };
        let mut s = netrig_pool_stats::default();
        let mut failed = 5usize;
        for (bad, needle) in [
            (netrig_pool { id: 0 }, "NULL"),
            (netrig_pool { id: 0xff00_0000_0000_0001 }, "is not a netrig handle"),
            (store_as_pool, "is a netrig_store, not a netrig_pool"),
            (freed, "was freed"),
        ] {
            expect(netrig_pool_free(bad), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_pool_checkout(bad, &o.o, 0, &mut dev), NETRIG_E_INVALID_HANDLE, needle);
            expect(
                netrig_pool_checkout_key(bad, host.as_ptr(), 22, user.as_ptr(), null(), 0, &mut dev),
                NETRIG_E_INVALID_HANDLE,
                needle,
            );
            expect(netrig_pool_prewarm(bad, &o.o, 1, 1, null_mut(), &mut failed), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_pool_get_stats(bad, &mut s), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_pool_close_all(bad), NETRIG_E_INVALID_HANDLE, needle);
        }
        assert_eq!((dev.id, failed), (9, 5), "no failed call wrote an out-parameter");
        // A pool handle is no device, job or run, and a device is no pool.
        expect(
            netrig_device_free(netrig_device { id: pool.id }),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_pool, not a netrig_device",
        );
        expect(
            netrig_job_free(netrig_job { id: pool.id }),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_pool, not a netrig_job",
        );
        expect(
            netrig_run_free(netrig_run { id: pool.id }),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_pool, not a netrig_run",
        );
        expect(netrig_pool_discard(netrig_device { id: pool.id }), NETRIG_E_INVALID_HANDLE, "is a netrig_pool");
        expect(netrig_pool_discard(netrig_device { id: 0 }), NETRIG_E_INVALID_HANDLE, "NULL");

        // Arguments, checked before anything connects.
        expect(netrig_pool_checkout(pool, null(), 0, &mut dev), NETRIG_E_NULL_ARG, "'opts'");
        expect(netrig_pool_checkout(pool, &o.o, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        let mut no_port = o.o;
        no_port.port = 0;
        expect(netrig_pool_checkout(pool, &no_port, 0, &mut dev), NETRIG_E_INVALID_ARG, "options.port is 0");
        let mut bad_host = o.o;
        bad_host.host = BAD_UTF8.as_ptr().cast();
        expect(netrig_pool_checkout(pool, &bad_host, 0, &mut dev), NETRIG_E_UTF8, "options.host");
        expect(
            netrig_pool_checkout_key(pool, null(), 22, user.as_ptr(), null(), 0, &mut dev),
            NETRIG_E_NULL_ARG,
            "'host'",
        );
        expect(
            netrig_pool_checkout_key(pool, host.as_ptr(), 22, null(), null(), 0, &mut dev),
            NETRIG_E_NULL_ARG,
            "'username'",
        );
        expect(
            netrig_pool_checkout_key(pool, host.as_ptr(), 0, user.as_ptr(), null(), 0, &mut dev),
            NETRIG_E_INVALID_ARG,
            "port is 0",
        );
        expect(
            netrig_pool_checkout_key(pool, host.as_ptr(), 22, user.as_ptr(), BAD_UTF8.as_ptr().cast(), 0, &mut dev),
            NETRIG_E_UTF8,
            "platform",
        );
        expect(
            netrig_pool_checkout_key(pool, host.as_ptr(), 22, user.as_ptr(), platform.as_ptr(), 0, null_mut()),
            NETRIG_E_NULL_ARG,
            "'out'",
        );
        let mut statuses = [NETRIG_E_PANIC; 2];
        expect(
            netrig_pool_prewarm(pool, null(), 2, 4, statuses.as_mut_ptr(), &mut failed),
            NETRIG_E_NULL_ARG,
            "'targets'",
        );
        expect(
            netrig_pool_prewarm(pool, &o.o, 1, 0, statuses.as_mut_ptr(), &mut failed),
            NETRIG_E_INVALID_ARG,
            "parallel is 0",
        );
        let two = [o.o, no_port];
        expect(
            netrig_pool_prewarm(pool, two.as_ptr(), 2, 4, statuses.as_mut_ptr(), &mut failed),
            NETRIG_E_INVALID_ARG,
            "targets[1]: options.port is 0",
        );
        assert_eq!((statuses, failed), ([NETRIG_E_PANIC; 2], 5), "an argument error writes nothing");
        ok(netrig_pool_prewarm(pool, null(), 0, 1, null_mut(), &mut failed));
        assert_eq!(failed, 0, "nothing to warm is a success");
        expect(netrig_pool_get_stats(pool, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!(dev.id, 9);
        assert_eq!(stats(pool), netrig_pool_stats::default(), "nothing connected");
        assert_eq!(f.devices()[0].stats().connections, 0, "no argument error reached the device");

        // discard on a device opened without a pool: refused, and the handle still works.
        let mut owned = netrig_device { id: 0 };
        ok(netrig_device_open(&o.o, &mut owned));
        expect(netrig_pool_discard(owned), NETRIG_E_INVALID_ARG, "not checked out of a pool");
        assert_eq!(send(owned, "show clock").unwrap(), CLOCK);
        ok(netrig_device_free(owned));
        expect(netrig_pool_discard(owned), NETRIG_E_INVALID_HANDLE, "was freed");

        ok(netrig_pool_free(pool));
        expect(netrig_pool_free(pool), NETRIG_E_INVALID_HANDLE, "was freed");
        ok(netrig_store_free(store));
    }
}

#[test]
fn job_and_run_functions_check_handles_and_arguments() {
    let f = fleet(&[("cisco_ios", 1, Faults::default())]);
    let o = Opts::new(&f.devices()[0], "cisco_ios");
    let job = new_job();
    let (cmd, host, user, local, remote) = (c("show clock"), c("127.0.0.1"), c("admin"), c("/tmp/x"), c("/tmp/y"));
    let lines = [cmd.as_ptr()];
    // SAFETY (whole test): every pointer passed is a live local, a C string kept alive by its
    // owner, or NULL.
    unsafe {
        let mut j = netrig_job { id: 3 };
        expect(netrig_job_new(null_mut()), NETRIG_E_NULL_ARG, "'out'");
        let freed = new_job();
        ok(netrig_job_free(freed));
        let pool = new_pool(None);
        let pool_as_job = netrig_job { id: pool.id };
        for (bad, needle) in
            [(netrig_job { id: 0 }, "NULL"), (freed, "was freed"), (pool_as_job, "is a netrig_pool, not a netrig_job")]
        {
            expect(netrig_job_free(bad), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_job_add_target(bad, &o.o), NETRIG_E_INVALID_HANDLE, needle);
            expect(
                netrig_job_add_target_key(bad, host.as_ptr(), 22, user.as_ptr(), null()),
                NETRIG_E_INVALID_HANDLE,
                needle,
            );
            expect(netrig_job_add_command(bad, cmd.as_ptr(), 0), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_job_add_config(bad, lines.as_ptr(), 1, 0, 0), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_job_add_exec(bad, cmd.as_ptr(), 0), NETRIG_E_INVALID_HANDLE, needle);
            expect(
                netrig_job_add_put(bad, local.as_ptr(), remote.as_ptr(), NETRIG_PROTOCOL_SFTP, 0),
                NETRIG_E_INVALID_HANDLE,
                needle,
            );
            expect(
                netrig_job_add_get(bad, remote.as_ptr(), local.as_ptr(), NETRIG_PROTOCOL_SCP, 0),
                NETRIG_E_INVALID_HANDLE,
                needle,
            );
            let mut run = netrig_run { id: 5 };
            expect(netrig_run_start(bad, NO_POOL, null(), None, null_mut(), &mut run), NETRIG_E_INVALID_HANDLE, needle);
            assert_eq!(run.id, 5);
        }
        assert_eq!(j.id, 3);

        // Arguments of the job builders.
        expect(netrig_job_add_target(job, null()), NETRIG_E_NULL_ARG, "'opts'");
        let mut no_user = o.o;
        no_user.username = null();
        expect(netrig_job_add_target(job, &no_user), NETRIG_E_NULL_ARG, "'options.username'");
        let mut bad_platform = o.o;
        let nope = c("cisco_nope");
        bad_platform.platform = nope.as_ptr();
        expect(netrig_job_add_target(job, &bad_platform), NETRIG_E_INVALID_ARG, "unknown platform 'cisco_nope'");
        expect(netrig_job_add_target_key(job, host.as_ptr(), 22, null(), null()), NETRIG_E_NULL_ARG, "'username'");
        expect(
            netrig_job_add_target_key(job, c("").as_ptr(), 22, user.as_ptr(), null()),
            NETRIG_E_INVALID_ARG,
            "host is empty",
        );
        expect(netrig_job_add_command(job, null(), 0), NETRIG_E_NULL_ARG, "'command'");
        expect(netrig_job_add_command(job, BAD_UTF8.as_ptr().cast(), 0), NETRIG_E_UTF8, "command");
        expect(netrig_job_add_config(job, lines.as_ptr(), 0, 0, 0), NETRIG_E_INVALID_ARG, "count is 0");
        expect(netrig_job_add_config(job, null(), 2, 0, 0), NETRIG_E_NULL_ARG, "'lines'");
        expect(netrig_job_add_config(job, lines.as_ptr(), 1, 8, 0), NETRIG_E_INVALID_ARG, "flags");
        expect(
            netrig_job_add_config(job, lines.as_ptr(), 1, NETRIG_CONFIG_COMMIT | NETRIG_CONFIG_COMMIT_CHECK, 0),
            NETRIG_E_INVALID_ARG,
            "flags",
        );
        expect(netrig_job_add_exec(job, null(), 0), NETRIG_E_NULL_ARG, "'command'");
        expect(netrig_job_add_put(job, null(), remote.as_ptr(), 0, 0), NETRIG_E_NULL_ARG, "'local'");
        expect(netrig_job_add_put(job, local.as_ptr(), null(), 0, 0), NETRIG_E_NULL_ARG, "'remote'");
        expect(netrig_job_add_put(job, local.as_ptr(), remote.as_ptr(), 7, 0), NETRIG_E_INVALID_ARG, "protocol 7");
        expect(netrig_job_add_get(job, null(), local.as_ptr(), 0, 0), NETRIG_E_NULL_ARG, "'remote'");
        expect(netrig_job_add_get(job, remote.as_ptr(), BAD_UTF8.as_ptr().cast(), 0, 0), NETRIG_E_UTF8, "local");
        expect(netrig_job_add_get(job, remote.as_ptr(), local.as_ptr(), 2, 0), NETRIG_E_INVALID_ARG, "protocol 2");

        // Arguments of netrig_run_start.
        let mut run = netrig_run { id: 5 };
        expect(netrig_run_start(job, NO_POOL, null(), None, null_mut(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(
            netrig_run_start(job, netrig_pool { id: job.id }, null(), None, null_mut(), &mut run),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_job, not a netrig_pool",
        );
        for (edit, needle) in [
            (&(|r: &mut netrig_run_options| r.max_workers = 0) as &dyn Fn(&mut netrig_run_options), "max_workers is 0"),
            (&|r: &mut netrig_run_options| r.strategy = 2, "opts.strategy 2 is not a NETRIG_STRATEGY_*"),
            (&|r: &mut netrig_run_options| r.on_failure = 3, "opts.on_failure 3 is not a NETRIG_ON_FAILURE_*"),
        ] {
            let mut r = run_options();
            edit(&mut r);
            expect(netrig_run_start(job, NO_POOL, &r, None, null_mut(), &mut run), NETRIG_E_INVALID_ARG, needle);
        }
        ok(netrig_job_add_target_key(job, host.as_ptr(), 22, user.as_ptr(), null()));
        expect(
            netrig_run_start(job, NO_POOL, null(), None, null_mut(), &mut run),
            NETRIG_E_INVALID_ARG,
            "is a pool key, but the run has no pool",
        );
        assert_eq!(run.id, 5, "no failed start wrote its out-parameter");

        // Every run function on zero, wrong-kind and freed handles.
        let empty = new_job();
        let freed_run = start(empty, NO_POOL, None, None, null_mut());
        wait(freed_run);
        ok(netrig_run_free(freed_run));
        let mut ev = netrig_event { kind: 0, host: 0, step: 0, state: 0, status: NETRIG_OK, elapsed_us: 0, worker: 0 };
        let mut t = netrig_run_totals::default();
        let mut h = std::mem::zeroed::<netrig_host_result>();
        let mut s = std::mem::zeroed::<netrig_step_result>();
        let mut out = netrig_output { id: 0 };
        let mut len = 0usize;
        let mut buf = [0u8; 64];
        let bp: *mut c_char = buf.as_mut_ptr().cast();
        for (bad, needle) in [
            (netrig_run { id: 0 }, "NULL"),
            (freed_run, "was freed"),
            (netrig_run { id: job.id }, "is a netrig_job, not a netrig_run"),
        ] {
            expect(netrig_run_wait(bad, 0), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_cancel(bad), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_next_event(bad, 0, &mut ev), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_free(bad), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_get_totals(bad, &mut t), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_host(bad, 0, &mut h), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_host_name(bad, 0, bp, 64, &mut len), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_step(bad, 0, 0, &mut s), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_step_output(bad, 0, 0, &mut out), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_error(bad, 0, -1, bp, 64, &mut len), NETRIG_E_INVALID_HANDLE, needle);
            expect(netrig_run_json(bad, &mut out), NETRIG_E_INVALID_HANDLE, needle);
        }
        assert_eq!((out.id, len), (0, 0));

        // NULL out-parameters and indexes out of range, on a finished run of one host.
        let one = new_job();
        add_targets(one, std::slice::from_ref(&o));
        add_command(one, "show clock", 0);
        let run = start(one, NO_POOL, None, None, null_mut());
        wait(run);
        expect(netrig_run_next_event(run, 0, &mut ev), NETRIG_E_INVALID_ARG, "started without events");
        expect(netrig_run_next_event(run, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_run_get_totals(run, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_run_host(run, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_run_host(run, 1, &mut h), NETRIG_E_NOT_FOUND, "host list has 1 entries; index 1");
        expect(netrig_run_host_name(run, 0, bp, 64, null_mut()), NETRIG_E_NULL_ARG, "'out_len'");
        expect(netrig_run_host_name(run, 1, bp, 64, &mut len), NETRIG_E_NOT_FOUND, "index 1");
        expect(netrig_run_host_name(run, 0, null_mut(), 64, &mut len), NETRIG_E_NULL_ARG, "'buf'");
        expect(netrig_run_step(run, 0, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_run_step(run, 0, 1, &mut s), NETRIG_E_NOT_FOUND, "step list has 1 entries; index 1");
        expect(netrig_run_step(run, usize::MAX, 0, &mut s), NETRIG_E_NOT_FOUND, "host list");
        expect(netrig_run_step_output(run, 0, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_run_step_output(run, 0, 5, &mut out), NETRIG_E_NOT_FOUND, "index 5");
        expect(netrig_run_error(run, 0, -2, bp, 64, &mut len), NETRIG_E_INVALID_ARG, "step -2");
        expect(netrig_run_error(run, 0, 1, bp, 64, &mut len), NETRIG_E_NOT_FOUND, "index 1");
        expect(netrig_run_error(run, 2, -1, bp, 64, &mut len), NETRIG_E_NOT_FOUND, "index 2");
        expect(netrig_run_error(run, 0, 0, bp, 64, null_mut()), NETRIG_E_NULL_ARG, "'out_len'");
        expect(netrig_run_json(run, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!(out.id, 0);
        assert_eq!(step_text(run, 0, 0), CLOCK);
        ok(netrig_run_free(run));
        expect(netrig_run_free(run), NETRIG_E_INVALID_HANDLE, "was freed");
        for jb in [job, empty, one] {
            ok(netrig_job_free(jb));
        }
        ok(netrig_pool_free(pool));
        j.id = 0;
        let _ = j;
    }
}

#[test]
fn a_run_without_targets_finishes_at_once() {
    let job = new_job();
    add_command(job, "show clock", 0);
    let counts = Counts::default();
    let run = start(job, NO_POOL, None, Some(on_event), &counts as *const Counts as *mut c_void);
    ok(netrig_run_wait(run, 0));
    let t = totals(run);
    assert_eq!((t.hosts, t.succeeded, t.steps_skipped, t.run_cancelled, t.run_aborted), (0, 0, 0, 0, 0));
    assert_eq!(counts.kinds(), [0, 0, 0, 0, 0, 0, 1], "only RUN_FINISHED");
    // Documented: with no targets RUN_FINISHED comes on the caller's thread, inside start.
    assert_eq!(counts.off_worker.load(Ordering::SeqCst), 1);
    assert!(json(run).contains("\"hosts\":[]"));
    ok(netrig_run_free(run));
    ok(netrig_job_free(job));
}

#[test]
fn checkout_and_free_return_the_session_to_the_pool() {
    let f = fleet(&[("cisco_ios", 2, Faults::default())]);
    let (a, b) = (Opts::new(&f.devices()[0], "cisco_ios"), Opts::new(&f.devices()[1], "cisco_ios"));
    let pool = new_pool(None);

    let dev = checkout(pool, &a);
    let s = stats(pool);
    assert_eq!((s.misses, s.created, s.in_use, s.idle, s.peak_in_use), (1, 1, 1, 0, 1));
    // An ordinary device handle: every device function works on it.
    assert_eq!(send(dev, "show clock").unwrap(), CLOCK);
    let mut alive = false;
    // SAFETY: live out pointer.
    ok(unsafe { netrig_device_is_alive(dev, 0, &mut alive) });
    assert!(alive);
    ok(netrig_device_free(dev));
    let s = stats(pool);
    assert_eq!((s.in_use, s.idle, s.discarded_broken), (0, 1, 0), "free returned the session");
    expect(netrig_device_free(dev), NETRIG_E_INVALID_HANDLE, "was freed");

    // The next checkout of the same device is a hit on that very session.
    let dev = checkout(pool, &a);
    let s = stats(pool);
    assert_eq!((s.hits, s.reused, s.created, s.in_use, s.idle), (1, 1, 1, 1, 0));
    assert_eq!(f.devices()[0].stats().connections, 1, "one SSH connection served both checkouts");
    // Another device gets its own session.
    let other = checkout(pool, &b);
    assert_eq!((stats(pool).created, stats(pool).in_use, stats(pool).peak_in_use), (2, 2, 2));
    ok(netrig_device_free(other));
    ok(netrig_device_free(dev));
    assert_eq!((stats(pool).idle, stats(pool).in_use), (2, 0));

    // close_all closes the idle ones; the pool goes on with new sessions.
    ok(netrig_pool_close_all(pool));
    let s = stats(pool);
    assert_eq!((s.idle, s.closed_by_close_all), (0, 2));
    eventually("the devices see their sessions closed", || {
        f.devices().iter().all(|d| d.stats().active_connections == 0)
    });
    let dev = checkout(pool, &a);
    assert_eq!(stats(pool).created, 3);

    // Freeing the pool leaves the checked-out handle usable; its free then closes the session.
    ok(netrig_pool_free(pool));
    assert_eq!(
        send(dev, "show version").unwrap().lines().next().unwrap().split(',').next().unwrap(),
        "Cisco IOS Software"
    );
    assert_eq!(f.devices()[0].stats().active_connections, 1);
    ok(netrig_device_free(dev));
    eventually("the last session closes once returned to a freed pool", || {
        f.devices()[0].stats().active_connections == 0
    });
}

#[test]
fn checkout_key_uses_the_options_the_pool_has_seen() {
    let f = fleet(&[("cisco_ios", 1, Faults::default())]);
    let d = &f.devices()[0];
    let o = Opts::new(d, "cisco_ios");
    let pool = new_pool(None);
    let (host, user, platform) = (c(&d.host), c(&d.username), c("cisco_ios"));
    let mut dev = netrig_device { id: 0 };
    // SAFETY (whole test): live C strings and out pointers.
    unsafe {
        expect(
            netrig_pool_checkout_key(pool, host.as_ptr(), d.port, user.as_ptr(), platform.as_ptr(), 0, &mut dev),
            NETRIG_E_NOT_FOUND,
            "was never checked out with options",
        );
        assert_eq!(dev.id, 0);
        ok(netrig_device_free(checkout(pool, &o)));
        ok(netrig_pool_checkout_key(pool, host.as_ptr(), d.port, user.as_ptr(), platform.as_ptr(), 0, &mut dev));
        assert_eq!(send(dev, "show clock").unwrap(), CLOCK);
        assert_eq!(stats(pool).hits, 1, "the key found the idle session");
        // While that one is out, the key opens a second session with the remembered options.
        let mut second = netrig_device { id: 0 };
        ok(netrig_pool_checkout_key(pool, host.as_ptr(), d.port, user.as_ptr(), platform.as_ptr(), 0, &mut second));
        assert_eq!(stats(pool).created, 2);
        assert_eq!(send(second, "show clock").unwrap(), CLOCK);
        // A NULL platform means "generic": another key, never seen.
        expect(
            netrig_pool_checkout_key(pool, host.as_ptr(), d.port, user.as_ptr(), null(), 0, &mut dev),
            NETRIG_E_NOT_FOUND,
            "(generic)",
        );
        ok(netrig_device_free(second));
        ok(netrig_device_free(dev));
    }
    ok(netrig_pool_free(pool));
}

#[test]
fn discard_closes_a_leased_session_instead_of_returning_it() {
    let f = fleet(&[("cisco_ios", 1, Faults::default())]);
    let o = Opts::new(&f.devices()[0], "cisco_ios");
    let pool = new_pool(None);
    let dev = checkout(pool, &o);
    assert_eq!(send(dev, "show clock").unwrap(), CLOCK);
    ok(netrig_pool_discard(dev));
    let s = stats(pool);
    assert_eq!((s.in_use, s.idle, s.discarded_broken), (0, 0, 1));
    expect(netrig_pool_discard(dev), NETRIG_E_INVALID_HANDLE, "was freed");
    expect(netrig_device_free(dev), NETRIG_E_INVALID_HANDLE, "was freed");
    eventually("the discarded session is closed", || f.devices()[0].stats().active_connections == 0);
    ok(netrig_device_free(checkout(pool, &o)));
    assert_eq!(stats(pool).created, 2, "the next checkout had to connect");
    ok(netrig_pool_free(pool));
}

#[test]
fn freeing_a_leased_handle_while_another_thread_uses_it_discards_the_session() {
    let f = fleet(&[("cisco_ios", 1, hang_faults())]);
    let o = Opts::new(&f.devices()[0], "cisco_ios");
    let pool = new_pool(None);
    let dev = checkout(pool, &o);
    let blocked = start_blocked(dev, move || send(dev, "show hang"));
    thread::sleep(Duration::from_millis(100));
    let freed_at = Instant::now();
    ok(netrig_device_free(dev));
    assert!(freed_at.elapsed() < CANCEL_LIMIT, "free waited {:?}", freed_at.elapsed());
    let (r, returned_at) = blocked.join().unwrap();
    assert_eq!(r.unwrap_err(), NETRIG_E_CANCELLED, "the running call was cancelled");
    assert!(returned_at - freed_at < CANCEL_LIMIT, "returned {:?} after the free", returned_at - freed_at);
    let s = stats(pool);
    assert_eq!((s.in_use, s.idle, s.discarded_broken), (0, 0, 1), "the session is not back in the pool");
    eventually("the hung session is closed", || f.devices()[0].stats().active_connections == 0);

    // The next checkout gets a fresh session, which works.
    let dev = checkout(pool, &o);
    assert_eq!(stats(pool).created, 2);
    assert_eq!(send(dev, "show clock").unwrap(), CLOCK);

    // A session whose operation was cancelled is broken: returned by free, it is closed too.
    let blocked = start_blocked(dev, move || send(dev, "show hang"));
    ok(netrig_device_cancel(dev));
    assert_eq!(blocked.join().unwrap().0.unwrap_err(), NETRIG_E_CANCELLED);
    ok(netrig_device_free(dev));
    let s = stats(pool);
    assert_eq!((s.idle, s.discarded_broken), (0, 2));
    ok(netrig_pool_free(pool));
}

#[test]
fn prewarm_fills_the_pool_and_names_the_failing_host() {
    let f = fleet(&[
        ("cisco_ios", 3, Faults::default()),
        ("cisco_ios", 1, Faults { auth_always_fails: true, ..Faults::default() }),
    ]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let raw: Vec<netrig_device_options> = targets.iter().map(|t| t.o).collect();
    let locked = &f.devices()[3];
    let pool = new_pool(None);
    let mut statuses = [NETRIG_E_PANIC; 4];
    let mut failed = 99usize;
    // SAFETY: `raw` points into `targets`' strings; live out arrays.
    let st = unsafe { netrig_pool_prewarm(pool, raw.as_ptr(), raw.len(), 2, statuses.as_mut_ptr(), &mut failed) };
    expect(st, NETRIG_E_AUTH, &format!("1 of 4 targets failed: {}:{}: ", locked.host, locked.port));
    assert_eq!(statuses, [NETRIG_OK, NETRIG_OK, NETRIG_OK, NETRIG_E_AUTH], "statuses are written on failure too");
    assert_eq!(failed, 1);
    let s = stats(pool);
    assert_eq!((s.idle, s.created, s.connect_failures, s.in_use), (3, 3, 1, 0));

    // The warm sessions are what a checkout gets; all-good prewarm returns OK (NULL outs fine).
    // SAFETY: as above.
    ok(unsafe { netrig_pool_prewarm(pool, raw.as_ptr(), 3, 8, null_mut(), null_mut()) });
    assert_eq!(stats(pool).created, 3, "already warm: nothing new opened");
    let dev = checkout(pool, &targets[1]);
    assert_eq!(stats(pool).hits, 4);
    ok(netrig_device_free(dev));
    ok(netrig_pool_free(pool));
}

/// What the event callback saw; shared by all worker threads through `user_data`.
#[derive(Default)]
struct Counts {
    by_kind: [AtomicUsize; 7],
    /// Events delivered on a thread not named netrig-run-<event.worker>.
    off_worker: AtomicUsize,
    threads: Mutex<HashSet<String>>,
    /// STEP_FINISHED events with NETRIG_STATE_OK.
    steps_ok: AtomicUsize,
    /// The sequence of (kind, step) for order checks.
    order: Mutex<Vec<(u32, i64)>>,
    /// A run handle the callback reads host names with, once the test has stored it.
    run: AtomicU64,
    names: Mutex<HashSet<String>>,
    /// At RUN_FINISHED: what netrig_run_wait from the callback returned, and the totals.
    at_finish: Mutex<Option<(netrig_status, String, netrig_status, usize)>>,
}

impl Counts {
    fn kinds(&self) -> [usize; 7] {
        std::array::from_fn(|i| self.by_kind[i].load(Ordering::SeqCst))
    }
}

unsafe extern "C" fn on_event(event: *const netrig_event, user_data: *mut c_void) {
    // SAFETY: netrig passes a live event for the call and the `user_data` of netrig_run_start,
    // a `Counts` the test keeps alive until netrig_run_wait returned NETRIG_OK; it is only used
    // through atomics and mutexes, so sharing it between workers is sound.
    let (e, counts) = unsafe { (&*event, &*(user_data as *const Counts)) };
    counts.by_kind[e.kind as usize].fetch_add(1, Ordering::SeqCst);
    let name = thread::current().name().unwrap_or("").to_owned();
    if name != format!("netrig-run-{}", e.worker) {
        counts.off_worker.fetch_add(1, Ordering::SeqCst);
    }
    if e.kind == NETRIG_EVENT_STEP_FINISHED && e.state == NETRIG_STATE_OK {
        counts.steps_ok.fetch_add(1, Ordering::SeqCst);
    }
    counts.threads.lock().unwrap().insert(name);
    counts.order.lock().unwrap().push((e.kind, e.step));
    let run = counts.run.load(Ordering::SeqCst);
    if run != 0 && e.host >= 0 {
        // netrig calls from the callback are fine: no netrig lock is held here.
        let mut buf = [0u8; 64];
        let mut len = 0;
        // SAFETY: a live buffer of 64 bytes and a live length.
        let st = unsafe {
            netrig_run_host_name(netrig_run { id: run }, e.host as usize, buf.as_mut_ptr().cast(), 64, &mut len)
        };
        if st == NETRIG_OK {
            counts.names.lock().unwrap().insert(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
    }
    if run != 0 && e.kind == NETRIG_EVENT_RUN_FINISHED {
        let run = netrig_run { id: run };
        let wait = netrig_run_wait(run, NETRIG_WAIT_FOREVER);
        let text = last_error();
        let mut t = netrig_run_totals::default();
        // SAFETY: live out pointer.
        let st = unsafe { netrig_run_get_totals(run, &mut t) };
        *counts.at_finish.lock().unwrap() = Some((wait, text, st, t.succeeded));
    }
}

#[test]
fn a_run_with_a_callback_on_the_worker_threads_and_a_pool() {
    const HOSTS: usize = 6;
    let f = fleet(&[("cisco_ios", HOSTS, Faults { latency_ms: 20, ..Faults::default() })]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let job = new_job();
    add_targets(job, &targets);
    add_command(job, "show clock", 0);
    add_command(job, "show version", 2000);
    add_config(job, &["interface GigabitEthernet0/1", "description uplink", "exit"]);
    let pool = new_pool(None);
    let mut opts = run_options();
    opts.max_workers = 3;

    for round in 0..2 {
        let counts = Counts::default();
        let run = start(job, pool, Some(opts), Some(on_event), &counts as *const Counts as *mut c_void);
        counts.run.store(run.id, Ordering::SeqCst);
        wait(run);
        let t = totals(run);
        assert_eq!((t.hosts, t.succeeded, t.failed, t.steps_succeeded), (HOSTS, HOSTS, 0, HOSTS * 3), "round {round}");
        assert_eq!(counts.kinds(), [0, HOSTS, HOSTS, HOSTS * 3, HOSTS * 3, HOSTS, 1], "events by kind");
        assert_eq!(counts.steps_ok.load(Ordering::SeqCst), HOSTS * 3);
        assert_eq!(counts.off_worker.load(Ordering::SeqCst), 0, "every event came on netrig-run-<worker>");
        let threads = counts.threads.lock().unwrap().clone();
        assert!(
            !threads.is_empty() && threads.len() <= 3 && threads.iter().all(|n| n.starts_with("netrig-run-")),
            "worker threads: {threads:?}"
        );
        assert_eq!(counts.order.lock().unwrap().last(), Some(&(NETRIG_EVENT_RUN_FINISHED, -1)));
        assert!(!counts.names.lock().unwrap().is_empty(), "the callback could read host names");
        let (wait, text, st, succeeded) = counts.at_finish.lock().unwrap().clone().expect("RUN_FINISHED saw the run");
        assert_eq!(wait, NETRIG_E_INVALID_ARG, "netrig_run_wait from the run's own callback: {text}");
        assert!(text.contains("own event callback"), "{text}");
        assert_eq!((st, succeeded), (NETRIG_OK, HOSTS), "results are readable at RUN_FINISHED");
        for i in 0..HOSTS {
            assert_eq!(host_name(run, i), format!("{}:{}", f.devices()[i].host, f.devices()[i].port));
            assert_eq!(step_text(run, i, 0), CLOCK);
        }
        ok(netrig_run_free(run));
        let s = stats(pool);
        assert_eq!((s.in_use, s.idle, s.created), (0, HOSTS as u64, HOSTS as u64), "round {round}: sessions back");
    }
    // The second run reused every session of the first.
    let s = stats(pool);
    assert_eq!((s.hits, s.reused), (HOSTS as u64, HOSTS as u64));
    assert!(f.devices().iter().all(|d| d.stats().connections == 1));
    ok(netrig_job_free(job));
    ok(netrig_pool_free(pool));
}

#[test]
fn events_are_polled_until_closed() {
    let f = fleet(&[("cisco_ios", 3, Faults::default())]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let job = new_job();
    add_targets(job, &targets);
    add_command(job, "show clock", 0);
    add_command(job, "show version", 0);
    let mut opts = run_options();
    opts.events = 1;
    opts.strategy = NETRIG_STRATEGY_LINEAR;
    let run = start(job, NO_POOL, Some(opts), None, null_mut());
    let mut events = vec![];
    let started = Instant::now();
    loop {
        let mut e =
            netrig_event { kind: 0, host: 0, step: 0, state: 0, status: NETRIG_E_PANIC, elapsed_us: 0, worker: 0 };
        // SAFETY: live out pointer.
        match unsafe { netrig_run_next_event(run, 1000, &mut e) } {
            NETRIG_OK => events.push(e),
            NETRIG_E_TIMEOUT => assert!(started.elapsed() < Duration::from_secs(20), "no end"),
            NETRIG_E_CLOSED => {
                assert!(last_error().contains("all its events were taken"), "{}", last_error());
                break;
            }
            st => panic!("{st:?}: {}", last_error()),
        }
    }
    let kinds: Vec<u32> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == NETRIG_EVENT_STEP_FINISHED).count(), 6);
    assert_eq!(kinds.last(), Some(&NETRIG_EVENT_RUN_FINISHED));
    let last = events.last().unwrap();
    assert_eq!((last.host, last.step, last.state, last.status), (-1, -1, NETRIG_STATE_NONE, NETRIG_OK));
    assert!(last.elapsed_us > 0);
    // LINEAR: step 0 finished on every host before step 1 started on any.
    let last_step0 = events.iter().rposition(|e| e.kind == NETRIG_EVENT_STEP_FINISHED && e.step == 0).unwrap();
    let first_step1 = events.iter().position(|e| e.kind == NETRIG_EVENT_STEP_STARTED && e.step == 1).unwrap();
    assert!(last_step0 < first_step1, "linear order: {kinds:?}");
    for e in &events {
        match e.kind {
            NETRIG_EVENT_HOST_STARTED | NETRIG_EVENT_STEP_STARTED => assert_eq!(e.state, NETRIG_STATE_NONE),
            NETRIG_EVENT_CONNECTED | NETRIG_EVENT_STEP_FINISHED | NETRIG_EVENT_HOST_FINISHED => {
                assert_eq!((e.state, e.status), (NETRIG_STATE_OK, NETRIG_OK))
            }
            _ => {}
        }
        if e.kind != NETRIG_EVENT_RUN_FINISHED {
            assert!((0..3).contains(&e.host));
        }
        if matches!(e.kind, NETRIG_EVENT_STEP_STARTED | NETRIG_EVENT_STEP_FINISHED) {
            assert!((0..2).contains(&e.step));
        } else {
            assert_eq!(e.step, -1);
        }
    }
    // Still CLOSED, at once, later.
    let mut e = events[0];
    let t = Instant::now();
    // SAFETY: live out pointer.
    expect(unsafe { netrig_run_next_event(run, NETRIG_WAIT_FOREVER, &mut e) }, NETRIG_E_CLOSED, "taken");
    assert!(t.elapsed() < CANCEL_LIMIT, "a forever wait on a finished run waited {:?}", t.elapsed());
    ok(netrig_run_wait(run, 0));
    ok(netrig_run_free(run));
    ok(netrig_job_free(job));
}

#[test]
fn wait_times_out_while_running_and_cancel_stops_the_run() {
    let f = fleet(&[("cisco_ios", 4, hang_faults())]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let job = new_job();
    add_targets(job, &targets);
    add_command(job, "show clock", 0);
    add_command(job, "show hang", 20_000);
    add_command(job, "show clock", 0);
    let mut opts = run_options();
    opts.max_workers = 2;
    opts.events = 1;
    let run = start(job, NO_POOL, Some(opts), None, null_mut());
    // Wait until both workers are inside "show hang".
    let mut hanging = 0;
    while hanging < 2 {
        let mut e = netrig_event { kind: 0, host: 0, step: 0, state: 0, status: NETRIG_OK, elapsed_us: 0, worker: 0 };
        // SAFETY: live out pointer.
        ok(unsafe { netrig_run_next_event(run, 10_000, &mut e) });
        hanging += usize::from(e.kind == NETRIG_EVENT_STEP_STARTED && e.step == 1);
    }
    let t = Instant::now();
    expect(netrig_run_wait(run, 0), NETRIG_E_TIMEOUT, "still running after 0 ms");
    expect(netrig_run_wait(run, 100), NETRIG_E_TIMEOUT, "still running after 100 ms");
    assert!(t.elapsed() >= Duration::from_millis(100) && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Results are not there yet.
    let mut tot = netrig_run_totals::default();
    let mut out = netrig_output { id: 0 };
    let mut len = 0;
    // SAFETY (block): live out pointers.
    unsafe {
        expect(netrig_run_get_totals(run, &mut tot), NETRIG_E_BUSY, "still running");
        let mut h = std::mem::zeroed::<netrig_host_result>();
        expect(netrig_run_host(run, 0, &mut h), NETRIG_E_BUSY, "netrig_run_wait");
        let mut s = std::mem::zeroed::<netrig_step_result>();
        expect(netrig_run_step(run, 0, 0, &mut s), NETRIG_E_BUSY, "still running");
        expect(netrig_run_step_output(run, 0, 0, &mut out), NETRIG_E_BUSY, "still running");
        expect(netrig_run_error(run, 0, -1, null_mut(), 0, &mut len), NETRIG_E_BUSY, "still running");
        expect(netrig_run_json(run, &mut out), NETRIG_E_BUSY, "still running");
    }
    // Names are known from the start.
    assert_eq!(host_name(run, 3), f.devices()[3].addr());

    // From another thread: the waiter wakes once the cancelled run has ended.
    let waiter = thread::spawn(move || (netrig_run_wait(run, NETRIG_WAIT_FOREVER), Instant::now()));
    thread::sleep(Duration::from_millis(50));
    let cancelled_at = Instant::now();
    ok(netrig_run_cancel(run));
    let (st, woke_at) = waiter.join().unwrap();
    assert_eq!(st, NETRIG_OK);
    assert!(woke_at - cancelled_at < CANCEL_LIMIT, "the run ended {:?} after the cancel", woke_at - cancelled_at);
    let t = totals(run);
    assert_eq!(t.run_cancelled, 1);
    assert_eq!((t.cancelled, t.skipped, t.succeeded), (2, 2, 0), "2 cut short in flight, 2 never started");
    assert_eq!((t.steps_succeeded, t.steps_cancelled, t.steps_skipped), (2, 2, 8));
    let running: Vec<usize> = (0..4).filter(|i| host(run, *i).state == NETRIG_STATE_CANCELLED).collect();
    for &i in &running {
        let h = host(run, i);
        assert_eq!(
            (h.status, h.connect_state, h.connect_status, h.steps),
            (NETRIG_E_CANCELLED, NETRIG_STATE_OK, NETRIG_OK, 3)
        );
        let s = step(run, i, 1);
        assert_eq!((s.state, s.status, s.exit_status), (NETRIG_STATE_CANCELLED, NETRIG_E_CANCELLED, -1));
        assert!(error_text(run, i, 1).contains("cancelled"), "{}", error_text(run, i, 1));
        assert_eq!(step(run, i, 2).state, NETRIG_STATE_SKIPPED);
        assert_eq!(error_text(run, i, 2), "not run: the run was cancelled");
    }
    for i in (0..4).filter(|i| !running.contains(i)) {
        let h = host(run, i);
        assert_eq!((h.state, h.connect_state), (NETRIG_STATE_SKIPPED, NETRIG_STATE_SKIPPED));
        assert_eq!(error_text(run, i, -1), "not started: the run was cancelled");
    }
    assert!(json(run).contains("\"cancelled\":true"));
    ok(netrig_run_cancel(run));
    ok(netrig_run_free(run));
    ok(netrig_job_free(job));
    eventually("every session was closed", || f.devices().iter().all(|d| d.stats().active_connections == 0));
}

#[test]
fn run_free_and_pool_free_never_wait_for_a_running_run() {
    let f = fleet(&[("cisco_ios", 3, hang_faults())]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let job = new_job();
    add_targets(job, &targets);
    add_command(job, "show hang", 20_000);
    let pool = new_pool(None);
    // The callback may run after netrig_run_free until the workers end: user_data must outlive
    // them, so this test leaks it.
    let counts: &'static Counts = Box::leak(Box::default());
    let run = start(job, pool, None, Some(on_event), counts as *const Counts as *mut c_void);
    ok(netrig_job_free(job));
    eventually("every host is inside its step", || counts.kinds()[NETRIG_EVENT_STEP_STARTED as usize] == 3);
    let t = Instant::now();
    ok(netrig_pool_free(pool));
    ok(netrig_run_free(run));
    assert!(t.elapsed() < CANCEL_LIMIT, "the frees waited {:?}", t.elapsed());
    expect(netrig_run_wait(run, 0), NETRIG_E_INVALID_HANDLE, "was freed");
    eventually("the freed run ends, cancelled", || counts.kinds()[NETRIG_EVENT_RUN_FINISHED as usize] == 1);
    assert_eq!(counts.kinds()[NETRIG_EVENT_HOST_FINISHED as usize], 3);
    // The run held the pool until it ended; then the pool closed, and with it every session.
    eventually("every session was closed", || f.devices().iter().all(|d| d.stats().active_connections == 0));
}

#[test]
fn results_by_host_and_step_with_buffers_and_json() {
    let f = fleet(&[
        ("cisco_ios", 1, Faults::default()),
        ("cisco_ios", 1, Faults { auth_always_fails: true, ..Faults::default() }),
        ("cisco_ios", 1, Faults { hang_on: vec!["show version".into()], ..Faults::default() }),
    ]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let job = new_job();
    add_targets(job, &targets);
    add_command(job, "show clock", 0);
    add_command(job, "show version", 500);
    add_config(job, &["interface GigabitEthernet0/1", "description uplink", "exit"]);
    let run = start(job, NO_POOL, None, None, null_mut());
    wait(run);
    let names: Vec<String> = f.devices().iter().map(|d| d.addr()).collect();

    let t = totals(run);
    assert_eq!((t.hosts, t.succeeded, t.failed, t.timed_out, t.cancelled, t.skipped), (3, 1, 1, 1, 0, 0));
    assert_eq!((t.steps_succeeded, t.steps_failed, t.steps_timed_out, t.steps_skipped), (4, 0, 1, 4));
    assert_eq!((t.run_cancelled, t.run_aborted), (0, 0));
    assert!(t.wall_us > 0);

    // Host 0: everything worked.
    let h = host(run, 0);
    assert_eq!(
        (h.state, h.status, h.connect_state, h.connect_status, h.steps),
        (NETRIG_STATE_OK, NETRIG_OK, NETRIG_STATE_OK, NETRIG_OK, 3)
    );
    assert!(h.duration_us > 0);
    assert_eq!(step_text(run, 0, 0), CLOCK);
    assert!(step_text(run, 0, 1).starts_with("Cisco IOS Software"));
    assert!(step_text(run, 0, 2).starts_with("interface GigabitEthernet0/1"));
    assert_eq!(error_text(run, 0, -1), "");
    assert_eq!(error_text(run, 0, 1), "");
    let s = step(run, 0, 1);
    assert_eq!((s.state, s.status, s.exit_status), (NETRIG_STATE_OK, NETRIG_OK, -1));
    let mut out = netrig_output { id: 0 };
    let (mut code, mut us) = (99, 0u64);
    // SAFETY (block): live out pointers.
    unsafe {
        ok(netrig_run_step_output(run, 0, 1, &mut out));
        ok(netrig_output_exit_status(out, &mut code));
        ok(netrig_output_elapsed_us(out, &mut us));
    }
    assert_eq!((code, us), (0, s.duration_us), "a CLI step's output: exit status 0, the step's duration");
    ok(netrig_output_free(out));

    // Host 1: refused at login; its steps never ran.
    let h = host(run, 1);
    assert_eq!(
        (h.state, h.status, h.connect_state, h.connect_status),
        (NETRIG_STATE_FAILED, NETRIG_E_AUTH, NETRIG_STATE_FAILED, NETRIG_E_AUTH)
    );
    let connect = error_text(run, 1, -1);
    assert!(connect.starts_with(&format!("{}: connect: ", names[1])) && connect.contains("admin"), "{connect}");
    for k in 0..3 {
        assert_eq!(step(run, 1, k).state, NETRIG_STATE_SKIPPED);
        assert_eq!(step_text(run, 1, k), "");
    }

    // Host 2: "show version" hangs past its 500 ms; the config step is skipped.
    let h = host(run, 2);
    assert_eq!((h.state, h.status), (NETRIG_STATE_TIMED_OUT, NETRIG_E_TIMEOUT));
    let s = step(run, 2, 1);
    assert_eq!((s.state, s.status), (NETRIG_STATE_TIMED_OUT, NETRIG_E_TIMEOUT));
    assert!(s.duration_us >= 500_000 && s.duration_us < 3_000_000, "{} us", s.duration_us);
    let err = error_text(run, 2, 1);
    assert!(err.starts_with(&format!("{} step 2 (command 'show version'): ", names[2])), "{err}");
    assert_eq!(step(run, 2, 2).state, NETRIG_STATE_SKIPPED);
    assert_eq!(error_text(run, 2, 2), "not run: an earlier step of this host failed");

    // Buffers: too small reports the length without the NUL and writes nothing else.
    let mut buf = [b'x'; 8];
    let mut len = 0usize;
    // SAFETY (block): `buf` holds 8 bytes; live length pointer.
    unsafe {
        let st = netrig_run_host_name(run, 0, buf.as_mut_ptr().cast(), 8, &mut len);
        expect(st, NETRIG_E_BUFFER_TOO_SMALL, &format!("needs {} bytes; the buffer holds 8", names[0].len() + 1));
        assert_eq!(len, names[0].len());
        let st = netrig_run_host_name(run, 0, buf.as_mut_ptr().cast(), names[0].len(), &mut len);
        assert_eq!(st, NETRIG_E_BUFFER_TOO_SMALL, "room for the text but not the NUL");
        expect(
            netrig_run_error(run, 2, 1, buf.as_mut_ptr().cast(), 8, &mut len),
            NETRIG_E_BUFFER_TOO_SMALL,
            "error of host 2 step 1",
        );
        assert_eq!(len, err.len());
        expect(
            netrig_run_error(run, 1, -1, buf.as_mut_ptr().cast(), 8, &mut len),
            NETRIG_E_BUFFER_TOO_SMALL,
            "connect error of host 1",
        );
        assert_eq!(len, connect.len());
    }
    assert_eq!(&buf, b"xxxxxxxx", "a too-small buffer is left alone");
    for (i, n) in names.iter().enumerate() {
        assert_eq!(&host_name(run, i), n);
    }

    let j = json(run);
    assert!(j.starts_with("{\"wall_ms\":") && j.ends_with("]}"), "{j}");
    assert!(
        j.contains("\"totals\":{\"succeeded\":1,\"failed\":1,\"timed_out\":1,\"cancelled\":0,\"skipped\":0}"),
        "{j}"
    );
    assert!(j.contains(&format!("\"failed_hosts\":[\"{}\",\"{}\"]", names[1], names[2])), "{j}");
    assert!(j.contains("\"status\":\"NETRIG_E_TIMEOUT\"") && j.contains("\"aborted\":null"), "{j}");
    ok(netrig_run_free(run));
    ok(netrig_job_free(job));
}

#[test]
fn abort_stops_the_run_at_the_first_failure() {
    let f = fleet(&[("cisco_ios", 3, Faults::default())]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "cisco_ios")).collect();
    let job = new_job();
    add_targets(job, &targets);
    add_config(job, &["hostname R9", "bogus command"]);
    add_command(job, "show clock", 0);
    let mut opts = run_options();
    opts.max_workers = 1;
    opts.on_failure = NETRIG_ON_FAILURE_ABORT;
    let run = start(job, NO_POOL, Some(opts), None, null_mut());
    wait(run);
    let t = totals(run);
    assert_eq!((t.run_aborted, t.run_cancelled, t.failed, t.skipped), (1, 0, 1, 2));
    let s = step(run, 0, 0);
    assert_eq!((s.state, s.status), (NETRIG_STATE_FAILED, NETRIG_E_COMMAND));
    assert!(error_text(run, 0, 0).contains("config line 2 'bogus command'"), "{}", error_text(run, 0, 0));
    assert_eq!(error_text(run, 1, -1), "not started: the run was aborted");
    assert!(json(run).contains("\"aborted\":\"") && json(run).contains("bogus command"));

    // CONTINUE: the failure does not stop the host's next step.
    opts.on_failure = NETRIG_ON_FAILURE_CONTINUE;
    opts.max_workers = 8;
    let run2 = start(job, NO_POOL, Some(opts), None, null_mut());
    wait(run2);
    let t = totals(run2);
    assert_eq!((t.failed, t.steps_failed, t.steps_succeeded, t.run_aborted), (3, 3, 3, 0));
    assert_eq!(step_text(run2, 2, 1), CLOCK);
    ok(netrig_run_free(run));
    ok(netrig_run_free(run2));
    ok(netrig_job_free(job));
}

#[test]
fn exec_and_file_transfer_steps_on_linux_boards() {
    let f = fleet(&[("linux", 2, Faults::default())]);
    let targets: Vec<Opts> = f.devices().iter().map(|d| Opts::new(d, "linux")).collect();
    let dir = std::env::temp_dir().join(format!("netrig-c-abi-pool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let local = dir.join("fw.bin");
    std::fs::write(&local, &data).unwrap();
    let (local_c, remote) = (c(local.to_str().unwrap()), c("/tmp/fw.bin"));
    let back = c(dir.join("back-{host}-{port}.bin").to_str().unwrap());
    let (script, fine) = (c("echo out; echo err >&2; exit 3"), c("hostname"));
    let job = new_job();
    add_targets(job, &targets);
    // SAFETY (block): live C strings.
    unsafe {
        ok(netrig_job_add_put(job, local_c.as_ptr(), remote.as_ptr(), NETRIG_PROTOCOL_SFTP, 0));
        ok(netrig_job_add_get(job, remote.as_ptr(), back.as_ptr(), NETRIG_PROTOCOL_SFTP, 0));
        ok(netrig_job_add_exec(job, script.as_ptr(), 0));
        ok(netrig_job_add_exec(job, fine.as_ptr(), 5000));
    }
    let mut opts = run_options();
    opts.on_failure = NETRIG_ON_FAILURE_CONTINUE;
    let run = start(job, NO_POOL, Some(opts), None, null_mut());
    wait(run);
    for (i, d) in f.devices().iter().enumerate() {
        assert_eq!(step_text(run, i, 0), format!("{} bytes", data.len()), "{}", error_text(run, i, 0));
        assert_eq!(step_text(run, i, 1), format!("{} bytes", data.len()), "{}", error_text(run, i, 1));
        let got = std::fs::read(dir.join(format!("back-{}-{}.bin", d.host, d.port))).unwrap();
        assert!(got == data, "{{host}} and {{port}} give each host its own file");
        // A non-zero exit fails the step, with stdout, stderr and the exit status kept.
        let s = step(run, i, 2);
        assert_eq!((s.state, s.status, s.exit_status), (NETRIG_STATE_FAILED, NETRIG_E_COMMAND, 3));
        assert!(error_text(run, i, 2).contains("exited with status 3"), "{}", error_text(run, i, 2));
        let mut out = netrig_output { id: 0 };
        let (mut p, mut len, mut code) = (null(), 0usize, 0i32);
        // SAFETY (block): live out pointers; the stderr text is read before the output is freed.
        unsafe {
            ok(netrig_run_step_output(run, i, 2, &mut out));
            ok(netrig_output_stderr(out, &mut p, &mut len));
            assert_eq!(CStr::from_ptr(p).to_str().unwrap(), "err\n");
            ok(netrig_output_exit_status(out, &mut code));
        }
        assert_eq!(code, 3);
        assert_eq!(take_text(out), "out\n");
        // CONTINUE went on to the next step, which worked.
        let s = step(run, i, 3);
        assert_eq!((s.state, s.exit_status), (NETRIG_STATE_OK, 0));
    }
    let t = totals(run);
    assert_eq!((t.failed, t.steps_failed, t.steps_succeeded), (2, 2, 6));
    ok(netrig_run_free(run));
    ok(netrig_job_free(job));
    let _ = std::fs::remove_dir_all(&dir);
}
