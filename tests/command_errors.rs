//! Failure detection on every command, against the fake fleet: each built-in platform's error
//! patterns catch its fake's refusal of an unknown command (the real CLI's wording) and let
//! normal output that merely says "errors", "invalid" or "failed" through; each call kind
//! (command, expect, timing, interactive, configuration set) fails with the output kept, or
//! returns it marked when the check is off; a call's and a device's own patterns; the log
//! record; and the runner's command step.
#![cfg(feature = "ssh")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fakedev::{Fleet, Profile};
use netrig::device::{Check, ConfigOptions, Device, Overrides, Platform, Source};
use netrig::log::{self, Level, Target as LogTarget};
use netrig::netrig_status::*;
use netrig::run::{OnFailure, Run, RunOptions, State, Step, Strategy, Target};
use netrig::Error;

/// Output of a normal command that mentions errors, invalid packets and failures in counters
/// and fields, as interface and login summaries of the platforms print them: none of it is a
/// refusal. (Cisco/Arista `show interfaces`, Junos `show interfaces extensive`, Linux
/// `ip -s link`/`ifconfig`, PAN-OS' login summary, Huawei's `display interface`.)
const NORMAL: &str = "\
GigabitEthernet0/1 is up, line protocol is up\r
     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored\r
     0 output errors, 0 collisions, 1 interface resets\r
  Input errors:\r
    Errors: 0, Drops: 0, Framing errors: 0, Runts: 0, Policed discards: 0\r
  Output errors:\r
    Carrier transitions: 1, Errors: 0, Drops: 0, MTU errors: 0\r
  RX errors 0  dropped 0  overruns 0  frame 0\r
  Invalid packets: 0   Unknown protocol: 0   Failed CRC: 0\r
  Total Error: 0  Last error: none\r
Number of failed attempts since last successful login: 0\r
";

const NORMAL_COMMAND: &str = "show counters errors";
const UNKNOWN: &str = "frobnicate now";

/// The line a fake prints when it refuses `command`: the first line of its `invalid` text that
/// is not the caret line; a Linux fake's shell answers as dash does.
fn refusal(p: &Profile, command: &str) -> String {
    let word = command.split_whitespace().next().unwrap_or("");
    if fakedev::linux::serves(p) {
        return format!("sh: 1: {word}: not found");
    }
    p.invalid
        .split("\r\n")
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains("{caret}"))
        .unwrap_or_else(|| panic!("{}: invalid text has no error line", p.name))
        .replace("{word}", word)
}

fn with_normal(name: &str) -> Profile {
    let mut p = Profile::builtin(name).unwrap();
    p.commands.insert(NORMAL_COMMAND.into(), NORMAL.into());
    p
}

fn options(d: &fakedev::DeviceInfo, platform: &str) -> netrig::device::DeviceOptions {
    let mut o = support::options(d, "cisco_ios");
    o.platform = Platform::named(platform).unwrap();
    o.timeout = Duration::from_secs(10);
    o
}

/// One platform: the unknown command is refused with its line quoted, the output kept and the
/// device usable afterwards; the normal output passes; with the check off the refusal is an
/// output marked failed.
fn platform_case(d: &fakedev::DeviceInfo, p: &Profile) -> Result<(), String> {
    let dev = Device::open(&options(d, &p.name)).map_err(|e| format!("open: {e}"))?;
    let want = refusal(p, UNKNOWN);
    let e = match dev.send_command(UNKNOWN, None) {
        Ok(out) => return Err(format!("'{UNKNOWN}' passed: {:?}", out.text)),
        Err(e) => e,
    };
    let text = e.to_string();
    if e.status() != NETRIG_E_COMMAND
        || !text.contains(dev.name())
        || !text.contains(&format!("command '{UNKNOWN}'"))
        || !text.contains(&format!("\"{want}\""))
    {
        return Err(format!("{:?}: {text:?} does not name the device and command and quote {want:?}", e.status()));
    }
    let out = e.output().ok_or("the error carries no output")?;
    if out.failure.as_deref() != Some(want.as_str()) || !out.text.contains(&want) {
        return Err(format!("failed output: failure {:?}, text {:?}", out.failure, out.text));
    }
    if out.command != UNKNOWN || &*out.platform != p.name.as_str() {
        return Err(format!("output names '{}' on '{}'", out.command, out.platform));
    }
    let normal = dev.send_command(NORMAL_COMMAND, None).map_err(|e| format!("normal output: {e}"))?;
    if normal.failed() || !normal.text.contains("0 input errors") {
        return Err(format!("normal output: failure {:?}, text {:?}", normal.failure, normal.text));
    }
    let off = dev.send_command_with(UNKNOWN, None, &Check::off()).map_err(|e| format!("check off: {e}"))?;
    if off.failure.as_deref() != Some(want.as_str()) {
        return Err(format!("check off: failure {:?}", off.failure));
    }
    dev.close().map_err(|e| format!("close: {e}"))
}

#[test]
fn every_platform_catches_its_refusal_and_passes_normal_error_words() {
    let names = Profile::builtin_names();
    let profiles: Vec<Profile> = names.iter().map(|n| with_normal(n)).collect();
    let fleet = Fleet::start_profiles(profiles.clone()).unwrap();
    let failures: Vec<String> = fleet
        .devices()
        .iter()
        .zip(&profiles)
        .filter_map(|(d, p)| platform_case(d, p).err().map(|e| format!("{}: {e}", p.name)))
        .collect();
    assert!(failures.is_empty(), "{} of {} platforms:\n{}", failures.len(), names.len(), failures.join("\n"));
    assert!(names.len() >= 20, "the fleet has every platform: {names:?}");
}

fn ios() -> (Fleet, Device) {
    let fleet = Fleet::start_profiles(vec![with_normal("cisco_ios")]).unwrap();
    let dev = Device::open(&options(&fleet.devices()[0], "cisco_ios")).unwrap();
    (fleet, dev)
}

fn failure(e: &Error) -> (String, Option<String>, String) {
    let out = e.output().unwrap_or_else(|| panic!("no output in {e:?}"));
    (e.to_string(), out.failure.clone(), out.text.clone())
}

const IOS_REFUSAL: &str = "% Invalid input detected at '^' marker.";

#[test]
fn each_call_kind_fails_on_a_refusal_and_keeps_the_output() {
    let (_f, dev) = ios();
    // A command read to its prompt.
    let e = dev.send_command("show ip bgp summary bogus", None).unwrap_err();
    let (msg, line, text) = failure(&e);
    assert!(msg.contains("command 'show ip bgp summary bogus' failed") && msg.contains(IOS_REFUSAL), "{msg}");
    assert_eq!(line.as_deref(), Some(IOS_REFUSAL));
    assert!(text.contains('^') && text.ends_with(&format!("{IOS_REFUSAL}\n")), "{text:?}");
    // Read to an expect pattern.
    let e = dev.send_command_expect("show bogus", r"marker\.", None).unwrap_err();
    assert_eq!(e.status(), NETRIG_E_COMMAND);
    assert_eq!(failure(&e).1.as_deref(), Some(IOS_REFUSAL));
    // Read to a quiet period.
    let e = dev.send_command_timing("show bogus", Duration::from_millis(200), None).unwrap_err();
    assert!(failure(&e).0.contains("command 'show bogus' failed"), "{e}");
    // A dialogue: the step whose answer is the refusal is named.
    let steps = [("delete flash:old.bin", r"\? $"), ("", r"\[confirm\]"), ("n", "")];
    let e = dev.send_interactive(&steps, None).unwrap_err();
    let (msg, line, text) = failure(&e);
    assert!(msg.contains("step 3 'n' of the dialogue failed"), "{msg}");
    assert_eq!(line.as_deref(), Some("%Error: delete aborted"));
    assert!(text.contains("Delete filename [old.bin]?"), "the whole transcript: {text:?}");
    // Each kind with the check off: the output, marked.
    let off = Check::off();
    assert!(dev.send_command_with("show bogus", None, &off).unwrap().failed());
    assert!(dev.send_command_expect_with("show bogus", r"marker\.", None, &off).unwrap().failed());
    assert!(dev.send_command_timing_with("show bogus", Duration::from_millis(200), None, &off).unwrap().failed());
    let out = dev.send_interactive_with(&steps, None, &off).unwrap();
    assert_eq!(out.failure.as_deref(), Some("%Error: delete aborted"));
    assert_eq!(out.command, "delete flash:old.bin\n\nn");
    // A refusal leaves the device usable, and a normal output is not failed.
    let out = dev.send_command("show clock", None).unwrap();
    assert_eq!((out.text.as_str(), out.failure), ("*10:42:13.123 UTC Sat Nov 21 2026\n", None));
    assert_eq!((out.command.as_str(), &*out.platform), ("show clock", "cisco_ios"));
}

#[test]
fn config_sets_keep_their_transcript_and_send_every_line_with_the_check_off() {
    let (_f, dev) = ios();
    let e = dev.send_config_set(&["hostname R7", "bogus line", "hostname R8"], ConfigOptions::default(), None);
    let e = e.unwrap_err();
    let (msg, line, text) = failure(&e);
    assert!(msg.contains("config line 2 'bogus line' was rejected"), "{msg}");
    assert_eq!(line.as_deref(), Some(IOS_REFUSAL));
    assert!(text.starts_with("hostname R7\n") && !text.contains("hostname R8"), "stopped at the line: {text:?}");
    assert!(dev.send_command("show version", None).unwrap().text.contains("R7 uptime"));

    let out = dev.send_config_set_with(&["bogus line", "hostname R8"], ConfigOptions::default(), None, &Check::off());
    let out = out.unwrap();
    assert_eq!(out.failure.as_deref(), Some(IOS_REFUSAL));
    assert_eq!(out.command, "bogus line\nhostname R8");
    assert!(dev.send_command("show version", None).unwrap().text.contains("R8 uptime"), "every line was sent");
}

#[test]
fn a_calls_pattern_and_the_devices_default_change_the_check() {
    let (f, dev) = ios();
    // The call's pattern replaces the platform's: a normal line fails, a refusal passes.
    let e = dev.send_command_with("show clock", None, &Check::pattern(r"\butc\b")).unwrap_err();
    assert_eq!(failure(&e).1.as_deref(), Some("*10:42:13.123 UTC Sat Nov 21 2026"), "case-insensitive");
    let out = dev.send_command_with("show bogus", None, &Check::pattern("(?-i)utc")).unwrap();
    assert!(!out.failed(), "the platform's patterns are replaced: {:?}", out.failure);
    let both = Check { fail: Some(false), error_pattern: Some("uptime".into()) };
    assert!(dev.send_command_with("show version", None, &both).unwrap().failure.unwrap().contains("uptime is"));
    // A bad pattern fails before anything is sent.
    let e = dev.send_command_with("show clock", None, &Check::pattern("(")).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("error_pattern '('")), "{e}");
    drop(dev);

    // The device's default off: refusals are outputs, unless a call turns the check on.
    let mut o = options(&f.devices()[0], "cisco_ios");
    o.check_errors = false;
    let dev = Device::open(&o).unwrap();
    assert_eq!(dev.send_command("show bogus", None).unwrap().failure.as_deref(), Some(IOS_REFUSAL));
    assert_eq!(dev.send_command_with("show bogus", None, &Check::on()).unwrap_err().status(), NETRIG_E_COMMAND);
    drop(dev);

    // The device's error_pattern (issue 14) replaces the platform's for every call.
    let mut o = options(&f.devices()[0], "cisco_ios");
    let overrides = Overrides { error_pattern: Some("^Processor board".into()), ..Overrides::default() };
    o.platform = Platform::load(Source::Named("cisco_ios"), &overrides).unwrap();
    let dev = Device::open(&o).unwrap();
    assert!(dev.send_command("show bogus", None).is_ok());
    let e = dev.send_command("show version", None).unwrap_err();
    assert_eq!(failure(&e).1.as_deref(), Some("Processor board ID FTX1840ALBS"));
}

/// A log record's level, target, device and message.
type Record = (Level, LogTarget, Option<String>, String);

#[test]
fn a_failure_is_logged_at_the_device_with_the_command() {
    let (_f, dev) = ios();
    let records: Arc<Mutex<Vec<Record>>> = Arc::default();
    let sink = Arc::clone(&records);
    log::set_callback(
        Level::Info,
        Some(Box::new(move |r| {
            let rec = (r.level(), r.target(), r.device().map(str::to_owned), r.message().to_owned());
            sink.lock().unwrap().push(rec)
        })),
    )
    .unwrap();
    let _ = dev.send_command("show bogus", None).unwrap_err();
    dev.send_command_with("show bogus two", None, &Check::off()).unwrap();
    log::set_callback(Level::Off, None).unwrap();
    let records = records.lock().unwrap().clone();
    let find = |cmd: &str| {
        records
            .iter()
            .find(|r| r.3.contains(&format!("command '{cmd}' failed")) && r.3.contains(IOS_REFUSAL))
            .unwrap_or_else(|| panic!("no record for '{cmd}' in {records:#?}"))
            .clone()
    };
    let (level, target, device, _) = find("show bogus");
    assert_eq!((level, target, device.as_deref()), (Level::Warn, LogTarget::Device, Some(dev.log_name())));
    let (level, _, _, message) = find("show bogus two");
    assert_eq!(level, Level::Info, "{message}");
    assert!(message.contains("check off"), "{message}");
}

#[test]
fn a_runner_command_step_fails_on_a_refusal_and_keeps_the_output() {
    let fleet = Fleet::start_profiles(vec![with_normal("cisco_ios")]).unwrap();
    let d = &fleet.devices()[0];
    let steps = vec![Step::command("show clock"), Step::command("show bogus"), Step::command("show version")];
    let opts = RunOptions { max_workers: 1, strategy: Strategy::Free, on_failure: OnFailure::SkipHost, events: false };
    let run = Run::start(vec![Target::from(options(d, "cisco_ios"))], steps, opts, None, None).unwrap();
    let report = run.wait(Some(Duration::from_secs(30))).expect("the run ends");
    let host = &report.hosts[0];
    assert_eq!(host.state, State::Failed);
    let (ok, bad, skipped) = (&host.steps[0], &host.steps[1], &host.steps[2]);
    assert_eq!(ok.state, State::Ok);
    assert_eq!((bad.state, bad.status), (State::Failed, NETRIG_E_COMMAND));
    assert!(bad.error.contains("step 2 (") && bad.error.contains("show bogus"), "{}", bad.error);
    assert!(bad.error.contains(IOS_REFUSAL), "{}", bad.error);
    assert!(bad.output.ends_with(&format!("{IOS_REFUSAL}\n")), "{:?}", bad.output);
    assert_eq!(skipped.state, State::Skipped);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let step = &json["hosts"][0]["steps"][1];
    assert_eq!(step["status"], "NETRIG_E_COMMAND");
    assert!(step["output"].as_str().unwrap().contains(IOS_REFUSAL), "{step}");
}
