//! `netrig_test_*` and `netrig_service_*`: test-execution and service state of a store.
//!
//! Blocking: none of these does I/O on an in-memory store (a durable store waits for its
//! commit); each reads the state's keys at one instant and writes them in one batch, retrying
//! only when another change to the same state won the race (microseconds).
//! Thread-safety: any thread, any number at once.

use std::ffi::c_char;

use super::args::{opt_str, opt_str_array, ref_arg, str_arg, str_array, write_buf, Out};
use super::guard::call;
use super::handle::CHandle;
use super::store::netrig_store;
use crate::error::netrig_status;
use crate::store::{services_json, ServiceState, TestStart, TestState, TestUpdate};

/// The scalar part of the test-execution state; strings come from `netrig_test_json`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct netrig_test_info {
    /// 1 while a test runs.
    pub running: u8,
    /// The test's pid as given to `netrig_test_start` (or `netrig_test_update`); -1 also when no
    /// test was ever started (then `run` is 0).
    pub pid: i64,
    /// How many tests were started in this store.
    pub run: i64,
    /// Unix ms of the last start, or -1.
    pub started_ms: i64,
    /// Unix ms of the last stop, or -1 (also while running).
    pub stopped_ms: i64,
    /// Changes with every start, stop and update.
    pub version: u64,
}

/// Fields to change with `netrig_test_update`. NULL strings (and `set_pid` = 0) leave a field
/// as it is. `field_names[i]` gets `field_values[i]`; a NULL value removes that extra field.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct netrig_test_fields {
    pub script: *const c_char,
    pub bin: *const c_char,
    pub topology: *const c_char,
    pub set_pid: u8,
    pub pid: i64,
    pub field_names: *const *const c_char,
    pub field_values: *const *const c_char,
    pub field_count: usize,
}

/// A service's state, without its detail text.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct netrig_service_info {
    pub running: u8,
    /// Unix ms when `running` last changed, or when the service was first set.
    pub since_ms: i64,
    pub version: u64,
}

fn info(st: &TestState) -> netrig_test_info {
    netrig_test_info {
        running: st.running as u8,
        pid: st.pid.unwrap_or(-1),
        run: st.run,
        started_ms: st.started_ms.unwrap_or(-1),
        stopped_ms: st.stopped_ms.unwrap_or(-1),
        version: st.version,
    }
}

/// Records that a test started: script, pid, binary, topology, and `field_count` extra fields
/// (`field_names[i]` = `field_values[i]`; names hold no '/'). Atomic: when a test is already
/// running, nothing changes and the result is NETRIG_E_BUSY with the running script and pid in
/// the last error, so two threads or processes sharing the store never both start one.
/// `*out` (may be NULL) receives the new state.
///
/// Ownership: every pointer is borrowed for the call. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn netrig_test_start(
    store: netrig_store,
    script: *const c_char,
    pid: i64,
    bin: *const c_char,
    topology: *const c_char,
    field_names: *const *const c_char,
    field_values: *const *const c_char,
    field_count: usize,
    out: *mut netrig_test_info,
) -> netrig_status {
    call("netrig_test_start", || {
        let names = str_array(field_names, field_count, "field_names")?;
        let values = str_array(field_values, field_count, "field_values")?;
        let start = TestStart {
            script: str_arg(script, "script")?.to_owned(),
            pid,
            bin: str_arg(bin, "bin")?.to_owned(),
            topology: str_arg(topology, "topology")?.to_owned(),
            fields: names.iter().zip(&values).map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        };
        let st = store.try_with(|s| s.test_start(&start))?;
        Out::optional(out).set(info(&st));
        Ok(())
    })
}

/// Records that the running test stopped. Script, pid and fields stay readable until the next
/// start. NETRIG_E_NOT_FOUND when no test is running. `*out` (may be NULL) receives the state.
///
/// Ownership: `out` is written by value. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_test_stop(store: netrig_store, out: *mut netrig_test_info) -> netrig_status {
    call("netrig_test_stop", || {
        let st = store.try_with(|s| s.test_stop())?;
        Out::optional(out).set(info(&st));
        Ok(())
    })
}

/// Changes several fields of the test state at once (running or not); readers see all of the
/// change or none of it. `*out` (may be NULL) receives the new state.
///
/// Ownership: `update` and everything it points to are borrowed for the call.
/// Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_test_update(
    store: netrig_store,
    update: *const netrig_test_fields,
    out: *mut netrig_test_info,
) -> netrig_status {
    call("netrig_test_update", || {
        let u = ref_arg(update, "update")?;
        let names = str_array(u.field_names, u.field_count, "field_names")?;
        let values = opt_str_array(u.field_values, u.field_count, "field_values")?;
        let owned = |s: Option<&str>| s.map(str::to_owned);
        let update = TestUpdate {
            script: owned(opt_str(u.script, "script")?),
            pid: (u.set_pid != 0).then_some(u.pid),
            bin: owned(opt_str(u.bin, "bin")?),
            topology: owned(opt_str(u.topology, "topology")?),
            fields: names.iter().map(|n| n.to_string()).zip(values.into_iter().map(owned)).collect(),
        };
        let st = store.try_with(|s| s.test_update(&update))?;
        Out::optional(out).set(info(&st));
        Ok(())
    })
}

/// The scalar test state, read at one instant.
///
/// Ownership: `*out` is written by value. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_test_get_info(store: netrig_store, out: *mut netrig_test_info) -> netrig_status {
    call("netrig_test_get_info", || {
        let out = Out::new(out, "out")?;
        out.set(info(&store.try_with(|s| Ok(s.test_state()))?));
        Ok(())
    })
}

/// The whole test state as JSON, read at one instant:
/// `{"running":true,"script":"a.sh","pid":12,"bin":"b","topology":"t","run":3,
/// "started_ms":1700000000000,"stopped_ms":null,"fields":{"k":"v"},"version":9}`; fields
/// never set are null, and texts keep every character (JSON escapes what it must).
/// Written NUL-terminated into `buf` (`cap` bytes); `*len` (may be NULL) gets its length. When
/// `cap` is too small: NETRIG_E_BUFFER_TOO_SMALL, `*len` = the length (allocate `*len + 1`).
///
/// Ownership: `buf` is the caller's. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_test_json(
    store: netrig_store,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> netrig_status {
    call("netrig_test_json", || {
        let json = store.try_with(|s| Ok(s.test_state().to_json()))?;
        write_buf(buf.cast(), cap, json.as_bytes(), true, &Out::optional(len), &|| "test state JSON".into())
    })
}

/// Sets a service's running flag (0 or 1) and detail text together. `since_ms` moves only when
/// the flag changes. Names are non-empty and hold no '/'.
///
/// Ownership: strings are borrowed. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_service_set(
    store: netrig_store,
    name: *const c_char,
    running: u8,
    detail: *const c_char,
) -> netrig_status {
    call("netrig_service_set", || {
        let name = str_arg(name, "name")?;
        let detail = str_arg(detail, "detail")?;
        store.try_with(|s| s.service_set(name, running != 0, detail)).map(drop)
    })
}

/// One service's state, read at one instant: `*out` gets the flags and the detail text goes
/// NUL-terminated into `detail` (`cap` bytes, may be NULL with `cap` 0), its length into
/// `*detail_len` (may be NULL). NETRIG_E_NOT_FOUND for a service never set;
/// NETRIG_E_BUFFER_TOO_SMALL with `*detail_len` set when `cap` is too small (`*out` untouched).
///
/// Ownership: `name` is borrowed; the buffers are the caller's. Blocking: see the top (no I/O).
/// Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_service_get(
    store: netrig_store,
    name: *const c_char,
    out: *mut netrig_service_info,
    detail: *mut c_char,
    cap: usize,
    detail_len: *mut usize,
) -> netrig_status {
    call("netrig_service_get", || {
        let out = Out::new(out, "out")?;
        let name = str_arg(name, "name")?;
        let st: ServiceState = store.try_with(|s| s.service_get(name))?;
        let what = || format!("detail of service '{name}'");
        write_buf(detail.cast(), cap, st.detail.as_bytes(), true, &Out::optional(detail_len), &what)?;
        out.set(netrig_service_info { running: st.running as u8, since_ms: st.since_ms, version: st.version });
        Ok(())
    })
}

/// Forgets a service. NETRIG_E_NOT_FOUND for a service never set.
///
/// Ownership: `name` is borrowed. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_service_remove(store: netrig_store, name: *const c_char) -> netrig_status {
    call("netrig_service_remove", || {
        let name = str_arg(name, "name")?;
        store.try_with(|s| s.service_remove(name))
    })
}

/// Every service as one JSON object read at one instant:
/// `{"qsfp_service":{"running":true,"detail":"pid 7","since_ms":1700000000000,"version":4}}`.
/// Buffer rules as for `netrig_test_json`.
///
/// Ownership: `buf` is the caller's. Blocking: see the top (no I/O in memory; a durable store waits for its commit). Thread-safety: any thread.
#[no_mangle]
pub unsafe extern "C" fn netrig_services_json(
    store: netrig_store,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> netrig_status {
    call("netrig_services_json", || {
        let json = store.try_with(|s| Ok(services_json(&s.services())))?;
        write_buf(buf.cast(), cap, json.as_bytes(), true, &Out::optional(len), &|| "services JSON".into())
    })
}
