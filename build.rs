//! Build-time work, kept in OUT_DIR and the linker's arguments: nothing here writes into the
//! source tree (include/netrig.h is made by `make header`, see tools/header).
//!
//! - The shared library's SONAME carries the ABI major (libnetrig.so.0, from
//!   NETRIG_VERSION_MAJOR in src/lib.rs), so a program linked against it is only ever loaded
//!   with a libnetrig of the same ABI (README, "ABI policy").
//! - For benches only, it compiles the C baseline (benches/baseline.c), a pthread mutex plus
//!   hash map, so the benchmark measures netrig against plain C in the same run.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=benches/baseline.c");

    let elf = env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|f| f.split(',').any(|f| f == "unix"))
        && !matches!(env::var("CARGO_CFG_TARGET_VENDOR").as_deref(), Ok("apple"));
    if elf {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnetrig.so.{}", abi_major(&root));
    }

    platforms(&root);

    let baseline = root.join("benches/baseline.c");
    if baseline.exists() {
        let objects = cc::Build::new().file(&baseline).opt_level(2).cargo_metadata(false).compile_intermediates();
        for object in objects {
            println!("cargo:rustc-link-arg-benches={}", object.display());
        }
        println!("cargo:rustc-link-arg-benches=-lpthread");
    }
}

/// The built-in platforms: every file in src/device/platform/builtin/, compiled in as (name, text).
fn platforms(root: &std::path::Path) {
    let dir = root.join("src/device/platform/builtin");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
        out.push_str(&format!("    ({stem:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    out.push(']');
    fs::write(PathBuf::from(env::var("OUT_DIR").unwrap()).join("platforms.rs"), out).unwrap();
}

/// NETRIG_VERSION_MAJOR of src/lib.rs: the one place the ABI major is written.
fn abi_major(root: &std::path::Path) -> u32 {
    let lib = fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    lib.lines()
        .find_map(|l| l.strip_prefix("pub const NETRIG_VERSION_MAJOR: u32 = "))
        .and_then(|v| v.trim_end_matches(';').trim().parse().ok())
        .expect("src/lib.rs defines `pub const NETRIG_VERSION_MAJOR: u32 = <n>;`")
}
