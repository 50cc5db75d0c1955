//! The SQLite side of a durable queue: its two tables, loading on open, and the journal records
//! that mirror each change.
//!
//! Tables (shared by every queue of a file, keyed by queue name; other netrig objects may keep
//! their own tables in the same file):
//!
//! ```sql
//! netrig_queues(name TEXT PRIMARY KEY, next_id INTEGER, completed INTEGER)
//! netrig_queue_items(queue TEXT, id INTEGER, priority INTEGER, status TEXT, attempts INTEGER,
//!                    last_error TEXT, payload BLOB, PRIMARY KEY (queue, id))
//! ```
//!
//! A row is an item's state as of its last journaled change; `status` is "pending",
//! "processing", "suspended" or "failed". Deleting a row (complete, purge) also writes the
//! queue's `completed` and `next_id`, so the next id never goes back even when the item with the
//! highest id is gone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{params, Transaction, TransactionBehavior};

use super::{Change, ItemInfo, ItemStatus, QueueOptions, State};
use crate::error::{Error, Result};
use crate::journal::{self, Durability, Journal, Record};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS netrig_queues (
    name TEXT PRIMARY KEY,
    next_id INTEGER NOT NULL,
    completed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS netrig_queue_items (
    queue TEXT NOT NULL,
    id INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    payload BLOB NOT NULL,
    PRIMARY KEY (queue, id)
);";

/// One change to an item's row.
#[derive(Debug)]
pub(crate) enum Rec {
    Insert { queue: Arc<str>, id: u64, priority: i32, status: &'static str, attempts: u32, payload: Arc<[u8]> },
    Update { queue: Arc<str>, id: u64, status: &'static str, attempts: u32, last_error: Option<Arc<str>> },
    Delete { queue: Arc<str>, id: u64, completed: u64, next_id: u64 },
}

/// SQLite integers are i64; ids and counts never get near 2^63.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Record for Rec {
    fn size(&self) -> usize {
        match self {
            Rec::Insert { queue, payload, .. } => queue.len() + payload.len(),
            Rec::Update { queue, last_error, .. } => queue.len() + last_error.as_ref().map_or(0, |e| e.len()),
            Rec::Delete { queue, .. } => queue.len(),
        }
    }

    fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        match self {
            Rec::Insert { queue, id, priority, status, attempts, payload } => {
                tx.prepare_cached(
                    "INSERT INTO netrig_queue_items (queue, id, priority, status, attempts, last_error, payload) \
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                )?
                .execute(params![&**queue, int(*id), priority, status, attempts, &**payload])?;
            }
            Rec::Update { queue, id, status, attempts, last_error } => {
                tx.prepare_cached(
                    "UPDATE netrig_queue_items SET status = ?3, attempts = ?4, last_error = ?5 \
                     WHERE queue = ?1 AND id = ?2",
                )?
                .execute(params![&**queue, int(*id), status, attempts, last_error.as_deref()])?;
            }
            Rec::Delete { queue, id, completed, next_id } => {
                tx.prepare_cached("DELETE FROM netrig_queue_items WHERE queue = ?1 AND id = ?2")?
                    .execute(params![&**queue, int(*id)])?;
                tx.prepare_cached("UPDATE netrig_queues SET completed = ?2, next_id = ?3 WHERE name = ?1")?
                    .execute(params![&**queue, int(*completed), int(*next_id)])?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub(super) struct Loaded {
    /// Items as loaded from the file (no lease: nothing is processing after a reopen).
    pub items: Vec<ItemInfo>,
    pub next_id: u64,
    pub completed: u64,
}

/// (file, queue name) pairs open in this process: two `Queue`s on one name would each believe
/// they own its items.
static OPEN: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

#[derive(Debug)]
struct Registration(PathBuf, String);

impl Registration {
    fn take(file: PathBuf, name: &str) -> Result<Registration> {
        let mut open = OPEN.lock();
        if open.iter().any(|(f, n)| *f == file && n == name) {
            return Err(Error::Busy(format!(
                "queue '{name}' of durable file {} is already open in this process; share that queue \
                 (one handle, any number of threads) instead of opening it twice",
                file.display()
            )));
        }
        open.push((file.clone(), name.to_owned()));
        Ok(Registration(file, name.to_owned()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        OPEN.lock().retain(|(f, n)| !(*f == self.0 && *n == self.1));
    }
}

/// The journal of one durable queue. Fields drop in order: the connection closes before the
/// name is free to open again.
#[derive(Debug)]
pub(super) struct Durable {
    journal: Journal<Rec>,
    _registration: Registration,
}

impl Durable {
    /// Opens the file, claims the queue name in this process, turns the rows of items that
    /// were processing into pending rows (failed when their attempts are used up), and loads
    /// everything.
    pub(super) fn open(
        path: &Path,
        name: &str,
        opts: &QueueOptions,
        durability: Durability,
    ) -> Result<(Durable, Loaded)> {
        let mut conn = journal::open(path, durability)?;
        let err = |step: &'static str| move |e: rusqlite::Error| journal::io(path, step, e);
        conn.execute_batch(SCHEMA).map_err(err("create the queue tables"))?;
        let file = std::fs::canonicalize(path).map_err(|e| journal::io(path, "resolve the path", e))?;
        let registration = Registration::take(file, name)?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err("begin loading"))?;
        tx.execute("INSERT OR IGNORE INTO netrig_queues (name, next_id, completed) VALUES (?1, 1, 0)", [name])
            .map_err(err("create the queue"))?;
        let max = opts.max_attempts;
        tx.execute(
            "UPDATE netrig_queue_items \
             SET status = CASE WHEN attempts >= ?2 THEN 'failed' ELSE 'pending' END, \
                 last_error = 'the process ended while attempt ' || attempts || ' of ' || ?2 || ' held the item' \
             WHERE queue = ?1 AND status = 'processing'",
            params![name, max],
        )
        .map_err(err("return processing items"))?;
        let (next_id, completed): (i64, i64) = tx
            .query_row("SELECT next_id, completed FROM netrig_queues WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(err("read the queue"))?;
        let mut items = Vec::new();
        {
            let mut stmt = tx
                .prepare(
                    "SELECT id, priority, status, attempts, last_error, payload FROM netrig_queue_items \
                     WHERE queue = ?1 ORDER BY id",
                )
                .map_err(err("read the items"))?;
            let mut rows = stmt.query([name]).map_err(err("read the items"))?;
            while let Some(row) = rows.next().map_err(err("read the items"))? {
                let id: i64 = row.get(0).map_err(err("read an item"))?;
                let status: String = row.get(2).map_err(err("read an item"))?;
                let status = ItemStatus::from_name(&status).ok_or_else(|| {
                    journal::io(path, "read an item", format!("queue '{name}' item {id} has unknown status '{status}'"))
                })?;
                let last_error: Option<String> = row.get(4).map_err(err("read an item"))?;
                let payload: Vec<u8> = row.get(5).map_err(err("read an item"))?;
                items.push(ItemInfo {
                    id: u64::try_from(id).unwrap_or(0),
                    priority: row.get(1).map_err(err("read an item"))?,
                    status,
                    attempts: row.get(3).map_err(err("read an item"))?,
                    last_error: last_error.map(Arc::from),
                    payload: Arc::from(payload),
                    lease_remaining: None,
                });
            }
        }
        tx.commit().map_err(err("finish loading"))?;
        let highest = items.iter().map(|i| i.id).max().unwrap_or(0);
        let loaded = Loaded {
            next_id: (u64::try_from(next_id).unwrap_or(1)).max(highest + 1),
            completed: u64::try_from(completed).unwrap_or(0),
            items,
        };
        Ok((
            Durable { journal: Journal::new(path, conn, crate::log::Target::Queue), _registration: registration },
            loaded,
        ))
    }

    pub(super) fn path(&self) -> &Path {
        self.journal.path()
    }

    /// Appends the rows of `changes` as they are in `st` now (called under the state lock).
    pub(super) fn append(&self, queue: &Arc<str>, st: &State, changes: &[Change]) -> u64 {
        let records = changes.iter().filter_map(|c| match *c {
            Change::Insert(id) => st.items.get(&id).map(|it| Rec::Insert {
                queue: Arc::clone(queue),
                id,
                priority: it.priority,
                status: it.status.public().name(),
                attempts: it.attempts,
                payload: Arc::clone(&it.payload),
            }),
            Change::Update(id) => st.items.get(&id).map(|it| Rec::Update {
                queue: Arc::clone(queue),
                id,
                status: it.status.public().name(),
                attempts: it.attempts,
                last_error: it.last_error.clone(),
            }),
            Change::Delete(id) => {
                Some(Rec::Delete { queue: Arc::clone(queue), id, completed: st.completed, next_id: st.next_id })
            }
        });
        self.journal.append(records)
    }

    pub(super) fn wait(&self, ticket: u64) -> Result<()> {
        self.journal.wait(ticket)
    }

    pub(super) fn failed(&self) -> Option<String> {
        self.journal.failed()
    }

    pub(super) fn flush(&self) -> Result<()> {
        self.journal.flush()
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        // Records nobody waited for (leases that expired unobserved) reach the file too.
        let _ = self.journal.flush();
    }
}
