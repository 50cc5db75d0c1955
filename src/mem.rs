//! Copies of caller data whose size the caller chose: a size no allocator can give is an error,
//! never an abort (Rust's infallible allocation aborts the process) or a panic.

use std::sync::Arc;

use crate::error::{Error, Result};

/// Below this, a failed allocation means the process is out of memory anyway (it could not
/// even format the error); above it, a refusal usually means the size is absurd, not the
/// process. Small copies skip the extra check.
const CHECKED_FROM: usize = 64 << 10;

/// Room for `Arc`'s header (two counters) and alignment.
const ARC_HEADER: usize = 64;

/// Whether the allocator can give a shared buffer of `len` bytes now. `Arc` has no fallible
/// constructor on stable Rust, so a `Vec` asks first with `try_reserve_exact` and gives the
/// memory straight back; the `Arc` allocated next, of the same size, then gets it.
///
/// `what` names the data in the error ("value of key 'x'", "payload of queue 'q'").
pub(crate) fn check_alloc(len: usize, what: &dyn Fn() -> String) -> Result<()> {
    if len < CHECKED_FROM {
        return Ok(());
    }
    let mut probe: Vec<u8> = Vec::new();
    let size = len.checked_add(ARC_HEADER);
    match size.map(|n| probe.try_reserve_exact(n)) {
        Some(Ok(())) => Ok(()),
        _ => Err(Error::Full(format!("{}: cannot allocate {len} bytes for a copy", what()))),
    }
}

/// A shared copy of `data`, or [`Error::Full`] when the allocator cannot give that much.
pub(crate) fn try_shared(data: &[u8], what: &dyn Fn() -> String) -> Result<Arc<[u8]>> {
    check_alloc(data.len(), what)?;
    Ok(Arc::from(data))
}

/// A shared copy of `text`, or [`Error::Full`] when the allocator cannot give that much.
pub(crate) fn try_shared_str(text: &str, what: &dyn Fn() -> String) -> Result<Arc<str>> {
    check_alloc(text.len(), what)?;
    Ok(Arc::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_past_any_allocation_are_errors() {
        for len in [usize::MAX, isize::MAX as usize, isize::MAX as usize - 8] {
            let e = check_alloc(len, &|| "value of key 'k'".into()).unwrap_err();
            assert!(matches!(e, Error::Full(_)), "{e}");
            assert!(e.to_string().contains(&format!("value of key 'k': cannot allocate {len} bytes")), "{e}");
        }
        assert_eq!(&*try_shared(b"abc", &|| unreachable!()).unwrap(), b"abc");
        assert_eq!(&*try_shared(&vec![7u8; 1 << 20], &String::new).unwrap(), &vec![7u8; 1 << 20][..]);
    }
}
