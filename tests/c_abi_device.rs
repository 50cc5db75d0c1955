//! The device half of the C ABI driven exactly as a C caller drives it: an options struct of raw
//! string pointers, handles as ids, statuses, out-parameters and the thread-local last error,
//! against fake devices that speak real SSH on loopback (tests/fakedev).
#![cfg(feature = "ssh")]

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use fakedev::Faults;
use netrig::ffi::*;
use netrig::netrig_status::{self, *};
use support::abi::{c, expect, last_error, options_default, BAD_UTF8};
use support::c_abi::{fleet, open, start_blocked, Opts};

mod support;

/// The promise of netrig_device_cancel's and netrig_device_free's docs (100 ms), plus room for
/// the scheduling of a loaded 2-core machine; the operations cancelled here would otherwise run
/// for their whole 3-10 s deadline, or forever.
const CANCEL_LIMIT: Duration = Duration::from_millis(100 + 900);

/// The text of a result (exec: stdout), checked against the length the accessor reports.
fn text(out: netrig_output) -> String {
    let (mut p, mut len) = (null(), usize::MAX);
    // SAFETY: live locals; the text stays valid until the output is freed, after this copy.
    unsafe {
        assert_eq!(netrig_output_text(out, &mut p, &mut len), NETRIG_OK, "{}", last_error());
        let bytes = CStr::from_ptr(p).to_bytes();
        assert_eq!(bytes.len(), len, "len and the NUL-terminated text disagree");
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}

fn stderr(out: netrig_output) -> String {
    let (mut p, mut len) = (null(), usize::MAX);
    // SAFETY: as in `text`.
    unsafe {
        assert_eq!(netrig_output_stderr(out, &mut p, &mut len), NETRIG_OK, "{}", last_error());
        let bytes = std::slice::from_raw_parts(p as *const u8, len + 1);
        assert_eq!(bytes[len], 0, "stderr is NUL-terminated");
        String::from_utf8(bytes[..len].to_vec()).unwrap()
    }
}

/// Runs an operation that produces a result; returns its text and frees it, or the status.
fn take(op: impl FnOnce(*mut netrig_output) -> netrig_status) -> Result<String, netrig_status> {
    let mut out = netrig_output { id: 0 };
    match op(&mut out) {
        NETRIG_OK => {
            let t = text(out);
            assert_eq!(netrig_output_free(out), NETRIG_OK);
            Ok(t)
        }
        st => {
            assert_eq!(out.id, 0, "a failed operation wrote its out-parameter");
            Err(st)
        }
    }
}

fn send(dev: netrig_device, command: &str) -> Result<String, netrig_status> {
    let command = c(command);
    // SAFETY: `command` and the out pointer are live for the call.
    take(|out| unsafe { netrig_device_send_command(dev, command.as_ptr(), 0, out) })
}

fn free(dev: netrig_device) {
    assert_eq!(netrig_device_free(dev), NETRIG_OK, "{}", last_error());
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-c-abi-device-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn options_default_values() {
    let o = options_default(netrig_device_options_default);
    assert_eq!(o.port, 22);
    assert_eq!(o.host_key_policy, NETRIG_HOSTKEY_STRICT);
    assert_eq!(
        (o.connect_timeout_ms, o.auth_timeout_ms, o.timeout_ms, o.keepalive_ms),
        (10_000, 10_000, 30_000, 30_000)
    );
    assert_eq!((o.term_cols, o.term_rows), (511, 24));
    assert_eq!(o.use_agent, 0);
    let strings = [
        o.host,
        o.username,
        o.password,
        o.private_key_file,
        o.private_key,
        o.passphrase,
        o.secret,
        o.known_hosts,
        o.host_key_fingerprint,
        o.platform,
        o.prompt_pattern,
        o.paging_off_command,
        o.enable_command,
        o.config_command,
        o.config_exit_command,
        o.config_prompt_pattern,
        o.session_log,
    ];
    assert!(strings.iter().all(|p| p.is_null()), "every string defaults to NULL");
}

#[test]
fn open_checks_its_arguments_before_connecting() {
    // Nothing listens on this device's port once the fleet is gone, so a call that got as far
    // as connecting would fail with NETRIG_E_CONNECT, not with the statuses below.
    let f = fleet(&[("cisco_ios", Faults::default())]);
    let d = f.devices()[0].clone();
    drop(f);
    let good = Opts::new(&d, "cisco_ios");
    let mut dev = netrig_device { id: 7 };
    // SAFETY (whole test): every pointer passed is a live local, a string kept alive by its
    // Opts, or NULL.
    unsafe {
        expect(netrig_device_open(null(), &mut dev), NETRIG_E_NULL_ARG, "'options'");
        expect(netrig_device_open(&good.o, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!(dev.id, 7, "out-parameters are written only on success");

        let with = |edit: &dyn Fn(&mut netrig_device_options)| {
            let mut o = good.o;
            edit(&mut o);
            let mut dev = netrig_device { id: 7 };
            let st = netrig_device_open(&o, &mut dev);
            assert_eq!(dev.id, 7, "out-parameters are written only on success");
            st
        };
        expect(with(&|o| o.host = null()), NETRIG_E_NULL_ARG, "'options.host'");
        expect(with(&|o| o.username = null()), NETRIG_E_NULL_ARG, "'options.username'");
        expect(with(&|o| o.host = BAD_UTF8.as_ptr().cast()), NETRIG_E_UTF8, "options.host");
        expect(with(&|o| o.password = BAD_UTF8.as_ptr().cast()), NETRIG_E_UTF8, "options.password");
        expect(with(&|o| o.port = 0), NETRIG_E_INVALID_ARG, "options.port is 0");
        expect(with(&|o| o.host_key_policy = 9), NETRIG_E_INVALID_ARG, "host_key_policy 9 is not a NETRIG_HOSTKEY_*");
        expect(
            with(&|o| o.host_key_fingerprint = null()),
            NETRIG_E_INVALID_ARG,
            "NETRIG_HOSTKEY_PINNED needs options.host_key_fingerprint",
        );
        expect(with(&|o| o.password = null()), NETRIG_E_INVALID_ARG, "no credentials");
        expect(with(&|o| o.timeout_ms = 0), NETRIG_E_INVALID_ARG, "options.timeout_ms is 0");
        expect(with(&|o| o.connect_timeout_ms = 0), NETRIG_E_INVALID_ARG, "options.connect_timeout_ms is 0");
        expect(with(&|o| o.term_rows = 0), NETRIG_E_INVALID_ARG, "term_rows");
        expect(with(&|o| o.platform = null()), NETRIG_E_INVALID_ARG, "options.platform is NULL: name a platform");
        let nope = c("cisco_nope");
        expect(with(&|o| o.platform = nope.as_ptr()), NETRIG_E_INVALID_ARG, "unknown platform 'cisco_nope'");
        let (generic, prompt, enter) = (c("generic"), c(r"\S+#$"), c("configure"));
        expect(
            with(&|o| {
                o.platform = generic.as_ptr();
                o.prompt_pattern = prompt.as_ptr();
                o.config_command = enter.as_ptr();
            }),
            NETRIG_E_INVALID_ARG,
            "go together",
        );
        // Arguments all valid: the call connects, and the dead port refuses.
        expect(with(&|_| {}), NETRIG_E_CONNECT, &format!("device 127.0.0.1:{}", d.port));
    }
}

#[test]
fn open_reports_host_key_auth_and_secret_failures() {
    let f = fleet(&[
        ("cisco_ios", Faults::default()),
        ("cisco_ios", Faults { auth_always_fails: true, ..Faults::default() }),
    ]);
    let (d, locked) = (&f.devices()[0], &f.devices()[1]);

    let mut o = Opts::new(d, "cisco_ios");
    o.set(|o| &mut o.host_key_fingerprint, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect(o.open().unwrap_err(), NETRIG_E_HOSTKEY, &d.host_key_fingerprint);
    assert!(last_error().contains("HOST KEY CHANGED"), "{}", last_error());

    let kh = temp("known_hosts");
    let mut o = Opts::new(d, "cisco_ios");
    o.o.host_key_policy = NETRIG_HOSTKEY_STRICT;
    o.set(|o| &mut o.known_hosts, kh.to_str().unwrap());
    expect(o.open().unwrap_err(), NETRIG_E_HOSTKEY, "strict host key checking");

    let mut o = Opts::new(d, "cisco_ios");
    o.set(|o| &mut o.password, "wrong-password");
    expect(o.open().unwrap_err(), NETRIG_E_AUTH, "refused");
    assert!(!last_error().contains("wrong-password"), "a password in an error message: {}", last_error());
    expect(Opts::new(locked, "cisco_ios").open().unwrap_err(), NETRIG_E_AUTH, "authentication as 'admin'");

    let mut o = Opts::new(d, "cisco_ios");
    o.set(|o| &mut o.secret, "not-the-secret");
    expect(o.open().unwrap_err(), NETRIG_E_AUTH, "enable secret refused");
}

#[test]
fn handles_are_checked_on_every_call() {
    let f = fleet(&[("cisco_ios", Faults::default())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let mut store = netrig_store { id: 0 };
    // SAFETY (whole test): every pointer passed is a live local, a C string or NULL.
    unsafe {
        assert_eq!(netrig_store_new(null(), &mut store), NETRIG_OK);
        let cmd = c("show clock");
        let mut out = netrig_output { id: 0 };
        assert_eq!(netrig_device_send_command(dev, cmd.as_ptr(), 0, &mut out), NETRIG_OK);
        let issued = out;

        // Wrong kinds, both ways, and the zero handle.
        let store_as_device = netrig_device { id: store.id };
        expect(
            netrig_device_send_command(store_as_device, cmd.as_ptr(), 0, &mut out),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_store, not a netrig_device",
        );
        expect(netrig_device_free(store_as_device), NETRIG_E_INVALID_HANDLE, "is a netrig_store, not a netrig_device");
        let device_as_output = netrig_output { id: dev.id };
        expect(
            netrig_output_free(device_as_output),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_device, not a netrig_output",
        );
        let mut p = null();
        expect(
            netrig_output_text(device_as_output, &mut p, null_mut()),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_device, not a netrig_output",
        );
        expect(netrig_device_cancel(netrig_device { id: out.id }), NETRIG_E_INVALID_HANDLE, "is a netrig_output");
        expect(netrig_device_cancel(netrig_device { id: 0 }), NETRIG_E_INVALID_HANDLE, "NULL");
        expect(netrig_output_free(netrig_output { id: 0 }), NETRIG_E_INVALID_HANDLE, "NULL");
        expect(
            netrig_device_free(netrig_device { id: 0xff23_4567_89ab_cdef }),
            NETRIG_E_INVALID_HANDLE,
            "is not a netrig handle",
        );

        // NULL and non-UTF-8 arguments.
        expect(netrig_device_send_command(dev, null(), 0, &mut out), NETRIG_E_NULL_ARG, "'command'");
        expect(netrig_device_send_command(dev, cmd.as_ptr(), 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_device_send_command(dev, BAD_UTF8.as_ptr().cast(), 0, &mut out), NETRIG_E_UTF8, "command");
        expect(netrig_output_text(out, null_mut(), null_mut()), NETRIG_E_NULL_ARG, "'text'");
        let mut alive = false;
        expect(netrig_device_is_alive(dev, 0, null_mut()), NETRIG_E_NULL_ARG, "'alive'");
        assert_eq!(netrig_device_is_alive(dev, 0, &mut alive), NETRIG_OK);
        assert!(alive);

        // The output outlives nothing it should not: freed once, then invalid everywhere.
        assert_eq!(text(out), "*10:42:13.123 UTC Sat Nov 21 2026\n");
        assert_eq!(netrig_output_free(out), NETRIG_OK);
        expect(netrig_output_free(out), NETRIG_E_INVALID_HANDLE, "was freed");
        expect(netrig_output_text(out, &mut p, null_mut()), NETRIG_E_INVALID_HANDLE, "was freed");
        let mut us = 0;
        expect(netrig_output_elapsed_us(out, &mut us), NETRIG_E_INVALID_HANDLE, "was freed");

        free(dev);
        expect(netrig_device_free(dev), NETRIG_E_INVALID_HANDLE, "netrig_device handle");
        expect(netrig_device_send_command(dev, cmd.as_ptr(), 0, &mut out), NETRIG_E_INVALID_HANDLE, "was freed");
        expect(netrig_device_cancel(dev), NETRIG_E_INVALID_HANDLE, "was freed");
        expect(netrig_device_close(dev), NETRIG_E_INVALID_HANDLE, "was freed");
        expect(netrig_device_enable(dev, 0), NETRIG_E_INVALID_HANDLE, "was freed");
        assert_eq!(out, issued, "no failed call wrote `out`");
        // The store is untouched by all of this.
        assert_eq!(netrig_store_free(store), NETRIG_OK);
    }
}

#[test]
fn send_command_results_through_the_accessors() {
    let f = fleet(&[("cisco_ios", Faults::default())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let cmd = c("show version");
    let mut out = netrig_output { id: 0 };
    // SAFETY (whole test): every pointer passed is a live local, a C string or NULL.
    unsafe {
        assert_eq!(netrig_device_send_command(dev, cmd.as_ptr(), 2000, &mut out), NETRIG_OK);
        let t = text(out);
        assert!(t.starts_with("Cisco IOS Software") && t.ends_with("Configuration register is 0x2102\n"), "{t:?}");
        let mut p = null();
        assert_eq!(netrig_output_text(out, &mut p, null_mut()), NETRIG_OK, "len may be NULL");
        assert_eq!(CStr::from_ptr(p).to_str().unwrap(), t);
        let (mut us, mut status) = (0u64, 99i32);
        assert_eq!(netrig_output_elapsed_us(out, &mut us), NETRIG_OK);
        assert!(us > 0 && us < 2_000_000, "{us} us");
        assert_eq!(netrig_output_exit_status(out, &mut status), NETRIG_OK);
        assert_eq!(status, 0, "CLI operations have exit status 0");
        assert_eq!(stderr(out), "", "CLI operations have an empty stderr");
        expect(netrig_output_elapsed_us(out, null_mut()), NETRIG_E_NULL_ARG, "'us'");
        expect(netrig_output_exit_status(out, null_mut()), NETRIG_E_NULL_ARG, "'status'");
        assert_eq!(netrig_output_free(out), NETRIG_OK);
    }
    // try_ with nothing else running behaves like send_command.
    let cmd = c("show clock");
    // SAFETY: live C string and out pointer.
    let got = take(|out| unsafe { netrig_device_try_send_command(dev, cmd.as_ptr(), 0, out) });
    assert_eq!(got.unwrap(), "*10:42:13.123 UTC Sat Nov 21 2026\n");
    assert_eq!(send(dev, "show nonsense"), Err(NETRIG_E_COMMAND), "a refused command fails");
    assert!(last_error().contains("% Invalid input"), "{}", last_error());
    free(dev);
}

#[test]
fn expect_timing_and_interactive() {
    let f = fleet(&[("cisco_ios", Faults::default())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let (copy, dest, yesno) = (c("copy running-config startup-config"), c("Destination filename"), c(r"\[yes/no\]: $"));
    let (empty, y) = (c(""), c("y"));
    // SAFETY (whole test): every pointer passed is a live local, a C string, or NULL.
    unsafe {
        let got = take(|out| netrig_device_send_command_expect(dev, copy.as_ptr(), dest.as_ptr(), 0, out));
        assert_eq!(got.unwrap(), "Destination filename [startup-config]? \n");
        let got = take(|out| netrig_device_send_command_expect(dev, empty.as_ptr(), yesno.as_ptr(), 0, out));
        assert!(got.unwrap().contains("Overwrite the existing startup-config?"));
        assert!(send(dev, "y").unwrap().contains("[OK]"));

        let mut out = netrig_output { id: 0 };
        let bad = c("(");
        expect(
            netrig_device_send_command_expect(dev, copy.as_ptr(), bad.as_ptr(), 0, &mut out),
            NETRIG_E_INVALID_ARG,
            "not a valid pattern",
        );
        expect(
            netrig_device_send_command_expect(dev, copy.as_ptr(), null(), 0, &mut out),
            NETRIG_E_NULL_ARG,
            "'expect'",
        );
        expect(
            netrig_device_send_command_expect(dev, copy.as_ptr(), BAD_UTF8.as_ptr().cast(), 0, &mut out),
            NETRIG_E_UTF8,
            "expect",
        );
        // An expect pattern that never matches ends at the deadline, and the device goes on.
        let never = c("never printed");
        let t = Instant::now();
        expect(
            netrig_device_send_command_expect(dev, empty.as_ptr(), never.as_ptr(), 300, &mut out),
            NETRIG_E_TIMEOUT,
            "not seen within",
        );
        assert!(t.elapsed() >= Duration::from_millis(300) && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

        let version = c("show version");
        let t = Instant::now();
        let got = take(|out| netrig_device_send_command_timing(dev, version.as_ptr(), 150, 0, out)).unwrap();
        assert!(got.starts_with("Cisco IOS Software") && got.contains("Configuration register"), "{got:?}");
        assert!(t.elapsed() >= Duration::from_millis(150), "timing mode waits for the quiet period");

        // The copy dialogue in one call; "" waits for the prompt.
        let sends = [copy.as_ptr(), empty.as_ptr(), y.as_ptr()];
        let filename = c(r"filename \[.*\]\? $");
        let expects = [filename.as_ptr(), yesno.as_ptr(), empty.as_ptr()];
        let got = take(|out| netrig_device_send_interactive(dev, sends.as_ptr(), expects.as_ptr(), 3, 0, out)).unwrap();
        assert!(got.contains("Destination filename") && got.ends_with("[OK]\n"), "{got:?}");
        expect(
            netrig_device_send_interactive(dev, null(), expects.as_ptr(), 3, 0, &mut out),
            NETRIG_E_NULL_ARG,
            "'sends'",
        );
        expect(
            netrig_device_send_interactive(dev, sends.as_ptr(), null(), 3, 0, &mut out),
            NETRIG_E_NULL_ARG,
            "'expects'",
        );
        let bad_expects = [filename.as_ptr(), bad.as_ptr(), empty.as_ptr()];
        expect(
            netrig_device_send_interactive(dev, sends.as_ptr(), bad_expects.as_ptr(), 3, 0, &mut out),
            NETRIG_E_INVALID_ARG,
            "not a valid pattern",
        );
        assert_eq!(out.id, 0);
    }
    assert_eq!(send(dev, "show clock").unwrap(), "*10:42:13.123 UTC Sat Nov 21 2026\n", "the device is usable");
    free(dev);
}

#[test]
fn config_sets_modes_save_and_junos_commit() {
    let f = fleet(&[("cisco_ios", Faults::default()), ("juniper_junos", Faults::default())]);
    let (ios, junos) = (&f.devices()[0], &f.devices()[1]);
    let dev = open(ios, "cisco_ios");
    let lines: Vec<CString> = ["interface GigabitEthernet0/1", "description uplink", "exit"].map(c).into();
    let ptrs: Vec<*const c_char> = lines.iter().map(|l| l.as_ptr()).collect();
    let config_set = |dev, ptrs: &[*const c_char], flags| {
        // SAFETY: `ptrs` points at live C strings; the out pointer is live.
        take(|out| unsafe { netrig_device_send_config_set(dev, ptrs.as_ptr(), ptrs.len(), flags, 0, out) })
    };
    let got = config_set(dev, &ptrs, 0).unwrap();
    assert!(got.starts_with("interface GigabitEthernet0/1\n"), "{got:?}");
    assert!(send(dev, "show clock").is_ok(), "configuration mode was left");

    // A rejected line: NETRIG_E_COMMAND naming the line; the set stops there.
    let bad: Vec<CString> = ["hostname R7", "bogus command", "hostname R8"].map(c).into();
    let bad_ptrs: Vec<*const c_char> = bad.iter().map(|l| l.as_ptr()).collect();
    expect(config_set(dev, &bad_ptrs, 0).unwrap_err(), NETRIG_E_COMMAND, "config line 2 'bogus command'");
    assert!(last_error().contains("% Invalid input"), "{}", last_error());
    assert!(send(dev, "show version").unwrap().contains("R7 uptime"), "R8 never ran; config mode was left");

    // Flags: unknown bits and COMMIT with COMMIT_CHECK are refused before anything is sent;
    // COMMIT on a platform without commits too.
    for flags in [8, NETRIG_CONFIG_COMMIT | NETRIG_CONFIG_COMMIT_CHECK, 0x8000_0000] {
        expect(config_set(dev, &ptrs, flags).unwrap_err(), NETRIG_E_INVALID_ARG, "flags");
    }
    expect(config_set(dev, &ptrs, NETRIG_CONFIG_COMMIT).unwrap_err(), NETRIG_E_INVALID_ARG, "has no commit");
    expect(config_set(dev, &ptrs, NETRIG_CONFIG_COMMIT_CHECK).unwrap_err(), NETRIG_E_INVALID_ARG, "has no commit");
    let mut out = netrig_output { id: 0 };
    // SAFETY: NULL array with n > 0 is the error under test; `out` is live.
    expect(unsafe { netrig_device_send_config_set(dev, null(), 2, 0, 0, &mut out) }, NETRIG_E_NULL_ARG, "'lines'");
    let with_bad_utf8 = [ptrs[0], BAD_UTF8.as_ptr().cast()];
    // SAFETY: both pointers are NUL-terminated strings.
    expect(
        unsafe { netrig_device_send_config_set(dev, with_bad_utf8.as_ptr(), 2, 0, 0, &mut out) },
        NETRIG_E_UTF8,
        "lines",
    );

    // NETRIG_CONFIG_STAY: still in configuration mode afterwards ("do" works only there).
    let interface = [lines[0].as_ptr()];
    config_set(dev, &interface, NETRIG_CONFIG_STAY).unwrap();
    assert!(!send(dev, "do show clock").unwrap().contains("Invalid input"), "STAY stayed in config mode");
    assert_eq!(netrig_device_exit_config_mode(dev, 0), NETRIG_OK);
    assert_eq!(send(dev, "do show clock"), Err(NETRIG_E_COMMAND), "config mode was left");
    assert!(last_error().contains("Invalid input"), "{}", last_error());

    // Modes.
    assert_eq!(netrig_device_exit_enable(dev, 0), NETRIG_OK);
    assert_eq!(send(dev, "write memory"), Err(NETRIG_E_COMMAND), "user mode");
    assert!(last_error().contains("Invalid input"), "{}", last_error());
    assert_eq!(netrig_device_enable(dev, 0), NETRIG_OK);
    assert_eq!(netrig_device_enable(dev, 0), NETRIG_OK, "already enabled: nothing to do");
    assert_eq!(netrig_device_config_mode(dev, 0), NETRIG_OK);
    assert_eq!(netrig_device_config_mode(dev, 1000), NETRIG_OK);
    assert_eq!(netrig_device_exit_config_mode(dev, 0), NETRIG_OK);
    assert_eq!(netrig_device_exit_config_mode(dev, 0), NETRIG_OK);
    // SAFETY: live out pointer, then NULL (refused).
    let saved = take(|out| unsafe { netrig_device_save_config(dev, 0, out) }).unwrap();
    assert!(saved.contains("[OK]"), "{saved:?}");
    // SAFETY: NULL out pointer, refused before use.
    expect(unsafe { netrig_device_save_config(dev, 0, null_mut()) }, NETRIG_E_NULL_ARG, "'out'");
    free(dev);

    // Without a secret, open stays in user mode and enable is refused.
    let mut o = Opts::new(ios, "cisco_ios");
    o.o.secret = null();
    let user = o.open().unwrap();
    expect(netrig_device_enable(user, 0), NETRIG_E_AUTH, "none was given");
    expect(netrig_device_config_mode(user, 0), NETRIG_E_AUTH, "none was given");
    assert!(send(user, "show clock").is_ok(), "a refused enable leaves the session usable");
    free(user);

    // Junos: commit check and commit through the flags.
    let dev = open(junos, "juniper_junos");
    let set = c("set system host-name mx2");
    let got = config_set(dev, &[set.as_ptr()], NETRIG_CONFIG_COMMIT_CHECK).unwrap();
    assert!(got.contains("configuration check succeeds"), "{got:?}");
    let got = config_set(dev, &[set.as_ptr()], NETRIG_CONFIG_COMMIT).unwrap();
    assert!(got.contains("commit complete"), "{got:?}");
    assert!(send(dev, "show version").unwrap().contains("Hostname: mx2"));
    free(dev);
}

/// What the progress callback saw, through `user_data`.
#[derive(Default)]
struct Progress {
    calls: u64,
    last_done: u64,
    total: u64,
    shrank: bool,
    /// Return false once `done` reaches this (0 = never).
    stop_at: u64,
}

/// Must not unwind: it only records.
extern "C" fn on_progress(user_data: *mut c_void, done: u64, total: u64) -> bool {
    // SAFETY: every caller passes a `&mut Progress` that outlives the transfer, and the callback
    // runs on the calling thread, so this is the only reference in use.
    let p = unsafe { &mut *(user_data as *mut Progress) };
    p.calls += 1;
    p.shrank |= done < p.last_done;
    p.last_done = done;
    p.total = total;
    p.stop_at == 0 || done < p.stop_at
}

#[test]
fn exec_and_file_transfer_on_a_linux_board() {
    let f = fleet(&[("linux", Faults::default())]);
    let dev = open(&f.devices()[0], "linux");
    let script = c("echo out; echo err >&2; exit 3");
    let mut out = netrig_output { id: 0 };
    // SAFETY (whole test): every pointer passed is a live local, a C string, or NULL; the
    // progress `user_data` is a live local `Progress` for each call.
    unsafe {
        assert_eq!(netrig_device_exec(dev, script.as_ptr(), 0, &mut out), NETRIG_OK, "{}", last_error());
        assert_eq!((text(out), stderr(out)), ("out\n".to_owned(), "err\n".to_owned()));
        let mut status = 0;
        assert_eq!(netrig_output_exit_status(out, &mut status), NETRIG_OK);
        assert_eq!(status, 3, "a non-zero exit status is a result, not an error");
        assert_eq!(netrig_output_free(out), NETRIG_OK);
        expect(netrig_device_exec(dev, null(), 0, &mut out), NETRIG_E_NULL_ARG, "'command'");
        // linux has no save command.
        expect(netrig_device_save_config(dev, 0, &mut out), NETRIG_E_INVALID_ARG, "no save command");

        let data: Vec<u8> = (0..1024 * 1024 + 17).map(|i| (i * 7 % 251) as u8).collect();
        let local = temp("fw.bin");
        std::fs::write(&local, &data).unwrap();
        let (local_c, remote) = (c(local.to_str().unwrap()), c("/tmp/fw.bin"));
        let mut p = Progress::default();
        let mut bytes = 0u64;
        let st = netrig_device_put_file(
            dev,
            local_c.as_ptr(),
            remote.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            Some(on_progress),
            (&mut p as *mut Progress).cast(),
            0,
            &mut bytes,
        );
        assert_eq!(st, NETRIG_OK, "{}", last_error());
        assert_eq!(bytes, data.len() as u64);
        assert!(p.calls >= 2, "progress is reported per chunk: {} calls", p.calls);
        assert_eq!((p.last_done, p.total, p.shrank), (data.len() as u64, data.len() as u64, false));

        let back = temp("back.bin");
        let back_c = c(back.to_str().unwrap());
        let mut p = Progress::default();
        let st = netrig_device_get_file(
            dev,
            remote.as_ptr(),
            back_c.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            Some(on_progress),
            (&mut p as *mut Progress).cast(),
            0,
            null_mut(),
        );
        assert_eq!(st, NETRIG_OK, "bytes may be NULL: {}", last_error());
        assert_eq!(std::fs::read(&back).unwrap(), data);
        assert!(p.calls >= 2 && p.last_done == data.len() as u64 && !p.shrank);
        // No callback at all is fine too.
        std::fs::remove_file(&back).unwrap();
        let st = netrig_device_get_file(
            dev,
            remote.as_ptr(),
            back_c.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            None,
            null_mut(),
            0,
            &mut bytes,
        );
        assert_eq!((st, bytes), (NETRIG_OK, data.len() as u64));

        // The callback says stop: NETRIG_E_CANCELLED, and no file under either name.
        std::fs::remove_file(&back).unwrap();
        let mut p = Progress { stop_at: 256 * 1024, ..Progress::default() };
        bytes = 12345;
        let st = netrig_device_get_file(
            dev,
            remote.as_ptr(),
            back_c.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            Some(on_progress),
            (&mut p as *mut Progress).cast(),
            0,
            &mut bytes,
        );
        expect(st, NETRIG_E_CANCELLED, "cancelled by the progress callback");
        assert_eq!(bytes, 12345, "out-parameters are written only on success");
        assert!(p.last_done >= 256 * 1024 && p.last_done < data.len() as u64);
        assert!(!back.exists() && !std::path::Path::new(&format!("{}.part", back.display())).exists());
        let mut p = Progress { stop_at: 1, ..Progress::default() };
        let st = netrig_device_put_file(
            dev,
            local_c.as_ptr(),
            c("/tmp/other.bin").as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            Some(on_progress),
            (&mut p as *mut Progress).cast(),
            0,
            null_mut(),
        );
        expect(st, NETRIG_E_CANCELLED, "cancelled by the progress callback");

        // Argument and file errors.
        let missing = c(temp("missing.bin").to_str().unwrap());
        let st = netrig_device_put_file(
            dev,
            missing.as_ptr(),
            remote.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            None,
            null_mut(),
            0,
            null_mut(),
        );
        expect(st, NETRIG_E_IO, "missing.bin");
        let st = netrig_device_get_file(
            dev,
            c("/no/such/file").as_ptr(),
            back_c.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            None,
            null_mut(),
            0,
            null_mut(),
        );
        expect(st, NETRIG_E_IO, "/no/such/file");
        let st = netrig_device_put_file(dev, local_c.as_ptr(), remote.as_ptr(), 7, None, null_mut(), 0, null_mut());
        expect(st, NETRIG_E_INVALID_ARG, "protocol 7");
        let st =
            netrig_device_put_file(dev, null(), remote.as_ptr(), NETRIG_PROTOCOL_SFTP, None, null_mut(), 0, null_mut());
        expect(st, NETRIG_E_NULL_ARG, "'local_path'");
        let st = netrig_device_get_file(
            dev,
            BAD_UTF8.as_ptr().cast(),
            back_c.as_ptr(),
            NETRIG_PROTOCOL_SFTP,
            None,
            null_mut(),
            0,
            null_mut(),
        );
        expect(st, NETRIG_E_UTF8, "remote_path");
    }
    // The shell session is unaffected by the exec and SFTP channels.
    assert!(send(dev, "whoami").unwrap().contains("admin"));
    free(dev);
}

fn hang_faults() -> Faults {
    Faults { hang_on: vec!["show hang".into()], ..Faults::default() }
}

#[test]
fn cancel_from_another_thread_returns_within_100_ms() {
    let f = fleet(&[("cisco_ios", hang_faults())]);
    let dev = open(&f.devices()[0], "cisco_ios");

    // A wait that never ends (an expect pattern the device never prints): cancelled, and the
    // session is usable afterwards.
    let blocked = start_blocked(dev, move || {
        let (cmd, never) = (c("show clock"), c("SYSTEM READY"));
        // SAFETY: live C strings and out pointer.
        take(|out| unsafe { netrig_device_send_command_expect(dev, cmd.as_ptr(), never.as_ptr(), 10_000, out) })
            .map_err(|st| (st, last_error()))
    });
    thread::sleep(Duration::from_millis(200));
    let cancelled_at = Instant::now();
    assert_eq!(netrig_device_cancel(dev), NETRIG_OK);
    let (result, returned_at) = blocked.join().unwrap();
    let (st, err) = result.unwrap_err();
    assert_eq!(st, NETRIG_E_CANCELLED, "{err}");
    assert!(err.starts_with("netrig_device_send_command_expect: ") && err.contains("cancelled"), "{err}");
    let latency = returned_at - cancelled_at;
    assert!(latency < CANCEL_LIMIT, "returned {latency:?} after the cancel");
    assert_eq!(send(dev, "show clock").unwrap(), "*10:42:13.123 UTC Sat Nov 21 2026\n");
    // A cancel with nothing running does not hit the next operation.
    assert_eq!(netrig_device_cancel(dev), NETRIG_OK);
    assert!(send(dev, "show version").unwrap().starts_with("Cisco IOS Software"));

    // A device that hangs for good: the cancel still returns at once; the device then fails
    // is_alive, within its timeout.
    let blocked = start_blocked(dev, move || send(dev, "show hang"));
    thread::sleep(Duration::from_millis(200));
    let cancelled_at = Instant::now();
    assert_eq!(netrig_device_cancel(dev), NETRIG_OK);
    let (result, returned_at) = blocked.join().unwrap();
    assert_eq!(result.unwrap_err(), NETRIG_E_CANCELLED);
    assert!(returned_at - cancelled_at < CANCEL_LIMIT, "returned {:?} after the cancel", returned_at - cancelled_at);
    let mut alive = true;
    let t = Instant::now();
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_device_is_alive(dev, 300, &mut alive) }, NETRIG_OK);
    assert!(!alive && t.elapsed() < Duration::from_millis(1000), "{:?}", t.elapsed());
    free(dev);
}

#[test]
fn try_send_command_is_busy_while_another_operation_runs() {
    // start_blocked returns once the slow command holds the device; its 300 ms answer delay
    // keeps it running while the try comes.
    let f = fleet(&[("cisco_ios", Faults { latency_ms: 300, ..Faults::default() })]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let slow = start_blocked(dev, move || send(dev, "show clock"));
    let cmd = c("show ip interface brief");
    let mut out = netrig_output { id: 0 };
    let t = Instant::now();
    // SAFETY: live C string and out pointer.
    let st = unsafe { netrig_device_try_send_command(dev, cmd.as_ptr(), 0, &mut out) };
    expect(st, NETRIG_E_BUSY, "another operation is running");
    assert!(t.elapsed() < Duration::from_millis(500), "try_ waited: {:?}", t.elapsed());
    assert_eq!(out.id, 0);
    // The blocking form waits its turn and gets its own output.
    assert!(send(dev, "show ip interface brief").unwrap().contains("GigabitEthernet0/0"));
    assert_eq!(slow.join().unwrap().0.unwrap(), "*10:42:13.123 UTC Sat Nov 21 2026\n");
    free(dev);
}

#[test]
fn free_from_another_thread_while_an_operation_is_blocked() {
    let f = fleet(&[("cisco_ios", hang_faults())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let blocked = start_blocked(dev, move || send(dev, "show hang"));
    thread::sleep(Duration::from_millis(200));
    let freed_at = Instant::now();
    assert_eq!(netrig_device_free(dev), NETRIG_OK, "{}", last_error());
    let free_took = freed_at.elapsed();
    assert!(free_took < CANCEL_LIMIT, "free waited {free_took:?} for the running operation");
    let (result, returned_at) = blocked.join().unwrap();
    assert_eq!(result.unwrap_err(), NETRIG_E_CANCELLED);
    assert!(returned_at - freed_at < CANCEL_LIMIT, "returned {:?} after the free", returned_at - freed_at);
    expect(send(dev, "show clock").unwrap_err(), NETRIG_E_INVALID_HANDLE, "was freed");
    expect(netrig_device_free(dev), NETRIG_E_INVALID_HANDLE, "was freed");
}

#[test]
fn many_threads_share_one_handle_and_get_their_own_output() {
    let f = fleet(&[("cisco_ios", Faults::default())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let version = Arc::new(send(dev, "show version").unwrap());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let version = version.clone();
            thread::spawn(move || {
                for k in 0..10 {
                    if (i + k) % 2 == 0 {
                        assert_eq!(send(dev, "show clock").unwrap(), "*10:42:13.123 UTC Sat Nov 21 2026\n");
                    } else {
                        assert_eq!(&send(dev, "show version").unwrap(), &*version);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    free(dev);
}

#[test]
fn a_closed_device_reports_closed_until_freed() {
    let f = fleet(&[("cisco_ios", Faults { drop_on: vec!["show running-config".into()], ..Faults::default() })]);
    let dev = open(&f.devices()[0], "cisco_ios");
    assert_eq!(netrig_device_close(dev), NETRIG_OK);
    expect(send(dev, "show clock").unwrap_err(), NETRIG_E_CLOSED, "closed");
    expect(netrig_device_enable(dev, 0), NETRIG_E_CLOSED, "closed");
    let mut alive = true;
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_device_is_alive(dev, 0, &mut alive) }, NETRIG_OK);
    assert!(!alive);
    assert_eq!(netrig_device_close(dev), NETRIG_OK, "closing twice is fine");
    free(dev);

    // The device cuts the connection in the middle of an output.
    let dev = open(&f.devices()[0], "cisco_ios");
    expect(send(dev, "show running-config").unwrap_err(), NETRIG_E_CLOSED, "device 127.0.0.1:");
    expect(send(dev, "show clock").unwrap_err(), NETRIG_E_CLOSED, "closed");
    free(dev);
}

/// netrig_device_free promises that nothing keeps running on a freed device: the running
/// operation returns NETRIG_E_CANCELLED within 100 ms and the session is closed. An operation
/// that was already waiting for the device's lock when the handle was freed must not start
/// afterwards either (on a hung device it would then block up to its whole deadline, holding
/// the freed session open).
#[test]
fn free_also_stops_operations_queued_on_the_device() {
    let f = fleet(&[("cisco_ios", hang_faults())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let running = start_blocked(dev, move || send(dev, "show hang"));
    let queued = thread::spawn(move || {
        let cmd = c("show clock");
        // SAFETY: live C string and out pointer.
        let r = take(|out| unsafe { netrig_device_send_command(dev, cmd.as_ptr(), 3000, out) });
        (r, Instant::now())
    });
    thread::sleep(Duration::from_millis(200));
    let freed_at = Instant::now();
    assert_eq!(netrig_device_free(dev), NETRIG_OK, "{}", last_error());
    let (r, returned_at) = running.join().unwrap();
    assert_eq!(r.unwrap_err(), NETRIG_E_CANCELLED);
    assert!(returned_at - freed_at < CANCEL_LIMIT);
    let (r, returned_at) = queued.join().unwrap();
    let took = returned_at - freed_at;
    // Today: NETRIG_E_TIMEOUT after the queued call's full 3 s deadline, on a freed handle.
    assert!(took < CANCEL_LIMIT, "the queued operation returned {r:?} {took:?} after the free");
    assert!(matches!(r, Err(NETRIG_E_CANCELLED | NETRIG_E_CLOSED)), "{r:?}");
}
