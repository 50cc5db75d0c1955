//! The store on a file: every acknowledged write is in SQLite before the call returns.
//!
//! Memory stays the truth for readers and the hot path is the same as in memory; a write also
//! appends one record per key it changed (under the shard locks it holds, so a key's records
//! are in version order and a batch's records form one group), and after releasing its locks it
//! waits for the group commit of [`crate::journal`]. Expired keys are not loaded back; versions
//! continue above the highest one in the file, so a compare-and-set from before a restart can
//! never succeed against a newer write.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, OptionalExtension, Transaction};

use super::{Entry, Store, StoreOptions, Value};
use crate::error::{Error, Result};
use crate::journal::{self, Durability, Journal, Record};

pub(super) struct Disk {
    journal: Journal<KvRecord>,
    /// Holds the file's advisory lock while the store is open.
    _lock: std::fs::File,
}

pub(super) enum KvRecord {
    Put {
        key: Arc<str>,
        value: Value,
        version: u64,
        expires_ms: Option<i64>,
    },
    /// `high`: the shard's last version at the removal, so a reopened store never hands out a
    /// version a removed key already had.
    Del {
        key: Arc<str>,
        high: u64,
    },
    Clear {
        high: u64,
    },
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS netrig_store (
    key TEXT PRIMARY KEY NOT NULL,
    type INTEGER NOT NULL,
    ival INTEGER,
    dval REAL,
    blob BLOB,
    version INTEGER NOT NULL,
    expires_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS netrig_store_meta (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;";

/// Raises the version high-water mark kept for removed keys.
fn raise_high(tx: &Transaction<'_>, high: u64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO netrig_store_meta (name, value) VALUES ('max_version', ?1)
         ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute([high as i64])?;
    Ok(())
}

fn wall_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Record for KvRecord {
    fn size(&self) -> usize {
        match self {
            KvRecord::Put { key, value, .. } => {
                key.len()
                    + match value {
                        Value::Str(s) => s.len(),
                        Value::Bytes(b) => b.len(),
                        _ => 8,
                    }
            }
            KvRecord::Del { key, .. } => key.len(),
            KvRecord::Clear { .. } => 0,
        }
    }

    fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        match self {
            KvRecord::Put { key, value, version, expires_ms } => {
                let (ty, ival, dval, blob): (i64, Option<i64>, Option<f64>, Option<&[u8]>) = match value {
                    Value::Bool(b) => (1, Some(*b as i64), None, None),
                    Value::Int(i) => (2, Some(*i), None, None),
                    Value::Double(d) => (3, None, Some(*d), None),
                    Value::Str(s) => (4, None, None, Some(s.as_bytes())),
                    Value::Bytes(b) => (5, None, None, Some(b)),
                };
                tx.prepare_cached(
                    "INSERT INTO netrig_store (key, type, ival, dval, blob, version, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(key) DO UPDATE SET type = ?2, ival = ?3, dval = ?4, blob = ?5,
                         version = ?6, expires_ms = ?7",
                )?
                .execute(params![&**key, ty, ival, dval, blob, *version as i64, expires_ms])?;
            }
            KvRecord::Del { key, high } => {
                tx.prepare_cached("DELETE FROM netrig_store WHERE key = ?1")?.execute([&**key])?;
                raise_high(tx, *high)?;
            }
            KvRecord::Clear { high } => {
                tx.execute("DELETE FROM netrig_store", [])?;
                raise_high(tx, *high)?;
            }
        }
        Ok(())
    }
}

impl KvRecord {
    pub(super) fn put(e: &Entry) -> KvRecord {
        let expires_ms = e.expires.map(|at| {
            let left = at.saturating_duration_since(Instant::now());
            wall_ms(SystemTime::now() + left)
        });
        KvRecord::Put { key: e.key.clone(), value: e.value.clone(), version: e.version, expires_ms }
    }
}

fn decode(
    path: &Path,
    key: &str,
    ty: i64,
    ival: Option<i64>,
    dval: Option<f64>,
    blob: Option<Vec<u8>>,
) -> Result<Value> {
    let bad = || Error::Io(format!("durable file {}: key '{key}' has a malformed value (type {ty})", path.display()));
    Ok(match ty {
        1 => Value::Bool(ival.ok_or_else(bad)? != 0),
        2 => Value::Int(ival.ok_or_else(bad)?),
        3 => Value::Double(dval.ok_or_else(bad)?),
        4 => Value::str(std::str::from_utf8(&blob.ok_or_else(bad)?).map_err(|_| bad())?).map_err(|_| bad())?,
        5 => Value::bytes(&blob.ok_or_else(bad)?),
        _ => return Err(bad()),
    })
}

impl Disk {
    pub(super) fn append(&self, records: impl IntoIterator<Item = KvRecord>) -> u64 {
        self.journal.append(records)
    }

    pub(super) fn wait(&self, ticket: u64) -> Result<()> {
        self.journal.wait(ticket)
    }

    /// Refuses writes once a commit failed: memory and file would drift apart.
    pub(super) fn check(&self) -> Result<()> {
        match self.journal.failed() {
            Some(msg) => Err(Error::Io(msg)),
            None => Ok(()),
        }
    }

    pub(super) fn path(&self) -> &Path {
        self.journal.path()
    }

    pub(super) fn flush(&self) -> Result<()> {
        self.journal.flush()
    }
}

impl Store {
    /// Opens (or creates) a store kept in the SQLite file at `path`. Every write that returns
    /// Ok is in the file and survives a crash as `durability` says; reads are served from
    /// memory as fast as an in-memory store's. Keys whose TTL ran out while the store was
    /// closed are not loaded. Two open stores on one file are not supported (the second one's
    /// writes would not be seen by the first).
    pub fn open(path: impl AsRef<Path>, opts: StoreOptions, durability: Durability) -> Result<Store> {
        let path = path.as_ref();
        let mut store = Store::new(opts)?;
        let conn = journal::open(path, durability)?;
        // One open store per file: a second one would not see the first one's writes. An
        // advisory lock on the file itself (SQLite's own locks are POSIX record locks, which
        // this does not touch) lasts as long as the store and dies with the process.
        let lock = std::fs::File::open(path).map_err(|e| journal::io(path, "open for locking", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy(format!(
                    "durable file {} is already open as a store (in this or another process); share that store instead",
                    path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(journal::io(path, "lock", e)),
        }
        conn.execute_batch(SCHEMA).map_err(|e| journal::io(path, "create table netrig_store", e))?;
        let now_wall = wall_ms(SystemTime::now());
        let now = Instant::now();
        // Expired keys are dropped below; their versions stay reserved in the mark.
        conn.execute(
            "INSERT INTO netrig_store_meta (name, value) SELECT 'max_version', coalesce(max(version), 0) FROM netrig_store WHERE true
             ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
            [],
        )
        .map_err(|e| journal::io(path, "keep the version mark", e))?;
        conn.execute("DELETE FROM netrig_store WHERE expires_ms IS NOT NULL AND expires_ms <= ?1", [now_wall])
            .map_err(|e| journal::io(path, "drop expired keys", e))?;
        let mut max_version: u64 = conn
            .query_row("SELECT value FROM netrig_store_meta WHERE name = 'max_version'", [], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(|e| journal::io(path, "read the version mark", e))?
            .map_or(0, |v| v as u64);
        {
            let mut stmt = conn
                .prepare("SELECT key, type, ival, dval, blob, version, expires_ms FROM netrig_store")
                .map_err(|e| journal::io(path, "read", e))?;
            let mut rows = stmt.query([]).map_err(|e| journal::io(path, "read", e))?;
            while let Some(row) = rows.next().map_err(|e| journal::io(path, "read", e))? {
                let get = |e: rusqlite::Error| journal::io(path, "read a row", e);
                let key: String = row.get(0).map_err(get)?;
                let value = decode(
                    path,
                    &key,
                    row.get(1).map_err(get)?,
                    row.get(2).map_err(get)?,
                    row.get(3).map_err(get)?,
                    row.get(4).map_err(get)?,
                )?;
                let version = row.get::<_, i64>(5).map_err(get)? as u64;
                let expires = row
                    .get::<_, Option<i64>>(6)
                    .map_err(get)?
                    .map(|ms| now + Duration::from_millis((ms - now_wall).max(0) as u64));
                max_version = max_version.max(version);
                store.load(&key, value, version, expires)?;
            }
        }
        store.resume_versions(max_version);
        store.disk = Some(Box::new(Disk { journal: Journal::new(path, conn, crate::log::Target::Store), _lock: lock }));
        Ok(store)
    }
}
