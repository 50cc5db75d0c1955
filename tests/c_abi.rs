//! The C ABI driven exactly as a C caller drives it: raw pointers, handles as ids, statuses and
//! the thread-local last error. Every bad input named in the foundation issue has a test here.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

use netrig::ffi::*;
use netrig::netrig_status::{self, *};

#[path = "support/abi.rs"]
mod abi;
use abi::{c, expect, last_error, options_default};

fn new_store(opts: Option<netrig_store_options>) -> netrig_store {
    let mut s = netrig_store { id: 0 };
    let p = opts.as_ref().map_or(null(), |o| o as *const _);
    // SAFETY: valid options pointer or NULL, valid out pointer.
    assert_eq!(unsafe { netrig_store_new(p, &mut s) }, NETRIG_OK);
    s
}

#[test]
fn version_and_status_names() {
    // SAFETY: static strings.
    let v = unsafe { CStr::from_ptr(netrig_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        v,
        format!("{}.{}.{}", netrig::NETRIG_VERSION_MAJOR, netrig::NETRIG_VERSION_MINOR, netrig::NETRIG_VERSION_PATCH)
    );
    for (i, s) in netrig_status::all().iter().enumerate() {
        // SAFETY: static strings.
        let name = unsafe { CStr::from_ptr(netrig_status_str(i as i32)) }.to_str().unwrap();
        assert_eq!(name, format!("{s:?}"));
    }
    // SAFETY: a static string.
    let info = unsafe { CStr::from_ptr(netrig_build_info()) }.to_str().unwrap();
    assert!(info.starts_with(&format!("netrig {v} (")), "{info}");
    if cfg!(feature = "durable") {
        // "netrig 0.1.0 (ssh, durable; SQLite 3.50.2 bundled)"
        let sqlite = info.split("; SQLite ").nth(1).and_then(|r| r.strip_suffix(" bundled)")).expect(info);
        assert!(sqlite.split('.').count() == 3 && sqlite.split('.').all(|n| n.parse::<u32>().is_ok()), "{info}");
        assert!(info.starts_with(&format!("netrig {v} (ssh, durable; ")), "{info}");
    } else {
        assert_eq!(info, format!("netrig {v} (store only)"));
    }
    for bad in [-1, netrig_status::all().len() as i32, 9999] {
        // SAFETY: static strings.
        assert_eq!(unsafe { CStr::from_ptr(netrig_status_str(bad)) }.to_str().unwrap(), "NETRIG_E_UNKNOWN");
    }
}

#[test]
fn typed_set_get_through_the_abi() {
    let s = new_store(None);
    let (k, mut ver) = (c("dut/1/temp"), 0u64);
    let mut d = 0.0;
    // SAFETY (whole test): every pointer passed is a live local or NULL where the doc allows it.
    unsafe {
        assert_eq!(netrig_store_set_double(s, k.as_ptr(), 41.5, NETRIG_TTL_DEFAULT), NETRIG_OK);
        assert_eq!(netrig_store_get_double(s, k.as_ptr(), &mut d, &mut ver), NETRIG_OK);
        assert_eq!((d, ver > 0), (41.5, true));
        let mut ty = netrig_type::NETRIG_TYPE_BOOL;
        assert_eq!(netrig_store_get_type(s, k.as_ptr(), &mut ty, null_mut()), NETRIG_OK);
        assert_eq!(ty, netrig_type::NETRIG_TYPE_DOUBLE);

        let ks = c("name");
        assert_eq!(netrig_store_set_str(s, ks.as_ptr(), c("R1 (edge)").as_ptr(), 0), NETRIG_OK);
        let mut buf = [0u8; 32];
        let mut len = 0usize;
        assert_eq!(netrig_store_get_str(s, ks.as_ptr(), buf.as_mut_ptr().cast(), 32, &mut len, null_mut()), NETRIG_OK);
        assert_eq!((len, &buf[..10]), (9, &b"R1 (edge)\0"[..]));

        let kb = c("blob");
        assert_eq!(netrig_store_set_bytes(s, kb.as_ptr(), [1u8, 0, 2].as_ptr(), 3, 0), NETRIG_OK);
        assert_eq!(netrig_store_set_bytes(s, c("empty").as_ptr(), null(), 0, 0), NETRIG_OK);
        assert_eq!(netrig_store_get_bytes(s, kb.as_ptr(), buf.as_mut_ptr(), 32, &mut len, null_mut()), NETRIG_OK);
        assert_eq!(&buf[..len], &[1, 0, 2]);

        let mut n = 0i64;
        assert_eq!(netrig_store_add_int(s, c("hits").as_ptr(), 7, &mut n), NETRIG_OK);
        assert_eq!(netrig_store_add_int(s, c("hits").as_ptr(), -2, null_mut()), NETRIG_OK);
        assert_eq!(netrig_store_get_int(s, c("hits").as_ptr(), &mut n, null_mut()), NETRIG_OK);
        assert_eq!(n, 5);

        let mut count = 0usize;
        assert_eq!(netrig_store_len(s, &mut count), NETRIG_OK);
        assert_eq!(count, 5);
        let mut present = false;
        assert_eq!(netrig_store_contains(s, c("hits").as_ptr(), &mut present), NETRIG_OK);
        assert!(present);
        assert_eq!(netrig_store_delete(s, c("hits").as_ptr()), NETRIG_OK);
        expect(netrig_store_delete(s, c("hits").as_ptr()), NETRIG_E_NOT_FOUND, "key 'hits' not found");
        assert_eq!(netrig_store_clear(s, &mut count), NETRIG_OK);
        assert_eq!(count, 4);
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn get_value_reads_any_type_in_one_call() {
    let s = new_store(None);
    let mut buf = [0u8; 16];
    let (mut len, mut ver) = (99usize, 0u64);
    // SAFETY (whole test): every pointer passed is a live local or NULL where the doc allows it.
    unsafe {
        let mut v = std::mem::zeroed::<netrig_value>();
        assert_eq!(netrig_store_set_int(s, c("i").as_ptr(), -3, 0), NETRIG_OK);
        assert_eq!(netrig_store_get_value(s, c("i").as_ptr(), &mut v, null_mut(), 0, &mut len, &mut ver), NETRIG_OK);
        assert_eq!((v.kind, v.i, len, ver > 0), (netrig_type::NETRIG_TYPE_INT as u32, -3, 0, true));
        assert_eq!(netrig_store_set_bool(s, c("b").as_ptr(), true, 0), NETRIG_OK);
        assert_eq!(netrig_store_get_value(s, c("b").as_ptr(), &mut v, null_mut(), 0, &mut len, null_mut()), NETRIG_OK);
        assert_eq!((v.kind, v.b), (netrig_type::NETRIG_TYPE_BOOL as u32, 1));

        assert_eq!(netrig_store_set_str(s, c("s").as_ptr(), c("up").as_ptr(), 0), NETRIG_OK);
        let before = v;
        expect(
            netrig_store_get_value(s, c("s").as_ptr(), &mut v, buf.as_mut_ptr(), 2, &mut len, null_mut()),
            NETRIG_E_BUFFER_TOO_SMALL,
            "needs 3 bytes",
        );
        assert_eq!((len, v.kind, v.b), (2, before.kind, before.b), "only the length is written on BUFFER_TOO_SMALL");
        assert_eq!(
            netrig_store_get_value(s, c("s").as_ptr(), &mut v, buf.as_mut_ptr(), 16, &mut len, null_mut()),
            NETRIG_OK
        );
        assert_eq!((v.kind, v.str as *const u8, len), (netrig_type::NETRIG_TYPE_STR as u32, buf.as_ptr(), 2));
        assert_eq!(CStr::from_ptr(v.str).to_str().unwrap(), "up");

        assert_eq!(netrig_store_set_bytes(s, c("x").as_ptr(), [9u8, 0, 7].as_ptr(), 3, 0), NETRIG_OK);
        assert_eq!(
            netrig_store_get_value(s, c("x").as_ptr(), &mut v, buf.as_mut_ptr(), 16, &mut len, null_mut()),
            NETRIG_OK
        );
        assert_eq!((v.kind, v.bytes_len, &buf[..3]), (netrig_type::NETRIG_TYPE_BYTES as u32, 3, &[9u8, 0, 7][..]));
        assert_eq!(netrig_store_set_bytes(s, c("e").as_ptr(), null(), 0, 0), NETRIG_OK);
        assert_eq!(netrig_store_get_value(s, c("e").as_ptr(), &mut v, null_mut(), 0, &mut len, null_mut()), NETRIG_OK);
        assert_eq!((v.bytes, v.bytes_len, len), (null(), 0, 0));

        expect(
            netrig_store_get_value(s, c("i").as_ptr(), null_mut(), null_mut(), 0, &mut len, null_mut()),
            NETRIG_E_NULL_ARG,
            "'out_value'",
        );
        expect(
            netrig_store_get_value(s, c("i").as_ptr(), &mut v, null_mut(), 0, null_mut(), null_mut()),
            NETRIG_E_NULL_ARG,
            "'out_len'",
        );
        expect(
            netrig_store_get_value(s, null(), &mut v, null_mut(), 0, &mut len, null_mut()),
            NETRIG_E_NULL_ARG,
            "'key'",
        );
        expect(
            netrig_store_get_value(s, c("nope").as_ptr(), &mut v, null_mut(), 0, &mut len, null_mut()),
            NETRIG_E_NOT_FOUND,
            "'nope'",
        );
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn null_pointer_arguments_get_null_arg_and_name_the_argument() {
    let s = new_store(None);
    let k = c("k");
    let (mut i, mut b, mut d, mut len, mut ty) = (0i64, false, 0.0f64, 0usize, netrig_type::NETRIG_TYPE_INT);
    let v = netrig_value {
        kind: netrig_type::NETRIG_TYPE_INT as u32,
        b: 0,
        i: 1,
        d: 0.0,
        str: null(),
        bytes: null(),
        bytes_len: 0,
    };
    // SAFETY (whole test): NULL is what is being tested; other pointers are live locals.
    unsafe {
        assert_eq!(netrig_store_set_int(s, k.as_ptr(), 1, 0), NETRIG_OK);
        expect(netrig_store_new(null(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_store_set_int(s, null(), 1, 0), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_set_bool(s, null(), true, 0), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_set_double(s, null(), 1.0, 0), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_set_str(s, k.as_ptr(), null(), 0), NETRIG_E_NULL_ARG, "'value'");
        expect(netrig_store_set_bytes(s, k.as_ptr(), null(), 4, 0), NETRIG_E_NULL_ARG, "'data'");
        expect(netrig_store_get_int(s, k.as_ptr(), null_mut(), null_mut()), NETRIG_E_NULL_ARG, "'out_value'");
        expect(netrig_store_get_int(s, null(), &mut i, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_get_bool(s, k.as_ptr(), null_mut(), null_mut()), NETRIG_E_NULL_ARG, "'out_value'");
        expect(netrig_store_get_bool(s, null(), &mut b, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_get_double(s, null(), &mut d, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(
            netrig_store_get_str(s, k.as_ptr(), null_mut(), 0, null_mut(), null_mut()),
            NETRIG_E_NULL_ARG,
            "'out_len'",
        );
        expect(netrig_store_get_bytes(s, null(), null_mut(), 0, &mut len, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_get_type(s, k.as_ptr(), null_mut(), null_mut()), NETRIG_E_NULL_ARG, "'out_type'");
        expect(netrig_store_get_type(s, null(), &mut ty, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_cas(s, k.as_ptr(), 0, null(), 0, null_mut()), NETRIG_E_NULL_ARG, "'value'");
        expect(netrig_store_cas(s, null(), 0, &v, 0, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_add_int(s, null(), 1, null_mut()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_delete(s, null()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_contains(s, k.as_ptr(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_store_contains(s, null(), &mut b), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_store_len(s, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_store_snapshot(s, null(), &mut netrig_snapshot { id: 0 }), NETRIG_E_NULL_ARG, "'prefix'");
        expect(netrig_store_snapshot(s, k.as_ptr(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_store_keys(s, null(), &mut netrig_strlist { id: 0 }), NETRIG_E_NULL_ARG, "'prefix'");
        expect(netrig_store_keys(s, k.as_ptr(), null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_batch_new(null_mut()), NETRIG_E_NULL_ARG, "'out'");
        let str_null = netrig_value { kind: netrig_type::NETRIG_TYPE_STR as u32, ..v };
        expect(netrig_store_cas(s, k.as_ptr(), 0, &str_null, 0, null_mut()), NETRIG_E_NULL_ARG, "'value.str'");

        let mut batch = netrig_batch { id: 0 };
        assert_eq!(netrig_batch_new(&mut batch), NETRIG_OK);
        expect(netrig_batch_set(batch, null(), &v, 0), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_batch_set(batch, k.as_ptr(), null(), 0), NETRIG_E_NULL_ARG, "'value'");
        expect(netrig_batch_delete(batch, null()), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_batch_expect_version(batch, null(), 1), NETRIG_E_NULL_ARG, "'key'");
        expect(netrig_batch_len(batch, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!(netrig_batch_free(batch), NETRIG_OK);

        let mut snap = netrig_snapshot { id: 0 };
        assert_eq!(netrig_store_snapshot(s, c("").as_ptr(), &mut snap), NETRIG_OK);
        expect(netrig_snapshot_len(snap, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_snapshot_get(snap, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_snapshot_json(snap, null_mut(), null_mut()), NETRIG_E_NULL_ARG, "'out_json'");
        assert_eq!(netrig_snapshot_free(snap), NETRIG_OK);

        let mut list = netrig_strlist { id: 0 };
        assert_eq!(netrig_store_keys(s, c("").as_ptr(), &mut list), NETRIG_OK);
        expect(netrig_strlist_len(list, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        expect(netrig_strlist_get(list, 0, null_mut()), NETRIG_E_NULL_ARG, "'out'");
        assert_eq!(netrig_strlist_free(list), NETRIG_OK);
        // Out-parameters are untouched by failures.
        i = 99;
        expect(netrig_store_get_int(s, c("missing").as_ptr(), &mut i, null_mut()), NETRIG_E_NOT_FOUND, "missing");
        assert_eq!(i, 99);
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn freed_double_freed_zero_and_wrong_kind_handles_are_rejected() {
    let s = new_store(None);
    let k = c("k");
    let mut n = 0i64;
    let mut batch = netrig_batch { id: 0 };
    // SAFETY (whole test): all pointers are live locals; handles are plain ids.
    unsafe {
        assert_eq!(netrig_batch_new(&mut batch), NETRIG_OK);
        // A batch handle where a store is expected, and the reverse.
        let as_store = netrig_store { id: batch.id };
        expect(
            netrig_store_set_int(as_store, k.as_ptr(), 1, 0),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_batch, not a netrig_store",
        );
        expect(
            netrig_batch_clear(netrig_batch { id: s.id }),
            NETRIG_E_INVALID_HANDLE,
            "is a netrig_store, not a netrig_batch",
        );
        expect(netrig_snapshot_free(netrig_snapshot { id: s.id }), NETRIG_E_INVALID_HANDLE, "not a netrig_snapshot");
        expect(netrig_store_apply(as_store, batch), NETRIG_E_INVALID_HANDLE, "not a netrig_store");
        // Zero and forged ids.
        expect(
            netrig_store_get_int(netrig_store { id: 0 }, k.as_ptr(), &mut n, null_mut()),
            NETRIG_E_INVALID_HANDLE,
            "NULL",
        );
        expect(
            netrig_store_free(netrig_store { id: 0xffff_ffff_ffff_ffff }),
            NETRIG_E_INVALID_HANDLE,
            "not a netrig handle",
        );
        expect(
            netrig_store_free(netrig_store { id: s.id ^ 0x0000_00ff_0000_0000 }),
            NETRIG_E_INVALID_HANDLE,
            "netrig_store",
        );
        // Freed and double-freed.
        assert_eq!(netrig_store_free(s), NETRIG_OK);
        expect(netrig_store_set_int(s, k.as_ptr(), 1, 0), NETRIG_E_INVALID_HANDLE, "freed");
        expect(netrig_store_free(s), NETRIG_E_INVALID_HANDLE, "freed");
        assert_eq!(netrig_batch_free(batch), NETRIG_OK);
        expect(netrig_batch_free(batch), NETRIG_E_INVALID_HANDLE, "freed");
        // A new store may reuse the slot, but never the id.
        let s2 = new_store(None);
        assert_ne!(s2.id, s.id);
        expect(netrig_store_get_int(s, k.as_ptr(), &mut n, null_mut()), NETRIG_E_INVALID_HANDLE, "freed");
        assert_eq!(netrig_store_free(s2), NETRIG_OK);
    }
}

#[test]
fn invalid_utf8_empty_and_huge_keys() {
    let s = new_store(None);
    let bad = [b'k', 0xff, 0xfe, 0];
    let huge = CString::new(vec![b'a'; 1 << 20]).unwrap();
    let bad_value = netrig_value { kind: 9, b: 0, i: 0, d: 0.0, str: null(), bytes: null(), bytes_len: 0 };
    // SAFETY (whole test): all pointers are live locals.
    unsafe {
        let bad_ptr = bad.as_ptr() as *const c_char;
        expect(
            netrig_store_set_int(s, bad_ptr, 1, 0),
            NETRIG_E_UTF8,
            "'key' is not valid UTF-8 (first bad byte at offset 1)",
        );
        expect(netrig_store_set_str(s, c("k").as_ptr(), bad_ptr, 0), NETRIG_E_UTF8, "'value'");
        expect(netrig_store_set_int(s, c("").as_ptr(), 1, 0), NETRIG_E_INVALID_ARG, "key is empty");
        expect(
            netrig_store_set_int(s, huge.as_ptr(), 1, 0),
            NETRIG_E_INVALID_ARG,
            "key of 1048576 bytes exceeds max_key_len 1024",
        );
        expect(netrig_store_set_int(s, c("k").as_ptr(), 1, -7), NETRIG_E_INVALID_ARG, "ttl_ms is -7");
        expect(
            netrig_store_cas(s, c("k").as_ptr(), 0, &bad_value, 0, null_mut()),
            NETRIG_E_INVALID_ARG,
            "value.kind 9",
        );
        expect(
            netrig_store_set_bytes(s, c("k").as_ptr(), [0u8].as_ptr(), usize::MAX, 0),
            NETRIG_E_INVALID_ARG,
            "larger than any buffer",
        );
        let mut len = 0;
        assert_eq!(netrig_store_len(s, &mut len), NETRIG_OK);
        assert_eq!(len, 0, "nothing was stored by the failed calls");
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn bounds_give_full_and_store_nothing() {
    let opts = netrig_store_options { max_entries: 2, max_bytes: 64, ..options_default(netrig_store_options_default) };
    let s = new_store(Some(opts));
    let big = [7u8; 100];
    // SAFETY (whole test): all pointers are live locals.
    unsafe {
        expect(
            netrig_store_set_bytes(s, c("big").as_ptr(), big.as_ptr(), big.len(), 0),
            NETRIG_E_FULL,
            "can never fit; max_bytes is 64",
        );
        assert_eq!(netrig_store_set_int(s, c("a").as_ptr(), 1, 0), NETRIG_OK);
        assert_eq!(netrig_store_set_int(s, c("b").as_ptr(), 1, 0), NETRIG_OK);
        expect(netrig_store_set_int(s, c("c").as_ptr(), 1, 0), NETRIG_E_FULL, "2 of 2 entries");
        let mut len = 0;
        assert_eq!(netrig_store_len(s, &mut len), NETRIG_OK);
        assert_eq!(len, 2);
        let bad = netrig_store_options { max_entries: 0, ..options_default(netrig_store_options_default) };
        let mut s2 = netrig_store { id: 0 };
        expect(netrig_store_new(&bad, &mut s2), NETRIG_E_INVALID_ARG, "max_entries");
        assert_eq!(s2.id, 0);
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn small_buffers_report_the_needed_size() {
    let s = new_store(None);
    let k = c("k");
    // SAFETY (whole test): all pointers are live locals; buffers are at least the length passed.
    unsafe {
        assert_eq!(netrig_store_set_str(s, k.as_ptr(), c("hello").as_ptr(), 0), NETRIG_OK);
        let mut len = 0usize;
        expect(
            netrig_store_get_str(s, k.as_ptr(), null_mut(), 0, &mut len, null_mut()),
            NETRIG_E_BUFFER_TOO_SMALL,
            "needs 6 bytes; the buffer holds 0",
        );
        assert_eq!(len, 5);
        let mut buf = [b'x'; 5];
        len = 0;
        expect(
            netrig_store_get_str(s, k.as_ptr(), buf.as_mut_ptr().cast(), 5, &mut len, null_mut()),
            NETRIG_E_BUFFER_TOO_SMALL,
            "string value of key 'k'",
        );
        assert_eq!((len, buf), (5, [b'x'; 5]), "a too-small buffer is left untouched");
        expect(netrig_store_get_str(s, k.as_ptr(), null_mut(), 6, &mut len, null_mut()), NETRIG_E_NULL_ARG, "'buf'");
        expect(netrig_store_get_str(s, k.as_ptr(), null_mut(), 3, &mut len, null_mut()), NETRIG_E_NULL_ARG, "'buf'");
        let mut six = [0u8; 6];
        assert_eq!(netrig_store_get_str(s, k.as_ptr(), six.as_mut_ptr().cast(), 6, &mut len, null_mut()), NETRIG_OK);
        assert_eq!(&six, b"hello\0");

        assert_eq!(netrig_store_set_bytes(s, c("b").as_ptr(), [1u8, 2, 3].as_ptr(), 3, 0), NETRIG_OK);
        expect(
            netrig_store_get_bytes(s, c("b").as_ptr(), six.as_mut_ptr(), 2, &mut len, null_mut()),
            NETRIG_E_BUFFER_TOO_SMALL,
            "needs 3 bytes",
        );
        assert_eq!(len, 3);
        // Type mismatch beats buffer size: the caller learns the real problem.
        expect(
            netrig_store_get_bytes(s, k.as_ptr(), six.as_mut_ptr(), 6, &mut len, null_mut()),
            NETRIG_E_TYPE,
            "has type str, not bytes",
        );
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn cas_batch_snapshot_and_keys_through_the_abi() {
    let s = new_store(None);
    let int = |i| netrig_value {
        kind: netrig_type::NETRIG_TYPE_INT as u32,
        b: 0,
        i,
        d: 0.0,
        str: null(),
        bytes: null(),
        bytes_len: 0,
    };
    let text = c("up");
    let strv = netrig_value { kind: netrig_type::NETRIG_TYPE_STR as u32, str: text.as_ptr(), ..int(0) };
    // SAFETY (whole test): all pointers are live locals, handles come from the library.
    unsafe {
        let mut v1 = 0u64;
        assert_eq!(netrig_store_cas(s, c("svc/ssh").as_ptr(), 0, &strv, 0, &mut v1), NETRIG_OK);
        expect(
            netrig_store_cas(s, c("svc/ssh").as_ptr(), 0, &int(1), 0, null_mut()),
            NETRIG_E_CONFLICT,
            &format!("expected version 0, found {v1}"),
        );

        // Any non-zero byte in a bool value is true; no byte a C caller leaves there is invalid.
        let odd_bool = netrig_value { kind: netrig_type::NETRIG_TYPE_BOOL as u32, b: 0xfe, ..int(0) };
        assert_eq!(netrig_store_cas(s, c("flag").as_ptr(), 0, &odd_bool, 0, null_mut()), NETRIG_OK);
        let mut flag = false;
        assert_eq!(netrig_store_get_bool(s, c("flag").as_ptr(), &mut flag, null_mut()), NETRIG_OK);
        assert!(flag);
        assert_eq!(netrig_store_delete(s, c("flag").as_ptr()), NETRIG_OK);

        let mut b = netrig_batch { id: 0 };
        assert_eq!(netrig_batch_new(&mut b), NETRIG_OK);
        assert_eq!(netrig_batch_set(b, c("svc/a").as_ptr(), &int(1), 0), NETRIG_OK);
        assert_eq!(netrig_batch_set(b, c("svc/b").as_ptr(), &int(1), 0), NETRIG_OK);
        assert_eq!(netrig_batch_expect_version(b, c("svc/ssh").as_ptr(), v1 + 1), NETRIG_OK);
        let mut n = 0;
        assert_eq!(netrig_batch_len(b, &mut n), NETRIG_OK);
        assert_eq!(n, 3);
        expect(netrig_store_apply(s, b), NETRIG_E_CONFLICT, "key 'svc/ssh'");
        assert_eq!(netrig_store_len(s, &mut n), NETRIG_OK);
        assert_eq!(n, 1, "a failed batch changes nothing");
        assert_eq!(netrig_batch_clear(b), NETRIG_OK);
        assert_eq!(netrig_batch_set(b, c("svc/a").as_ptr(), &int(1), 0), NETRIG_OK);
        assert_eq!(netrig_batch_set(b, c("svc/b").as_ptr(), &int(2), 0), NETRIG_OK);
        assert_eq!(netrig_batch_delete(b, c("nothing").as_ptr()), NETRIG_OK);
        assert_eq!(netrig_batch_expect_version(b, c("svc/ssh").as_ptr(), v1), NETRIG_OK);
        assert_eq!(netrig_store_apply(s, b), NETRIG_OK);
        assert_eq!(netrig_batch_free(b), NETRIG_OK);

        let mut snap = netrig_snapshot { id: 0 };
        assert_eq!(netrig_store_snapshot(s, c("svc/").as_ptr(), &mut snap), NETRIG_OK);
        assert_eq!(netrig_snapshot_len(snap, &mut n), NETRIG_OK);
        assert_eq!(n, 3);
        let mut e = std::mem::zeroed::<netrig_entry>();
        assert_eq!(netrig_snapshot_get(snap, 2, &mut e), NETRIG_OK);
        assert_eq!(CStr::from_ptr(e.key).to_str().unwrap(), "svc/ssh");
        assert_eq!(e.value.kind, netrig_type::NETRIG_TYPE_STR as u32);
        assert_eq!(CStr::from_ptr(e.value.str).to_str().unwrap(), "up");
        assert_eq!((e.version, e.ttl_remaining_ms), (v1, -1));
        expect(
            netrig_snapshot_get(snap, 3, &mut e),
            NETRIG_E_NOT_FOUND,
            "snapshot has 3 entries; index 3 is past the end",
        );
        let (mut json, mut len) = (null(), 0usize);
        assert_eq!(netrig_snapshot_json(snap, &mut json, &mut len), NETRIG_OK);
        let json = CStr::from_ptr(json).to_str().unwrap();
        assert_eq!(json.len(), len);
        assert!(json.starts_with("{\"svc/a\":{\"type\":\"int\",\"value\":1,"), "{json}");
        assert_eq!(netrig_snapshot_free(snap), NETRIG_OK);
        expect(netrig_snapshot_len(snap, &mut n), NETRIG_E_INVALID_HANDLE, "freed");

        let mut list = netrig_strlist { id: 0 };
        assert_eq!(netrig_store_keys(s, c("svc/").as_ptr(), &mut list), NETRIG_OK);
        assert_eq!(netrig_strlist_len(list, &mut n), NETRIG_OK);
        let mut keys = vec![];
        for i in 0..n {
            let mut p = null();
            assert_eq!(netrig_strlist_get(list, i, &mut p), NETRIG_OK);
            keys.push(CStr::from_ptr(p).to_str().unwrap().to_owned());
        }
        assert_eq!(keys, ["svc/a", "svc/b", "svc/ssh"]);
        let mut p = null();
        expect(netrig_strlist_get(list, 3, &mut p), NETRIG_E_NOT_FOUND, "list has 3 entries; index 3");
        assert_eq!(netrig_strlist_free(list), NETRIG_OK);
        expect(netrig_strlist_free(list), NETRIG_E_INVALID_HANDLE, "freed");
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn a_panic_becomes_a_status_and_the_process_lives_on() {
    // SAFETY: valid NUL-terminated message, and NULL (allowed).
    unsafe {
        expect(netrig_debug_panic(c("boom at step 3").as_ptr()), NETRIG_E_PANIC, "boom at step 3");
        expect(netrig_debug_panic(null()), NETRIG_E_PANIC, "internal panic");
    }
    // The library still works after a caught panic.
    let s = new_store(None);
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[test]
fn last_error_stays_on_its_own_thread() {
    let s = new_store(None);
    // SAFETY: valid pointers.
    unsafe { expect(netrig_store_delete(s, c("main-key").as_ptr()), NETRIG_E_NOT_FOUND, "main-key") };
    let id = s.id;
    std::thread::spawn(move || {
        assert_eq!(last_error(), "");
        // SAFETY: valid pointers.
        unsafe {
            expect(netrig_store_delete(netrig_store { id }, c("thread-key").as_ptr()), NETRIG_E_NOT_FOUND, "thread-key")
        };
    })
    .join()
    .unwrap();
    assert!(last_error().contains("main-key"));
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

/// One thread frees a store while others hammer it: every call either succeeds or gets
/// NETRIG_E_INVALID_HANDLE, never a crash or a use-after-free (ASan run in `make asan` too).
#[test]
fn free_while_other_threads_use_the_store() {
    for _ in 0..20 {
        let s = new_store(None);
        let users: Vec<_> = (0..3)
            .map(|t| {
                std::thread::spawn(move || {
                    let key = c(&format!("t{t}"));
                    let mut saw_invalid = false;
                    for i in 0..20_000 {
                        // SAFETY: valid key pointer.
                        match unsafe { netrig_store_set_int(s, key.as_ptr(), i, 0) } {
                            NETRIG_OK => assert!(!saw_invalid, "a freed handle came back to life"),
                            NETRIG_E_INVALID_HANDLE => saw_invalid = true,
                            other => panic!("unexpected {other:?}: {}", last_error()),
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_micros(300));
        assert_eq!(netrig_store_free(s), NETRIG_OK);
        for u in users {
            u.join().unwrap();
        }
    }
}

// ---- change events, test and service state, durable stores ----

fn subscribe(s: netrig_store, prefix: &str, capacity: u32) -> netrig_subscription {
    let mut sub = netrig_subscription { id: 0 };
    // SAFETY: live strings and out pointer; NULL skips the snapshot.
    let st = unsafe { netrig_store_subscribe(s, c(prefix).as_ptr(), capacity, &mut sub, null_mut()) };
    assert_eq!(st, NETRIG_OK, "{}", last_error());
    sub
}

fn set_int(s: netrig_store, key: &str, v: i64) {
    // SAFETY: live key, NULL version out.
    assert_eq!(unsafe { netrig_store_set_int(s, c(key).as_ptr(), v, NETRIG_TTL_NEVER) }, NETRIG_OK);
}

/// Polls one change and returns (kind, key, int value or -1, version).
fn poll(sub: netrig_subscription, timeout_ms: u32) -> Result<(u32, String, i64, u64), netrig_status> {
    let mut ch = netrig_change { id: 0 };
    // SAFETY: live out pointer.
    let st = unsafe { netrig_subscription_poll(sub, timeout_ms, &mut ch) };
    if st != NETRIG_OK {
        assert_eq!(ch.id, 0, "out written on failure");
        return Err(st);
    }
    let mut v = std::mem::MaybeUninit::<netrig_change_view>::uninit();
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_change_get(ch, v.as_mut_ptr()) }, NETRIG_OK);
    // SAFETY: written on NETRIG_OK.
    let v = unsafe { v.assume_init() };
    // SAFETY: the key points into the change until it is freed.
    let key = unsafe { CStr::from_ptr(v.key) }.to_str().unwrap().to_owned();
    let int = if v.value.kind == netrig_type::NETRIG_TYPE_INT as u32 { v.value.i } else { -1 };
    let out = (v.kind, key, int, v.version);
    assert_eq!(netrig_change_free(ch), NETRIG_OK);
    assert_eq!(netrig_change_free(ch), NETRIG_E_INVALID_HANDLE, "double free");
    Ok(out)
}

#[test]
fn subscriptions_poll_changes_lag_and_close() {
    let s = new_store(None);
    let sub = subscribe(s, "dut/", 3);
    set_int(s, "dut/a", 1);
    set_int(s, "other", 9);
    // SAFETY: live key.
    assert_eq!(unsafe { netrig_store_delete(s, c("dut/a").as_ptr()) }, NETRIG_OK);
    let (kind, key, v, ver) = poll(sub, 1000).unwrap();
    assert_eq!((kind, key.as_str(), v), (NETRIG_CHANGE_SET, "dut/a", 1));
    let (kind, _, v, ver2) = poll(sub, 1000).unwrap();
    assert_eq!((kind, v, ver2), (NETRIG_CHANGE_DELETE, 1, ver));
    assert_eq!(poll(sub, 0), Err(NETRIG_E_TIMEOUT));
    let t = std::time::Instant::now();
    assert_eq!(poll(sub, 100), Err(NETRIG_E_TIMEOUT));
    assert!(t.elapsed() >= std::time::Duration::from_millis(100));

    for i in 0..10 {
        set_int(s, "dut/n", i);
    }
    for i in 0..3 {
        assert_eq!(poll(sub, 1000).unwrap().2, i);
    }
    assert_eq!(poll(sub, 1000), Err(NETRIG_E_LAGGED));
    assert!(last_error().contains("7 events dropped"), "{}", last_error());
    set_int(s, "dut/n", 100);
    assert_eq!(poll(sub, 1000).unwrap().2, 100);
    let mut stats = netrig_subscription_stats::default();
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_subscription_get_stats(sub, &mut stats) }, NETRIG_OK);
    assert_eq!((stats.delivered, stats.dropped, stats.queued), (6, 7, 0));

    // Freeing the subscription wakes a poll blocked in another thread.
    let poller = std::thread::spawn(move || poll(sub, NETRIG_WAIT_FOREVER));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
    let r = poller.join().unwrap();
    assert!(r == Err(NETRIG_E_CLOSED) || r == Err(NETRIG_E_INVALID_HANDLE), "{r:?}");
    assert_eq!(netrig_subscription_free(sub), NETRIG_E_INVALID_HANDLE);

    // A subscription outlives its store: what is queued, then CLOSED.
    let sub = subscribe(s, "", 0);
    set_int(s, "k", 5);
    assert_eq!(netrig_store_free(s), NETRIG_OK);
    assert_eq!(poll(sub, 1000).unwrap().2, 5);
    assert_eq!(poll(sub, 1000), Err(NETRIG_E_CLOSED));
    assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
}

#[test]
fn subscribe_with_snapshot_and_bad_arguments() {
    let s = new_store(None);
    set_int(s, "a/1", 1);
    let (mut sub, mut snap) = (netrig_subscription { id: 0 }, netrig_snapshot { id: 0 });
    // SAFETY: live strings and out pointers.
    assert_eq!(unsafe { netrig_store_subscribe(s, c("a/").as_ptr(), 0, &mut sub, &mut snap) }, NETRIG_OK);
    let mut n = 0;
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_snapshot_len(snap, &mut n) }, NETRIG_OK);
    assert_eq!(n, 1);
    assert_eq!(netrig_snapshot_free(snap), NETRIG_OK);

    let mut out = netrig_subscription { id: 0 };
    // SAFETY: each call passes one bad argument and otherwise live pointers.
    unsafe {
        expect(netrig_store_subscribe(s, null(), 0, &mut out, null_mut()), NETRIG_E_NULL_ARG, "prefix");
        expect(netrig_store_subscribe(s, c("x").as_ptr(), 0, null_mut(), null_mut()), NETRIG_E_NULL_ARG, "out");
        expect(netrig_store_subscribe(s, c"\xff".as_ptr(), 0, &mut out, null_mut()), NETRIG_E_UTF8, "prefix");
        expect(
            netrig_store_subscribe(netrig_store { id: 0 }, c("").as_ptr(), 0, &mut out, null_mut()),
            NETRIG_E_INVALID_HANDLE,
            "netrig_store",
        );
        expect(
            netrig_store_subscribe(s, c("").as_ptr(), u32::MAX, &mut out, null_mut()),
            NETRIG_E_INVALID_ARG,
            "capacity",
        );
        expect(
            netrig_store_subscribe_callback(s, c("").as_ptr(), 0, None, null_mut(), &mut out, null_mut()),
            NETRIG_E_NULL_ARG,
            "callback",
        );
        let mut ch = netrig_change { id: 0 };
        expect(
            netrig_subscription_poll(netrig_subscription { id: 0 }, 0, &mut ch),
            NETRIG_E_INVALID_HANDLE,
            "netrig_subscription",
        );
        expect(
            netrig_subscription_poll(netrig_subscription { id: s.id }, 0, &mut ch),
            NETRIG_E_INVALID_HANDLE,
            "netrig_store",
        );
        expect(netrig_subscription_poll(sub, 0, null_mut()), NETRIG_E_NULL_ARG, "out");
        let mut v = std::mem::MaybeUninit::<netrig_change_view>::uninit();
        expect(
            netrig_change_get(netrig_change { id: sub.id }, v.as_mut_ptr()),
            NETRIG_E_INVALID_HANDLE,
            "netrig_subscription",
        );
        expect(netrig_subscription_get_stats(sub, null_mut()), NETRIG_E_NULL_ARG, "out");
    }
    assert_eq!(out.id, 0, "out written on failure");
    assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

struct Seen {
    changes: std::sync::Mutex<Vec<(u32, String, u64, String)>>,
}

unsafe extern "C" fn on_change(v: *const netrig_change_view, user_data: *mut std::ffi::c_void) {
    // SAFETY: user_data is the &Seen the test passed and keeps alive until the free returns;
    // `v` is valid for this call.
    let (seen, v) = unsafe { (&*(user_data as *const Seen), &*v) };
    // SAFETY: the key is valid for this call.
    let key = unsafe { CStr::from_ptr(v.key) }.to_string_lossy().into_owned();
    let thread = std::thread::current().name().unwrap_or("").to_owned();
    seen.changes.lock().unwrap().push((v.kind, key, v.missed, thread));
}

#[test]
fn callback_runs_on_the_dispatcher_thread_with_user_data() {
    let s = new_store(None);
    let seen = Box::new(Seen { changes: Default::default() });
    let mut sub = netrig_subscription { id: 0 };
    // SAFETY: live strings, callback and out pointer; `seen` outlives the subscription.
    let st = unsafe {
        netrig_store_subscribe_callback(
            s,
            c("").as_ptr(),
            4,
            Some(on_change),
            &*seen as *const Seen as *mut _,
            &mut sub,
            null_mut(),
        )
    };
    assert_eq!(st, NETRIG_OK, "{}", last_error());
    for i in 0..3 {
        set_int(s, &format!("k{i}"), i);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seen.changes.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(netrig_subscription_free(sub), NETRIG_OK);
    // After free returned, the callback never runs again, so `seen` may go.
    let got = std::mem::take(&mut *seen.changes.lock().unwrap());
    drop(seen);
    set_int(s, "late", 1);
    assert_eq!(got.len(), 3);
    for (i, (kind, key, missed, thread)) in got.iter().enumerate() {
        assert_eq!((*kind, key.as_str(), *missed), (NETRIG_CHANGE_SET, format!("k{i}").as_str(), 0));
        assert_eq!(thread, "netrig-events");
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

fn json(f: impl Fn(*mut c_char, usize, *mut usize) -> netrig_status) -> serde_json::Value {
    let mut len = 0;
    assert_eq!(f(null_mut(), 0, &mut len), NETRIG_E_BUFFER_TOO_SMALL);
    let mut buf = vec![0u8; len + 1];
    assert_eq!(f(buf.as_mut_ptr().cast(), buf.len(), &mut len), NETRIG_OK, "{}", last_error());
    serde_json::from_slice(&buf[..len]).unwrap()
}

#[test]
fn test_and_service_state_through_the_abi() {
    let s = new_store(None);
    let (names, values) = ([c("owner")], [c("lab3")]);
    let name_ptrs = [names[0].as_ptr()];
    let value_ptrs = [values[0].as_ptr()];
    let mut info = netrig_test_info::default();
    let start = |pid: i64, info: &mut netrig_test_info| {
        // SAFETY: live strings and arrays of `1` pointers.
        unsafe {
            netrig_test_start(
                s,
                c("run.sh").as_ptr(),
                pid,
                c("sai").as_ptr(),
                c("2x100G").as_ptr(),
                name_ptrs.as_ptr(),
                value_ptrs.as_ptr(),
                1,
                info,
            )
        }
    };
    assert_eq!(start(77, &mut info), NETRIG_OK, "{}", last_error());
    assert_eq!((info.running, info.pid, info.run, info.stopped_ms), (1, 77, 1, -1));
    expect(start(78, &mut info), NETRIG_E_BUSY, "'run.sh' pid 77");
    let upd = netrig_test_fields {
        script: null(),
        bin: c("sai2").into_raw(),
        topology: null(),
        set_pid: 1,
        pid: 99,
        field_names: name_ptrs.as_ptr(),
        field_values: [null::<c_char>()].as_ptr(),
        field_count: 1,
    };
    // SAFETY: live struct; its arrays hold one pointer each.
    assert_eq!(unsafe { netrig_test_update(s, &upd, &mut info) }, NETRIG_OK, "{}", last_error());
    // SAFETY: reclaims the string made with into_raw above.
    drop(unsafe { CString::from_raw(upd.bin as *mut c_char) });
    // SAFETY: live buffers.
    let state = json(|b, n, l| unsafe { netrig_test_json(s, b, n, l) });
    assert_eq!(state["bin"], "sai2");
    assert_eq!(state["pid"], 99);
    assert_eq!(state["script"], "run.sh");
    assert_eq!(state["fields"], serde_json::json!({}));
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_test_stop(s, &mut info) }, NETRIG_OK);
    assert_eq!(info.running, 0);
    // SAFETY: NULL out is allowed.
    expect(unsafe { netrig_test_stop(s, null_mut()) }, NETRIG_E_NOT_FOUND, "no test is running");
    // SAFETY: live out pointer.
    assert_eq!(unsafe { netrig_test_get_info(s, &mut info) }, NETRIG_OK);
    assert!(info.stopped_ms > 0 && info.version > 0);

    // SAFETY: live strings.
    unsafe {
        assert_eq!(netrig_service_set(s, c("qsfp").as_ptr(), 1, c("pid 5").as_ptr()), NETRIG_OK);
        expect(netrig_service_set(s, c("a/b").as_ptr(), 1, c("").as_ptr()), NETRIG_E_INVALID_ARG, "'a/b'");
        expect(netrig_service_set(s, c("x").as_ptr(), 1, null()), NETRIG_E_NULL_ARG, "detail");
    }
    let mut si = netrig_service_info::default();
    let (mut buf, mut len) = ([0u8; 4], 0usize);
    // SAFETY: live buffers; cap is the buffer's size.
    unsafe {
        expect(
            netrig_service_get(s, c("qsfp").as_ptr(), &mut si, buf.as_mut_ptr().cast(), buf.len(), &mut len),
            NETRIG_E_BUFFER_TOO_SMALL,
            "detail of service 'qsfp'",
        );
        assert_eq!((len, si.version), (5, 0), "only the length is written when the buffer is too small");
        let mut big = [0u8; 16];
        assert_eq!(
            netrig_service_get(s, c("qsfp").as_ptr(), &mut si, big.as_mut_ptr().cast(), 16, &mut len),
            NETRIG_OK
        );
        assert_eq!((&big[..len], si.running), (&b"pid 5"[..], 1));
        expect(
            netrig_service_get(s, c("nope").as_ptr(), &mut si, null_mut(), 0, null_mut()),
            NETRIG_E_NOT_FOUND,
            "'nope'",
        );
    }
    // SAFETY: live buffers.
    let all = json(|b, n, l| unsafe { netrig_services_json(s, b, n, l) });
    assert_eq!(all["qsfp"]["detail"], "pid 5");
    // SAFETY: live strings.
    unsafe {
        assert_eq!(netrig_service_remove(s, c("qsfp").as_ptr()), NETRIG_OK);
        expect(netrig_service_remove(s, c("qsfp").as_ptr()), NETRIG_E_NOT_FOUND, "never set");
        expect(netrig_test_update(s, null(), null_mut()), NETRIG_E_NULL_ARG, "update");
        expect(netrig_test_get_info(netrig_store { id: 1 }, &mut info), NETRIG_E_INVALID_HANDLE, "netrig_store");
    }
    assert_eq!(netrig_store_free(s), NETRIG_OK);
}

#[cfg(feature = "durable")]
#[test]
fn durable_store_through_the_abi() {
    let dir = std::env::temp_dir().join(format!("netrig-cabi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = c(dir.join("s.db").to_str().unwrap());
    let open = |d: u32| {
        let mut s = netrig_store { id: 0 };
        // SAFETY: live path and out pointer; NULL options.
        let st = unsafe { netrig_store_open(path.as_ptr(), null(), d, &mut s) };
        (st, s)
    };
    let (st, s) = open(NETRIG_DURABLE_PROCESS_CRASH);
    assert_eq!(st, NETRIG_OK, "{}", last_error());
    set_int(s, "k", 41);
    assert_eq!(netrig_store_free(s), NETRIG_OK);
    let (st, s) = open(NETRIG_DURABLE_POWER_LOSS);
    assert_eq!(st, NETRIG_OK);
    let mut v = 0;
    // SAFETY: live key and out pointer.
    assert_eq!(unsafe { netrig_store_get_int(s, c("k").as_ptr(), &mut v, null_mut()) }, NETRIG_OK);
    assert_eq!(v, 41);
    assert_eq!(netrig_store_free(s), NETRIG_OK);
    let (st, s) = open(7);
    assert_eq!((st, s.id), (NETRIG_E_INVALID_ARG, 0));
    assert!(last_error().contains("durability 7"));
    let mut out = netrig_store { id: 0 };
    // SAFETY: one bad argument per call.
    unsafe {
        expect(netrig_store_open(null(), null(), 0, &mut out), NETRIG_E_NULL_ARG, "path");
        expect(
            netrig_store_open(c("/no/such/dir/x.db").as_ptr(), null(), 0, &mut out),
            NETRIG_E_IO,
            "/no/such/dir/x.db",
        );
        expect(netrig_store_open(c"\xff".as_ptr(), null(), 0, &mut out), NETRIG_E_UTF8, "path");
    }
}
