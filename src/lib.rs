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
#[cfg(feature = "durable")]
pub mod journal;
mod json;
#[macro_use]
pub mod log;
mod mem;
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
