//! Compares the Rust TextFSM engines on crates.io with Python's textfsm on the templates of an
//! installed ntc-templates: how many templates each compiles, and on how many (template, text)
//! pairs it gives Python's records. See README.md beside this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Map, Value};

/// One engine's answer for a template: compile error, or the records per sample (or an error).
type Outcome = Result<Vec<(String, Result<Value, String>)>, String>;

trait Engine {
    fn name(&self) -> &'static str;
    fn run(&self, source: &str, path: &Path, texts: &[(String, String)]) -> Outcome;
}

/// textfsm-rs (itsvrushabh/textfsm-rs).
struct TextfsmRs;

impl Engine for TextfsmRs {
    fn name(&self) -> &'static str {
        "textfsm-rs 0.3.6"
    }
    fn run(&self, _source: &str, path: &Path, texts: &[(String, String)]) -> Outcome {
        let fsm = textfsm_rs::TextFSM::from_file(path).map_err(|e| e.to_string())?;
        Ok(texts
            .iter()
            .map(|(name, text)| {
                let mut f = fsm.clone();
                let r = f
                    .parse_string(text, Some(textfsm_rs::DataRecordConversion::LowercaseKeys))
                    .map(|recs| {
                        Value::Array(
                            recs.into_iter()
                                .map(|r| {
                                    let mut m = Map::new();
                                    for (k, v) in r.fields {
                                        let v = match v {
                                            textfsm_rs::Value::Single(s) => json!(s),
                                            textfsm_rs::Value::List(l) => json!(l),
                                        };
                                        m.insert(k.to_lowercase(), v);
                                    }
                                    Value::Object(m)
                                })
                                .collect(),
                        )
                    })
                    .map_err(|e| e.to_string());
                (name.clone(), r)
            })
            .collect())
    }
}

/// textfsm-rust / textfsm-core (the crate pair published as textfsm-rust).
struct TextfsmCore;

impl Engine for TextfsmCore {
    fn name(&self) -> &'static str {
        "textfsm-rust 0.3.1"
    }
    fn run(&self, source: &str, _path: &Path, texts: &[(String, String)]) -> Outcome {
        let t = textfsm_rust::Template::parse_str(source).map_err(|e| e.to_string())?;
        let header: Vec<String> = t.header().iter().map(|h| h.to_lowercase()).collect();
        Ok(texts
            .iter()
            .map(|(name, text)| {
                let mut p = t.parser();
                let r = p
                    .parse_text(text)
                    .map(|rows| {
                        Value::Array(
                            rows.into_iter()
                                .map(|row| {
                                    let mut m = Map::new();
                                    for (k, v) in header.iter().zip(row) {
                                        m.insert(k.clone(), core_value(v));
                                    }
                                    Value::Object(m)
                                })
                                .collect(),
                        )
                    })
                    .map_err(|e| e.to_string());
                (name.clone(), r)
            })
            .collect())
    }
}

fn core_value(v: textfsm_rust::Value) -> Value {
    use textfsm_rust::{ListItem, Value as V};
    match v {
        V::Empty => json!(""),
        V::Single(s) => json!(s),
        V::List(items) => Value::Array(
            items
                .into_iter()
                .map(|i| match i {
                    ListItem::String(s) => json!(s),
                    ListItem::Dict(d) => json!(d),
                })
                .collect(),
        ),
    }
}

/// ntc-templates' name for a netrig platform where they differ.
fn ntc_platform(p: &str) -> &str {
    match p {
        "cisco_xe" => "cisco_ios",
        "nokia_sros" => "alcatel_sros",
        p => p,
    }
}

/// Texts to parse, as (platform, name, text): the fake fleet's command outputs
/// (tests/fakedev/profiles) and the files in samples/ (named `<platform>__<what>.txt`).
fn samples(repo: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let dir = repo.join("tests/fakedev/profiles");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).expect("profiles dir").map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let profile = doc.get("name").and_then(|v| v.as_str()).unwrap_or("?").to_string();
        let host = doc.get("hostname").and_then(|v| v.as_str()).unwrap_or("host").to_string();
        if let Some(cmds) = doc.get("commands").and_then(|v| v.as_table()) {
            for (cmd, v) in cmds {
                if let Some(s) = v.as_str() {
                    let s = s.replace("{host}", &host).replace('\r', "");
                    out.push((ntc_platform(&profile).to_string(), format!("{profile}: {cmd}"), s));
                }
            }
        }
    }
    let dir = repo.join("tools/textfsm-compare/samples");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut files: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let platform = name.split("__").next().unwrap().to_string();
            out.push((platform, format!("samples/{name}"), std::fs::read_to_string(&f).unwrap()));
        }
    }
    out
}

fn templates_dir() -> PathBuf {
    if let Some(d) = std::env::args().nth(1) {
        return d.into();
    }
    if let Ok(d) = std::env::var("NETRIG_TEMPLATES") {
        return d.into();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import ntc_templates, os; print(os.path.join(os.path.dirname(ntc_templates.__file__), 'templates'))",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "no templates dir given and no ntc_templates package: pip install ntc_templates textfsm"
    );
    String::from_utf8(out.stdout).unwrap().trim().into()
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let templates = templates_dir();
    let texts = samples(&repo);
    let sample_dir = std::env::temp_dir().join(format!("textfsm-compare-{}", std::process::id()));
    std::fs::create_dir_all(&sample_dir).unwrap();
    let files: Vec<String> = texts.iter().enumerate().map(|(i, (p, _, _))| format!("{p}__{i:05}")).collect();
    for (f, (_, _, text)) in files.iter().zip(&texts) {
        std::fs::write(sample_dir.join(f), text).unwrap();
    }
    let t0 = Instant::now();
    let out = Command::new("python3")
        .arg(repo.join("tools/textfsm-compare/reference.py"))
        .arg(&templates)
        .arg(&sample_dir)
        .output()
        .expect("python3");
    std::fs::remove_dir_all(&sample_dir).ok();
    assert!(out.status.success(), "reference.py failed: {}", String::from_utf8_lossy(&out.stderr));
    eprintln!("python textfsm: {:.1}s", t0.elapsed().as_secs_f64());
    let reference: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    let verbose = std::env::var_os("VERBOSE").is_some();

    println!("templates: {} ({}), texts: {}", reference.len(), templates.display(), texts.len());
    let engines: [&dyn Engine; 2] = [&TextfsmRs, &TextfsmCore];
    for engine in engines {
        let t0 = Instant::now();
        let hangs: usize = reference
            .values()
            .filter_map(|e| e["results"].as_object())
            .map(|r| r.values().filter(|v| v.get("hang").is_some()).count())
            .sum();
        let (mut py_ok, mut compiled, mut pairs, mut same, mut nonempty, mut nonempty_same) = (0, 0, 0, 0, 0, 0);
        let mut failures: Vec<String> = Vec::new();
        for (name, entry) in &reference {
            if !entry["error"].is_null() {
                continue;
            }
            py_ok += 1;
            let path = templates.join(name);
            let source = std::fs::read_to_string(&path).unwrap();
            // The texts of this template's platform, keyed by their file name in the reference.
            let mine: Vec<(String, String)> = files
                .iter()
                .zip(&texts)
                .filter(|(f, (p, _, _))| {
                    name.starts_with(&format!("{p}_")) && entry["results"][f.as_str()].get("hang").is_none()
                })
                .map(|(f, (_, n, t))| (format!("{f}\t{n}"), t.clone()))
                .collect();
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.run(&source, &path, &mine)));
            let got = match got {
                Ok(Ok(g)) => g,
                Ok(Err(e)) => {
                    failures.push(format!("{name}: compile: {e}"));
                    continue;
                }
                Err(_) => {
                    failures.push(format!("{name}: compile: panic"));
                    continue;
                }
            };
            compiled += 1;
            for (key, r) in got {
                let (file, sname) = key.split_once('\t').unwrap();
                let want = &entry["results"][file];
                let want_nonempty = want.as_array().is_some_and(|a| !a.is_empty());
                pairs += 1;
                nonempty += want_nonempty as usize;
                let ok = match (&r, want.get("error")) {
                    (Err(_), Some(_)) => true,
                    (Ok(v), None) => v == want,
                    _ => false,
                };
                if ok {
                    same += 1;
                    nonempty_same += want_nonempty as usize;
                } else if want_nonempty || verbose {
                    failures.push(format!("{name} on {sname}: got {}, python {}", short(&r), short_v(want)));
                }
            }
        }
        println!(
            "{:<20} compile {}/{} ({:.1}%); same records {}/{} pairs ({:.2}%); on pairs where python finds records {}/{} ({:.1}%); {:.1}s ({hangs} pairs skipped: python did not finish in 2 s)",
            engine.name(),
            compiled,
            py_ok,
            100.0 * compiled as f64 / py_ok as f64,
            same,
            pairs,
            100.0 * same as f64 / pairs.max(1) as f64,
            nonempty_same,
            nonempty,
            100.0 * nonempty_same as f64 / nonempty.max(1) as f64,
            t0.elapsed().as_secs_f64()
        );
        for f in failures.iter().take(if verbose { usize::MAX } else { 15 }) {
            println!("    {f}");
        }
        if failures.len() > 15 && !verbose {
            println!("    ... {} more (VERBOSE=1 lists all)", failures.len() - 15);
        }
    }
}

fn short(r: &Result<Value, String>) -> String {
    match r {
        Ok(v) => short_v(v),
        Err(e) => format!("error {e}"),
    }
}

fn short_v(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}...", &s[..s.char_indices().take_while(|(i, _)| *i < 200).last().map_or(0, |(i, _)| i)])
    } else {
        s
    }
}
