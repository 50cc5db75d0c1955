//! Argument handling for the `harness = false` test binaries, which each hold one test: what
//! the libtest arguments that `cargo test` passes on ask of it. An argument it does not know is
//! an error (exit 2), never a silent pass.

/// What the arguments ask for.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// Run the test.
    Run,
    /// `--list`: name the test, run nothing.
    List,
    /// A filter, `--skip` or `--ignored` leaves the test out.
    Skip,
}

/// Reads libtest's arguments (everything after the program name) for the one test `name`.
pub fn mode(name: &str, args: &[String]) -> Mode {
    let mut filters = vec![];
    let mut skips = vec![];
    let (mut exact, mut list, mut ignored_only) = (false, false, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if a.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned()).unwrap_or_else(|| usage(name, a));
        match flag {
            "--exact" => exact = true,
            "--list" => list = true,
            "--ignored" => ignored_only = true,
            "--nocapture"
            | "--no-capture"
            | "--show-output"
            | "--include-ignored"
            | "-q"
            | "--quiet"
            | "--test"
            | "--shuffle"
            | "--report-time"
            | "--force-run-in-process" => {}
            "--skip" => skips.push(value()),
            "--test-threads" | "--color" | "--format" | "--logfile" | "-Z" | "--shuffle-seed" => {
                value();
            }
            f if f.starts_with('-') => usage(name, a),
            _ => filters.push(a.clone()),
        }
    }
    let hit = |pat: &String| if exact { name == pat } else { name.contains(pat.as_str()) };
    if list {
        if !ignored_only {
            println!("{name}: test");
        }
        return Mode::List;
    }
    if ignored_only || skips.iter().any(hit) || (!filters.is_empty() && !filters.iter().any(hit)) {
        println!("running 0 tests ({name} filtered out)");
        return Mode::Skip;
    }
    Mode::Run
}

fn usage(name: &str, arg: &str) -> ! {
    eprintln!("{name}: unknown or incomplete argument {arg:?}; run with no arguments, libtest's filter and flags, or --child ...");
    std::process::exit(2)
}
