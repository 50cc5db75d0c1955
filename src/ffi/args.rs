//! Checked conversions of C arguments: strings, bytes, structs, arrays and milliseconds in,
//! out-parameters and buffers out. Every raw-pointer access of `src/ffi` is here (and in the
//! handle table); an entry point never dereferences a pointer itself.
//!
//! Every function here is only called with pointers received by an `extern "C"` entry point,
//! whose documented contract is that a non-NULL pointer is valid for the access described
//! (readable NUL-terminated string, `len` readable bytes, a readable or writable `T`). NULL is
//! always checked here and reported by argument name.

use std::ffi::{c_char, CStr};
use std::time::Duration;

use crate::error::{Error, Result};

/// A borrowed NUL-terminated UTF-8 string argument.
pub(crate) fn str_arg<'a>(p: *const c_char, what: &'static str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    // SAFETY: non-NULL, and the entry point's contract makes it a readable NUL-terminated string
    // that outlives the call.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| Error::Utf8 { what, offset: e.valid_up_to() })
}

/// An optional NUL-terminated UTF-8 string argument: NULL is `None` ("not given").
pub(crate) fn opt_str<'a>(p: *const c_char, what: &'static str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, what).map(Some)
    }
}

/// A borrowed struct argument (`const netrig_x *`), for the call. Only for `#[repr(C)]`
/// structs whose fields are valid for any bits (integers, floats, raw pointers), as every
/// netrig input struct is.
pub(crate) fn ref_arg<'a, T>(p: *const T, what: &'static str) -> Result<&'a T> {
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    // SAFETY: non-NULL, and the contract makes it a readable, aligned, initialised `T` for the
    // call; the structs passed here are valid for any bits (see above).
    Ok(unsafe { &*p })
}

/// The most elements an array argument may have: far more than any caller needs, and small
/// enough that no element count times element size can overflow.
const MAX_ARRAY: usize = 1 << 20;

fn array_len(n: usize, what: &'static str) -> Result<()> {
    if n > MAX_ARRAY {
        return Err(Error::InvalidArg(format!("{what}: {n} entries is more than {MAX_ARRAY}")));
    }
    Ok(())
}

/// A borrowed array of `n` `T`s (NULL is fine when `n` is 0), at most [`MAX_ARRAY`] long.
pub(crate) fn array_arg<'a, T>(p: *const T, n: usize, what: &'static str) -> Result<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    array_len(n, what)?;
    // SAFETY: non-NULL, `n` is at most 2^20 elements (so `n * size_of::<T>()` fits in isize for
    // every T passed here), and the contract makes `n` readable, aligned `T`s at `p` for the call.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A borrowed `(pointer, length)` byte argument. NULL is allowed only with length 0.
pub(crate) fn bytes_arg<'a>(p: *const u8, len: usize, what: &'static str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    if len > isize::MAX as usize {
        return Err(Error::InvalidArg(format!("{what}: length {len} is larger than any buffer can be")));
    }
    // SAFETY: non-NULL, `len` fits in isize, and the contract makes `len` bytes readable for
    // the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A required out-parameter: checked for NULL before any work, written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn new(p: *mut T, what: &'static str) -> Result<Out<T>> {
        if p.is_null() {
            Err(Error::NullArg(what))
        } else {
            Ok(Out(p))
        }
    }

    /// An optional out-parameter: NULL means the caller does not want this value.
    pub(crate) fn optional(p: *mut T) -> Out<T> {
        Out(p)
    }

    pub(crate) fn set(&self, value: T) {
        if !self.0.is_null() {
            // SAFETY: non-NULL, and the contract makes it valid and aligned for writing a `T`.
            // `write` does not read or drop the (possibly uninitialised) old contents.
            unsafe { self.0.write(value) }
        }
    }
}

/// Copies `data` into the caller's buffer `(buf, cap)`, plus a NUL when `nul` (strings).
///
/// `*out_len` receives the data's length without the NUL, on success and also on
/// `BufferTooSmall`, so the caller can retry with `*out_len + 1` (strings) or `*out_len`
/// (bytes). A NULL `buf` with `cap` 0 asks for the length only.
pub(crate) fn write_buf(
    buf: *mut u8,
    cap: usize,
    data: &[u8],
    nul: bool,
    out_len: &Out<usize>,
    what: &dyn Fn() -> String,
) -> Result<()> {
    let needed = data.len() + nul as usize;
    if buf.is_null() && cap > 0 {
        return Err(Error::NullArg("buf"));
    }
    if cap < needed {
        out_len.set(data.len());
        return Err(Error::BufferTooSmall { what: what(), needed, capacity: cap });
    }
    if buf.is_null() {
        // cap == 0 == needed: an empty bytes value, nothing to copy.
        out_len.set(0);
        return Ok(());
    }
    // SAFETY: `buf` is non-NULL and the contract makes `cap >= needed` bytes writable; `data` is
    // a Rust slice, so the regions cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        if nul {
            *buf.add(data.len()) = 0;
        }
    }
    out_len.set(data.len());
    Ok(())
}

/// An array of `n` NUL-terminated UTF-8 strings (NULL is fine when `n` is 0).
pub(crate) fn str_array<'a>(p: *const *const c_char, n: usize, what: &'static str) -> Result<Vec<&'a str>> {
    array_arg(p, n, what)?.iter().map(|&s| str_arg(s, what)).collect()
}

/// An array of `n` optional strings: each NULL element is `None`.
pub(crate) fn opt_str_array<'a>(p: *const *const c_char, n: usize, what: &'static str) -> Result<Vec<Option<&'a str>>> {
    array_arg(p, n, what)?.iter().map(|&s| opt_str(s, what)).collect()
}

/// A millisecond argument.
pub(crate) fn ms(v: u32) -> Duration {
    Duration::from_millis(v.into())
}

/// A `timeout_ms` argument where 0 means the object's own default: `None` for 0.
#[cfg(feature = "ssh")]
pub(crate) fn timeout_or_default(timeout_ms: u32) -> Option<Duration> {
    (timeout_ms > 0).then(|| ms(timeout_ms))
}

/// The `timeout_ms` of the functions that wait: `None` (no limit) for NETRIG_WAIT_FOREVER.
pub(crate) fn wait_arg(timeout_ms: u32) -> Option<Duration> {
    (timeout_ms != super::NETRIG_WAIT_FOREVER).then(|| ms(timeout_ms))
}

/// An optional out-array of `len` entries: NULL means the caller does not want them.
#[cfg(feature = "ssh")]
pub(crate) struct OutArray<T> {
    p: *mut T,
    len: usize,
}

#[cfg(feature = "ssh")]
impl<T> OutArray<T> {
    pub(crate) fn optional(p: *mut T, len: usize) -> OutArray<T> {
        OutArray { p, len }
    }

    /// Writes entry `i` (a no-op for NULL). `i` must be below the array's length.
    pub(crate) fn set(&self, i: usize, value: T) {
        assert!(i < self.len, "out-array index {i} past its {} entries", self.len);
        if !self.p.is_null() {
            // SAFETY: non-NULL, and the contract makes `len` writable, aligned `T`s at `p`;
            // `i < len` was checked. `write` does not read or drop the old contents.
            unsafe { self.p.add(i).write(value) }
        }
    }
}

/// An options struct that can grow (`netrig_*_options`): `#[repr(C)]`, a `size_t struct_size`
/// first, then fields only ever added at the end. A caller built against an older header has a
/// shorter struct and says so in `struct_size`; the library reads that many bytes over its
/// defaults, so the fields the caller's header did not have take their defaults.
///
/// # Safety
///
/// Implement it only for a `#[repr(C)]` struct whose first field is `struct_size: usize` and
/// whose other fields are valid for every bit pattern (integers and raw pointers; no enums,
/// references, `bool` or `Option<fn>`), so that any prefix of caller bytes over a valid value
/// is a valid value.
pub(crate) unsafe trait GrowableOptions: Copy {
    /// The C type's name, for messages.
    const NAME: &'static str;
    /// The full defaults, `struct_size` included (`size_of::<Self>()`).
    fn defaults() -> Self;
}

/// The smallest `struct_size` accepted: the field itself (a struct that sets nothing else).
/// Every header since the field was introduced has at least that; anything less is 0 or a
/// struct that was never filled by its `_default` function.
const MIN_STRUCT_SIZE: usize = std::mem::size_of::<usize>();

/// Checks a caller's struct size (`label`: where it came from) against what this library's `T`
/// holds; `hint` says how to get it right.
fn struct_size_arg<T: GrowableOptions>(size: usize, label: &str, hint: &str) -> Result<usize> {
    let ours = std::mem::size_of::<T>();
    if size < MIN_STRUCT_SIZE {
        return Err(Error::InvalidArg(format!(
            "{label} is {size}, less than the {MIN_STRUCT_SIZE} bytes of struct_size itself: {hint}"
        )));
    }
    if size > ours {
        return Err(Error::InvalidArg(format!(
            "{label} is {size}, more than the {ours} bytes of {} in this libnetrig {}: either the \
             program was built with a newer netrig.h than this library, or the size is wrong ({hint})",
            T::NAME,
            env!("CARGO_PKG_VERSION"),
        )));
    }
    Ok(size)
}

/// The hint of a struct_size that is wrong in an options argument.
fn fill_hint<T: GrowableOptions>() -> String {
    format!("fill the {0} with {0}_default(&o, sizeof o) before setting its fields", T::NAME)
}

/// Reads the options struct at `p` as the caller's header defined it: the first
/// `p->struct_size` bytes over `T::defaults()`. NULL is `NullArg(what)`; see
/// [`options_or_default`] for the functions where NULL means the defaults.
pub(crate) fn options_arg<T: GrowableOptions>(p: *const T, what: &'static str) -> Result<T> {
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    // SAFETY: non-NULL, and the contract makes `p` a readable options struct for the call,
    // which starts with its `size_t struct_size` (GrowableOptions); unaligned in case a caller
    // packed it.
    let size = unsafe { p.cast::<usize>().read_unaligned() };
    read_prefix(p.cast::<u8>(), struct_size_arg::<T>(size, &format!("{what}.struct_size"), &fill_hint::<T>())?)
}

/// `options_arg`, with NULL meaning the defaults.
pub(crate) fn options_or_default<T: GrowableOptions>(p: *const T, what: &'static str) -> Result<T> {
    if p.is_null() {
        Ok(T::defaults())
    } else {
        options_arg(p, what)
    }
}

/// An array of `n` options structs as the caller's header laid it out: its elements are
/// `struct_size` bytes apart (the caller's `sizeof`), and every element has the same size.
#[cfg(feature = "ssh")]
pub(crate) fn options_array_arg<T: GrowableOptions>(p: *const T, n: usize, what: &'static str) -> Result<Vec<T>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Error::NullArg(what));
    }
    array_len(n, what)?;
    let first = options_arg(p, what)?;
    // SAFETY: `first` was read from `p`, so it starts with its struct_size (GrowableOptions).
    let stride = unsafe { std::ptr::addr_of!(first).cast::<usize>().read() };
    let mut all = Vec::with_capacity(n);
    all.push(first);
    for i in 1..n {
        // The contract makes `n` elements of the caller's size readable at `p`; `i * stride`
        // is at most 2^20 times size_of::<T>(), far below isize::MAX.
        let element = p.cast::<u8>().wrapping_add(i * stride);
        // SAFETY: element `i` of the caller's array, readable by the contract, starts with its
        // struct_size; unaligned as the caller's size need not be a multiple of T's alignment.
        let size = unsafe { element.cast::<usize>().read_unaligned() };
        if size != stride {
            return Err(Error::InvalidArg(format!(
                "{what}[{i}].struct_size is {size} and {what}[0].struct_size {stride}: \
                 {}",
                fill_hint::<T>()
            )));
        }
        all.push(read_prefix(element, size)?);
    }
    Ok(all)
}

/// `T::defaults()` with the first `size` bytes (checked: at most `size_of::<T>()`) from `src`.
fn read_prefix<T: GrowableOptions>(src: *const u8, size: usize) -> Result<T> {
    debug_assert!(size <= std::mem::size_of::<T>());
    let mut value = T::defaults();
    // SAFETY: the contract makes `size` bytes at `src` readable (the caller's struct_size);
    // `size <= size_of::<T>()` was checked, so the bytes fit in `value`, a local that cannot
    // overlap the caller's memory; GrowableOptions makes any bytes over the defaults a valid T.
    unsafe { std::ptr::copy_nonoverlapping(src, std::ptr::addr_of_mut!(value).cast::<u8>(), size) };
    Ok(value)
}

/// What every `netrig_*_options_default(out, struct_size)` does: checks `out` and `struct_size`
/// (the caller's `sizeof`), then writes that many bytes of the defaults, with `struct_size` set
/// to it, so a program built against an older header gets exactly the struct it knows.
pub(crate) fn options_default<T: GrowableOptions>(out: *mut T, struct_size: usize) -> Result<()> {
    if out.is_null() {
        return Err(Error::NullArg("out"));
    }
    let size = struct_size_arg::<T>(struct_size, "struct_size", &format!("pass sizeof({})", T::NAME))?;
    let mut value = T::defaults();
    // SAFETY: `value` is a local T, which starts with its struct_size (GrowableOptions).
    unsafe { std::ptr::addr_of_mut!(value).cast::<usize>().write(size) };
    // SAFETY: `out` is non-NULL and the contract makes the caller's struct, `size` bytes (its
    // sizeof, which the caller passed), writable; `size <= size_of::<T>()` so the bytes are in
    // `value`, a local that cannot overlap it. The copy is untyped (padding bytes included).
    unsafe { std::ptr::copy_nonoverlapping(std::ptr::addr_of!(value).cast::<u8>(), out.cast::<u8>(), size) };
    Ok(())
}
