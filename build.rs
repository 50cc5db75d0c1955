//! Build-time work, kept in OUT_DIR: nothing here writes into the source tree (include/netrig.h
//! is made by `make header`, see tools/header).
//!
//! For benches only, it compiles the C baseline (benches/baseline.c), a pthread mutex plus
//! hash map, so the benchmark measures netrig against plain C in the same run.

use std::env;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=benches/baseline.c");

    let baseline = root.join("benches/baseline.c");
    if baseline.exists() {
        let objects = cc::Build::new().file(&baseline).opt_level(2).cargo_metadata(false).compile_intermediates();
        for object in objects {
            println!("cargo:rustc-link-arg-benches={}", object.display());
        }
        println!("cargo:rustc-link-arg-benches=-lpthread");
    }
}
