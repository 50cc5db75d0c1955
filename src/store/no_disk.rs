//! Stand-ins for the durable store when the `durable` feature is off: a store then never has a
//! disk, so none of this is ever reached.

use std::path::Path;
use std::sync::Arc;

use super::Entry;
use crate::error::Result;

pub(super) enum Disk {}

#[allow(dead_code)] // built, never read: no disk writes them
pub(super) enum KvRecord {
    Del { key: Arc<str>, high: u64 },
    Clear { high: u64 },
}

impl KvRecord {
    pub(super) fn put(_: &Entry) -> KvRecord {
        KvRecord::Clear { high: 0 }
    }
}

impl Disk {
    pub(super) fn append(&self, _: impl IntoIterator<Item = KvRecord>) -> u64 {
        match *self {}
    }
    pub(super) fn wait(&self, _: u64) -> Result<()> {
        match *self {}
    }
    pub(super) fn check(&self) -> Result<()> {
        match *self {}
    }
    pub(super) fn path(&self) -> &Path {
        match *self {}
    }
    pub(super) fn flush(&self) -> Result<()> {
        match *self {}
    }
}
