//! Structured output: TextFSM templates found through an ntc-templates style index turn a
//! command's text into records, as netmiko's `use_textfsm=True` does, so that test code written
//! against netmiko's records reads netrig's the same way.
//!
//! The templates are the user's (an ntc-templates checkout or package, or their own directory
//! with an `index`); netrig ships none. The engine is the `textfsm-rust` crate (chosen over
//! textfsm-rs on ntc-templates' own templates: tools/textfsm-compare). Compiled templates are
//! kept per directory, so a runner parsing the same command on hundreds of hosts compiles each
//! template once.

mod cache;
pub mod index;
mod record;

pub use record::to_json;

use std::path::{Path, PathBuf};

pub use cache::{parse_template_file, Templates};
pub use record::{Field, Record};

use crate::error::{Error, Result};

/// The environment variable naming the templates directory when no option names one.
pub const TEMPLATES_ENV: &str = "NETRIG_TEMPLATES";

/// The directory to use: `explicit`, else `NETRIG_TEMPLATES`, else NotFound saying how to give
/// one.
pub fn templates_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = explicit.filter(|d| !d.as_os_str().is_empty()) {
        return Ok(d.to_path_buf());
    }
    match std::env::var_os(TEMPLATES_ENV) {
        Some(d) if !d.is_empty() => Ok(PathBuf::from(d)),
        _ => Err(Error::Absent(format!(
            "no templates directory: pass one (the templates option) or set {TEMPLATES_ENV} to a directory with \
             an ntc-templates style 'index' (e.g. ntc-templates' templates/ folder)"
        ))),
    }
}

/// Parses `text`, the output of `command` on a device of `platform`, with the template the
/// index of `dir` (or of `NETRIG_TEMPLATES`) names for them. No template for the pair is
/// NotFound naming both; a template that does not compile names its file and line; output
/// the template does not recognise gives no records.
pub fn parse(text: &str, platform: &str, command: &str, dir: Option<&Path>) -> Result<Vec<Record>> {
    Templates::open(&templates_dir(dir)?)?.parse(text, platform, command)
}
