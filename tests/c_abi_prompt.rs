//! `netrig_device_prompt`: the prompt and mode a device is in, driven as a C caller drives it,
//! against fake devices that speak real SSH on loopback (tests/fakedev).
#![cfg(feature = "ssh")]

use std::ffi::c_char;
use std::ptr::null_mut;
use std::time::{Duration, Instant};

use fakedev::Faults;
use netrig::ffi::*;
use netrig::netrig_status::{self, *};
use support::abi::{c, expect, last_error, ok};
use support::c_abi::{fleet, open, start_blocked};

mod support;

/// The prompt and mode, through a buffer of the exact size the length query answered.
#[track_caller]
fn prompt(dev: netrig_device) -> (String, u32) {
    let mut len = usize::MAX;
    // SAFETY: NULL buffer of capacity 0 asks for the length; `len` is a live local.
    let st = unsafe { netrig_device_prompt(dev, 0, null_mut(), 0, &mut len, null_mut()) };
    assert!(st == NETRIG_E_BUFFER_TOO_SMALL, "length query: {st:?}: {}", last_error());
    let mut buf = vec![0u8; len + 1];
    let (mut got, mut mode) = (usize::MAX, u32::MAX);
    // SAFETY: `buf` has `len + 1` writable bytes; the out-parameters are live locals.
    ok(unsafe { netrig_device_prompt(dev, 0, buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut got, &mut mode) });
    assert_eq!(got, len);
    assert_eq!(buf[len], 0, "the prompt is NUL-terminated");
    (String::from_utf8(buf[..len].to_vec()).unwrap(), mode)
}

fn close(dev: netrig_device) {
    assert_eq!(netrig_device_free(dev), NETRIG_OK, "{}", last_error());
}

#[test]
fn prompt_follows_the_mode_without_a_round_trip() {
    let f = fleet(&[("cisco_ios", Faults::default()), ("juniper_junos", Faults::default())]);
    let ios = open(&f.devices()[0], "cisco_ios"); // opened with the secret: privileged
    assert_eq!(prompt(ios), ("R1#".to_owned(), NETRIG_MODE_PRIVILEGED));
    ok(netrig_device_config_mode(ios, 0));
    assert_eq!(prompt(ios), ("R1(config)#".to_owned(), NETRIG_MODE_CONFIG));
    ok(netrig_device_exit_enable(ios, 0));
    assert_eq!(prompt(ios), ("R1>".to_owned(), NETRIG_MODE_USER));

    // Nothing is sent: the device's command count does not move.
    let before = f.devices()[0].stats().commands;
    for _ in 0..5 {
        prompt(ios);
    }
    assert_eq!(f.devices()[0].stats().commands, before);
    close(ios);

    // The trailing space of Junos' "admin@R1> " is trimmed, as netmiko's find_prompt does; a
    // platform with no user mode (no prompt.user) is privileged outside configuration mode.
    let junos = open(&f.devices()[1], "juniper_junos");
    let (text, mode) = prompt(junos);
    assert!(text.ends_with('>') && text.contains('@'), "{text:?}");
    assert_eq!(mode, NETRIG_MODE_PRIVILEGED);
    ok(netrig_device_config_mode(junos, 0));
    let (text, mode) = prompt(junos);
    assert!(text.ends_with('#'), "{text:?}");
    assert_eq!(mode, NETRIG_MODE_CONFIG);
    close(junos);
}

#[test]
fn prompt_checks_its_arguments_and_reports_a_closed_session() {
    let f = fleet(&[("cisco_ios", Faults::default())]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let mut buf = [0x55u8; 8];
    let (mut len, mut mode) = (usize::MAX, u32::MAX);
    // SAFETY: every pointer is a live local of the size given, or NULL on purpose.
    unsafe {
        let p = buf.as_mut_ptr().cast::<c_char>();
        expect(netrig_device_prompt(dev, 0, p, 8, null_mut(), &mut mode), NETRIG_E_NULL_ARG, "'out_len'");
        expect(netrig_device_prompt(dev, 0, null_mut(), 8, &mut len, &mut mode), NETRIG_E_NULL_ARG, "'buf'");
        // Too small for "R1#" and its NUL: the length is still given, the mode is not written.
        expect(netrig_device_prompt(dev, 0, p, 3, &mut len, &mut mode), NETRIG_E_BUFFER_TOO_SMALL, "prompt");
        assert_eq!((len, mode), (3, u32::MAX));
        // The mode is optional.
        ok(netrig_device_prompt(dev, 0, p, 8, &mut len, null_mut()));
        assert_eq!(&buf[..4], b"R1#\0");
        expect(
            netrig_device_prompt(netrig_device { id: 0 }, 0, p, 8, &mut len, &mut mode),
            NETRIG_E_INVALID_HANDLE,
            "netrig_device",
        );
        ok(netrig_device_close(dev));
        expect(netrig_device_prompt(dev, 0, p, 8, &mut len, &mut mode), NETRIG_E_CLOSED, "closed");
    }
    close(dev);
}

#[test]
fn prompt_waits_for_a_running_operation_up_to_its_timeout() {
    let f = fleet(&[("cisco_ios", Faults { hang_on: vec!["show hang".into()], ..Faults::default() })]);
    let dev = open(&f.devices()[0], "cisco_ios");
    let blocked = start_blocked(dev, move || {
        let cmd = c("show hang");
        let mut out = netrig_output { id: 0 };
        // SAFETY: `cmd` and `out` are live locals for the call.
        unsafe { netrig_device_send_command(dev, cmd.as_ptr(), 10_000, &mut out) }
    });
    let (mut len, mut buf) = (0usize, [0u8; 16]);
    let started = Instant::now();
    // SAFETY: `buf` has 16 writable bytes; `len` is a live local.
    let st = unsafe { netrig_device_prompt(dev, 200, buf.as_mut_ptr().cast(), buf.len(), &mut len, null_mut()) };
    expect(st, NETRIG_E_TIMEOUT, "another operation held the device");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(5), "{waited:?}");
    ok(netrig_device_cancel(dev));
    let (status, _) = blocked.join().unwrap();
    assert_eq!(status, netrig_status::NETRIG_E_CANCELLED);
    close(dev);
}
