//! Compiles every profile in profiles/ into the binary: a profile is added by adding its file.

use std::fmt::Write as _;

fn main() {
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("profiles");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("profiles/")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "toml").then_some(path)
        })
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for path in names {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(out, "    ({stem:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    out.push(']');
    std::fs::write(std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("profiles.rs"), out).unwrap();
}
