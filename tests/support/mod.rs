//! Helpers shared by the device test binaries.

pub mod abi;
pub mod c_abi;

use std::time::Duration;

use fakedev::DeviceInfo;
use netrig::device::{Auth, DeviceOptions, HostKeyPolicy, Platform};

/// Options that open a fake device as `platform`: its password, pinned host key and enable
/// secret, and a 5 s operation timeout.
#[allow(dead_code)] // the C ABI binaries build their options in C form (c_abi::Opts)
pub fn options(d: &DeviceInfo, platform: &str) -> DeviceOptions {
    let mut o = DeviceOptions::new(
        &d.host,
        d.port,
        &d.username,
        Auth::Password(d.password.clone()),
        Platform::named(platform).unwrap(),
    );
    o.host_key = HostKeyPolicy::Pinned(d.host_key_fingerprint.clone());
    o.secret = d.secret.clone();
    o.timeout = Duration::from_secs(5);
    o
}
