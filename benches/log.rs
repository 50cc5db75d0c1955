//! What logging costs: a device command's round trip (`show clock` on one fake cisco_ios device,
//! tests/fakedev, in this process) and a store get, with logging off and with a callback at
//! debug (it counts records on the netrig logging thread) and at info, interleaved in rounds so
//! that a change in machine load hits every contender alike. Prints medians and ratios against
//! "off"; never fails on timings. (The same numbers before and after the log went in come from
//! `cargo bench --bench device` / `--bench store` on both trees.)
//!
//! Run: `cargo bench --bench log`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fakedev::{Fleet, Group, Inventory};
use netrig::device::{Auth, Device, DeviceOptions, HostKeyPolicy, Platform};
use netrig::log::{self, Level};
use netrig::{Store, StoreOptions, Ttl, Value};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Off,
    Info,
    Debug,
}

fn set(mode: Mode, count: &Arc<AtomicU64>) {
    let level = match mode {
        Mode::Off => return log::set_callback(Level::Off, None).unwrap(),
        Mode::Info => Level::Info,
        Mode::Debug => Level::Debug,
    };
    let count = Arc::clone(count);
    log::set_callback(
        level,
        Some(Box::new(move |r| {
            std::hint::black_box(r.message());
            count.fetch_add(1, Ordering::Relaxed);
        })),
    )
    .unwrap();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `batch` (returning its per-operation time in µs) for each mode in turn, `rounds` times.
fn rounds(name: &str, rounds: usize, mut batch: impl FnMut() -> f64) {
    let modes = [Mode::Off, Mode::Info, Mode::Debug];
    let count = Arc::new(AtomicU64::new(0));
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for _ in 0..rounds {
        for (i, &mode) in modes.iter().enumerate() {
            set(mode, &count);
            samples[i].push(batch());
            // Delivery is part of the cost: wait for it before the next contender.
            log::flush(Duration::from_secs(60)).unwrap();
        }
    }
    log::set_callback(Level::Off, None).unwrap();
    let off = median(&mut samples[0].clone());
    println!("{name}");
    println!("  {:<22} {:>8} {:>12} {:>10}", "logging", "batches", "median µs", "vs off");
    for (i, mode) in modes.iter().enumerate() {
        let m = median(&mut samples[i]);
        println!("  {:<22} {:>8} {:>12.4} {:>10.3}", format!("{mode:?}"), rounds, m, m / off);
    }
    println!("  ({} records delivered to the callbacks)", count.load(Ordering::Relaxed));
}

fn main() {
    let fleet = Fleet::start_inventory(&Inventory::default().group(Group::new("cisco_ios", 1))).unwrap();
    let d = &fleet.devices()[0];
    let mut o = DeviceOptions::new(
        &d.host,
        d.port,
        &d.username,
        Auth::Password(d.password.clone()),
        Platform::named("cisco_ios").unwrap(),
    );
    o.host_key = HostKeyPolicy::Pinned(d.host_key_fingerprint.clone());
    o.secret = d.secret.clone();
    let dev = Device::open(&o).unwrap();
    println!("netrig log benchmark: contenders (off, a callback at info, at debug) interleaved in rounds");
    rounds("device command round trip ('show clock'), 20 per batch", 30, || {
        let t = Instant::now();
        for _ in 0..20 {
            assert!(dev.send_command("show clock", None).unwrap().text.contains("UTC"));
        }
        t.elapsed().as_secs_f64() * 1e6 / 20.0
    });
    let store = Store::new(StoreOptions::default()).unwrap();
    store.set("dut1/temp", Value::Int(42), Ttl::Default).unwrap();
    rounds("store get ('dut1/temp'), 200000 per batch", 30, || {
        let t = Instant::now();
        for _ in 0..200_000 {
            std::hint::black_box(store.get(std::hint::black_box("dut1/temp")).unwrap());
        }
        t.elapsed().as_secs_f64() * 1e6 / 200_000.0
    });
}
