//! Parsing a large `show interfaces` (1000 cisco_ios interfaces, ~1.3 MB) with ntc-templates'
//! cisco_ios_show_interfaces template: netrig (`netrig::parse`, the textfsm-rust engine, the
//! compiled template cached) against Python's textfsm on the same template and text, in the
//! same run (a `python3` subprocess that times its own parse loop, so interpreter start-up is
//! not counted). Both sides' records are compared before anything is timed.
//!
//! The text is the fake cisco_ios profile's `show interfaces` block for GigabitEthernet0/0
//! (tests/fakedev/profiles/cisco_ios.toml), repeated with 1000 names, addresses and MACs.
//! Templates: NETRIG_TEMPLATES, else the installed ntc_templates package (scripts/setup.sh
//! --test installs it with textfsm).
//!
//! Run: `cargo bench --bench parse`. It prints medians and the ratio; it never fails on
//! timings, and panics when the two sides' records differ.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

const INTERFACES: usize = 1000;
const ROUNDS: usize = 7;

fn templates() -> PathBuf {
    if let Some(d) = std::env::var_os("NETRIG_TEMPLATES") {
        return d.into();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import ntc_templates, os; print(os.path.join(os.path.dirname(ntc_templates.__file__), 'templates'))",
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "no ntc_templates package: scripts/setup.sh --test installs it");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The profile's first interface block, as the device prints it (\n line ends).
fn block() -> String {
    let profile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fakedev/profiles/cisco_ios.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&profile).unwrap();
    let all = doc["commands"]["show interfaces"].as_str().unwrap().replace('\r', "");
    let second = all.find("GigabitEthernet0/1 is").unwrap();
    all[..second].to_string()
}

fn text() -> String {
    let block = block();
    let mut out = String::with_capacity(block.len() * INTERFACES);
    for i in 0..INTERFACES {
        out.push_str(
            &block
                .replace("GigabitEthernet0/0", &format!("GigabitEthernet{}/{}", i / 48, i % 48))
                .replace("10.0.0.1/24", &format!("10.{}.{}.1/24", i / 256, i % 256))
                .replace("5254.0012.3400", &format!("5254.00{:02x}.{:04x}", i / 65536, i % 65536)),
        );
    }
    out
}

const PYTHON: &str = r#"
import io, json, sys, time, textfsm
template, rounds = sys.argv[1], int(sys.argv[2])
text = sys.stdin.read()
source = open(template).read()
times, records = [], None
for _ in range(rounds):
    t = time.perf_counter()
    fsm = textfsm.TextFSM(io.StringIO(source))
    records = fsm.ParseTextToDicts(text)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "records": [{k.lower(): v for k, v in r.items()} for r in records]}))
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = templates();
    let text = text();
    println!(
        "parse benchmark: 'show interfaces', {INTERFACES} interfaces, {} bytes, cisco_ios_show_interfaces.textfsm",
        text.len()
    );

    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .arg(dir.join("cisco_ios_show_interfaces.textfsm"))
        .arg(ROUNDS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python textfsm failed");
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // The first parse compiles the template into the cache; its time is printed on its own.
    let t = Instant::now();
    let first = netrig::parse::parse(&text, "cisco_ios", "show interfaces", Some(&dir)).unwrap();
    let cold = t.elapsed().as_secs_f64();
    let ours: serde_json::Value = serde_json::from_str(&netrig::parse::to_json(&first)).unwrap();
    assert_eq!(ours.as_array().unwrap().len(), INTERFACES);
    assert_eq!(ours, py["records"], "netrig's records differ from Python textfsm's");

    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let r = netrig::parse::parse(&text, "cisco_ios", "show interfaces", Some(&dir)).unwrap();
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(r.len(), INTERFACES);
    }
    let ours = median(times);
    let theirs = median(py["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect());
    println!(
        "  netrig (cached template)   {:>9.2} ms median of {ROUNDS} (first, compiling: {:.2} ms)",
        ours * 1e3,
        cold * 1e3
    );
    println!("  python textfsm (compiles)  {:>9.2} ms median of {ROUNDS}", theirs * 1e3);
    println!("  ratio python/netrig        {:>9.2}x", theirs / ours);
}
