//! Failure detection through the C ABI, against the fake fleet: a refused command is
//! NETRIG_E_COMMAND with the out-parameter untouched, the last error naming the device and the
//! command and quoting the line, and the output readable once from `netrig_last_failed_output`;
//! `netrig_command_options` (check, error_pattern, expect, quiet_ms) and its `_with` calls;
//! `netrig_device_options.check_errors`; bad arguments.
#![cfg(feature = "ssh")]

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

use fakedev::{Fleet, Group, Inventory};
use netrig::ffi::*;
use netrig::netrig_status::{self, *};
use support::abi::{c, expect, last_error, options_default};
use support::c_abi::Opts;

mod support;

const REFUSAL: &str = "% Invalid input detected at '^' marker.";

fn fleet() -> Fleet {
    Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1))).unwrap()
}

fn bytes(get: impl FnOnce(*mut *const c_char, *mut usize) -> netrig_status) -> String {
    let (mut p, mut len) = (null(), usize::MAX);
    assert_eq!(get(&mut p, &mut len), NETRIG_OK, "{}", last_error());
    // SAFETY: the accessor pointed `p` at a NUL-terminated text inside a live output.
    let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    assert_eq!(text.len(), len);
    text
}

/// An output's text, whether it failed and its failure line; the output is freed.
fn read(out: netrig_output) -> (String, bool, String) {
    let mut failed = false;
    // SAFETY (all three): `out` is live, the out pointers are live locals.
    let text = bytes(|p, n| unsafe { netrig_output_text(out, p, n) });
    assert_eq!(unsafe { netrig_output_failed(out, &mut failed) }, NETRIG_OK);
    let line = bytes(|p, n| unsafe { netrig_output_failure(out, p, n) });
    assert_eq!(netrig_output_free(out), NETRIG_OK);
    (text, failed, line)
}

fn send_with(
    dev: netrig_device,
    command: &str,
    o: Option<&netrig_command_options>,
) -> Result<(String, bool, String), netrig_status> {
    let command = c(command);
    let mut out = netrig_output { id: 0 };
    let opts = o.map_or(null(), |o| o as *const _);
    // SAFETY: the command, options and out pointer are live for the call.
    match unsafe { netrig_device_send_command_with(dev, command.as_ptr(), opts, &mut out) } {
        NETRIG_OK => Ok(read(out)),
        st => {
            assert_eq!(out.id, 0, "a failed call wrote its out-parameter");
            Err(st)
        }
    }
}

fn last_failed() -> Result<(String, bool, String), netrig_status> {
    let mut out = netrig_output { id: 0 };
    // SAFETY: a live out pointer.
    match unsafe { netrig_last_failed_output(&mut out) } {
        NETRIG_OK => Ok(read(out)),
        st => Err(st),
    }
}

fn command_options() -> netrig_command_options {
    options_default(netrig_command_options_default)
}

#[test]
fn a_refused_command_fails_and_its_output_is_read_once() {
    let f = fleet();
    let dev = Opts::new(&f.devices()[0], "cisco_ios").open().unwrap();
    let cmd = c("show ip bgp summary bogus");
    let mut out = netrig_output { id: 0 };
    // SAFETY: live C string and out pointer.
    let st = unsafe { netrig_device_send_command(dev, cmd.as_ptr(), 0, &mut out) };
    assert_eq!(st, NETRIG_E_COMMAND);
    assert_eq!(out.id, 0, "out-parameters are written only on success");
    let e = last_error();
    assert!(e.starts_with("netrig_device_send_command: device 127.0.0.1:"), "{e}");
    assert!(e.contains("command 'show ip bgp summary bogus' failed") && e.contains(&format!("\"{REFUSAL}\"")), "{e}");
    let (text, failed, line) = last_failed().unwrap();
    assert!(failed && line == REFUSAL && text.ends_with(&format!("{REFUSAL}\n")), "{text:?} {line:?}");
    assert_eq!(last_failed(), Err(NETRIG_E_NOT_FOUND), "moved out: a second call finds none");
    assert!(last_error().contains("no failed output on this thread"), "{}", last_error());

    // Each thread has its own, and the next operation forgets it, whatever its result.
    assert_eq!(send_with(dev, "show bogus", None), Err(NETRIG_E_COMMAND));
    let other = std::thread::spawn(last_failed).join().unwrap();
    assert_eq!(other, Err(NETRIG_E_NOT_FOUND), "another thread's failure is not this one's");
    assert!(send_with(dev, "show clock", None).is_ok());
    assert_eq!(last_failed(), Err(NETRIG_E_NOT_FOUND), "a later operation forgets it");
    // The other calls that return outputs keep theirs too: a dialogue, a configuration set.
    let (sends, expects) = ([c("delete flash:old.bin"), c(""), c("n")], [c(r"\? $"), c(r"\[confirm\]"), c("")]);
    let sends: Vec<*const c_char> = sends.iter().map(|s| s.as_ptr()).collect();
    let expects: Vec<*const c_char> = expects.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: the arrays hold 3 live C strings each.
    let st = unsafe { netrig_device_send_interactive(dev, sends.as_ptr(), expects.as_ptr(), 3, 0, &mut out) };
    assert_eq!(st, NETRIG_E_COMMAND, "{}", last_error());
    assert!(last_error().contains("step 3 'n' of the dialogue failed"), "{}", last_error());
    assert_eq!(last_failed().unwrap().2, "%Error: delete aborted");
    let lines = [c("hostname R7"), c("bogus line")];
    let lines: Vec<*const c_char> = lines.iter().map(|s| s.as_ptr()).collect();
    // SAFETY: 2 live C strings.
    let st = unsafe { netrig_device_send_config_set(dev, lines.as_ptr(), 2, 0, 0, &mut out) };
    assert_eq!(st, NETRIG_E_COMMAND);
    let (text, _, line) = last_failed().unwrap();
    assert!(text.starts_with("hostname R7\n") && line == REFUSAL, "{text:?}");
    // With the check off: every line, and the result says it failed.
    let mut o = command_options();
    o.check = NETRIG_CHECK_OFF;
    // SAFETY: live arrays, options and out pointer.
    let st = unsafe { netrig_device_send_config_set_with(dev, lines.as_ptr(), 2, 0, &o, &mut out) };
    assert_eq!(st, NETRIG_OK, "{}", last_error());
    let (_, failed, line) = read(out);
    assert!(failed && line == REFUSAL);
    let mut out = netrig_output { id: 0 };
    // SAFETY: as above.
    let st = unsafe { netrig_device_send_interactive_with(dev, sends.as_ptr(), expects.as_ptr(), 3, &o, &mut out) };
    assert_eq!(st, NETRIG_OK, "{}", last_error());
    assert_eq!(read(out).2, "%Error: delete aborted");
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
}

#[test]
fn command_options_change_the_read_and_the_check() {
    let f = fleet();
    let dev = Opts::new(&f.devices()[0], "cisco_ios").open().unwrap();
    // NULL options are the defaults; a normal output has no failure line.
    assert_eq!(
        send_with(dev, "show clock", None).unwrap(),
        ("*10:42:13.123 UTC Sat Nov 21 2026\n".into(), false, "".into())
    );
    let mut o = command_options();
    assert_eq!((o.timeout_ms, o.check, o.quiet_ms), (0, NETRIG_CHECK_DEFAULT, 0));
    assert!(o.expect.is_null() && o.error_pattern.is_null());
    o.check = NETRIG_CHECK_OFF;
    let (text, failed, line) = send_with(dev, "show bogus", Some(&o)).unwrap();
    assert!(failed && line == REFUSAL && text.contains('^'), "{text:?}");
    // A pattern of the call's own, with an expect pattern, then with a quiet period.
    let (pattern, marker) = (c(r"\butc\b"), c(r"2026"));
    o = command_options();
    o.error_pattern = pattern.as_ptr();
    o.expect = marker.as_ptr();
    assert_eq!(send_with(dev, "show clock", Some(&o)), Err(NETRIG_E_COMMAND));
    assert!(last_error().contains("\"*10:42:13.123 UTC Sat Nov 21 2026\""), "{}", last_error());
    o.expect = null();
    o.quiet_ms = 200;
    o.check = NETRIG_CHECK_OFF;
    assert!(send_with(dev, "show clock", Some(&o)).unwrap().1, "quiet period, own pattern, check off");
    // Bad options.
    let bad = c("(");
    let mut o = command_options();
    o.error_pattern = bad.as_ptr();
    assert_eq!(send_with(dev, "show clock", Some(&o)), Err(NETRIG_E_INVALID_ARG));
    assert!(last_error().contains("error_pattern '('"), "{}", last_error());
    let mut o = command_options();
    o.check = 7;
    assert_eq!(send_with(dev, "show clock", Some(&o)), Err(NETRIG_E_INVALID_ARG));
    assert!(last_error().contains("options.check 7"), "{}", last_error());
    let mut o = command_options();
    o.expect = marker.as_ptr();
    o.quiet_ms = 10;
    assert_eq!(send_with(dev, "show clock", Some(&o)), Err(NETRIG_E_INVALID_ARG));
    let lines = [c("hostname R1")];
    let mut out = netrig_output { id: 0 };
    // SAFETY: one live C string, live options and out pointer.
    let st = unsafe { netrig_device_send_config_set_with(dev, [lines[0].as_ptr()].as_ptr(), 1, 0, &o, &mut out) };
    assert_eq!(st, NETRIG_E_INVALID_ARG);
    assert!(last_error().contains("for netrig_device_send_command_with only"), "{}", last_error());
    let mut o = command_options();
    o.struct_size = 3;
    assert_eq!(send_with(dev, "show clock", Some(&o)), Err(NETRIG_E_INVALID_ARG));
    // SAFETY: NULL command (refused), then NULL out (refused).
    unsafe {
        expect(netrig_device_send_command_with(dev, null(), null(), &mut out), NETRIG_E_NULL_ARG, "'command'");
        let cmd = c("show clock");
        expect(netrig_device_send_command_with(dev, cmd.as_ptr(), null(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_output_failed(out, null_mut()), NETRIG_E_NULL_ARG, "'failed'");
        expect(netrig_last_failed_output(null_mut()), NETRIG_E_NULL_ARG, "'out'");
    }
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
}

#[test]
fn the_devices_check_errors_sets_the_default() {
    let f = fleet();
    let mut opts = Opts::new(&f.devices()[0], "cisco_ios");
    assert_eq!(opts.o.check_errors, 1, "on by default");
    opts.o.check_errors = 0;
    let dev = opts.open().unwrap();
    let cmd = c("show bogus");
    let mut out = netrig_output { id: 0 };
    // SAFETY: live C string and out pointer.
    assert_eq!(unsafe { netrig_device_send_command(dev, cmd.as_ptr(), 0, &mut out) }, NETRIG_OK);
    let (_, failed, line) = read(out);
    assert!(failed && line == REFUSAL);
    let mut o = command_options();
    o.check = NETRIG_CHECK_ON;
    assert_eq!(send_with(dev, "show bogus", Some(&o)), Err(NETRIG_E_COMMAND));
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
}

#[test]
fn exec_outputs_never_fail() {
    // An exec result and a freed handle: no failure line, and the usual handle errors.
    let f = Fleet::start_inventory(&Inventory::default().group(Group::new("linux", 1))).unwrap();
    let dev = Opts::new(&f.devices()[0], "linux").open().unwrap();
    let cmd = c("nosuch-command");
    let mut out = netrig_output { id: 0 };
    // SAFETY: live C string and out pointer.
    assert_eq!(unsafe { netrig_device_exec(dev, cmd.as_ptr(), 0, &mut out) }, NETRIG_OK, "{}", last_error());
    let freed = out;
    let (_, failed, line) = read(out);
    assert!(!failed && line.is_empty());
    let mut flag = false;
    // SAFETY: a live local; the handle is freed (refused).
    expect(unsafe { netrig_output_failed(freed, &mut flag) }, NETRIG_E_INVALID_HANDLE, "");
    let _: netrig_status = netrig_device_free(dev);
}

#[test]
fn outputs_name_their_command_and_platform() {
    let f = fleet();
    let dev = Opts::new(&f.devices()[0], "cisco_ios_ssh").open().unwrap();
    let cmd = c("show bogus");
    let mut out = netrig_output { id: 0 };
    // SAFETY: live C string and out pointer.
    assert_eq!(unsafe { netrig_device_send_command(dev, cmd.as_ptr(), 0, &mut out) }, NETRIG_E_COMMAND);
    // SAFETY: a live out pointer.
    assert_eq!(unsafe { netrig_last_failed_output(&mut out) }, NETRIG_OK);
    // SAFETY (both): `out` is live, the out pointers are live locals.
    assert_eq!(bytes(|p, n| unsafe { netrig_output_command(out, p, n) }), "show bogus");
    assert_eq!(bytes(|p, n| unsafe { netrig_output_platform(out, p, n) }), "cisco_ios", "the platform's own name");
    assert_eq!(netrig_output_free(out), NETRIG_OK);
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
}
