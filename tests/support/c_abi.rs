//! Helpers of the C ABI test binaries: C strings and `netrig_device_options` for a fake device.
#![allow(dead_code)] // each binary uses its own subset

use std::ffi::{c_char, CString};
use std::ptr::null;
use std::thread;
use std::time::{Duration, Instant};

use fakedev::{DeviceInfo, Faults, Fleet, Group, Inventory};
use netrig::ffi::*;
use netrig::netrig_status::{self, *};

use super::abi::{c, last_error};

/// `netrig_device_options` plus the C strings its pointers point into.
pub struct Opts {
    pub o: netrig_device_options,
    _strings: Vec<CString>,
}

impl Opts {
    /// Password login, pinned host key, the device's enable secret, a 5 s operation timeout.
    pub fn new(d: &DeviceInfo, platform: &str) -> Opts {
        let strings: Vec<CString> = [
            d.host.as_str(),
            d.username.as_str(),
            d.password.as_str(),
            d.host_key_fingerprint.as_str(),
            platform,
            d.secret.as_deref().unwrap_or(""),
        ]
        .iter()
        .map(|s| c(s))
        .collect();
        let mut o = super::abi::options_default(netrig_device_options_default);
        o.host = strings[0].as_ptr();
        o.port = d.port;
        o.username = strings[1].as_ptr();
        o.password = strings[2].as_ptr();
        o.host_key_policy = NETRIG_HOSTKEY_PINNED;
        o.host_key_fingerprint = strings[3].as_ptr();
        o.platform = strings[4].as_ptr();
        o.secret = if d.secret.is_some() { strings[5].as_ptr() } else { null() };
        o.timeout_ms = 5000;
        Opts { o, _strings: strings }
    }

    /// Points a string field at a new C string kept alive by `self`.
    pub fn set(&mut self, field: impl FnOnce(&mut netrig_device_options) -> &mut *const c_char, value: &str) {
        let s = c(value);
        *field(&mut self.o) = s.as_ptr();
        self._strings.push(s);
    }

    pub fn open(&self) -> Result<netrig_device, netrig_status> {
        let mut dev = netrig_device { id: 0 };
        // SAFETY: the options' strings live in `self`; `dev` is a live local.
        match unsafe { netrig_device_open(&self.o, &mut dev) } {
            NETRIG_OK => Ok(dev),
            st => {
                assert_eq!(dev.id, 0, "open wrote its out-parameter although it failed");
                // Read (and so check) the text even where the caller looks only at the status.
                let _ = last_error();
                Err(st)
            }
        }
    }
}

/// Runs `op` on a new thread and returns once it holds the device (try_ then answers BUSY).
pub fn start_blocked<T: Send + 'static>(
    dev: netrig_device,
    op: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<(T, Instant)> {
    let handle = thread::spawn(move || {
        let r = op();
        (r, Instant::now())
    });
    let cmd = c("show clock");
    let start = Instant::now();
    loop {
        let mut out = netrig_output { id: 0 };
        // SAFETY: live C string and out pointer.
        match unsafe { netrig_device_try_send_command(dev, cmd.as_ptr(), 0, &mut out) } {
            NETRIG_E_BUSY => {
                assert!(last_error().contains("another operation is running"), "{}", last_error());
                break;
            }
            NETRIG_OK => assert_eq!(netrig_output_free(out), NETRIG_OK),
            st => panic!("try_send_command: {st:?}: {}", last_error()),
        }
        assert!(start.elapsed() < Duration::from_secs(5), "the other thread's operation never started");
        thread::sleep(Duration::from_millis(1));
    }
    handle
}

/// A fleet of one device per `(profile, faults)` group.
pub fn fleet(groups: &[(&str, Faults)]) -> Fleet {
    let inv = groups
        .iter()
        .fold(Inventory::default(), |inv, (profile, faults)| inv.group(Group::new(profile, 1).faults(faults.clone())));
    Fleet::start_inventory(&inv).unwrap()
}

/// Opens a fake device as `platform` through the C ABI, or panics with the last error.
#[track_caller]
pub fn open(d: &DeviceInfo, platform: &str) -> netrig_device {
    Opts::new(d, platform).open().unwrap_or_else(|st| panic!("open: {st:?}: {}", last_error()))
}
