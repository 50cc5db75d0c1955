//! Group commit to SQLite: the write-ahead half of the durable store and queue.
//!
//! The in-memory structures stay the truth for readers. A durable write changes memory under its
//! own lock (a store shard, the queue's state) and, under that same lock, appends its records
//! here, which fixes their order on disk to the order in memory. It then releases its lock and
//! calls [`Journal::wait`], which returns once a transaction holding its records has committed.
//! Only then does the caller report success, so every acknowledged change is in the file.
//!
//! Whoever waits first becomes the leader: it takes every record appended so far and commits
//! them in one transaction while the others wait on the disk lock; when they get it, their
//! records are usually committed already. Under load one commit carries many writes (group
//! commit); alone, a write pays one commit and no thread hand-off.
//!
//! Why SQLite: WAL mode makes a commit an append to the `-wal` file, which the kernel keeps
//! after `kill -9` without an fsync per write ([`Durability::ProcessCrash`]); the same file
//! survives power loss when asked ([`Durability::PowerLoss`], an fsync per commit). Recovery
//! after a crash is SQLite's own, decades old; the file opens in the `sqlite3` shell on any
//! test station; and `rusqlite`'s `bundled` feature compiles it in, so nothing is installed.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};

/// What a durable object's acknowledged writes survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A crash or `kill -9` of the process (WAL, `synchronous=NORMAL`: no fsync per write).
    #[default]
    ProcessCrash,
    /// Also an operating-system crash or power loss (`synchronous=FULL`: an fsync per commit).
    PowerLoss,
}

/// One change to write, in the order appended.
pub(crate) trait Record: Send {
    fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()>;
    /// About how many bytes of keys, values and payloads it writes (for trace records).
    fn size(&self) -> usize;
}

struct Pending<R> {
    records: Vec<R>,
    /// Sequence number of the last record appended.
    appended: u64,
    /// Sequence number of the last record committed.
    durable: u64,
    /// Set when a commit failed: nothing appended since reaches the file.
    failed: Option<String>,
}

pub(crate) struct Journal<R> {
    path: PathBuf,
    pending: Mutex<Pending<R>>,
    /// The connection. Held by the leader across its commit; the only threads that wait for it
    /// are other durable writers, which are waiting for that very commit.
    disk: Mutex<Connection>,
    /// Whose journal this is, for log records (store or queue).
    target: crate::log::Target,
}

impl<R> std::fmt::Debug for Journal<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Opens (creating if needed) a SQLite file in WAL mode with the given durability.
pub(crate) fn open(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| io(path, "open", e))?;
    let sync = match durability {
        Durability::ProcessCrash => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    conn.execute_batch(&format!("PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA busy_timeout=10000;"))
        .map_err(|e| io(path, "set up", e))?;
    Ok(conn)
}

/// An I/O error naming the file and the step.
pub(crate) fn io(path: &Path, step: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("durable file {}: {step} failed: {e}", path.display()))
}

impl<R: Record> Journal<R> {
    /// Wraps a connection that the owner has already set up and loaded from.
    pub(crate) fn new(path: &Path, conn: Connection, target: crate::log::Target) -> Journal<R> {
        Journal {
            target,
            path: path.to_owned(),
            pending: Mutex::new(Pending { records: Vec::new(), appended: 0, durable: 0, failed: None }),
            disk: Mutex::new(conn),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records as one group (they commit in the same transaction) and returns the
    /// ticket to wait for. Never blocks on the disk.
    pub(crate) fn append(&self, records: impl IntoIterator<Item = R>) -> u64 {
        let mut p = self.pending.lock();
        if p.failed.is_some() {
            // Nothing reaches the file any more; `wait` reports why.
            return p.appended;
        }
        let before = p.records.len();
        p.records.extend(records);
        p.appended += (p.records.len() - before) as u64;
        p.appended
    }

    /// Blocks until every record up to `ticket` is committed, committing them itself when no
    /// other thread is. Fails once any commit has failed.
    pub(crate) fn wait(&self, ticket: u64) -> Result<()> {
        if let Some(done) = self.settled(ticket) {
            return done;
        }
        let mut conn = self.disk.lock();
        if let Some(done) = self.settled(ticket) {
            return done;
        }
        let (records, upto) = {
            let mut p = self.pending.lock();
            (std::mem::take(&mut p.records), p.appended)
        };
        let started = std::time::Instant::now();
        let result = commit(&mut conn, &records);
        let mut p = self.pending.lock();
        match result {
            Ok(()) => {
                p.durable = upto;
                drop(p);
                drop(conn);
                if crate::log::enabled(crate::log::Level::Trace) && !records.is_empty() {
                    let bytes: usize = records.iter().map(Record::size).sum();
                    crate::log!(
                        crate::log::Level::Trace,
                        self.target,
                        None,
                        "durable commit to {}: {} records, {bytes} bytes, {:.3} ms",
                        self.path.display(),
                        records.len(),
                        started.elapsed().as_secs_f64() * 1000.0
                    );
                }
                Ok(())
            }
            Err(e) => {
                let msg = format!(
                    "durable file {}: commit failed: {e}; this and every later change stays in memory only",
                    self.path.display()
                );
                p.failed = Some(msg.clone());
                Err(Error::Io(msg))
            }
        }
    }

    /// Commits whatever is appended (used on close, for records nobody waited for).
    pub(crate) fn flush(&self) -> Result<()> {
        let ticket = self.pending.lock().appended;
        self.wait(ticket)
    }

    /// The failure that stopped this journal, if any.
    pub(crate) fn failed(&self) -> Option<String> {
        self.pending.lock().failed.clone()
    }

    fn settled(&self, ticket: u64) -> Option<Result<()>> {
        let p = self.pending.lock();
        if let Some(msg) = &p.failed {
            return Some(Err(Error::Io(msg.clone())));
        }
        (p.durable >= ticket).then_some(Ok(()))
    }
}

fn commit<R: Record>(conn: &mut Connection, records: &[R]) -> rusqlite::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for r in records {
        r.write(&tx)?;
    }
    tx.commit()
}
