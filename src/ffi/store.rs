//! `netrig_store_*`: the status store through the C ABI.
//!
//! Blocking, for every function here unless its doc says otherwise: it never does I/O and
//! waits only for other threads' operations on the same shard of the same store (a few
//! microseconds). Thread-safety: any thread, any number of threads on one store at once.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use super::args::{bytes_arg, ref_arg, str_arg, write_buf, Out};
use super::args::{options_default, options_or_default, GrowableOptions};
use super::guard::call;
use super::handle::CHandle;
use super::{netrig_type, netrig_value};
use crate::error::{netrig_status, Error, Result};
use crate::store::{Store, StoreOptions, Ttl, Value};

/// A status store. Create with `netrig_store_new`, free with `netrig_store_free`.
/// The zero value `{0}` is never a valid handle.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct netrig_store {
    pub id: u64,
}

/// Limits and defaults of a new store. Start from `netrig_store_options_default(&o, sizeof o)`
/// and change what you need, so fields added later keep their defaults.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_store_options {
    /// `sizeof` this struct in the caller's netrig.h, set by `netrig_store_options_default(&o,
    /// sizeof o)`. The library reads only that many bytes, so the fields a newer header added
    /// take their defaults for a program built against an older one (OPTIONS in the preamble).
    pub struct_size: usize,
    /// Most keys held at once (default 1,000,000). A set past it returns NETRIG_E_FULL.
    pub max_entries: u64,
    /// Most bytes of keys plus values held at once; scalars weigh 8 (default 256 MiB).
    pub max_bytes: u64,
    /// TTL in ms for writes that pass `NETRIG_TTL_DEFAULT`; 0 = such keys never expire (default).
    pub default_ttl_ms: i64,
    /// Longest key in bytes (default 1024).
    pub max_key_len: u32,
}

/// `ttl_ms` value: use the store's default TTL.
pub const NETRIG_TTL_DEFAULT: i64 = -1;
/// `ttl_ms` value: never expire, whatever the store's default.
pub const NETRIG_TTL_NEVER: i64 = 0;

impl From<&StoreOptions> for netrig_store_options {
    fn from(o: &StoreOptions) -> Self {
        netrig_store_options {
            struct_size: std::mem::size_of::<netrig_store_options>(),
            max_entries: o.max_entries as u64,
            max_bytes: o.max_bytes as u64,
            default_ttl_ms: o.default_ttl.map_or(0, |d| d.as_millis() as i64),
            max_key_len: o.max_key_len as u32,
        }
    }
}

impl netrig_store_options {
    fn to_options(self) -> Result<StoreOptions> {
        let size = |v: u64, what: &str| {
            usize::try_from(v).map_err(|_| Error::InvalidArg(format!("{what} {v} does not fit this platform")))
        };
        let default_ttl = match self.default_ttl_ms {
            0 => None,
            ms if ms > 0 => Some(Duration::from_millis(ms as u64)),
            ms => {
                return Err(Error::InvalidArg(format!("default_ttl_ms is {ms}; use 0 for never or a positive number")))
            }
        };
        Ok(StoreOptions {
            max_entries: size(self.max_entries, "max_entries")?,
            max_bytes: size(self.max_bytes, "max_bytes")?,
            default_ttl,
            max_key_len: self.max_key_len as usize,
        })
    }
}

/// Fills `*out` with the default store options: max_entries 1000000, max_bytes 256 MiB,
/// default_ttl_ms 0 (never expire), max_key_len 1024. `struct_size` is `sizeof *out` (see
/// OPTIONS in the preamble); NETRIG_E_INVALID_ARG when it is smaller than a size_t or larger
/// than this library's struct.
///
/// Ownership: `*out` is the caller's, written on success. Blocking: never.
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_options_default(
    out: *mut netrig_store_options,
    struct_size: usize,
) -> netrig_status {
    call("netrig_store_options_default", || options_default(out, struct_size))
}

// SAFETY: #[repr(C)], `struct_size: usize` first, and every other field an integer.
unsafe impl GrowableOptions for netrig_store_options {
    const NAME: &'static str = "netrig_store_options";
    fn defaults() -> Self {
        (&StoreOptions::default()).into()
    }
}

/// Creates an empty in-memory store.
///
/// Ownership: `options` may be NULL for the defaults; it is borrowed for the call. On success
/// `*out` receives the handle, which the caller frees with `netrig_store_free`.
/// Returns NETRIG_E_INVALID_ARG for a zero bound or a negative default TTL.
/// Blocking: never. Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_new(
    options: *const netrig_store_options,
    out: *mut netrig_store,
) -> netrig_status {
    call("netrig_store_new", || {
        let out = Out::new(out, "out")?;
        let opts = options_or_default(options, "options")?.to_options()?;
        out.set(netrig_store::insert(Arc::new(Store::new(opts)?))?);
        Ok(())
    })
}

/// `durability` of `netrig_store_open` and `netrig_queue_open`: an acknowledged write survives
/// a crash or `kill -9` of the process (SQLite WAL, no fsync per write).
pub const NETRIG_DURABLE_PROCESS_CRASH: u32 = 0;
/// `durability`: also survives an operating-system crash or power loss (an fsync per commit).
pub const NETRIG_DURABLE_POWER_LOSS: u32 = 1;

#[cfg(feature = "durable")]
pub(crate) fn durability_arg(d: u32) -> Result<crate::journal::Durability> {
    use crate::journal::Durability;
    match d {
        NETRIG_DURABLE_PROCESS_CRASH => Ok(Durability::ProcessCrash),
        NETRIG_DURABLE_POWER_LOSS => Ok(Durability::PowerLoss),
        d => Err(Error::InvalidArg(format!(
            "durability {d} is neither NETRIG_DURABLE_PROCESS_CRASH (0) nor NETRIG_DURABLE_POWER_LOSS (1)"
        ))),
    }
}

/// Opens (or creates) a store kept in the SQLite file at `path`. Every write that returns
/// NETRIG_OK is in the file before it returns and survives what `durability` says
/// (NETRIG_DURABLE_PROCESS_CRASH or NETRIG_DURABLE_POWER_LOSS); reads are served from memory.
/// Keys whose TTL ran out while the store was closed are not loaded; versions continue above
/// the highest in the file. NETRIG_E_IO (naming the file) when it cannot be opened or read.
/// Open one store per file at a time.
///
/// Ownership: `path` and `options` (NULL for the defaults) are borrowed. The caller frees `*out`
/// with `netrig_store_free`, which commits anything pending and closes the file.
/// Blocking: reads the whole file (once). Writes on a durable store block until their commit:
/// tens of microseconds, an fsync with NETRIG_DURABLE_POWER_LOSS.
/// Thread-safety: any thread.
#[cfg(feature = "durable")]
#[no_mangle]
pub unsafe extern "C" fn netrig_store_open(
    path: *const c_char,
    options: *const netrig_store_options,
    durability: u32,
    out: *mut netrig_store,
) -> netrig_status {
    call("netrig_store_open", || {
        let out = Out::new(out, "out")?;
        let path = str_arg(path, "path")?;
        let opts = options_or_default(options, "options")?.to_options()?;
        let store = Store::open(path, opts, durability_arg(durability)?)?;
        out.set(netrig_store::insert(Arc::new(store))?);
        Ok(())
    })
}

/// Frees a store and everything in it. Calls already running on the store in other threads
/// finish first (this call waits for them); calls made after it returns get
/// NETRIG_E_INVALID_HANDLE, and so does a second free.
///
/// Ownership: consumes the handle. Blocking: until in-flight calls on this store return.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn netrig_store_free(store: netrig_store) -> netrig_status {
    call("netrig_store_free", || store.remove())
}

fn set(store: netrig_store, key: *const c_char, ttl_ms: i64, value: impl FnOnce() -> Result<Value>) -> Result<()> {
    let key = str_arg(key, "key")?;
    let ttl = Ttl::from_millis(ttl_ms)?;
    let value = value()?;
    store.try_with(|s| s.set(key, value, ttl)).map(drop)
}

/// Sets `key` to a bool. `ttl_ms`: NETRIG_TTL_DEFAULT (-1), NETRIG_TTL_NEVER (0) or ms > 0.
///
/// Ownership: `key` is borrowed for the call. Returns NETRIG_E_FULL (nothing changed) past a bound.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_set_bool(
    store: netrig_store,
    key: *const c_char,
    value: bool,
    ttl_ms: i64,
) -> netrig_status {
    call("netrig_store_set_bool", || set(store, key, ttl_ms, || Ok(Value::Bool(value))))
}

/// Sets `key` to an int64. `ttl_ms` as for `netrig_store_set_bool`.
///
/// Ownership: `key` is borrowed for the call. Returns NETRIG_E_FULL (nothing changed) past a bound.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_set_int(
    store: netrig_store,
    key: *const c_char,
    value: i64,
    ttl_ms: i64,
) -> netrig_status {
    call("netrig_store_set_int", || set(store, key, ttl_ms, || Ok(Value::Int(value))))
}

/// Sets `key` to a double. `ttl_ms` as for `netrig_store_set_bool`.
///
/// Ownership: `key` is borrowed for the call. Returns NETRIG_E_FULL (nothing changed) past a bound.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_set_double(
    store: netrig_store,
    key: *const c_char,
    value: f64,
    ttl_ms: i64,
) -> netrig_status {
    call("netrig_store_set_double", || set(store, key, ttl_ms, || Ok(Value::Double(value))))
}

/// Sets `key` to a copy of the NUL-terminated UTF-8 string `value`. `ttl_ms` as for
/// `netrig_store_set_bool`.
///
/// Ownership: `key` and `value` are borrowed for the call. Returns NETRIG_E_UTF8 for invalid
/// UTF-8 and NETRIG_E_FULL (nothing changed) past a bound.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_set_str(
    store: netrig_store,
    key: *const c_char,
    value: *const c_char,
    ttl_ms: i64,
) -> netrig_status {
    call("netrig_store_set_str", || set(store, key, ttl_ms, || Value::str(str_arg(value, "value")?)))
}

/// Sets `key` to a copy of `len` bytes at `data` (`data` may be NULL when `len` is 0).
/// `ttl_ms` as for `netrig_store_set_bool`.
///
/// Ownership: `key` and `data` are borrowed for the call. Returns NETRIG_E_FULL (nothing
/// changed) past a bound.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_set_bytes(
    store: netrig_store,
    key: *const c_char,
    data: *const u8,
    len: usize,
    ttl_ms: i64,
) -> netrig_status {
    call("netrig_store_set_bytes", || {
        let key = str_arg(key, "key")?;
        let ttl = Ttl::from_millis(ttl_ms)?;
        let data = bytes_arg(data, len, "data")?;
        store.try_with(|s| s.set_bytes(key, data, ttl)).map(drop)
    })
}

/// Reads `key`; `*out_version` (optional, may be NULL) receives the version of the write that
/// produced the value, for use with `netrig_store_cas`.
fn get<T>(
    store: netrig_store,
    key: *const c_char,
    out: Result<Out<T>>,
    out_version: *mut u64,
    read: impl FnOnce(&Store, &str) -> Result<crate::Versioned<T>>,
) -> Result<()> {
    let out = out?;
    let key = str_arg(key, "key")?;
    let v = store.try_with(|s| read(s, key))?;
    out.set(v.value);
    Out::optional(out_version).set(v.version);
    Ok(())
}

/// Reads a bool. `out_version` may be NULL.
///
/// Ownership: `key` is borrowed; `*out_value` and `*out_version` are written on success only.
/// Returns NETRIG_E_NOT_FOUND for a missing or expired key, NETRIG_E_TYPE for another type.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_bool(
    store: netrig_store,
    key: *const c_char,
    out_value: *mut bool,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_bool", || get(store, key, Out::new(out_value, "out_value"), out_version, Store::get_bool))
}

/// Reads an int64. `out_version` may be NULL.
///
/// Ownership: `key` is borrowed; `*out_value` and `*out_version` are written on success only.
/// Returns NETRIG_E_NOT_FOUND for a missing or expired key, NETRIG_E_TYPE for another type.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_int(
    store: netrig_store,
    key: *const c_char,
    out_value: *mut i64,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_int", || get(store, key, Out::new(out_value, "out_value"), out_version, Store::get_int))
}

/// Reads a double. `out_version` may be NULL.
///
/// Ownership: `key` is borrowed; `*out_value` and `*out_version` are written on success only.
/// Returns NETRIG_E_NOT_FOUND for a missing or expired key, NETRIG_E_TYPE for another type.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_double(
    store: netrig_store,
    key: *const c_char,
    out_value: *mut f64,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_double", || {
        get(store, key, Out::new(out_value, "out_value"), out_version, Store::get_double)
    })
}

/// Copies a string value and a NUL into `buf` (capacity `buf_len`). `*out_len` receives the
/// string's length without the NUL; when `buf_len` is too small the call returns
/// NETRIG_E_BUFFER_TOO_SMALL, still sets `*out_len`, and the caller retries with
/// `*out_len + 1` bytes. `buf` may be NULL when `buf_len` is 0. `out_version` may be NULL.
///
/// Ownership: `key` is borrowed; `buf` is the caller's. Returns NETRIG_E_NOT_FOUND or
/// NETRIG_E_TYPE as `netrig_store_get_int` does.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_str(
    store: netrig_store,
    key: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_str", || {
        let out_len = Out::new(out_len, "out_len")?;
        let key = str_arg(key, "key")?;
        let v = store.try_with(|s| s.get_str(key))?;
        write_buf(buf.cast(), buf_len, v.value.as_bytes(), true, &out_len, &|| format!("string value of key '{key}'"))?;
        Out::optional(out_version).set(v.version);
        Ok(())
    })
}

/// Copies a bytes value into `buf` (capacity `buf_len`). `*out_len` receives its length; when
/// `buf_len` is too small the call returns NETRIG_E_BUFFER_TOO_SMALL, still sets `*out_len`,
/// and the caller retries with that many bytes. `buf` may be NULL when `buf_len` is 0.
/// `out_version` may be NULL.
///
/// Ownership: `key` is borrowed; `buf` is the caller's. Returns NETRIG_E_NOT_FOUND or
/// NETRIG_E_TYPE as `netrig_store_get_int` does.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_bytes(
    store: netrig_store,
    key: *const c_char,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_bytes", || {
        let out_len = Out::new(out_len, "out_len")?;
        let key = str_arg(key, "key")?;
        let v = store.try_with(|s| s.get_bytes(key))?;
        write_buf(buf, buf_len, &v.value, false, &out_len, &|| format!("bytes value of key '{key}'"))?;
        Out::optional(out_version).set(v.version);
        Ok(())
    })
}

/// Reads `key` whatever its type, in one call: `*out_value` receives the type (`kind`) and the
/// value. Scalars are in the struct. A string value is copied with a NUL into `buf` and
/// `out_value->str` points at `buf`; a bytes value is copied into `buf` and `out_value->bytes`
/// points at `buf` (NULL when empty). `*out_len` receives the string or bytes length (0 for
/// scalars). When `buf_len` is too small the call returns NETRIG_E_BUFFER_TOO_SMALL, still
/// sets `*out_len`, leaves `*out_value` alone, and the caller retries with `*out_len + 1` bytes.
/// `buf` may be NULL when `buf_len` is 0. `out_version` may be NULL.
///
/// Ownership: `key` is borrowed; `buf` is the caller's, and the pointers written into
/// `*out_value` point into it. Returns NETRIG_E_NOT_FOUND for a missing or expired key.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store. Type and
/// value are read together, so a concurrent write of another type cannot split them.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_value(
    store: netrig_store,
    key: *const c_char,
    out_value: *mut netrig_value,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_value", || {
        let out_value = Out::new(out_value, "out_value")?;
        let out_len = Out::new(out_len, "out_len")?;
        // Checked for every type, as the buffer rules say, not only where a value is copied.
        if buf.is_null() && buf_len > 0 {
            return Err(Error::NullArg("buf"));
        }
        let key = str_arg(key, "key")?;
        let v = store.try_with(|s| s.get(key))?;
        let mut value = netrig_value::scalar(&v.value);
        match &v.value {
            Value::Str(text) => {
                write_buf(buf, buf_len, text.as_bytes(), true, &out_len, &|| format!("string value of key '{key}'"))?;
                value.str = buf.cast();
            }
            Value::Bytes(bytes) => {
                write_buf(buf, buf_len, bytes, false, &out_len, &|| format!("bytes value of key '{key}'"))?;
                value.bytes = if bytes.is_empty() { std::ptr::null() } else { buf };
                value.bytes_len = bytes.len();
            }
            Value::Bool(_) | Value::Int(_) | Value::Double(_) => out_len.set(0),
        }
        out_value.set(value);
        Out::optional(out_version).set(v.version);
        Ok(())
    })
}

/// The type of the value at `key`, and optionally (`out_version` may be NULL) its version.
///
/// Ownership: `key` is borrowed. Returns NETRIG_E_NOT_FOUND for a missing or expired key.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_get_type(
    store: netrig_store,
    key: *const c_char,
    out_type: *mut netrig_type,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_get_type", || {
        get(store, key, Out::new(out_type, "out_type"), out_version, |s, k| {
            let v = s.get(k)?;
            Ok(crate::Versioned { value: v.value.value_type().into(), version: v.version })
        })
    })
}

/// Compare-and-set: writes `*value` to `key` only if the key's current version is
/// `expected_version` (0 = the key must not exist). Read the version with any `get` function.
/// On success `*out_version` (may be NULL) receives the new version. On a mismatch returns
/// NETRIG_E_CONFLICT, changes nothing, and the last error names the version found.
///
/// Ownership: `key` and `value` (and the strings or bytes it points to) are borrowed.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_cas(
    store: netrig_store,
    key: *const c_char,
    expected_version: u64,
    value: *const netrig_value,
    ttl_ms: i64,
    out_version: *mut u64,
) -> netrig_status {
    call("netrig_store_cas", || {
        let key = str_arg(key, "key")?;
        let value = ref_arg(value, "value")?;
        let ttl = Ttl::from_millis(ttl_ms)?;
        let version = store.try_with(|s| {
            // The size first: a value that can never fit is refused before it is copied.
            s.check_fits(key, value.payload_len())?;
            s.compare_and_set(key, expected_version, value.read_value()?, ttl)
        })?;
        Out::optional(out_version).set(version);
        Ok(())
    })
}

/// Atomically adds `delta` to the int64 at `key` (a missing key starts at 0 and gets the
/// store's default TTL; an existing key keeps its TTL). `*out_value` (may be NULL) receives the
/// new value. Returns NETRIG_E_TYPE if the key holds another type and NETRIG_E_OVERFLOW
/// (nothing changed) if the sum would overflow.
///
/// Ownership: `key` is borrowed.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_add_int(
    store: netrig_store,
    key: *const c_char,
    delta: i64,
    out_value: *mut i64,
) -> netrig_status {
    call("netrig_store_add_int", || {
        let key = str_arg(key, "key")?;
        let v = store.try_with(|s| s.add_int(key, delta))?;
        Out::optional(out_value).set(v.value);
        Ok(())
    })
}

/// Removes `key`. Returns NETRIG_E_NOT_FOUND if it is missing or already expired.
///
/// Ownership: `key` is borrowed.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_delete(store: netrig_store, key: *const c_char) -> netrig_status {
    call("netrig_store_delete", || {
        let key = str_arg(key, "key")?;
        store.try_with(|s| s.delete(key))
    })
}

/// Whether `key` exists and has not expired.
///
/// Ownership: `key` is borrowed; `*out` is written on success.
///
/// Blocking: waits only for other calls on the same shard of this store (microseconds); no I/O.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_contains(
    store: netrig_store,
    key: *const c_char,
    out: *mut bool,
) -> netrig_status {
    call("netrig_store_contains", || {
        let out = Out::new(out, "out")?;
        let key = str_arg(key, "key")?;
        out.set(store.try_with(|s| s.contains(key))?);
        Ok(())
    })
}

/// The number of live (unexpired) keys, counted at one instant.
///
/// Blocking: read-locks every shard briefly; O(number of keys).
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_len(store: netrig_store, out: *mut usize) -> netrig_status {
    call("netrig_store_len", || {
        let out = Out::new(out, "out")?;
        out.set(store.try_with(|s| Ok(s.len()))?);
        Ok(())
    })
}

/// Removes every key at one instant. `*out_removed` (may be NULL) receives how many.
///
/// Blocking: write-locks every shard for the duration; O(number of keys).
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_clear(store: netrig_store, out_removed: *mut usize) -> netrig_status {
    call("netrig_store_clear", || {
        Out::optional(out_removed).set(store.try_with(|s| Ok(s.clear()))?);
        Ok(())
    })
}

/// Removes expired keys now (they are already invisible). `*out_removed` (may be NULL)
/// receives how many were removed.
///
/// Blocking: scans each shard under its read lock and write-locks only shards with expired
/// keys, one at a time; readers never wait on other shards.
///
/// Ownership: no pointer is kept after the call; out-parameters are the caller's.
/// Thread-safety: any thread, concurrently with any other call on the same store.
#[no_mangle]
pub unsafe extern "C" fn netrig_store_purge_expired(store: netrig_store, out_removed: *mut usize) -> netrig_status {
    call("netrig_store_purge_expired", || {
        Out::optional(out_removed).set(store.try_with(|s| Ok(s.purge_expired()))?);
        Ok(())
    })
}
