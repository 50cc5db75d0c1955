//! Helpers for the JSON documents the crate exports (store and queue snapshots, test and
//! service state, run reports). They are rendered by serde_json, whose escaping and number
//! formatting are exercised far beyond anything a hand-built string gets; each document's
//! shape is a `Serialize` type next to the data it renders.

use std::fmt;

use serde::{Serialize, Serializer};

/// Bytes as a JSON string of lowercase hex, written straight into the output (no `String` per
/// value): how snapshots show bytes that are not text.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 256];
        for chunk in self.0.chunks(buf.len() / 2) {
            for (i, b) in chunk.iter().enumerate() {
                buf[2 * i] = DIGITS[usize::from(b >> 4)];
                buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
            }
            // Hex digits are ASCII, so this never fails.
            f.write_str(std::str::from_utf8(&buf[..2 * chunk.len()]).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `value` as JSON text. The crate's document types have string keys and no fallible
/// `Serialize` impls, the only ways serde_json can fail, so this cannot fail.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("the crate's JSON documents always serialize")
}

/// [`to_string`] into a buffer of `capacity` bytes to start with: for documents of megabytes,
/// whose size is known roughly, this saves growing the buffer a dozen times.
pub(crate) fn to_string_sized<T: Serialize + ?Sized>(value: &T, capacity: usize) -> String {
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, value).expect("the crate's JSON documents always serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_spans_chunks() {
        let bytes: Vec<u8> = (0..=255).chain(0..=255).collect();
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(Hex(&bytes).to_string(), want);
        assert_eq!(to_string(&Hex(&bytes)), format!("\"{want}\""));
        assert_eq!(to_string(&Hex(&[])), "\"\"");
    }
}
