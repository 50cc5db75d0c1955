//! Generates include/netrig.h from the `extern "C"` items in src/ with cbindgen.
//!
//! The header is written to OUT_DIR (what the test `header_is_committed` compares against git)
//! and to include/netrig.h when its content changed, so a build leaves the working tree with
//! the header that matches the code. Commit it with the code that changed it.
//!
//! For benches only, it also compiles the C baseline (benches/baseline.c), a pthread mutex plus
//! hash map, so the benchmark measures netrig against plain C in the same run.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=benches/baseline.c");

    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let header = cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/netrig.h");
    let generated = out_dir.join("netrig.h");
    header.write_to_file(&generated);
    let text = fs::read(&generated).unwrap();
    let committed = root.join("include/netrig.h");
    if fs::read(&committed).ok().as_deref() != Some(&text[..]) {
        fs::create_dir_all(root.join("include")).unwrap();
        fs::write(&committed, &text).unwrap();
    }

    let baseline = root.join("benches/baseline.c");
    if baseline.exists() {
        let objects = cc::Build::new().file(&baseline).opt_level(2).cargo_metadata(false).compile_intermediates();
        for object in objects {
            println!("cargo:rustc-link-arg-benches={}", object.display());
        }
        println!("cargo:rustc-link-arg-benches=-lpthread");
    }
}
