//! Project rules that a build cannot check by itself: the committed header matches the code,
//! every `unsafe impl Send/Sync` is documented, and the store-only build pulls in no SSH stack.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// build.rs generated this header from the code of this very build.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/netrig.h"));

#[test]
fn header_is_committed() {
    let out = Command::new("git")
        .args(["show", "HEAD:include/netrig.h"])
        .current_dir(root())
        .output()
        .expect("this test needs git and a git checkout of netrig");
    assert!(out.status.success(), "include/netrig.h is not committed: {}", String::from_utf8_lossy(&out.stderr));
    let committed = String::from_utf8(out.stdout).unwrap();
    if committed != GENERATED {
        let line = committed.lines().zip(GENERATED.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
        panic!(
            "include/netrig.h in git differs from what the code generates (first difference at line {line}); \
             build, then commit the header that build.rs wrote"
        );
    }
    assert!(GENERATED.contains("netrig_store_set_int") && GENERATED.contains("NETRIG_VERSION_MAJOR"));
}

/// Every public C function carries its doc comment into the header, and the doc says who owns
/// each pointer, whether it blocks, and its thread-safety (CONVENTIONS.md, "Every function's doc
/// comment says four things").
#[test]
fn header_documents_every_function() {
    let mut problems = vec![];
    let lines: Vec<&str> = GENERATED.lines().collect();
    let mut checked = vec![];
    for (i, line) in lines.iter().enumerate() {
        // The name is the word before the first '(', after a space (`enum netrig_status
        // netrig_x(`) or a pointer star (`const char *netrig_x(`).
        let head = line.split('(').next().unwrap();
        let name = head.rsplit([' ', '*']).next().unwrap().to_owned();
        if !name.starts_with("netrig_") {
            continue;
        }
        let is_fn = line.contains('(')
            && !line.starts_with(' ')
            && !line.starts_with('#')
            && !line.starts_with(" *")
            && !line.starts_with("typedef");
        if !is_fn {
            continue;
        }
        checked.push(name.clone());
        if lines[..i].last().is_none_or(|prev| prev.trim() != "*/") {
            problems.push(format!("{name}: no doc comment"));
            continue;
        }
        let start = lines[..i].iter().rposition(|l| l.trim() == "/**").unwrap();
        let doc = lines[start..i].join("\n");
        for label in ["Ownership:", "Blocking:", "Thread-safety:"] {
            if !doc.contains(label) {
                problems.push(format!("{name}: doc lacks '{label}'"));
            }
        }
    }
    assert!(problems.is_empty(), "header docs incomplete: {problems:#?}");
    for f in ["netrig_version", "netrig_status_str", "netrig_last_error", "netrig_store_set_int"] {
        assert!(checked.iter().any(|n| n == f), "{f} was not among the functions checked");
    }
}

/// The before-stop hook and this test enforce the same rule: each `unsafe impl Send/Sync` in
/// src/ names its type in THREAD_SAFETY.md, and the entry names a test that exists.
#[test]
fn every_unsafe_impl_is_documented_in_thread_safety_md() {
    let doc = std::fs::read_to_string(root().join("THREAD_SAFETY.md")).expect("THREAD_SAFETY.md exists");
    let mut missing = vec![];
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| l.contains("unsafe impl") && (l.contains("Send") || l.contains("Sync")))
            {
                let ty =
                    line.split(" for ").nth(1).and_then(|t| t.split(|c: char| !c.is_alphanumeric() && c != '_').next());
                match ty {
                    Some(ty) if doc.contains(ty) => {}
                    _ => missing.push(format!("{}: {}", path.display(), line.trim())),
                }
            }
        }
    }
    assert!(missing.is_empty(), "unsafe impls without a THREAD_SAFETY.md entry: {missing:#?}");
    // Each test the document names must exist somewhere in the sources.
    let sources = [root().join("src"), root().join("tests")];
    for name in doc.split('`').filter(|s| s.starts_with("test:")).map(|s| s.trim_start_matches("test:").trim()) {
        let found = sources.iter().any(|dir| grep_dir(dir, &format!("fn {name}(")));
        assert!(found, "THREAD_SAFETY.md names test `{name}`, which does not exist");
    }
}

fn grep_dir(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let p = e.unwrap().path();
        if p.is_dir() {
            grep_dir(&p, needle)
        } else {
            std::fs::read_to_string(&p).is_ok_and(|t| t.contains(needle))
        }
    })
}

/// Embedded users ship the store-only build: it must not depend on libssh2 or OpenSSL.
#[test]
fn store_only_build_has_no_ssh_stack() {
    let tree = |args: &[&str]| {
        let out = Command::new(env!("CARGO"))
            .args(["tree", "--offline", "--prefix", "none", "-e", "normal,build", "--target", "all"])
            .args(args)
            .current_dir(root())
            .output()
            .expect("cargo tree runs");
        assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let lean = tree(&["--no-default-features"]);
    for forbidden in ["ssh2", "libssh2-sys", "openssl-sys", "openssl"] {
        assert!(
            !lean.lines().any(|l| l.starts_with(&format!("{forbidden} "))),
            "{forbidden} in the store-only build:\n{lean}"
        );
    }
    let full = tree(&[]);
    assert!(full.lines().any(|l| l.starts_with("libssh2-sys ")), "the default build should have the SSH stack");
}

/// The README's C example is the program examples-c builds and runs under valgrind, so the
/// README can never show code that does not compile or run.
#[test]
fn readme_c_example_is_examples_c_quickstart() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme.split("```c\n").nth(1).and_then(|rest| rest.split("```").next()).expect("README has a C block");
    let quickstart = std::fs::read_to_string(root().join("examples-c/quickstart.c")).unwrap();
    assert_eq!(block, quickstart, "README's C block and examples-c/quickstart.c differ");
}

/// The README's pool and runner snippet compiles against the committed header (C11, warnings as
/// errors), with the CHECK macro of the README's first C block, so it cannot drift from the API.
#[test]
fn readme_pool_and_runner_snippet_compiles() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme.split("## Pool and parallel runner from C").nth(1).expect("README has the pool section");
    let block = section.split("```c\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a C block in it");
    let quickstart = std::fs::read_to_string(root().join("examples-c/quickstart.c")).unwrap();
    let start = quickstart.find("#define CHECK(call)").expect("quickstart.c defines CHECK");
    let end = start + quickstart[start..].find("} while (0)").expect("CHECK ends") + "} while (0)".len();
    let source = block.replacen(
        "#include \"netrig.h\"\n",
        &format!("#include \"netrig.h\"\n\n{}\n", &quickstart[start..end]),
        1,
    );
    assert!(source.contains("#define CHECK"), "the snippet includes netrig.h");
    let path = std::env::temp_dir().join(format!("netrig-readme-pool-{}.c", std::process::id()));
    std::fs::write(&path, source).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I"])
        .arg(root().join("include"))
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("this test needs a C compiler ({cc}): {e}"));
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "the README's pool snippet does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
