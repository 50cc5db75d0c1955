//! `platform = "autodetect"` against the fake fleet: every fake profile opened with autodetect
//! comes out as its own platform (a profile whose platform is missing is a failure), through
//! Rust and the C ABI; detection failures and prompt errors on open name the platform assumed
//! and quote what the device printed; and the cost of detection against a named platform.
#![cfg(feature = "ssh")]

use std::ffi::c_char;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fakedev::{DeviceInfo, Faults, Fleet, Group, Inventory, Profile};
use netrig::device::{Device, DeviceOptions, Overrides, Platform, Source};
use netrig::ffi::*;
use netrig::netrig_status::*;
use netrig::Error;
use support::abi::{c, expect, last_error, ok};
use support::c_abi::Opts;

mod support;

fn autodetect() -> Platform {
    Platform::named("autodetect").unwrap()
}

fn options(d: &DeviceInfo, platform: Platform) -> DeviceOptions {
    let mut o = support::options(d, "cisco_ios");
    o.platform = platform;
    o.timeout = Duration::from_secs(20);
    o
}

/// Opens `d` with autodetect and checks the platform and a command of the profile: the setup
/// of the platform detected ran (the command's output is clean). Most fakes page at 24 lines
/// until paging is turned off, so identification outputs longer than that (IOS' show version
/// has 38) show that detection answers the paging markers.
fn detect_one(d: &DeviceInfo, p: &Profile) -> Result<String, String> {
    let dev = Device::open(&options(d, autodetect())).map_err(|e| format!("open: {e}"))?;
    let got = dev.platform().name.clone();
    if got != p.name {
        return Err(format!("detected as {got}"));
    }
    if let Some((cmd, text)) = p.commands.iter().next() {
        let out = dev.send_command(cmd, None).map_err(|e| format!("'{cmd}': {e}"))?;
        let want = text.replace("{host}", &p.hostname).replace("{user}", &d.username).replace("\r\n", "\n");
        if out.text != want {
            return Err(format!("'{cmd}' after autodetect: got {:?}, want {want:?}", out.text));
        }
        if *out.platform != p.name {
            return Err(format!("'{cmd}': the output says platform {}", out.platform));
        }
    }
    dev.close().map_err(|e| format!("close: {e}"))?;
    Ok(got)
}

#[test]
fn every_fake_profile_is_detected_as_its_own_platform() {
    let builtin: Vec<&str> = Platform::builtin_names().into_iter().filter(|n| *n != "generic").collect();
    let names = Profile::builtin_names();
    // A built-in platform without a fake profile, or a profile without a platform, is a failure.
    let mut failed: Vec<String> = builtin
        .iter()
        .filter(|n| !names.contains(n))
        .map(|n| format!("{n}: no fake profile of that name in tests/fakedev/profiles/"))
        .chain(names.iter().filter(|n| !builtin.contains(n)).map(|n| format!("{n}: no built-in platform of that name")))
        .collect();
    let names: Vec<&str> = names.into_iter().filter(|n| builtin.contains(n)).collect();
    let profiles: Vec<Profile> = names.iter().map(|n| Profile::builtin(n).unwrap()).collect();
    let f = Arc::new(Fleet::start_profiles(profiles.clone()).unwrap());
    let queue = Arc::new(parking_lot::Mutex::new((0..names.len()).collect::<Vec<_>>()));
    let results = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, results, f, profiles) = (queue.clone(), results.clone(), f.clone(), profiles.clone());
            std::thread::spawn(move || loop {
                let Some(i) = queue.lock().pop() else { return };
                let r = detect_one(&f.devices()[i], &profiles[i]);
                results.lock().push((profiles[i].name.clone(), r));
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut results = std::mem::take(&mut *results.lock());
    results.sort();
    assert_eq!(results.len(), names.len());
    for (name, r) in results {
        match r {
            Ok(_) => eprintln!("{name}: detected"),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "autodetect failed:\n{}", failed.join("\n"));
}

/// The options of autodetect apply to the platform detected, and the enable secret is used.
#[test]
fn autodetect_keeps_the_options_and_enters_enable() {
    let f = Fleet::start_profiles(vec![Profile::builtin("cisco_ios").unwrap()]).unwrap();
    let d = &f.devices()[0];
    let overrides = Overrides { error_pattern: Some("^nothing matches this$".into()), ..Overrides::default() };
    let o = options(d, Platform::load(Source::Named("autodetect"), &overrides).unwrap());
    let dev = Device::open(&o).unwrap();
    assert_eq!(dev.platform().name, "cisco_ios");
    assert!(dev.platform().is_error(b"nothing matches this") && !dev.platform().is_error(b"% Invalid input"));
    // Enable was entered after detection: the fake takes `configure terminal` only there.
    let out = dev.send_command("configure terminal", None).unwrap();
    assert!(out.text.contains("Enter configuration commands"), "{:?}", out.text);
    dev.send_command("end", None).unwrap();
    // A bad option is refused before anything is sent.
    let bad = Overrides { error_pattern: Some("(".into()), ..Overrides::default() };
    let e = Platform::load(Source::Named("autodetect"), &bad).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("options.error_pattern")), "{e}");
}

/// A device whose prompt no built-in platform knows, and one whose prompt several know but
/// whose identification matches none of them: both fail open with the evidence.
#[test]
fn detection_failures_say_what_was_seen_and_what_was_tried() {
    let mut unknown = Profile::builtin("cisco_ios").unwrap();
    unknown.prompts.user = "{host}:: ".into();
    let mut unidentified = Profile::builtin("cisco_ios").unwrap();
    unidentified.commands.insert("show version".into(), "Acme NetOS 4.2 (build 77)\r\nUptime 3 days\r\n".into());
    let f = Fleet::start_profiles(vec![unknown, unidentified]).unwrap();
    let mut o = options(&f.devices()[0], autodetect());
    o.secret = None;
    let t = Instant::now();
    let e = Device::open(&o).unwrap_err();
    let m = match &e {
        Error::Prompt(m) => m,
        other => panic!("an unknown prompt: want a prompt error, got {other:?}"),
    };
    assert!(m.contains(r#""R1::""#) && m.contains("matches no built-in platform's prompt rule (autodetect)"), "{m}");
    assert!(t.elapsed() < Duration::from_secs(15), "failed at once, not at the deadline: {:?}", t.elapsed());

    let mut o = options(&f.devices()[1], autodetect());
    o.secret = None;
    let e = Device::open(&o).unwrap_err();
    let m = match &e {
        Error::Prompt(m) => m,
        other => panic!("an unidentified device: want a prompt error, got {other:?}"),
    };
    assert!(m.contains(r#"the prompt "R1>" looks like "#) && m.contains("cisco_ios, "), "{m}");
    assert!(m.contains(r#"'show version' printed "Acme NetOS 4.2 (build 77)""#), "{m}");
    assert!(m.contains(r#"instead of "autodetect""#), "{m}");
}

/// A Linux board opened as cisco_ios, and a Cisco router opened as linux: the open fails fast,
/// naming the platform assumed and quoting the device's last line.
#[test]
fn a_wrong_platform_on_open_names_the_platform_assumed_and_the_last_line() {
    let f = Fleet::start_profiles(vec![Profile::builtin("linux").unwrap(), Profile::builtin("cisco_ios").unwrap()])
        .unwrap();
    for (d, platform, line) in [(&f.devices()[0], "cisco_ios", "admin@board1:~$"), (&f.devices()[1], "linux", "R1>")] {
        let mut o = options(d, Platform::named(platform).unwrap());
        o.secret = None;
        let t = Instant::now();
        let e = Device::open(&o).unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, Error::Prompt(_)), "{platform}: {e:?}");
        assert!(m.contains(&format!("platform {platform} assumed: the last line {line:?}")), "{m}");
        assert!(t.elapsed() < Duration::from_secs(15), "{platform}: failed at once: {:?}", t.elapsed());
    }
}

/// A device that hangs after the paging-off command: the timeout names the platform assumed
/// and quotes the last line.
#[test]
fn a_setup_timeout_names_the_platform_assumed() {
    let faults = Faults { hang_on: vec!["terminal length 0".into()], ..Faults::default() };
    let f = Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1).faults(faults))).unwrap();
    let mut o = options(&f.devices()[0], Platform::named("cisco_ios").unwrap());
    o.timeout = Duration::from_secs(3);
    let e = Device::open(&o).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(m.contains("the prompt after 'terminal length 0' not seen"), "{m}");
    assert!(m.contains("platform cisco_ios assumed; the last line "), "{m}");
}

/// A device that hangs on its identification command: the open times out at its deadline,
/// saying which command of the detection it waited on.
#[test]
fn a_hang_during_detection_times_out_at_the_open_deadline() {
    let faults = Faults { hang_on: vec!["show version".into()], ..Faults::default() };
    let f = Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1).faults(faults))).unwrap();
    let mut o = options(&f.devices()[0], autodetect());
    o.timeout = Duration::from_secs(3);
    let t = Instant::now();
    let e = Device::open(&o).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(e.to_string().contains("the prompt after 'show version' (autodetect) not seen"), "{e}");
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(12), "one deadline for the open: {took:?}");
}

/// The C ABI: "autodetect" opens, `netrig_device_platform` names the platform detected (with
/// the caller-buffer protocol), and a NULL platform says what to set.
#[test]
fn c_abi_autodetect_and_the_platform_accessor() {
    let f = Fleet::start_profiles(vec![Profile::builtin("juniper_junos").unwrap(), Profile::builtin("linux").unwrap()])
        .unwrap();
    for (d, want) in [(&f.devices()[0], "juniper_junos"), (&f.devices()[1], "linux")] {
        let opts = Opts::new(d, "autodetect");
        let dev = opts.open().unwrap_or_else(|st| panic!("{want}: open: {st:?}: {}", last_error()));
        let mut len = 0usize;
        // SAFETY: a NULL buffer of length 0 asks for the length; `len` is a live local.
        expect(
            unsafe { netrig_device_platform(dev, std::ptr::null_mut(), 0, &mut len) },
            NETRIG_E_BUFFER_TOO_SMALL,
            "platform name",
        );
        assert_eq!(len, want.len());
        let mut buf = vec![0 as c_char; len + 1];
        // SAFETY: `buf` has `len + 1` writable bytes.
        ok(unsafe { netrig_device_platform(dev, buf.as_mut_ptr(), buf.len(), &mut len) });
        // SAFETY: written NUL-terminated by the call.
        let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(name, want);
        ok(netrig_device_free(dev));
        // SAFETY: a freed handle is an error, not undefined behaviour.
        expect(
            unsafe { netrig_device_platform(dev, buf.as_mut_ptr(), buf.len(), &mut len) },
            NETRIG_E_INVALID_HANDLE,
            "",
        );
    }
    let mut opts = Opts::new(&f.devices()[1], "linux");
    opts.o.platform = std::ptr::null();
    assert_eq!(opts.open().unwrap_err(), NETRIG_E_INVALID_ARG);
    let m = last_error();
    assert!(
        m.contains("options.platform is NULL") && m.contains("netrig_platforms()") && m.contains("\"autodetect\""),
        "{m}"
    );
    // NULL with a prompt pattern is still the generic platform.
    opts.set(|o| &mut o.prompt_pattern, r"^\S+@\S+:~\$ ?$");
    let dev = opts.open().unwrap_or_else(|st| panic!("generic: {st:?}: {}", last_error()));
    ok(netrig_device_free(dev));
    let _ = c("");
}

/// Open time with autodetect against the platform named, on a cisco_ios and a linux fake. A
/// measurement printed, not a timed assertion.
#[test]
fn open_time_autodetect_against_the_platform_named() {
    let f = Fleet::start_profiles(vec![Profile::builtin("cisco_ios").unwrap(), Profile::builtin("linux").unwrap()])
        .unwrap();
    const N: u32 = 10;
    for (d, name) in [(&f.devices()[0], "cisco_ios"), (&f.devices()[1], "linux")] {
        let time = |platform: &Platform| {
            let o = options(d, platform.clone());
            let t = Instant::now();
            for _ in 0..N {
                let dev = Device::open(&o).unwrap();
                assert_eq!(dev.platform().name, name);
                dev.close().unwrap();
            }
            t.elapsed() / N
        };
        let named = time(&Platform::named(name).unwrap());
        let detected = time(&autodetect());
        eprintln!(
            "open {name}: named {:.1} ms, autodetect {:.1} ms, ratio {:.2}",
            named.as_secs_f64() * 1e3,
            detected.as_secs_f64() * 1e3,
            detected.as_secs_f64() / named.as_secs_f64()
        );
    }
}

/// PLATFORMS.md's table of how each built-in platform is detected, made from the files.
fn detect_table() -> String {
    let mut out = String::from("| name | commands | patterns | priority |\n|---|---|---|---|\n");
    let code = |v: Vec<&str>| v.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    for p in Platform::builtins() {
        let commands = code(p.detect.commands.iter().map(String::as_str).collect());
        let patterns = code(p.detect.patterns.iter().map(|r| r.as_str().trim_start_matches("(?m)")).collect());
        out.push_str(&format!("| {} | {commands} | {patterns} | {} |\n", p.name, p.detect.priority));
    }
    out
}

#[test]
fn the_detect_table_in_platforms_md_matches_the_files() {
    let doc = std::fs::read_to_string(format!("{}/PLATFORMS.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let table = doc.split("<!-- detect-table -->").nth(1).and_then(|t| t.split("<!-- /detect-table -->").next());
    let want = detect_table();
    assert_eq!(
        table.expect("PLATFORMS.md has the detect table markers").trim(),
        want.trim(),
        "it should read:\n{want}"
    );
    // The format's example carries a [detect] table that loads.
    let block = doc.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
    let p = Platform::from_toml(block).unwrap();
    assert_eq!((p.detect.commands.as_slice(), p.detect.priority), (&["show version".to_owned()][..], 50));
    assert!(p.identified_by(|_| Some("Acme OS 4.2\n")).is_some() && p.identified_by(|_| Some("IOS")).is_none());
}
