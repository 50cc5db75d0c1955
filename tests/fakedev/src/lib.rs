//! fakedev: fake network devices that speak real SSH on loopback, for netrig's device tests,
//! demos and benchmarks. A test tool; never part of the shipped library.
//!
//! ```no_run
//! let fleet = fakedev::Fleet::start(fakedev::Profile::builtin("cisco_ios").unwrap(), 10).unwrap();
//! for d in fleet.devices() {
//!     println!("{} on {} ({})", d.name, d.addr(), d.host_key_fingerprint);
//! }
//! ```

pub mod faults;
pub mod fleet;
pub mod linux;
pub mod profile;
pub mod server;
pub mod shell;
pub mod sshd;

pub use faults::Faults;
pub use fleet::{DeviceInfo, Fleet, Group, Inventory};
pub use profile::Profile;
pub use server::StatsSnapshot;
pub use sshd::Sshd;
