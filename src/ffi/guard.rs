//! The panic guard every entry point runs in, and the thread-local last error.

use std::cell::{Cell, RefCell};
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{netrig_status, Error, Result};

/// A NUL-terminated text kept in place, with no heap and so no destructor.
///
/// The thread-locals below hold these rather than `String`s because a netrig call may come
/// from a pthread key destructor, after the thread's Rust thread-locals were destroyed: a
/// thread-local that needs a destructor and is first used then is created again and its
/// destructor never runs, so its heap text leaks. A thread-local without one is plain
/// thread memory, usable until the thread is gone.
struct Text<const N: usize>([u8; N]);

impl<const N: usize> Text<N> {
    const fn new() -> Self {
        Text([0; N])
    }

    /// Stores `s`, with interior NULs replaced by '?' so that the whole text reaches C, cut at
    /// a character boundary and ended with "..." when it is longer than `N - 1` bytes.
    fn set(&mut self, s: &str) {
        let mut len = s.len();
        let mut cut = false;
        if len > N - 1 {
            len = N - 4;
            while !s.is_char_boundary(len) {
                len -= 1;
            }
            cut = true;
        }
        for (to, &b) in self.0.iter_mut().zip(&s.as_bytes()[..len]) {
            *to = if b == 0 { b'?' } else { b };
        }
        if cut {
            self.0[len..len + 3].copy_from_slice(b"...");
            len += 3;
        }
        self.0[len] = 0;
    }

    fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }

    fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        // Only `set` writes the bytes: UTF-8, cut at a character boundary.
        std::str::from_utf8(&self.0[..len]).unwrap_or("")
    }
}

/// Longest last-error text kept, with its NUL; longer ones end with "...".
const LAST_ERROR_LEN: usize = 2048;

thread_local! {
    static LAST_ERROR: RefCell<Text<LAST_ERROR_LEN>> = const { RefCell::new(Text::new()) };
    /// How many guarded entry points are running on this thread (callbacks can nest them).
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last panic inside a guard happened ("" if none since the last look), recorded
    /// by the quiet hook.
    static PANIC_AT: RefCell<Text<512>> = const { RefCell::new(Text::new()) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs, once per process, a panic hook that stays silent for panics inside a guarded entry
/// point (their message and location go to the last error instead, so a test rig's stderr is not
/// flooded and no backtrace is captured) and hands every other panic to the hook that was there
/// before, so a host's own panic reporting is unchanged.
///
/// Replacing the hook is impossible while this thread is panicking (a netrig call from a `Drop`
/// during unwinding), so installation waits for a later call; until then panics are only
/// reported the default way.
fn install_quiet_hook() {
    if QUIET_HOOK.is_completed() || std::thread::panicking() {
        return;
    }
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.try_with(|d| d.get() > 0).unwrap_or(false) {
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                let _ = PANIC_AT.try_with(|p| p.borrow_mut().set(at.as_deref().unwrap_or("")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `body` with panics caught and reported quietly; the error text names where it panicked.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    let _ = catch_unwind(install_quiet_hook);
    let _ = GUARD_DEPTH.try_with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(body));
    let _ = GUARD_DEPTH.try_with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        let text = panic_text(&*payload);
        // Dropping a payload can itself panic; keep that inside the boundary too.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        let at = PANIC_AT
            .try_with(|p| {
                let at = p.borrow().as_str().to_owned();
                p.borrow_mut().set("");
                at
            })
            .unwrap_or_default();
        if at.is_empty() {
            text
        } else {
            format!("{text} (at {at})")
        }
    })
}

/// Records `message` as this thread's last error. Interior NULs are replaced so the whole text
/// reaches C; a text past 2047 bytes is cut.
pub(crate) fn set_last_error(message: String) {
    LAST_ERROR.with(|slot| slot.borrow_mut().set(&message));
}

/// A pointer to this thread's last error text ("" when there is none), valid until the next
/// failing netrig call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

use crate::error::panic_text;

/// Runs the body of the entry point `name`. Errors become their status plus a last-error text
/// prefixed with `name`; a panic becomes `NETRIG_E_PANIC` and never unwinds into C.
///
/// After a panic, the object the call was using stays usable: store operations check every
/// bound and precondition before they change anything, and `parking_lot` locks are released
/// (not poisoned) during unwinding, so a panic cannot leave half a write behind.
pub(crate) fn call(name: &'static str, body: impl FnOnce() -> Result<()>) -> netrig_status {
    match guarded(body) {
        Ok(Ok(())) => netrig_status::NETRIG_OK,
        Ok(Err(e)) => fail(name, e),
        Err(text) => fail(name, Error::Panic(text)),
    }
}

fn fail(name: &'static str, e: Error) -> netrig_status {
    let status = e.status();
    set_last_error(format!("{name}: {e}"));
    status
}

/// The guard for the few entry points that return a value instead of a status: a panic
/// returns `fallback` (and records the last error).
pub(crate) fn call_value<T>(name: &'static str, fallback: T, body: impl FnOnce() -> T) -> T {
    guarded(body).unwrap_or_else(|text| {
        fail(name, Error::Panic(text));
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: last_error_ptr returns a NUL-terminated string owned by this thread, valid
        // until the next failure on this thread.
        unsafe { CStr::from_ptr(last_error_ptr()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn errors_and_panics_become_statuses_with_text() {
        assert_eq!(call("f", || Ok(())), netrig_status::NETRIG_OK);
        assert_eq!(call("f", || Err(Error::NotFound("k".into()))), netrig_status::NETRIG_E_NOT_FOUND);
        assert_eq!(last(), "f: key 'k' not found");
        let st = call("g", || panic!("boom {}", 42));
        assert_eq!(st, netrig_status::NETRIG_E_PANIC);
        assert!(last().starts_with("g: internal panic") && last().contains("boom 42"), "{}", last());
        assert!(last().contains("(at src/ffi/guard.rs:"), "the location is reported: {}", last());
        assert_eq!(call_value("h", 7, || panic!("x")), 7);
    }

    #[test]
    fn last_error_is_per_thread() {
        call("main_thread", || Err(Error::NullArg("a")));
        std::thread::spawn(|| {
            assert_eq!(last(), "");
            call("other", || Err(Error::NullArg("b")));
            assert!(last().starts_with("other:"));
        })
        .join()
        .unwrap();
        assert!(last().starts_with("main_thread:"));
    }

    #[test]
    fn interior_nul_in_message_is_kept_visible() {
        set_last_error("a\0b".into());
        assert_eq!(last(), "a?b");
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let long = "é".repeat(LAST_ERROR_LEN);
        set_last_error(long.clone());
        let got = last();
        assert!(got.len() < LAST_ERROR_LEN && got.ends_with("..."), "{}", got.len());
        assert!(long.starts_with(got.trim_end_matches("...")));
        let fits = "x".repeat(LAST_ERROR_LEN - 1);
        set_last_error(fits.clone());
        assert_eq!(last(), fits);
    }
}
