//! The options structs grow without breaking older programs (the OPTIONS section of the header's
//! preamble): every struct is passed here as a program built against an older netrig.h passes
//! it, `struct_size` bytes of its own followed by memory it does not own, and the fields beyond
//! its size must take their defaults whatever those bytes hold. Sizes no header ever had are
//! refused with a readable message, and `_default` never writes past the caller's size.

use std::ffi::CString;
use std::mem::{offset_of, size_of, MaybeUninit};
use std::ptr::{null, null_mut};

use netrig::ffi::*;
use netrig::netrig_status::{self, *};

#[path = "support/abi.rs"]
mod abi;
use abi::{c, expect, last_error, ok, options_default};

/// What an older program's memory beyond its struct may hold: zeros, ones, and (for the device
/// options, whose tail has string pointers) the address of a path, so that a library reading a
/// pointer there would find a real string (and a session_log there would create that file).
fn garbage_patterns(path: &CString) -> [[u8; 8]; 3] {
    [[0x00; 8], [0xFF; 8], (path.as_ptr() as usize).to_ne_bytes()]
}

/// `T` as an older program has it: `size` bytes filled by `fill(&o, size)`, then `garbage` in
/// every byte beyond. Checks that the fill wrote `struct_size = size` and nothing past `size`.
fn old_struct<T: Copy>(fill: unsafe extern "C" fn(*mut T, usize) -> netrig_status, size: usize, garbage: [u8; 8]) -> T {
    let mut o = MaybeUninit::<T>::uninit();
    let bytes = o.as_mut_ptr().cast::<u8>();
    for i in 0..size_of::<T>() {
        // SAFETY: `i` is inside the local `o`.
        unsafe { bytes.add(i).write(garbage[i % 8]) };
    }
    // SAFETY: `o` is a live T of at least `size` bytes.
    ok(unsafe { fill(o.as_mut_ptr(), size) });
    // SAFETY: every byte of `o` is initialised (garbage, then the fill's prefix).
    let after = unsafe { std::slice::from_raw_parts(bytes, size_of::<T>()) };
    assert_eq!(usize::from_ne_bytes(after[..8].try_into().unwrap()), size, "struct_size is the caller's size");
    for (i, b) in after.iter().enumerate().skip(size) {
        assert_eq!(*b, garbage[i % 8], "the _default function wrote byte {i}, past the caller's {size} bytes");
    }
    // SAFETY: all bytes initialised; the options structs hold only integers and raw pointers.
    unsafe { o.assume_init() }
}

/// The sizes an older header's struct can have: each field's end rounded up to the struct's
/// alignment (a C sizeof), from the struct_size field alone to the whole struct.
fn older_sizes<T>(field_ends: &[usize]) -> Vec<usize> {
    let align = std::mem::align_of::<T>();
    let mut sizes: Vec<usize> = field_ends.iter().map(|end| end.div_ceil(align) * align).collect();
    sizes.insert(0, size_of::<usize>());
    sizes.push(size_of::<T>());
    sizes.dedup();
    sizes
}

#[test]
fn store_options_from_an_older_header() {
    type O = netrig_store_options;
    let path = c("/nonexistent");
    let ends = [offset_of!(O, max_entries) + 8, offset_of!(O, max_bytes) + 8, offset_of!(O, default_ttl_ms) + 8];
    for size in older_sizes::<O>(&ends) {
        for garbage in garbage_patterns(&path) {
            let mut o = old_struct(netrig_store_options_default, size, garbage);
            let has_max_entries = size >= offset_of!(O, max_entries) + 8;
            if has_max_entries {
                o.max_entries = 3;
            }
            let mut s = netrig_store { id: 0 };
            // SAFETY: `o` is live; the library reads its first `size` bytes.
            let st = unsafe { netrig_store_new(&o, &mut s) };
            assert_eq!(st, NETRIG_OK, "size {size}, garbage {garbage:02x?}: {}", last_error());
            // max_entries: 3 when the struct has it, else the default (1,000,000).
            for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
                // SAFETY: live handle and C string.
                let st = unsafe { netrig_store_set_int(s, c(key).as_ptr(), 1, NETRIG_TTL_DEFAULT) };
                let want = if has_max_entries && i == 3 { NETRIG_E_FULL } else { NETRIG_OK };
                assert_eq!(st, want, "size {size}: set #{i}: {}", last_error());
            }
            // max_key_len: the default 1024 when the struct ends before it.
            if size <= offset_of!(O, max_key_len) {
                ok(netrig_store_free(s));
                ok(unsafe { netrig_store_new(&o, &mut s) });
                // SAFETY: live handle and C strings.
                unsafe {
                    ok(netrig_store_set_int(s, c(&"k".repeat(1024)).as_ptr(), 1, 0));
                    expect(
                        netrig_store_set_int(s, c(&"k".repeat(1025)).as_ptr(), 1, 0),
                        NETRIG_E_INVALID_ARG,
                        "max_key_len 1024",
                    );
                }
            }
            ok(netrig_store_free(s));
        }
    }
}

#[test]
fn queue_options_from_an_older_header() {
    type O = netrig_queue_options;
    let path = c("/nonexistent");
    let ends = [offset_of!(O, max_items) + 8, offset_of!(O, max_attempts) + 4, offset_of!(O, lease_ms) + 4];
    for size in older_sizes::<O>(&ends) {
        for garbage in garbage_patterns(&path) {
            let mut o = old_struct(netrig_queue_options_default, size, garbage);
            if size >= offset_of!(O, max_items) + 8 {
                o.max_items = 1000;
            }
            let mut q = netrig_queue { id: 0 };
            // SAFETY: `o` is live; the library reads its first `size` bytes.
            let st = unsafe { netrig_queue_new(&o, &mut q) };
            assert_eq!(st, NETRIG_OK, "size {size}, garbage {garbage:02x?}: {}", last_error());
            let mut id = 0;
            // max_payload: the default 16 MiB when the struct ends before it.
            if size <= offset_of!(O, max_payload) {
                let big = vec![0u8; (16 << 20) + 1];
                // SAFETY: live handle, buffer and out pointer.
                let st = unsafe { netrig_queue_push(q, big.as_ptr(), big.len(), 0, &mut id) };
                expect(st, NETRIG_E_INVALID_ARG, "max_payload 16777216");
            }
            // max_attempts: the default 3 when the struct ends before it.
            if size <= offset_of!(O, max_attempts) {
                // SAFETY: live handle, buffer and out pointers.
                unsafe {
                    ok(netrig_queue_push(q, b"x".as_ptr(), 1, 0, &mut id));
                    for attempt in 1..=3 {
                        let mut item = netrig_item { id: 0 };
                        ok(netrig_queue_claim(q, 0, &mut item));
                        let mut status = 0;
                        ok(netrig_queue_fail(q, item, true, c("again").as_ptr(), &mut status));
                        let want = if attempt < 3 { NETRIG_ITEM_PENDING } else { NETRIG_ITEM_FAILED };
                        assert_eq!(status, want, "size {size}: attempt {attempt} of the default 3");
                        ok(netrig_item_free(item));
                    }
                }
            }
            ok(netrig_queue_free(q));
        }
    }
}

#[cfg(feature = "ssh")]
#[test]
fn run_options_from_an_older_header() {
    type O = netrig_run_options;
    let path = c("/nonexistent");
    let ends = [offset_of!(O, max_workers) + 4, offset_of!(O, strategy) + 4, offset_of!(O, on_failure) + 4];
    for size in older_sizes::<O>(&ends) {
        for garbage in garbage_patterns(&path) {
            let o = old_struct(netrig_run_options_default, size, garbage);
            let mut job = netrig_job { id: 0 };
            let mut run = netrig_run { id: 0 };
            // SAFETY: live locals; `o` is read for its first `size` bytes.
            unsafe {
                ok(netrig_job_new(&mut job));
                let st = netrig_run_start(job, netrig_pool { id: 0 }, &o, None, null_mut(), &mut run);
                assert_eq!(st, NETRIG_OK, "size {size}, garbage {garbage:02x?}: {}", last_error());
                ok(netrig_run_wait(run, NETRIG_WAIT_FOREVER));
                // events: the default 0 (no queue) when the struct ends before it.
                if size <= offset_of!(O, events) {
                    let mut e = MaybeUninit::<netrig_event>::uninit();
                    expect(netrig_run_next_event(run, 0, e.as_mut_ptr()), NETRIG_E_INVALID_ARG, "without events");
                }
                ok(netrig_run_free(run));
                ok(netrig_job_free(job));
            }
        }
    }
}

#[cfg(feature = "ssh")]
#[test]
fn pool_options_from_an_older_header() {
    type O = netrig_pool_options;
    let path = c("/nonexistent");
    let ends: Vec<usize> = [
        offset_of!(O, max_per_host),
        offset_of!(O, max_total),
        offset_of!(O, idle_timeout_ms),
        offset_of!(O, max_lifetime_ms),
        offset_of!(O, checkout_timeout_ms),
        offset_of!(O, health_check_after_ms),
    ]
    .iter()
    .map(|o| o + 4)
    .collect();
    // Every field must be at least 1: a library that read the zeros beyond an older struct
    // would refuse it.
    for size in older_sizes::<O>(&ends) {
        for garbage in garbage_patterns(&path) {
            let o = old_struct(netrig_pool_options_default, size, garbage);
            let mut p = netrig_pool { id: 0 };
            // SAFETY: `o` is live; the library reads its first `size` bytes.
            let st = unsafe { netrig_pool_new(&o, &mut p) };
            assert_eq!(st, NETRIG_OK, "size {size}, garbage {garbage:02x?}: {}", last_error());
            ok(netrig_pool_free(p));
        }
    }
}

/// Device options as `Opts` in tests/support/c_abi.rs sets them, on an older-header struct.
#[cfg(feature = "ssh")]
struct OldDevice {
    o: netrig_device_options,
    _strings: Vec<CString>,
}

#[cfg(feature = "ssh")]
impl OldDevice {
    /// Sets the login and the platform, which every older header has (they come before
    /// `prompt_pattern`); `size` must reach past `platform`.
    fn new(d: &fakedev::DeviceInfo, size: usize, garbage: [u8; 8]) -> OldDevice {
        assert!(size >= offset_of!(netrig_device_options, platform) + 8);
        let mut o = old_struct(netrig_device_options_default, size, garbage);
        let strings: Vec<CString> =
            [&d.host, &d.username, &d.password, &d.host_key_fingerprint, "cisco_ios"].iter().map(|s| c(s)).collect();
        o.host = strings[0].as_ptr();
        o.port = d.port;
        o.username = strings[1].as_ptr();
        o.password = strings[2].as_ptr();
        o.host_key_policy = NETRIG_HOSTKEY_PINNED;
        o.host_key_fingerprint = strings[3].as_ptr();
        o.platform = strings[4].as_ptr();
        o.timeout_ms = 5000;
        OldDevice { o, _strings: strings }
    }
}

#[cfg(feature = "ssh")]
#[test]
fn device_options_from_an_older_header() {
    type O = netrig_device_options;
    let fleet =
        fakedev::Fleet::start_inventory(&fakedev::Inventory::default().group(fakedev::Group::new("cisco_ios", 2)))
            .unwrap();
    let devices = fleet.devices();
    let log = std::env::temp_dir().join(format!("netrig-old-header-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log_c = c(log.to_str().unwrap());
    // Older headers end after `platform` or one of the generic-platform strings; the tail
    // holds term_cols/term_rows (0 is refused) and session_log (a path there would be written).
    let ends = [
        offset_of!(O, platform) + 8,
        offset_of!(O, prompt_pattern) + 8,
        offset_of!(O, config_prompt_pattern) + 8,
        offset_of!(O, term_rows) + 4,
    ];
    for size in older_sizes::<O>(&ends).into_iter().filter(|&s| s >= ends[0] && s < size_of::<O>()) {
        for garbage in garbage_patterns(&log_c) {
            let old = OldDevice::new(&devices[0], size, garbage);
            let mut dev = netrig_device { id: 0 };
            // SAFETY: the strings live in `old`; the library reads its first `size` bytes.
            let st = unsafe { netrig_device_open(&old.o, &mut dev) };
            assert_eq!(st, NETRIG_OK, "size {size}, garbage {garbage:02x?}: {}", last_error());
            let mut out = netrig_output { id: 0 };
            // SAFETY: live handle, C string and out pointer.
            ok(unsafe { netrig_device_send_command(dev, c("show clock").as_ptr(), 0, &mut out) });
            ok(netrig_output_free(out));
            ok(netrig_device_free(dev));
            assert!(!log.exists(), "size {size}: session_log was read from beyond the caller's struct");
        }
    }

    // A struct that ends before `platform` gets the default, NULL (no platform: refused): the
    // garbage beyond (ones, or a path) would read as a platform name.
    let size = offset_of!(O, connect_timeout_ms);
    for garbage in garbage_patterns(&log_c) {
        let mut o = old_struct(netrig_device_options_default, size, garbage);
        let (host, user, password) = (c("127.0.0.1"), c("admin"), c("x"));
        (o.host, o.port, o.username, o.password) = (host.as_ptr(), 22, user.as_ptr(), password.as_ptr());
        let mut dev = netrig_device { id: 0 };
        // SAFETY: live strings; the library reads the first `size` bytes.
        let st = unsafe { netrig_device_open(&o, &mut dev) };
        expect(st, NETRIG_E_INVALID_ARG, "options.platform is NULL: name a platform");
    }

    // An array of older structs (netrig_pool_prewarm's targets) is laid out struct_size apart.
    let size = offset_of!(O, prompt_pattern);
    for garbage in garbage_patterns(&log_c) {
        let olds: Vec<OldDevice> = devices.iter().map(|d| OldDevice::new(d, size, garbage)).collect();
        let mut array = vec![0u64; (olds.len() * size + size_of::<O>()).div_ceil(8)];
        let bytes = array.as_mut_ptr().cast::<u8>();
        for i in 0..array.len() * 8 {
            // SAFETY: inside `array`.
            unsafe { bytes.add(i).write(garbage[i % 8]) };
        }
        for (i, old) in olds.iter().enumerate() {
            // SAFETY: `size` bytes of a live struct into `array`, which has room for them.
            unsafe { std::ptr::copy_nonoverlapping(std::ptr::addr_of!(old.o).cast::<u8>(), bytes.add(i * size), size) };
        }
        let mut pool = netrig_pool { id: 0 };
        let mut statuses = [NETRIG_E_PANIC; 2];
        let mut failed = usize::MAX;
        // SAFETY: live locals; `array` holds two `size`-byte structs whose strings live in `olds`.
        unsafe {
            ok(netrig_pool_new(null(), &mut pool));
            let st = netrig_pool_prewarm(pool, bytes.cast(), 2, 2, statuses.as_mut_ptr(), &mut failed);
            assert_eq!(st, NETRIG_OK, "garbage {garbage:02x?}: {}", last_error());
            assert_eq!((statuses, failed), ([NETRIG_OK; 2], 0));
            let mut stats = MaybeUninit::<netrig_pool_stats>::uninit();
            ok(netrig_pool_get_stats(pool, stats.as_mut_ptr()));
            assert_eq!(stats.assume_init().idle, 2, "both targets of the array opened");
            // One element with another struct_size than the first is refused.
            bytes.add(size).cast::<usize>().write_unaligned(size - 8);
            let st = netrig_pool_prewarm(pool, bytes.cast(), 2, 2, null_mut(), null_mut());
            expect(st, NETRIG_E_INVALID_ARG, "targets[1].struct_size");
            ok(netrig_pool_free(pool));
        }
        assert!(!log.exists(), "session_log was read from beyond the caller's struct");
    }
}

/// The struct sizes no header has: 0 (never filled), less than the size field, more than the
/// library's own struct (a newer header, or garbage). Each is NETRIG_E_INVALID_ARG and says what
/// to do, for the functions that read the struct and for the `_default` functions, which then
/// write nothing.
#[test]
fn sizes_no_header_has_are_refused() {
    fn check<T: Copy>(
        name: &str,
        fill: unsafe extern "C" fn(*mut T, usize) -> netrig_status,
        consume: &dyn Fn(*const T) -> netrig_status,
    ) {
        let full = size_of::<T>();
        for (bad, needle) in [
            (0, "struct_size is 0, less than the 8 bytes of struct_size itself"),
            (7, "struct_size is 7, less than"),
            (full + 1, "a newer netrig.h than this library"),
            (usize::MAX, "a newer netrig.h"),
        ] {
            let mut o = options_default(fill);
            let before = o;
            // SAFETY: a live struct of `full` bytes; the library refuses before writing.
            let st = unsafe { fill(&mut o, bad) };
            expect(st, NETRIG_E_INVALID_ARG, needle);
            assert!(last_error().contains(&format!("pass sizeof({name})")), "{}", last_error());
            // SAFETY: both are live `T`s of plain data.
            let same = unsafe {
                std::slice::from_raw_parts(std::ptr::addr_of!(o).cast::<u8>(), full)
                    == std::slice::from_raw_parts(std::ptr::addr_of!(before).cast::<u8>(), full)
            };
            assert!(same, "{name}_default wrote although it refused size {bad}");

            // SAFETY: `o` is live, and its first field is its struct_size.
            unsafe { std::ptr::addr_of_mut!(o).cast::<usize>().write(bad) };
            expect(consume(&o), NETRIG_E_INVALID_ARG, needle);
            assert!(
                last_error().contains(&format!("fill the {name} with {name}_default(&o, sizeof o)")),
                "{}",
                last_error()
            );
        }
        // SAFETY: NULL out.
        expect(unsafe { fill(null_mut(), full) }, NETRIG_E_NULL_ARG, "'out'");
    }
    // SAFETY (all closures): live options and out pointers.
    check("netrig_store_options", netrig_store_options_default, &|o| unsafe {
        netrig_store_new(o, &mut netrig_store { id: 0 })
    });
    check("netrig_queue_options", netrig_queue_options_default, &|o| unsafe {
        netrig_queue_new(o, &mut netrig_queue { id: 0 })
    });
    #[cfg(feature = "ssh")]
    {
        check("netrig_pool_options", netrig_pool_options_default, &|o| unsafe {
            netrig_pool_new(o, &mut netrig_pool { id: 0 })
        });
        let mut job = netrig_job { id: 0 };
        // SAFETY: live out pointer.
        ok(unsafe { netrig_job_new(&mut job) });
        check("netrig_run_options", netrig_run_options_default, &|o| unsafe {
            netrig_run_start(job, netrig_pool { id: 0 }, o, None, null_mut(), &mut netrig_run { id: 0 })
        });
        check("netrig_device_options", netrig_device_options_default, &|o| unsafe {
            netrig_device_open(o, &mut netrig_device { id: 0 })
        });
        check("netrig_device_options", netrig_device_options_default, &|o| unsafe { netrig_job_add_target(job, o) });
        ok(netrig_job_free(job));
    }
}

/// NULL options are every default where the function allows it (store, queue, pool, run); a
/// device needs its options.
#[test]
fn null_options() {
    let mut store = netrig_store { id: 0 };
    let mut queue = netrig_queue { id: 0 };
    // SAFETY: NULL options and live out pointers.
    unsafe {
        ok(netrig_store_new(null(), &mut store));
        ok(netrig_queue_new(null(), &mut queue));
    }
    ok(netrig_store_free(store));
    ok(netrig_queue_free(queue));
    #[cfg(feature = "ssh")]
    {
        let (mut pool, mut dev) = (netrig_pool { id: 0 }, netrig_device { id: 0 });
        // SAFETY: NULL options and live out pointers.
        unsafe {
            ok(netrig_pool_new(null(), &mut pool));
            expect(netrig_device_open(null(), &mut dev), NETRIG_E_NULL_ARG, "'options'");
        }
        ok(netrig_pool_free(pool));
    }
}
