//! Values the store holds, and how a write says when its key expires.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// A typed value. Strings and bytes are reference-counted so that snapshots and readers copy a
/// pointer under the shard lock, not the payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
}

/// The type of a [`Value`], without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    Bool,
    Int,
    Double,
    Str,
    Bytes,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Bool => "bool",
            ValueType::Int => "int",
            ValueType::Double => "double",
            ValueType::Str => "str",
            ValueType::Bytes => "bytes",
        }
    }
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Bool(_) => ValueType::Bool,
            Value::Int(_) => ValueType::Int,
            Value::Double(_) => ValueType::Double,
            Value::Str(_) => ValueType::Str,
            Value::Bytes(_) => ValueType::Bytes,
        }
    }

    /// Bytes this value counts against the store's `max_bytes`: the payload for strings and
    /// bytes, 8 for scalars.
    pub fn weight(&self) -> usize {
        match self {
            Value::Bool(_) | Value::Int(_) | Value::Double(_) => 8,
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
        }
    }

    /// A string value. Strings cannot hold NUL, because C callers could not read them back
    /// whole; store such data as bytes.
    pub fn str(s: &str) -> Result<Value> {
        if let Some(pos) = s.bytes().position(|b| b == 0) {
            return Err(Error::InvalidArg(format!(
                "string value contains NUL at offset {pos}; store it as bytes instead"
            )));
        }
        Ok(Value::Str(crate::mem::try_shared_str(s, &|| "string value".into())?))
    }

    pub fn bytes(b: &[u8]) -> Value {
        Value::Bytes(Arc::from(b))
    }

    /// Like [`Value::bytes`], for data of any size: [`Error::Full`] instead of an abort when
    /// the allocator cannot give a copy of it.
    pub fn try_bytes(b: &[u8]) -> Result<Value> {
        Ok(Value::Bytes(crate::mem::try_shared(b, &|| "bytes value".into())?))
    }

    pub(crate) fn check(&self) -> Result<()> {
        match self {
            Value::Str(s) if s.as_bytes().contains(&0) => Value::str(s).map(|_| ()),
            _ => Ok(()),
        }
    }

    fn mismatch(&self, key: &str, expected: ValueType) -> Error {
        Error::Type { key: key.to_owned(), expected: expected.name(), actual: self.value_type().name() }
    }

    pub fn into_bool(self, key: &str) -> Result<bool> {
        match self {
            Value::Bool(b) => Ok(b),
            other => Err(other.mismatch(key, ValueType::Bool)),
        }
    }

    pub fn into_int(self, key: &str) -> Result<i64> {
        match self {
            Value::Int(i) => Ok(i),
            other => Err(other.mismatch(key, ValueType::Int)),
        }
    }

    pub fn into_double(self, key: &str) -> Result<f64> {
        match self {
            Value::Double(d) => Ok(d),
            other => Err(other.mismatch(key, ValueType::Double)),
        }
    }

    pub fn into_str(self, key: &str) -> Result<Arc<str>> {
        match self {
            Value::Str(s) => Ok(s),
            other => Err(other.mismatch(key, ValueType::Str)),
        }
    }

    pub fn into_bytes(self, key: &str) -> Result<Arc<[u8]>> {
        match self {
            Value::Bytes(b) => Ok(b),
            other => Err(other.mismatch(key, ValueType::Bytes)),
        }
    }
}

/// When a written key expires. Expiry runs on the monotonic clock, so wall-clock jumps on a
/// test station never resurrect or kill status early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ttl {
    /// Use the store's `default_ttl` (which may be "never").
    #[default]
    Default,
    /// Never expires, whatever the store default.
    Never,
    /// Expires this long after the write.
    After(Duration),
}

impl Ttl {
    /// The C encoding: -1 = store default, 0 = never, > 0 = milliseconds.
    pub fn from_millis(ms: i64) -> Result<Ttl> {
        match ms {
            -1 => Ok(Ttl::Default),
            0 => Ok(Ttl::Never),
            ms if ms > 0 => Ok(Ttl::After(Duration::from_millis(ms as u64))),
            ms => Err(Error::InvalidArg(format!(
                "ttl_ms is {ms}; use -1 for the store default, 0 for never, or a positive number of ms"
            ))),
        }
    }
}
