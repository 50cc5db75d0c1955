//! `netrig-header`: writes include/netrig.h (what `make header` runs).
//! `netrig-header --check` only compares, and fails when the file differs from the code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let root = netrig_header::netrig_root();
    let path = root.join("include/netrig.h");
    let text = match netrig_header::generate(&root) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("netrig-header: {e}");
            return ExitCode::FAILURE;
        }
    };
    let current = std::fs::read_to_string(&path).ok();
    let check = std::env::args().nth(1).as_deref() == Some("--check");
    if current.as_deref() == Some(text.as_str()) {
        println!("{} is up to date", path.display());
    } else if check {
        eprintln!("{} differs from what the code generates; run `make header`", path.display());
        return ExitCode::FAILURE;
    } else if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("netrig-header: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    } else {
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
