//! Platforms as data, against the fake fleet: every built-in platform end to end against the
//! fake profile of the same name (open, a paged command, enable, a configuration set with a
//! rejected line, save, close); platform files loaded, extended and refused, in Rust and
//! through the C ABI; and the prompt and mode defects of issue 14, each with the device shape
//! that showed it.
#![cfg(feature = "ssh")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakedev::{DeviceInfo, Faults, Fleet, Group, Inventory, Profile};
use netrig::device::{Commit, ConfigOptions, Device, Overrides, Platform, Source};
use netrig::ffi::*;
use netrig::netrig_status::*;
use netrig::Error;
use support::abi::{c, expect};
use support::c_abi::Opts;

mod support;

fn options(d: &DeviceInfo, platform: Platform) -> netrig::device::DeviceOptions {
    let mut o = support::options(d, "cisco_ios");
    o.platform = platform;
    o.timeout = Duration::from_secs(10);
    o
}

fn profile(name: &str) -> Profile {
    Profile::builtin(name).unwrap_or_else(|e| panic!("{e}"))
}

/// A fleet of one device per profile, in order.
fn fleet(profiles: Vec<Profile>) -> Fleet {
    Fleet::start_profiles(profiles).unwrap()
}

/// The device's error line for a rejected command: the first line of the profile's `invalid`
/// text that is not the caret line, with the command's first word for `{word}`.
fn error_line(p: &Profile, rejected: &str) -> String {
    p.invalid
        .split("\r\n")
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains("{caret}"))
        .unwrap_or_else(|| panic!("{}: invalid text has no error line", p.name))
        .replace("{word}", rejected.split_whitespace().next().unwrap_or(""))
}

// ---------------------------------------------------------------------------------------------
// Every built-in platform, end to end
// ---------------------------------------------------------------------------------------------

/// One platform's run; the error names the step that failed.
fn end_to_end(name: &str, d: &DeviceInfo, p: &Profile) -> Result<Vec<String>, String> {
    let platform = Platform::named(name).map_err(|e| format!("load: {e}"))?;
    let mut done = Vec::new();
    let step = |what: &str, e: Error| format!("{what}: {e}");
    let dev = Device::open(&options(d, platform.clone())).map_err(|e| step("open", e))?;
    done.push("open".to_owned());

    // A paged command: longer than a page of the fake, returned whole and clean.
    let paged = p.e2e.paged.as_ref().ok_or("the fake profile's [e2e] has no paged command")?;
    let g = p.generated.get(paged).ok_or_else(|| format!("[e2e] paged '{paged}' is not a generated command"))?;
    if p.paging.default_length == 0 && platform.more.is_some() {
        return Err("the fake profile does not page (paging.default_length = 0)".into());
    }
    let out = dev.send_command(paged, Some(Duration::from_secs(30))).map_err(|e| step(paged, e))?;
    let want = fakedev::shell::generated(paged, g.lines, g.width).replace("\r\n", "\n");
    if out.text != want {
        let first = out.text.lines().zip(want.lines()).position(|(a, b)| a != b);
        return Err(format!(
            "'{paged}': {} bytes, want {}; first difference at line {first:?}; tail {:?}",
            out.text.len(),
            want.len(),
            &out.text[out.text.len().saturating_sub(200)..]
        ));
    }
    done.push(format!("paged '{paged}' ({} lines)", g.lines));

    // A show command with fixed output.
    if let Some((cmd, text)) = p.commands.iter().next() {
        let out = dev.send_command(cmd, None).map_err(|e| step(cmd, e))?;
        let want = text.replace("{host}", &p.hostname).replace("\r\n", "\n");
        if out.text != want {
            return Err(format!("'{cmd}': got {:?}, want {want:?}", out.text));
        }
        done.push(format!("'{cmd}'"));
    }

    if platform.enable.is_some() && p.enable.is_some() {
        dev.exit_enable(None).map_err(|e| step("exit_enable", e))?;
        dev.enable(None).map_err(|e| step("enable", e))?;
        done.push("exit_enable + enable".to_owned());
    }

    if platform.configurable {
        let lines: Vec<&str> = p.e2e.config.iter().map(String::as_str).collect();
        if lines.is_empty() {
            return Err("the fake profile's [e2e] has no config lines".into());
        }
        let set = dev.send_config_set(&lines, ConfigOptions::default(), None).map_err(|e| step("config set", e))?;
        if let Some(missing) = lines.iter().find(|l| !set.text.contains(*l)) {
            return Err(format!("config set transcript lacks '{missing}': {:?}", set.text));
        }
        done.push(format!("config set ({} lines)", lines.len()));
        if platform.commit.is_some() {
            let opts = ConfigOptions { exit: true, commit: Commit::Commit };
            dev.send_config_set(&lines, opts, None).map_err(|e| step("config set with commit", e))?;
            done.push("config set + commit".to_owned());
        }
        let rejected = p.e2e.rejected.as_ref().ok_or("the fake profile's [e2e] has no rejected line")?;
        let mut bad = lines.clone();
        bad.push(rejected);
        match dev.send_config_set(&bad, ConfigOptions::default(), None) {
            Err(Error::CommandFailed(f)) => {
                let m = &f.message;
                let named = format!("config line {} '{rejected}' was rejected", bad.len());
                let quoted = error_line(p, rejected);
                if !m.contains(&named) || !m.contains(&quoted) {
                    return Err(format!("rejected line: {m:?} lacks {named:?} or the device's {quoted:?}"));
                }
            }
            other => return Err(format!("config set with '{rejected}': {other:?}, want a CommandError")),
        }
        // Still usable, back at the normal prompt.
        if let Some((cmd, _)) = p.commands.iter().next() {
            dev.send_command(cmd, None).map_err(|e| step("a command after the rejected line", e))?;
        }
        done.push("rejected line reported".to_owned());
    }

    if platform.save.is_some() {
        let saved = p.e2e.saved.as_ref().ok_or("the fake profile's [e2e] has no saved text")?;
        let out = dev.save_config(None).map_err(|e| step("save_config", e))?;
        // An empty text means the device's save prints nothing (ProCurve, OS10): then nothing
        // may come back, so a question left unanswered or an error line still fails the step.
        let ok = if saved.is_empty() { out.text.trim().is_empty() } else { out.text.contains(saved.as_str()) };
        if !ok {
            return Err(format!("save_config output {:?}, want {saved:?} (empty: no output at all)", out.text));
        }
        done.push("save".to_owned());
    }
    dev.close().map_err(|e| step("close", e))?;
    done.push("close".to_owned());

    // The same paged command with paging left on: every marker answered, and erased from the
    // output as the device erases it on its screen.
    if platform.more.is_some() && !platform.paging_off.is_empty() {
        let mut o = options(d, platform.clone());
        o.platform.paging_off.clear();
        let dev = Device::open(&o).map_err(|e| step("open with paging on", e))?;
        let out =
            dev.send_command(paged, Some(Duration::from_secs(60))).map_err(|e| step("paged with paging on", e))?;
        if out.text != want {
            let first = out.text.lines().zip(want.lines()).position(|(a, b)| a != b);
            let line = first.and_then(|i| out.text.lines().nth(i)).unwrap_or("");
            return Err(format!(
                "'{paged}' with paging on: {} bytes, want {}; first difference at line {first:?}: {line:?}",
                out.text.len(),
                want.len()
            ));
        }
        done.push("paged with paging on".to_owned());
    }
    Ok(done)
}

#[test]
fn every_built_in_platform_works_end_to_end_against_its_fake_device() {
    let names: Vec<&str> = Platform::builtin_names().into_iter().filter(|n| *n != "generic").collect();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| Profile::builtin(n).is_err())
        .map(|n| format!("{n}: no fake profile of the same name in tests/fakedev/profiles/"))
        .collect();
    let names: Vec<&str> = names.into_iter().filter(|n| Profile::builtin(n).is_ok()).collect();
    let profiles: Vec<Profile> = names.iter().map(|n| profile(n)).collect();
    let f = Arc::new(fleet(profiles.clone()));
    // Four at a time: each waits mostly on its device.
    let queue = Arc::new(parking_lot::Mutex::new((0..names.len()).collect::<Vec<_>>()));
    let results = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, results, f, profiles) = (queue.clone(), results.clone(), f.clone(), profiles.clone());
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            std::thread::spawn(move || loop {
                let Some(i) = queue.lock().pop() else { return };
                let started = Instant::now();
                let r = end_to_end(&names[i], &f.devices()[i], &profiles[i]);
                results.lock().push((names[i].clone(), r, started.elapsed()));
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut results = std::mem::take(&mut *results.lock());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failed = missing;
    for (name, r, took) in &results {
        match r {
            Ok(steps) => eprintln!("{name}: ok in {} ms: {}", took.as_millis(), steps.join(", ")),
            Err(e) => {
                eprintln!("{name}: FAILED: {e}");
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} of {} platforms failed:\n{}", failed.len(), results.len(), failed.join("\n"));
    assert!(results.len() >= 20, "at least 20 built-in platforms, each with its fake: {names:?}");
}

#[test]
fn built_in_platforms_are_consistent() {
    let mut claimed: std::collections::BTreeMap<String, String> = Default::default();
    for name in Platform::builtin_names() {
        let text =
            std::fs::read_to_string(format!("{}/src/device/platform/builtin/{name}.toml", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let p = match Platform::from_toml(&text) {
            Ok(p) => p,
            Err(e) if name == "generic" => {
                assert!(e.to_string().contains("needs a prompt pattern"), "{e}");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(p.name, name, "{name}.toml names itself");
        assert!(p.description != p.name, "{name}: a description");
        assert!(text.starts_with('#'), "{name}.toml starts with a comment naming its documentation");
        for alias in &p.netmiko {
            if let Some(other) = claimed.insert(alias.clone(), name.to_owned()) {
                panic!("netmiko name '{alias}' is claimed by {other} and {name}");
            }
            assert_eq!(Platform::named(alias).unwrap().name, name, "'{alias}' finds {name}");
        }
        if p.commit_check.is_some() || !p.config_answers.is_empty() {
            assert!(p.configurable, "{name}: config fields without a [config] table");
        }
    }
}

#[test]
fn the_platforms_table_in_platforms_md_lists_every_built_in_platform() {
    let doc = std::fs::read_to_string(format!("{}/PLATFORMS.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let table = doc.split("<!-- platforms-table -->").nth(1).and_then(|t| t.split("<!-- /platforms-table -->").next());
    let table = table.expect("PLATFORMS.md has the platforms table markers");
    let want = platforms_table();
    assert_eq!(table.trim(), want.trim(), "PLATFORMS.md's table is out of date; it should read:\n{want}");
}

/// The table of built-in platforms as PLATFORMS.md shows it, made from the files.
fn platforms_table() -> String {
    let mut out = String::from("| name | description | netmiko names | enable | config | commit | save |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for name in Platform::builtin_names() {
        let Ok(p) = Platform::named(name) else { continue };
        let code = |v: &Option<String>| v.as_ref().map_or("-".to_owned(), |c| format!("`{c}`"));
        let config = match (&p.config_enter, p.configurable) {
            (Some(c), _) => format!("`{c}`"),
            (None, true) => "at the prompt".to_owned(),
            (None, false) => "-".to_owned(),
        };
        let netmiko = p.netmiko.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        out.push_str(&format!(
            "| {name} | {} | {netmiko} | {} | {config} | {} | {} |\n",
            p.description,
            code(&p.enable),
            code(&p.commit),
            code(&p.save)
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Platform files: load, extend, fail
// ---------------------------------------------------------------------------------------------

fn unique() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn temp_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netrig-pf-{what}-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fake IOS device renamed and re-prompted, so that only a platform file opens it.
fn acme_profile() -> Profile {
    let mut p = profile("cisco_ios");
    p.hostname = "acme7".into();
    p.prompts.user = "acme7 :: user > ".into();
    p.prompts.enable = Some("acme7 :: root > ".into());
    p.prompts.config = Some("acme7 :: config > ".into());
    p.prompts.config_sub = Some("acme7 :: {sub} > ".into());
    p
}

const ACME: &str = r#"# A made-up CLI: the fake IOS device with other prompts.
name = "acme_os"
description = "Acme OS"
extends = "cisco_ios"

[prompt]
pattern = '^acme7 :: (user|root|config[\w\-]*) > $'
user = ':: user > $'
config = ':: config'
"#;

#[test]
fn a_platform_file_opens_a_device_no_built_in_platform_knows() {
    let f = fleet(vec![acme_profile()]);
    let d = &f.devices()[0];
    let dir = temp_dir("acme");
    let path = dir.join("acme.toml");
    std::fs::write(&path, ACME).unwrap();
    // The built-in platform cannot open it, and says which rule failed.
    let mut o = options(d, Platform::named("cisco_ios").unwrap());
    o.timeout = Duration::from_secs(3);
    assert!(Device::open(&o).is_err());
    let p = Platform::from_file(&path).unwrap();
    assert_eq!((p.name.as_str(), p.description.as_str()), ("acme_os", "Acme OS"));
    // Inherited from cisco_ios: setup, enable, configuration, save, errors.
    assert_eq!(
        (p.paging_off.as_slice(), p.setup.as_slice()),
        (&["terminal length 0".to_owned()][..], &["terminal width 511".to_owned()][..])
    );
    let dev = Device::open(&options(d, p)).unwrap();
    let out = dev.send_command("show clock", None).unwrap();
    assert_eq!(out.text, "*10:42:13.123 UTC Sat Nov 21 2026\n");
    dev.exit_enable(None).unwrap();
    dev.enable(None).unwrap();
    let e = dev.send_config_set(&["hostname acme7", "bogus x"], ConfigOptions::default(), None).unwrap_err();
    assert!(matches!(&e, Error::CommandFailed(f) if f.message.contains("config line 2 'bogus x'")), "{e}");
    assert!(dev.save_config(None).unwrap().text.contains("[OK]"));
    dev.close().unwrap();
    // The same as text, and a file extending that file (relative path) changing one field.
    assert_eq!(Platform::from_toml(ACME).unwrap().prompt.as_str(), r"^acme7 :: (user|root|config[\w\-]*) > $");
    let child = dir.join("sub/acme_child.toml");
    std::fs::create_dir_all(child.parent().unwrap()).unwrap();
    std::fs::write(
        &child,
        "# child\nname = \"acme_child\"\nextends = \"../acme.toml\"\nsetup = [\"terminal width 80\"]\n",
    )
    .unwrap();
    let c = Platform::from_file(&child).unwrap();
    assert_eq!((c.name.as_str(), c.setup.as_slice()), ("acme_child", &["terminal width 80".to_owned()][..]));
    assert_eq!(c.paging_off, ["terminal length 0"], "paging.off from cisco_ios, two levels down");
    assert_eq!(c.prompt.as_str(), r"^acme7 :: (user|root|config[\w\-]*) > $", "the rest comes from acme.toml");
    assert_eq!(c.save.as_deref(), Some("write memory"), "and from cisco_ios beneath it");
    let dev = Device::open(&options(d, c)).unwrap();
    assert!(dev.send_command("show clock", None).unwrap().text.contains("UTC"));
    drop(dev);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_in_platforms_md_is_a_platform_file_that_loads() {
    let doc = std::fs::read_to_string(format!("{}/PLATFORMS.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let block = doc.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
    let p = Platform::from_toml(block).unwrap_or_else(|e| panic!("PLATFORMS.md's example: {e}"));
    assert_eq!((p.name.as_str(), p.description.as_str()), ("my_cli", "Acme OS 4"));
    assert_eq!(p.netmiko, ["acme_os"]);
    assert!(p.at_prompt(b"out\r\nsw1(config-if)#") && p.in_config(b"sw1(config-if)#") && p.in_user_mode(b"sw1>"));
    assert!(p.at_more(b"line\r\n --More-- "));
    assert_eq!(p.commit.as_deref(), Some("commit"));
    assert_eq!(p.save_answers.len(), 2);
    assert!(p.is_error(b"ok\n% invalid input here") && !p.is_error(b"no error at all"), "case-insensitive, per line");
    assert!(p.strip_trailing.as_ref().unwrap().is_match(b"{master:0}"));
}

#[track_caller]
fn refused(text: &str, needles: &[&str]) {
    let dir = temp_dir("bad");
    let path = dir.join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let e = Platform::from_file(&path).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let m = match &e {
        Error::InvalidArg(m) => m,
        other => panic!("{other:?}: want InvalidArg"),
    };
    assert!(m.contains(&format!("platform file {}", path.display())), "names the file: {m}");
    for n in needles {
        assert!(m.contains(n), "{m:?} lacks {n:?}");
    }
}

#[test]
fn a_bad_platform_file_is_refused_naming_the_file_the_line_and_the_field() {
    refused("name = \"x\"\n\n[prompt]\npattern = '^(unclosed$'\n", &["line 4", "prompt.pattern", "does not compile"]);
    refused("name = \"x\"\n[prompt]\npattern = '^x$'\npromt = 'y'\n", &["line 4", "unknown field `promt`"]);
    refused("name = \"x\"\nsetup = \"terminal length 0\"\n", &["line 2", "setup", "expected a sequence"]);
    refused(
        "name = \"x\"\n[prompt]\npattern = '^x$'\n[save]\ncommand = \"save\"\nanswers = [\n  { question = '[', send = \"y\" },\n]\n",
        &["line 7", "save.answers[0].question"],
    );
    refused(
        "name = \"x\"\n[prompt]\npattern = '^x$'\n[errors]\npatterns = ['ok', '(bad']\n",
        &["line 5", "errors.patterns[1]"],
    );
    refused("[prompt]\npattern = '^x$'\n", &["name is missing"]);
    refused("name = \"has space\"\n", &["not a platform name"]);
    refused(
        "name = \"x\"\nextends = \"no_such_platform\"\n",
        &["extends 'no_such_platform'", "not a built-in platform"],
    );
    refused("name = \"x\"\nprompt = [\n", &["line"]);
    // A file that extends itself.
    let dir = temp_dir("loop");
    let path = dir.join("loop.toml");
    std::fs::write(&path, "name = \"loop\"\nextends = \"loop.toml\"\n").unwrap();
    let e = Platform::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("more than 8 levels of extends"), "{e}");
    // A file with no prompt pattern anywhere in its chain.
    std::fs::write(&path, "name = \"noprompt\"\n").unwrap();
    let e = Platform::from_file(&path).unwrap_err().to_string();
    assert!(e.contains("noprompt: prompt.pattern is missing"), "{e}");
    let e = Platform::from_file(&dir.join("absent.toml")).unwrap_err().to_string();
    assert!(e.contains("absent.toml") && e.contains("No such file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn platform_files_through_the_c_abi() {
    let f = fleet(vec![acme_profile()]);
    let d = &f.devices()[0];
    let dir = temp_dir("cabi");
    let path = dir.join("acme.toml");
    std::fs::write(&path, ACME).unwrap();
    // By file, with options.platform NULL.
    let mut o = Opts::new(d, "cisco_ios");
    o.o.platform = std::ptr::null();
    o.set(|o| &mut o.platform_file, path.to_str().unwrap());
    let dev = o.open().unwrap();
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
    // By text, with options.platform naming it.
    let mut o = Opts::new(d, "acme_os");
    o.set(|o| &mut o.platform_text, ACME);
    let dev = o.open().unwrap();
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
    // Refused before connecting: a name that disagrees, both sources, a bad file.
    let mut o = Opts::new(d, "cisco_ios");
    o.set(|o| &mut o.platform_text, ACME);
    expect(
        o.open().unwrap_err(),
        NETRIG_E_INVALID_ARG,
        "options.platform is 'cisco_ios' but the platform file describes 'acme_os'",
    );
    o.o.platform = std::ptr::null();
    o.set(|o| &mut o.platform_file, path.to_str().unwrap());
    expect(o.open().unwrap_err(), NETRIG_E_INVALID_ARG, "give one of them");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"bad\"\n[prompt]\npattern = '('\n").unwrap();
    let mut o = Opts::new(d, "cisco_ios");
    o.o.platform = std::ptr::null();
    o.set(|o| &mut o.platform_file, bad.to_str().unwrap());
    expect(
        o.open().unwrap_err(),
        NETRIG_E_INVALID_ARG,
        &format!("platform file {}, line 3: prompt.pattern", bad.display()),
    );
    // The list of built-in platforms.
    // SAFETY: netrig_platforms returns a static NUL-terminated string.
    let names = unsafe { std::ffi::CStr::from_ptr(netrig_platforms()) }.to_str().unwrap().to_owned();
    assert_eq!(names, Platform::builtin_names().join(" "));
    assert!(names.split(' ').any(|n| n == "juniper_junos") && names.split(' ').any(|n| n == "busybox"));
    let _ = c("");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The defects of issue 14, each against the device shape that showed it
// ---------------------------------------------------------------------------------------------

fn with_prompt(base: &str, hostname: &str, user: &str) -> Profile {
    let mut p = profile(base);
    p.hostname = hostname.into();
    p.prompts.user = user.into();
    p
}

/// Defect 1: Linux prompts of RHEL and friends, bare host names, and embedded boards' busybox shells.
#[test]
fn linux_opens_rhel_bare_and_busybox_prompts() {
    let shapes = [
        ("rhel1", "[{user}@{host} ~]$ "),
        ("linux2", "{host}$ "),
        ("board", "/ # "),
        ("board", "~ # "),
        ("board", "# "),
        ("board", "root@(none):/# "),
        ("board", "bash-5.1$ "),
        ("fedora", "[{user}@{host} /var/log]# "),
        ("board1", "{user}@{host}:~$ "),
    ];
    let f = fleet(shapes.iter().map(|(h, p)| with_prompt("linux", h, p)).collect());
    for (d, (_, shape)) in f.devices().iter().zip(shapes) {
        for platform in ["linux", "busybox"] {
            let dev = Device::open(&options(d, Platform::named(platform).unwrap()))
                .unwrap_or_else(|e| panic!("{shape:?} as {platform}: {e}"));
            let out = dev.send_command("echo hello", None).unwrap();
            assert_eq!(out.text, "hello\n", "{shape:?} as {platform}");
            let out = dev.send_command("uptime", None).unwrap();
            assert!(out.text.contains("load average"), "{shape:?}: {:?}", out.text);
            dev.close().unwrap();
        }
    }
}

/// Defects 2 and 7: a bare Junos prompt (`vmx2>`), and the `{master:0}` context line kept out of outputs.
#[test]
fn junos_opens_a_bare_prompt_and_strips_its_context_line() {
    let f = fleet(vec![with_prompt("juniper_junos", "vmx2", "{host}> "), profile("juniper_junos")]);
    for d in f.devices() {
        let dev = Device::open(&options(d, Platform::named("juniper_junos").unwrap())).unwrap();
        let out = dev.send_command("show system uptime", None).unwrap();
        assert_eq!(
            out.text,
            "Current time: 2026-11-21 10:42:13 UTC\nSystem booted: 2026-10-01 08:00:00 UTC (7w2d 02:42 ago)\n",
            "{}: no {{master:0}} line, no blank line before it",
            d.name
        );
        let set = dev.send_config_set(&["set system host-name mx1"], ConfigOptions::default(), None).unwrap();
        assert_eq!(set.text, "set system host-name mx1\n", "no [edit] line");
        dev.close().unwrap();
    }
}

/// Defect 3: `prompt_pattern` with a built-in platform replaces its prompt rule instead of being
/// ignored (Rust and C ABI).
#[test]
fn prompt_pattern_changes_a_built_in_platform() {
    let f = fleet(vec![with_prompt("juniper_junos", "mx1", "{user}@{host}:RE0> ")]);
    let d = &f.devices()[0];
    let overrides = Overrides { prompt_pattern: Some(r"^admin@mx1:RE0[>#] $".into()), ..Overrides::default() };
    let p = Platform::load(Source::Named("juniper_junos"), &overrides).unwrap();
    assert_eq!(p.name, "juniper_junos");
    assert_eq!(p.paging_off, ["set cli screen-length 0"], "the rest is Junos'");
    let dev = Device::open(&options(d, p)).unwrap();
    assert!(dev.send_command("show version", None).unwrap().text.contains("Hostname: mx1"));
    drop(dev);
    let mut o = Opts::new(d, "juniper_junos");
    o.set(|o| &mut o.prompt_pattern, r"^admin@mx1:RE0[>#] $");
    let dev = o.open().unwrap();
    assert_eq!(netrig_device_free(dev), NETRIG_OK);
    // A bad pattern names its option.
    let mut o = Opts::new(d, "juniper_junos");
    o.set(|o| &mut o.prompt_pattern, "(");
    expect(o.open().unwrap_err(), NETRIG_E_INVALID_ARG, "options.prompt_pattern: pattern '(' does not compile");
}

/// Defect 4: enable without a secret, and with a wrong one, on a device that asks again: NETRIG_E_AUTH
/// at once, and the session stays usable at its user prompt.
#[test]
fn enable_fails_at_once_when_the_device_asks_again() {
    let mut p = profile("cisco_ios");
    p.enable.as_mut().unwrap().attempts = 3;
    let f = fleet(vec![p]);
    let d = &f.devices()[0];
    for secret in [None, Some("wrong-secret")] {
        let mut o = options(d, Platform::named("cisco_ios").unwrap());
        o.secret = secret.map(str::to_owned);
        o.timeout = Duration::from_secs(20);
        let dev = match secret {
            None => Device::open(&o).unwrap(),
            Some(_) => {
                let t = Instant::now();
                let e = Device::open(&o).unwrap_err();
                assert!(matches!(&e, Error::Auth(m) if m.contains("enable secret refused (asked 3 times)")), "{e}");
                assert!(t.elapsed() < Duration::from_secs(5), "open failed at once: {:?}", t.elapsed());
                o.secret = None;
                let dev = Device::open(&o).unwrap();
                dev.enable(None).unwrap_err();
                dev
            }
        };
        let t = Instant::now();
        let e = dev.enable(None).unwrap_err();
        let took = t.elapsed();
        assert!(matches!(&e, Error::Auth(m) if m.contains("none was given") && m.contains("R1>")), "{secret:?}: {e}");
        assert!(took < Duration::from_secs(5), "{secret:?}: enable failed at once, not at its deadline: {took:?}");
        let t = Instant::now();
        let out = dev.send_command("show clock", None).unwrap();
        assert!(out.text.contains("UTC") && t.elapsed() < Duration::from_secs(3), "the next command at once");
        assert!(!dev.is_broken(), "the session stays usable");
        dev.close().unwrap();
    }
}

/// Defect 5: A rejected configuration line is reported first when leaving configuration mode fails too.
#[test]
fn a_rejected_config_line_is_not_hidden_by_a_failed_exit() {
    let f = fleet(vec![profile("cisco_ios")]);
    let d = &f.devices()[0];
    // 'quit' is no way out of the fake IOS's configuration mode: the exit fails.
    let p =
        Platform::named("cisco_ios").unwrap().with_config("configure terminal", "quit", r"\(conf[^)]*\)#\s*$").unwrap();
    let dev = Device::open(&options(d, p)).unwrap();
    let e = dev.send_config_set(&["hostname R1", "bogus line"], ConfigOptions::default(), None).unwrap_err();
    match &e {
        Error::CommandFailed(f) => {
            let m = &f.message;
            assert!(m.contains("config line 2 'bogus line' was rejected: "), "{m}");
            assert!(m.contains("% Invalid input detected"), "the device's line: {m}");
            let rejected_at = m.find("rejected").unwrap();
            let exit_at = m.find("'quit' left the prompt at").expect("the exit failure in the same message");
            assert!(rejected_at < exit_at, "the rejected line first: {m}");
        }
        other => panic!("want a CommandError, got {other:?}"),
    }
}

/// Defect 6: Generic platforms set their own error patterns, and error patterns ignore case.
#[test]
fn generic_platforms_detect_errors_in_any_case_and_by_their_own_patterns() {
    let mut unknown = profile("cisco_ios");
    unknown.invalid = "Unknown command\r\n".into();
    let mut failed = profile("cisco_ios");
    failed.invalid = "FAILED: line not accepted\r\n".into();
    let f = fleet(vec![unknown, failed]);
    let generic = |error_pattern: Option<&str>| {
        let overrides = Overrides {
            prompt_pattern: Some(r"^R1(\([\w\-]+\))?[>#]$".into()),
            paging_off_command: Some("terminal length 0".into()),
            enable_command: Some("enable".into()),
            config_command: Some("configure terminal".into()),
            config_exit_command: Some("end".into()),
            config_prompt_pattern: Some(r"\(config[^)]*\)#$".into()),
            error_pattern: error_pattern.map(str::to_owned),
        };
        Platform::load(Source::Named("generic"), &overrides).unwrap()
    };
    let set = |d: &DeviceInfo, p: Platform| {
        let dev = Device::open(&options(d, p)).unwrap();
        dev.send_config_set(&["hostname R1", "bogus line"], ConfigOptions::default(), None)
    };
    let (a, b) = (&f.devices()[0], &f.devices()[1]);
    let e = set(a, generic(None)).unwrap_err();
    assert!(
        matches!(&e, Error::CommandFailed(f) if f.message.contains("'bogus line' was rejected: Unknown command")),
        "{e}"
    );
    // The default patterns do not know "FAILED:"; the device's own pattern does.
    assert!(set(b, generic(None)).is_ok());
    let e = set(b, generic(Some("^failed:"))).unwrap_err();
    assert!(matches!(&e, Error::CommandFailed(f) if f.message.contains("FAILED: line not accepted")), "{e}");
    // (?-i) opts out of the case rule.
    assert!(set(b, generic(Some("(?-i)^failed:"))).is_ok());
}

/// Defect 8: A timeout reports the whole time waited, also when open waits for its first prompt twice
/// (before and after the RETURN it sends).
#[test]
fn timeouts_report_the_whole_wait() {
    let f =
        Fleet::start_inventory(&Inventory::default().group(
            Group::new("cisco_ios", 1).faults(Faults { hang_on: vec!["show hang".into()], ..Faults::default() }),
        ))
        .unwrap();
    let d = &f.devices()[0];
    let waited = |m: &str| -> u128 {
        let at = m.find(" ms; last bytes").unwrap_or_else(|| panic!("{m}"));
        m[..at].rsplit(' ').next().unwrap().parse().unwrap()
    };
    let liar = Platform::generic(r"^never-this-prompt#$", None, None).unwrap();
    let mut o = options(d, liar);
    o.timeout = Duration::from_millis(2000);
    let t = Instant::now();
    let e = Device::open(&o).unwrap_err();
    let took = t.elapsed().as_millis();
    let m = match &e {
        Error::Timeout(m) => m.clone(),
        other => panic!("{other:?}"),
    };
    let w = waited(&m);
    assert!(w >= 2000 && w <= took, "reported {w} ms, deadline 2000 ms, took {took} ms: {m}");
    let dev = Device::open(&options(d, Platform::named("cisco_ios").unwrap())).unwrap();
    let t = Instant::now();
    let e = dev.send_command("show hang", Some(Duration::from_millis(1500))).unwrap_err();
    let took = t.elapsed().as_millis();
    let w = waited(&e.to_string());
    assert!(w >= 1500 && w <= took, "reported {w} ms, deadline 1500 ms, took {took} ms: {e}");
}

/// An unrecognised prompt fails open quickly, quoting the line and naming the platforms whose
/// prompt rules match it.
#[test]
fn an_unrecognised_prompt_fails_open_fast_and_suggests_platforms() {
    let f = fleet(vec![profile("cisco_ios"), with_prompt("linux", "rhel1", "[{user}@{host} ~]$ ")]);
    for (d, platform, line, matching) in [
        (&f.devices()[0], "linux", "R1>", "cisco_ios"),
        (&f.devices()[1], "juniper_junos", "[admin@rhel1 ~]$", "linux"),
    ] {
        let mut o = options(d, Platform::named(platform).unwrap());
        o.secret = None;
        o.timeout = Duration::from_secs(20);
        let t = Instant::now();
        let e = Device::open(&o).unwrap_err();
        let took = t.elapsed();
        match &e {
            Error::Prompt(m) => {
                assert!(
                    m.contains(&format!("the last line {line:?} does not match platform {platform}'s prompt")),
                    "{m}"
                );
                assert!(m.contains("platforms whose prompt rules match it: ") && m.contains(matching), "{m}");
            }
            other => panic!("{platform}: want a prompt error, got {other:?}"),
        }
        assert!(took < Duration::from_secs(10), "{platform}: failed in {took:?}, not at the 20 s deadline");
    }
}
