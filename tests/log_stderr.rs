//! NETRIG_LOG without a callback: each record is one line on stderr, in the documented format,
//! at the level the variable names (case-insensitive); a value it does not understand gives one
//! line saying so and nothing else; unset, nothing. The test runs itself as a child process
//! (`--child`) under each setting, because the variable is read once per process.

use std::process::Command;

use fakedev::{Fleet, Profile};
use netrig::device::Device;
use netrig::log::{Level, Target};

#[path = "support/harness.rs"]
mod harness;
mod support;

/// Opens two devices from two threads at once, sends a command on each, closes them; and logs
/// a record with a newline in it.
fn child() {
    let fleet = Fleet::start(Profile::builtin("cisco_ios").unwrap(), 2).unwrap();
    std::thread::scope(|s| {
        for d in fleet.devices() {
            s.spawn(move || {
                let dev = Device::open(&support::options(d, "cisco_ios")).unwrap();
                dev.send_command("show clock", None).unwrap();
                dev.close().unwrap();
            });
        }
    });
    netrig::log!(Level::Warn, Target::Store, None, "two\nlines");
    for d in fleet.devices() {
        println!("{}:{}", d.host, d.port);
    }
}

fn run(value: Option<&str>) -> (Vec<String>, Vec<String>) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("--child");
    match value {
        Some(v) => cmd.env("NETRIG_LOG", v),
        None => cmd.env_remove("NETRIG_LOG"),
    };
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "child with NETRIG_LOG={value:?} failed: {stderr}");
    let devices = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    (devices, stderr.lines().map(str::to_owned).collect())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child();
        return;
    }
    if harness::mode("log_stderr", &args[1..]) != harness::Mode::Run {
        return;
    }
    let line = regex::Regex::new(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (ERROR|WARN|INFO|DEBUG|TRACE) netrig::(device|pool|run|store|queue)( 127\.0\.0\.1:\d+)?: \S.*$",
    )
    .unwrap();

    let (devices, lines) = run(Some("debug"));
    assert!(lines.iter().all(|l| line.is_match(l)), "every line in the format: {lines:#?}");
    for d in &devices {
        for (level, text) in [
            ("DEBUG", "TCP connected to"),
            ("INFO", "opened (cisco_ios"),
            ("DEBUG", "command 'show clock': ended in"),
            ("INFO", "closed in"),
        ] {
            let want = format!(" {level} netrig::device {d}: {text}");
            assert_eq!(lines.iter().filter(|l| l.contains(&want)).count(), 1, "{want:?} once in {lines:#?}");
        }
    }
    assert!(lines.iter().any(|l| l.ends_with(" WARN netrig::store: two\\nlines")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains(" TRACE ")));
    let debug_lines = lines.len();

    let (_, lines) = run(Some("Info"));
    assert!(lines.iter().all(|l| line.is_match(l) && (l.contains(" INFO ") || l.contains(" WARN "))), "{lines:#?}");
    assert_eq!(lines.iter().filter(|l| l.contains(": opened (")).count(), 2, "{lines:#?}");
    assert!(lines.len() < debug_lines);

    let (_, lines) = run(Some("loud"));
    assert_eq!(
        lines,
        ["netrig: NETRIG_LOG='loud' is not understood (use error, warn, info, debug or trace); logging is off"],
    );

    let (_, lines) = run(None);
    assert!(lines.is_empty(), "unset: nothing on stderr: {lines:#?}");
    println!(
        "log_stderr: NETRIG_LOG=debug gave {debug_lines} lines in the format; Info, a wrong value and unset checked"
    );
}
