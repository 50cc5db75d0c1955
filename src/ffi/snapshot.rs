//! `netrig_snapshot_*` and `netrig_strlist_*`: library-owned results that can be large.
//!
//! Both are immutable once made: every accessor may be called from any thread at once, never
//! blocks, and returns pointers into the object that stay valid until its `_free`.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use super::args::{str_arg, Out};
use super::guard::call;
use super::handle::CHandle;
use super::netrig_value;
use super::store::netrig_store;
use crate::error::{netrig_status, Error, Result};
use crate::store::{Snapshot, Value};

/// A consistent copy of a store's keys, values and versions. Free with `netrig_snapshot_free`.
/// The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_snapshot {
    pub id: u64,
}

/// A list of strings (keys). Free with `netrig_strlist_free`.
/// The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_strlist {
    pub id: u64,
}

/// One entry of a snapshot. Every pointer in it points into the snapshot.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_entry {
    /// The key, NUL-terminated.
    pub key: *const c_char,
    pub value: netrig_value,
    pub version: u64,
    /// Milliseconds left before the key expires (as of the snapshot), or -1 if it never does.
    pub ttl_remaining_ms: i64,
}

/// A snapshot plus the C forms of its strings, made once so accessors only hand out pointers.
pub(crate) struct CSnapshot {
    snapshot: Snapshot,
    keys: Vec<CString>,
    strs: Vec<Option<CString>>,
    json: OnceLock<CString>,
}

fn c_string(s: &str) -> CString {
    // Keys and string values are checked for NUL when written, so this cannot fail.
    CString::new(s).expect("store strings never contain NUL")
}

/// Takes a consistent snapshot of the live keys starting with `prefix` ("" for all), sorted by
/// key. `*out` receives a handle the caller frees with `netrig_snapshot_free`.
///
/// Ownership: `prefix` is borrowed. Blocking: read-locks all shards of the store at once, then
/// copies and releases them one by one (writers wait at most for that copy, which takes a
/// pointer copy per value, never a payload copy). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_snapshot(
    store: netrig_store,
    prefix: *const c_char,
    out: *mut netrig_snapshot,
) -> netrig_status {
    call("netrig_store_snapshot", || {
        let out = Out::new(out, "out")?;
        let prefix = str_arg(prefix, "prefix")?;
        let snapshot = store.with(|s| s.snapshot(prefix))?;
        out.set(snapshot_handle(snapshot)?);
        Ok(())
    })
}

/// Registers a snapshot as a handle the caller frees with `netrig_snapshot_free`.
pub(super) fn snapshot_handle(snapshot: Snapshot) -> Result<netrig_snapshot> {
    let keys = snapshot.entries().iter().map(|e| c_string(&e.key)).collect();
    let strs = snapshot
        .entries()
        .iter()
        .map(|e| match &e.value {
            Value::Str(s) => Some(c_string(s)),
            _ => None,
        })
        .collect();
    netrig_snapshot::insert(CSnapshot { snapshot, keys, strs, json: OnceLock::new() })
}

/// The live keys starting with `prefix` ("" for all), sorted, taken at one instant. `*out`
/// receives a list the caller frees with `netrig_strlist_free`.
///
/// Ownership: `prefix` is borrowed. Blocking: as `netrig_store_snapshot`. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_keys(
    store: netrig_store,
    prefix: *const c_char,
    out: *mut netrig_strlist,
) -> netrig_status {
    call("netrig_store_keys", || {
        let out = Out::new(out, "out")?;
        let prefix = str_arg(prefix, "prefix")?;
        let keys = store.with(|s| s.keys(prefix))?;
        out.set(netrig_strlist::insert(keys.iter().map(|k| c_string(k)).collect())?);
        Ok(())
    })
}

/// The number of entries in the snapshot.
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Blocking: never (the object is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub unsafe extern "C" fn netrig_snapshot_len(snapshot: netrig_snapshot, out: *mut usize) -> netrig_status {
    call("netrig_snapshot_len", || {
        let out = Out::new(out, "out")?;
        out.set(snapshot.with(|s| s.snapshot.len())?);
        Ok(())
    })
}

/// Entry `index` (0-based, in key order). Returns NETRIG_E_NOT_FOUND past the end.
///
/// Ownership: the pointers written into `*out` belong to the snapshot and stay valid until
/// `netrig_snapshot_free`.
///
/// Blocking: never (the object is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub unsafe extern "C" fn netrig_snapshot_get(
    snapshot: netrig_snapshot,
    index: usize,
    out: *mut netrig_entry,
) -> netrig_status {
    call("netrig_snapshot_get", || {
        let out = Out::new(out, "out")?;
        let entry = snapshot.try_with(|s| {
            let e = s.snapshot.entries().get(index).ok_or(Error::IndexOutOfRange {
                what: "snapshot",
                index,
                len: s.snapshot.len(),
            })?;
            let mut value = netrig_value::scalar(&e.value);
            match &e.value {
                Value::Str(_) => value.str = s.strs[index].as_ref().expect("made for every str").as_ptr(),
                Value::Bytes(b) => {
                    value.bytes = b.as_ptr();
                    value.bytes_len = b.len();
                }
                Value::Bool(_) | Value::Int(_) | Value::Double(_) => {}
            }
            Ok(netrig_entry {
                key: s.keys[index].as_ptr(),
                value,
                version: e.version,
                ttl_remaining_ms: e.ttl_remaining.map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64),
            })
        })?;
        out.set(entry);
        Ok(())
    })
}

/// The snapshot as a JSON object keyed by store key, in key order:
/// `{"key": {"type": "int", "value": 3, "version": 7, "ttl_ms": null}, ...}`. `ttl_ms` is the
/// whole milliseconds left, null for a key that never expires. Bytes values are lowercase hex.
/// JSON has no NaN or infinity, so those doubles are the strings "NaN", "inf" and "-inf" (the
/// type still says "double"); every other double is a number that reads back to the same
/// value. Keys and strings keep every character (JSON escapes quotes, backslashes and control
/// characters). `*out_json` receives a NUL-terminated string and `*out_len` (may be NULL) its
/// length.
///
/// Ownership: the string belongs to the snapshot (made on first call, then reused) and stays
/// valid until `netrig_snapshot_free`.
///
/// Blocking: never (the object is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub unsafe extern "C" fn netrig_snapshot_json(
    snapshot: netrig_snapshot,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> netrig_status {
    call("netrig_snapshot_json", || {
        let out_json = Out::new(out_json, "out_json")?;
        let (ptr, len) = snapshot.with(|s| {
            let json = s.json.get_or_init(|| c_string(&s.snapshot.to_json()));
            (json.as_ptr(), json.as_bytes().len())
        })?;
        out_json.set(ptr);
        Out::optional(out_len).set(len);
        Ok(())
    })
}

/// Frees a snapshot and every pointer it handed out. A second free returns
/// NETRIG_E_INVALID_HANDLE.
///
/// Ownership: consumes the handle.
///
/// Blocking: until calls already running on this snapshot in other threads return.
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub extern "C" fn netrig_snapshot_free(snapshot: netrig_snapshot) -> netrig_status {
    call("netrig_snapshot_free", || snapshot.remove())
}

/// The number of strings in the list.
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Blocking: never (the object is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub unsafe extern "C" fn netrig_strlist_len(list: netrig_strlist, out: *mut usize) -> netrig_status {
    call("netrig_strlist_len", || {
        let out = Out::new(out, "out")?;
        out.set(list.with(|l| l.len())?);
        Ok(())
    })
}

/// String `index` (0-based). Returns NETRIG_E_NOT_FOUND past the end.
///
/// Ownership: `*out` points into the list and stays valid until `netrig_strlist_free`.
///
/// Blocking: never (the object is immutable).
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub unsafe extern "C" fn netrig_strlist_get(
    list: netrig_strlist,
    index: usize,
    out: *mut *const c_char,
) -> netrig_status {
    call("netrig_strlist_get", || {
        let out = Out::new(out, "out")?;
        let ptr = list.try_with(|l| {
            l.get(index).map(|s| s.as_ptr()).ok_or(Error::IndexOutOfRange { what: "list", index, len: l.len() })
        })?;
        out.set(ptr);
        Ok(())
    })
}

/// Frees a list and every string it handed out. A second free returns NETRIG_E_INVALID_HANDLE.
///
/// Ownership: consumes the handle.
///
/// Blocking: until calls already running on this list in other threads return.
/// Thread-safety: any thread, concurrently with any other call on the same object.
#[no_mangle]
pub extern "C" fn netrig_strlist_free(list: netrig_strlist) -> netrig_status {
    call("netrig_strlist_free", || list.remove())
}
