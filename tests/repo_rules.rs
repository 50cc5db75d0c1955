//! Project rules that a build cannot check by itself: the committed header matches the code,
//! every `unsafe impl Send/Sync` is documented, the store-only build pulls in no SSH stack, and
//! every README code block is compiled or run by a named test (`every_readme_code_block_is_checked`).

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The header as the code generates it now, with the generator `make header` runs.
fn generated() -> &'static str {
    static GENERATED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    GENERATED.get_or_init(|| netrig_header::generate(root()).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn header_is_committed() {
    let out = Command::new("git")
        .args(["show", "HEAD:include/netrig.h"])
        .current_dir(root())
        .output()
        .expect("this test needs git and a git checkout of netrig");
    assert!(out.status.success(), "include/netrig.h is not committed: {}", String::from_utf8_lossy(&out.stderr));
    let committed = String::from_utf8(out.stdout).unwrap();
    let generated = generated();
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
        panic!(
            "include/netrig.h in git differs from what the code generates (first difference at line {line}); \
             run `make header`, then commit the header it wrote"
        );
    }
    assert!(generated.contains("netrig_store_set_int") && generated.contains("NETRIG_VERSION_MAJOR"));
}

/// A build leaves the source tree alone: the header is written only by `make header`.
#[test]
fn build_does_not_write_the_header() {
    let build = std::fs::read_to_string(root().join("build.rs")).unwrap();
    for forbidden in ["cbindgen::", "join(\"include"] {
        assert!(!build.contains(forbidden), "build.rs has `{forbidden}`: header generation belongs to `make header`");
    }
}

/// Every public C function carries its doc comment into the header, and the doc says who owns
/// each pointer, whether it blocks, and its thread-safety (CONTRIBUTING.md, "Docs").
#[test]
fn header_documents_every_function() {
    let mut problems = vec![];
    let header = generated();
    let lines: Vec<&str> = header.lines().collect();
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
    for (path, text) in sources("src") {
        for line in text.lines().filter(|l| l.contains("unsafe impl") && (l.contains("Send") || l.contains("Sync"))) {
            let ty =
                line.split(" for ").nth(1).and_then(|t| t.split(|c: char| !c.is_alphanumeric() && c != '_').next());
            match ty {
                Some(ty) if doc.contains(ty) => {}
                _ => missing.push(format!("{path}: {}", line.trim())),
            }
        }
    }
    assert!(missing.is_empty(), "unsafe impls without a THREAD_SAFETY.md entry: {missing:#?}");
    // Each test the document names must exist somewhere in the sources.
    let all: Vec<(String, String)> = sources("src").into_iter().chain(sources("tests")).collect();
    for name in doc.split('`').filter(|s| s.starts_with("test:")).map(|s| s.trim_start_matches("test:").trim()) {
        let found = all.iter().any(|(_, text)| text.contains(&format!("fn {name}(")));
        assert!(found, "THREAD_SAFETY.md names test `{name}`, which does not exist");
    }
}

/// Every text file under `dir` (relative to the repo root), as (path from the root, text).
fn sources(dir: &str) -> Vec<(String, String)> {
    let mut found = vec![];
    let mut stack = vec![root().join(dir)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                found.push((path.strip_prefix(root()).unwrap().display().to_string(), text));
            }
        }
    }
    found
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
    let block = readme_block("## Pool and parallel runner from C", "c", 0);
    let source = block.replacen(
        "#include \"netrig.h\"\n",
        &format!("#include \"netrig.h\"\n\n{}\n", quickstart_check_macro()),
        1,
    );
    assert!(source.contains("#define CHECK"), "the snippet includes netrig.h");
    syntax_check("pool snippet", false, &["-std=c11"], &source);
}

/// One exported C function as written in src/ffi: its name, whether it is `unsafe extern "C"`,
/// its parameter list and its body (up to the next exported function).
struct CFunction {
    file: String,
    name: String,
    is_unsafe: bool,
    params: String,
    body: String,
}

fn c_functions() -> Vec<CFunction> {
    let mut found = vec![];
    for (file, text) in sources("src/ffi") {
        let starts: Vec<usize> = text.match_indices("#[no_mangle]").map(|(i, _)| i).collect();
        for (n, &start) in starts.iter().enumerate() {
            let item = &text[start..starts.get(n + 1).copied().unwrap_or(text.len())];
            let Some(at) = item.find("extern \"C\" fn ") else { continue };
            let head = &item[..at];
            let rest = &item[at + "extern \"C\" fn ".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // The parameter list: from the first '(' to its matching ')'.
            let open = rest.find('(').unwrap();
            let mut depth = 0;
            let mut close = open;
            for (i, c) in rest[open..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            found.push(CFunction {
                file: file.clone(),
                name,
                is_unsafe: head.trim_end().ends_with("unsafe"),
                params: rest[open + 1..close].to_owned(),
                body: rest[close..].to_owned(),
            });
        }
    }
    assert!(found.len() > 100, "found only {} exported functions: the scan is broken", found.len());
    found
}

/// A C function that takes a raw pointer can be given a bad one by its caller, so it is
/// `unsafe extern "C"`: Rust code calling it must say `unsafe` too.
#[test]
fn every_c_function_taking_a_pointer_is_unsafe() {
    let safe: Vec<String> = c_functions()
        .into_iter()
        .filter(|f| f.params.contains('*') && !f.is_unsafe)
        .map(|f| format!("{}: {}", f.file, f.name))
        .collect();
    assert!(safe.is_empty(), "C functions that take a raw pointer but are not `unsafe extern \"C\"`: {safe:#?}");
}

/// Each entry point runs inside the panic guard (`call` / `call_value`) under its own name, so
/// that the last error names the function the caller called. Only functions that cannot fail
/// and return a constant (the version, the options defaults) may do without a guard.
#[test]
fn every_guard_names_its_own_function() {
    let mut problems = vec![];
    for f in c_functions() {
        let mut guards: Vec<&str> = vec![];
        for g in ["call(\"", "call_value(\""] {
            for (i, _) in f.body.match_indices(g) {
                guards.push(f.body[i + g.len()..].split('"').next().unwrap());
            }
        }
        if guards.is_empty() {
            if !(f.name == "netrig_version" || f.name.ends_with("_options_default")) {
                problems.push(format!("{}: {} has no panic guard", f.file, f.name));
            }
            continue;
        }
        for g in guards {
            if g != f.name {
                problems.push(format!("{}: {} is guarded under the name {g:?}", f.file, f.name));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every file that THREAD_SAFETY.md or a comment in src/ cites (`tests/x.rs`, `src/y.rs`,
/// `examples-c/z.c`, ...) exists, so the citations cannot point at files that were renamed or
/// never written.
#[test]
fn cited_files_exist() {
    let mut texts =
        vec![("THREAD_SAFETY.md".to_owned(), std::fs::read_to_string(root().join("THREAD_SAFETY.md")).unwrap())];
    for doc in ["README.md", "CONTRIBUTING.md"] {
        if let Ok(t) = std::fs::read_to_string(root().join(doc)) {
            texts.push((doc.to_owned(), t));
        }
    }
    texts.extend(sources("src"));
    let mut missing = vec![];
    for (from, text) in &texts {
        for dir in ["tests/", "src/", "examples-c/", "benches/", "scripts/", "python/"] {
            for (i, _) in text.match_indices(dir) {
                // Only a path that starts at a word boundary and names a file with an extension.
                if i > 0 && text.as_bytes()[i - 1].is_ascii_alphanumeric() {
                    continue;
                }
                let path: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'))
                    .collect();
                let path = path.trim_end_matches('.');
                let is_file = path.rsplit('/').next().is_some_and(|last| {
                    ["rs", "c", "cpp", "h", "hpp", "py", "sh", "toml", "md"]
                        .iter()
                        .any(|e| last.ends_with(&format!(".{e}")))
                });
                if is_file && !root().join(path).exists() {
                    missing.push(format!("{from} cites {path}, which does not exist"));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "{missing:#?}");
}

/// One fenced code block of README.md: its opening line's number, its language, the heading it
/// is under (the nearest `#` line before it, outside code blocks) and its text.
struct ReadmeBlock {
    line: usize,
    lang: String,
    heading: String,
    text: String,
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

fn readme_blocks() -> Vec<ReadmeBlock> {
    let readme = readme();
    let mut blocks = vec![];
    let mut heading = String::new();
    let mut open: Option<ReadmeBlock> = None;
    for (i, line) in readme.lines().enumerate() {
        match open.take() {
            Some(mut b) => {
                if line.starts_with("```") {
                    blocks.push(b);
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
            None if line.starts_with("```") => {
                open = Some(ReadmeBlock {
                    line: i + 1,
                    lang: line[3..].trim().to_owned(),
                    heading: heading.clone(),
                    text: String::new(),
                })
            }
            None if line.starts_with('#') => heading = line.to_owned(),
            None => {}
        }
    }
    assert!(open.is_none(), "README.md ends inside a code block");
    blocks
}

/// The text of one block: the `nth` block of language `lang` under `heading` (0 = the first).
fn readme_block(heading: &str, lang: &str, nth: usize) -> String {
    readme_blocks()
        .into_iter()
        .filter(|b| b.heading == heading && b.lang == lang)
        .nth(nth)
        .unwrap_or_else(|| panic!("README.md has no ```{lang} block number {nth} under '{heading}'"))
        .text
}

/// The CHECK macro of examples-c/quickstart.c (the README's first C block), which the README's
/// C fragments use.
fn quickstart_check_macro() -> String {
    let quickstart = std::fs::read_to_string(root().join("examples-c/quickstart.c")).unwrap();
    let start = quickstart.find("#define CHECK(call)").expect("quickstart.c defines CHECK");
    let end = start + quickstart[start..].find("} while (0)").expect("CHECK ends") + "} while (0)".len();
    quickstart[start..end].to_owned()
}

/// Compiles `source` with `compiler` (C: $CC or cc, C++: $CXX or c++) and `-fsyntax-only`
/// against include/, warnings as errors; panics with the compiler's messages and the source.
fn syntax_check(what: &str, cxx: bool, flags: &[&str], source: &str) {
    let (var, default, ext) = if cxx { ("CXX", "c++", "cpp") } else { ("CC", "cc", "c") };
    let compiler = std::env::var(var).unwrap_or_else(|_| default.into());
    let slug: String = what.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let path = std::env::temp_dir().join(format!("netrig-readme-{slug}-{}.{ext}", std::process::id()));
    std::fs::write(&path, source).unwrap();
    let out = Command::new(&compiler)
        .args(["-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
        .args(flags)
        .arg("-I")
        .arg(root().join("include"))
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("this test needs a compiler ({compiler}): {e}"));
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "the README's {what} does not compile:\n{}\n--- as compiled:\n{source}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's events / test state / work queue fragment compiles (C11, warnings as errors)
/// as the body of a function given the `store` and `queue` handles it uses.
#[test]
fn readme_events_and_queue_snippet_compiles() {
    let block = readme_block("## Events, test state and the work queue from C", "c", 0);
    let source = format!(
        "#include <stdint.h>\n#include \"netrig.h\"\n\nvoid readme_fragment(netrig_store store, netrig_queue queue);\n\
         void readme_fragment(netrig_store store, netrig_queue queue) {{\n{block}}}\n"
    );
    syntax_check("events and queue block", false, &["-std=c11"], &source);
}

/// The README's device fragment compiles (C11, warnings as errors) as the body of a function
/// returning int, with quickstart.c's CHECK macro.
#[test]
fn readme_devices_snippet_compiles() {
    let block = readme_block("## Devices from C", "c", 0);
    let source = format!(
        "#include <stdio.h>\n#include \"netrig.h\"\n\n{}\n\nint readme_fragment(void);\n\
         int readme_fragment(void) {{\n{block}    return 0;\n}}\n",
        quickstart_check_macro()
    );
    syntax_check("devices block", false, &["-std=c11"], &source);
}

/// The Logs section's C callback block compiles (C11, warnings as errors) as a file of its own,
/// with stdio.h, netrig.h and quickstart.c's CHECK macro.
#[test]
fn readme_log_callback_snippet_compiles() {
    let block = readme_block("## Logs", "c", 0);
    let source = format!("#include <stdio.h>\n#include \"netrig.h\"\n\n{}\n\n{block}", quickstart_check_macro());
    syntax_check("log callback block", false, &["-std=c11"], &source);
}

/// The README's C++ program (section "C++") compiles as C++17, warnings as errors;
/// scripts/install_test.sh ("README blocks") also builds it with CMake and runs it.
#[test]
fn readme_cxx_program_compiles() {
    let block = readme_block("## C++", "cpp", 0);
    syntax_check("C++ block", true, &["-std=c++17"], &block);
}

/// Who checks each README block. A claim takes the blocks under `heading` in `lang` whose first
/// line starts with `first`; `checker` is a file and `item` in it the test function (`fn`/`def`)
/// or the script section (a `# ---- ` line) that checks them, and `key` the text by which that
/// checker finds the block: the section heading, the opening fence, or text of the block. A
/// new block that no claim takes fails `every_readme_code_block_is_checked`.
struct Claim {
    heading: &'static str,
    lang: &'static str,
    first: &'static str,
    checker: &'static str,
    item: &'static str,
    key: &'static str,
}

const fn claim(
    heading: &'static str,
    lang: &'static str,
    first: &'static str,
    checker: &'static str,
    item: &'static str,
    key: &'static str,
) -> Claim {
    Claim { heading, lang, first, checker, item, key }
}

const RULES: &str = "tests/repo_rules.rs";
const INSTALL_TEST: &str = "scripts/install_test.sh";
const PY_README: &str = "python/tests/test_readme.py";
#[rustfmt::skip]
const README_CLAIMS: &[Claim] = &[
    // Run by CI: .ci/run runs `make test`, whose prerequisites include `demo` (checked below).
    claim("## Two commands", "sh", "make demo", ".ci/run", "make test", "make test"),
    claim("## Install", "sh", "pip install ./python", INSTALL_TEST, "README blocks", "## Install"),
    claim("## Install", "cmake", "cmake_minimum_required", INSTALL_TEST, "README blocks", "## Install"),
    claim("## C", "c", "#include <stdio.h>", RULES, "readme_c_example_is_examples_c_quickstart", r"```c\n"),
    claim("## Events, test state and the work queue from C", "c", "", RULES, "readme_events_and_queue_snippet_compiles", "## Events, test state and the work queue from C"),
    claim("## Devices from C", "c", "", RULES, "readme_devices_snippet_compiles", "## Devices from C"),
    claim("## Pool and parallel runner from C", "c", "", RULES, "readme_pool_and_runner_snippet_compiles", "## Pool and parallel runner from C"),
    claim("## C++", "cpp", "", RULES, "readme_cxx_program_compiles", "## C++"),
    claim("## C++", "cpp", "", INSTALL_TEST, "README blocks", "## C++"),
    claim("## Python", "python", "import threading", "python/tests/test_store.py", "test_readme_python_example_runs", r"```python\n"),
    claim("## Python", "py", "with Device(", PY_README, "test_readme_device_and_pool_blocks_pass_mypy_strict", "## Python"),
    claim("## Python", "py", "from netrig import DeviceOptions, Pool", PY_README, "test_readme_device_and_pool_blocks_pass_mypy_strict", "## Python"),
    claim("## Python", "py", "with Device(", PY_README, "test_readme_device_and_pool_blocks_compile", "## Python"),
    claim("## Python", "py", "from netrig import DeviceOptions, Pool", PY_README, "test_readme_device_and_pool_blocks_compile", "## Python"),
    claim("## Python", "py", "from netrig import CommandError", PY_README, "test_readme_command_error_block_runs", "## Python"),
    claim("## Python", "py", "import os", "python/tests/test_events_state.py", "test_readme_events_block_runs", "Store.open("),
    claim("## Python", "py", "from netrig import NetrigTimeoutError, Queue", "python/tests/test_queue.py", "test_readme_queue_block_runs", "Queue.open("),
    claim("### Parsing output", "py", "from netrig import parse", "python/tests/test_parse.py", "test_readme_parsing_block_runs", "### Parsing output"),
    claim("### Inventories", "yaml", "# hosts.yaml", "python/tests/test_inventory.py", "test_readme_inventory_blocks_run", "### Inventories"),
    claim("### Inventories", "py", "from netrig import Inventory", "python/tests/test_inventory.py", "test_readme_inventory_blocks_run", "### Inventories"),
    claim("### Coming from netmiko", "py", "from netrig.netmiko import ConnectHandler", "python/tests/test_netmiko.py", "test_readme_coming_from_netmiko_block_runs", "### Coming from netmiko"),
    claim("## Logs", "sh", "NETRIG_LOG=debug", INSTALL_TEST, "README blocks", "## Logs"),
    claim("## Logs", "c", "", RULES, "readme_log_callback_snippet_compiles", "## Logs"),
    claim("## Logs", "python", "import logging", PY_README, "test_readme_logs_block_sends_device_records_to_logging", "## Logs"),
    claim("## Fake devices for tests (tests/fakedev)", "sh", "cargo run -p fakedev", INSTALL_TEST, "README blocks", "## Fake devices for tests (tests/fakedev)"),
];

/// The text of `item` in `checker`: a Rust `fn` or Python `def` up to the next one, or a shell
/// script's `# ---- ` section up to the next, or (for any other file) the whole file if it
/// contains `item`.
fn checker_body(checker: &str, item: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(root().join(checker)).map_err(|e| format!("{checker} cannot be read: {e}"))?;
    let (start, ends): (String, &[&str]) = if checker.ends_with(".rs") {
        (format!("fn {item}("), &["\n#[test]", "\nfn ", "\n/// "])
    } else if checker.ends_with(".py") {
        (format!("def {item}("), &["\ndef ", "\n@", "\nclass "])
    } else if checker.ends_with(".sh") {
        ("# ---- ".to_owned(), &["\n# ---- "])
    } else {
        return if text.contains(item) { Ok(text) } else { Err(format!("{checker} does not contain '{item}'")) };
    };
    let at = if checker.ends_with(".sh") {
        text.match_indices(&start).map(|(i, _)| i).find(|&i| text[i..].lines().next().is_some_and(|l| l.contains(item)))
    } else {
        text.find(&start)
    };
    let what = if checker.ends_with(".sh") { format!("'# ---- ' section named '{item}'") } else { start.clone() };
    let at = at.ok_or_else(|| format!("{checker} has no {what}"))?;
    let rest = &text[at..];
    let end = ends.iter().filter_map(|e| rest[1..].find(e).map(|i| i + 1)).min().unwrap_or(rest.len());
    Ok(rest[..end].to_owned())
}

/// Every fenced block of README.md is taken by a claim of README_CLAIMS, and every claim holds:
/// its checker exists and finds the block by its key (the heading, the fence, or the block's
/// text), and each claim takes at least one block. The "Two commands" block is CI's: .ci/run
/// runs `make test`, and the Makefile's test target depends on demo.
#[test]
fn every_readme_code_block_is_checked() {
    let blocks = readme_blocks();
    let mut problems = vec![];
    for b in &blocks {
        let first = b.text.lines().next().unwrap_or("");
        if !README_CLAIMS.iter().any(|c| c.heading == b.heading && c.lang == b.lang && first.starts_with(c.first)) {
            problems.push(format!(
                "README.md:{}: the ```{} block under '{}' (first line '{first}') is checked by no test: add a test and \
                 its claim to README_CLAIMS in tests/repo_rules.rs",
                b.line, b.lang, b.heading
            ));
        }
    }
    for c in README_CLAIMS {
        let mine: Vec<&ReadmeBlock> = blocks
            .iter()
            .filter(|b| b.heading == c.heading && b.lang == c.lang && b.text.starts_with(c.first))
            .collect();
        if mine.is_empty() {
            problems.push(format!(
                "README_CLAIMS: no ```{} block under '{}' starts with '{}' (claimed by {} {})",
                c.lang, c.heading, c.first, c.checker, c.item
            ));
        }
        match checker_body(c.checker, c.item) {
            Err(e) => problems.push(format!("README_CLAIMS: {e}")),
            Ok(body) if !body.contains(c.key) => {
                problems.push(format!("README_CLAIMS: {} {} does not mention '{}'", c.checker, c.item, c.key))
            }
            Ok(_) => {}
        }
        let fence = format!("```{}", c.lang);
        let names_block =
            c.key == c.heading || c.key.trim_end_matches(r"\n") == fence || mine.iter().all(|b| b.text.contains(c.key));
        if !names_block {
            problems.push(format!(
                "README_CLAIMS: the key '{}' of {} {} is neither the heading '{}', nor {fence}, nor in the block",
                c.key, c.checker, c.item, c.heading
            ));
        }
    }
    // CI runs the two commands of "Two commands".
    let two = readme_block("## Two commands", "sh", 0);
    let commands: Vec<&str> = two
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split('#').next())
        .map(str::trim)
        .collect();
    if commands != ["make demo", "make test"] {
        problems
            .push(format!("README 'Two commands' runs {commands:?}, not make demo and make test: update this rule"));
    }
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    let test_deps = makefile.lines().find_map(|l| l.strip_prefix("test:")).unwrap_or("");
    if !test_deps.split_whitespace().any(|d| d == "demo") {
        problems.push(format!("the Makefile's test target does not depend on demo (test:{test_deps})"));
    }
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    if !ci.lines().any(|l| l.trim() == "make test") {
        problems.push(".ci/run does not run `make test`".to_owned());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
