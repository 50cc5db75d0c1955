//! The one way include/netrig.h is made: cbindgen over netrig's sources with its cbindgen.toml.
//!
//! `make header` runs the binary, which writes the file; tests/repo_rules.rs calls
//! [`generate`] and fails when the committed header differs, so a build never writes into the
//! source tree and a header that drifted from the code cannot be committed unnoticed.

use std::path::{Path, PathBuf};

/// The root of the netrig repository (this crate lives in tools/header).
pub fn netrig_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("tools/header is inside the netrig repository")
}

/// The header's text, as generated from the crate at `root` now.
pub fn generate(root: &Path) -> Result<String, String> {
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .map_err(|e| format!("{}: {e}", root.join("cbindgen.toml").display()))?;
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen could not generate netrig.h: {e}"))?;
    let mut text = Vec::new();
    bindings.write(&mut text);
    String::from_utf8(text).map_err(|e| format!("cbindgen wrote non-UTF-8: {e}"))
}
