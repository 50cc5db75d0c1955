//! netrig: thread-safe SSH connections to devices under test, a connection pool and parallel
//! runner, and a thread-safe status store, for C, C++, Python and Rust callers.
//!
//! The core modules are plain safe Rust; `ffi` is the only place with `extern "C"`.
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "ssh")]
pub mod device;
pub mod error;
pub mod ffi;
#[cfg(feature = "ssh")]
pub mod inventory;
#[cfg(feature = "durable")]
pub mod journal;
mod json;
#[macro_use]
pub mod log;
mod mem;
#[cfg(feature = "ssh")]
pub mod parse;
#[cfg(feature = "ssh")]
pub mod pool;
pub mod queue;
#[cfg(feature = "ssh")]
pub mod run;
pub mod store;

pub use error::{netrig_status, Error, Result};
pub use store::{Batch, Snapshot, Store, StoreOptions, Ttl, Value, ValueType, Versioned};

/// Library version, kept equal to the crate version (a test checks it).
pub const NETRIG_VERSION_MAJOR: u32 = 0;
pub const NETRIG_VERSION_MINOR: u32 = 1;
pub const NETRIG_VERSION_PATCH: u32 = 0;

/// What this build holds: the version, the features compiled in and the bundled libraries'
/// versions (`netrig_build_info` in C).
pub fn build_info() -> String {
    let mut features: Vec<&str> = Vec::new();
    if cfg!(feature = "ssh") {
        features.push("ssh");
    }
    if cfg!(feature = "durable") {
        features.push("durable");
    }
    let mut info = format!("netrig {} ({}", env!("CARGO_PKG_VERSION"), features.join(", "));
    if features.is_empty() {
        info.push_str("store only");
    }
    #[cfg(feature = "durable")]
    info.push_str(&format!("; SQLite {} bundled", rusqlite::version()));
    info.push(')');
    info
}
