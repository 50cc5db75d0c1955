//! The status store: typed keys with versions, TTLs, bounds, atomic batches and consistent
//! snapshots, shared by any number of threads.
//!
//! Design (THREAD_SAFETY.md has the long form): keys hash to one of [`SHARDS`] shards, each a
//! `parking_lot::RwLock` around a hash table, padded to its own cache lines. A single-key
//! operation locks one shard. Batches lock every shard they touch, in ascending order, before
//! they change anything; snapshots, `len` and `clear` lock all shards in the same order. One order
//! means no deadlock, and holding all the touched shards at once is what makes batches atomic to
//! every reader that can see more than one key.
//!
//! The store-wide bounds are two atomic counters that a write touches only when the entry count
//! or the byte weight changes, so overwriting a value of the same size (the status-update hot
//! path) writes no shared cache line besides its own shard's lock.

mod batch;
#[cfg(feature = "durable")]
mod durable;
#[cfg(not(feature = "durable"))]
#[path = "no_disk.rs"]
mod durable;
mod events;
mod snapshot;
mod state;
mod value;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashbrown::{hash_table, DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

pub use batch::{Batch, BatchOp};
pub use events::{Event, EventKind, Subscription, SubscriptionStats, DEFAULT_EVENT_CAPACITY};
pub use snapshot::{Snapshot, SnapshotEntry};
pub use state::{services_json, ServiceState, TestStart, TestState, TestUpdate, SERVICE_PREFIX, TEST_PREFIX};
pub use value::{Ttl, Value, ValueType};

use crate::error::{Error, Result};

/// Number of shards. A power of two; 64 keeps two writers on distinct keys on distinct locks
/// almost always, at 8 KiB of padding per store.
pub const SHARDS: usize = 64;

/// Limits and defaults of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// Most keys the store holds at once (expired keys count until purged or overwritten).
    pub max_entries: usize,
    /// Most bytes of keys plus values (scalars weigh 8) the store holds at once.
    pub max_bytes: usize,
    /// TTL applied by writes that ask for [`Ttl::Default`]. `None` means such keys never expire.
    pub default_ttl: Option<Duration>,
    /// Longest key, in bytes.
    pub max_key_len: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { max_entries: 1_000_000, max_bytes: 256 << 20, default_ttl: None, max_key_len: 1024 }
    }
}

/// A value with the version the store gave the write that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

#[derive(Debug)]
struct Entry {
    key: Arc<str>,
    value: Value,
    version: u64,
    expires: Option<Instant>,
}

impl Entry {
    fn weight(&self) -> usize {
        self.key.len() + self.value.weight()
    }

    fn overwrite(&mut self, value: Value, version: u64, expires: Option<Instant>) {
        self.value = value;
        self.version = version;
        self.expires = expires;
    }

    fn live(&self, now: &mut Option<Instant>) -> bool {
        match self.expires {
            None => true,
            Some(at) => at > *now.get_or_insert_with(Instant::now),
        }
    }
}

#[derive(Default)]
struct Shard {
    table: HashTable<Entry>,
    versions: Versions,
    /// Who hears of changes to this shard's keys (the same list in every shard).
    subs: events::Subscribers,
}

/// The last version handed out in a shard. A key always lives in the same shard, so its
/// versions strictly increase even across delete and re-create: a stale CAS can never win.
#[derive(Default)]
struct Versions(u64);

impl Versions {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

impl Shard {
    fn find(&self, hash: u64, key: &str) -> Option<&Entry> {
        self.table.find(hash, |e| &*e.key == key)
    }

    /// Writes a key (inserting it when absent) under a new version and returns the version.
    /// Bounds must already be reserved.
    fn put(
        &mut self,
        hash: u64,
        key: &str,
        value: Value,
        expires: Option<Instant>,
        hasher: &DefaultHashBuilder,
    ) -> u64 {
        let version = self.versions.next();
        match self.table.find_mut(hash, |e| &*e.key == key) {
            Some(e) => e.overwrite(value, version, expires),
            None => {
                let entry = Entry { key: Arc::from(key), value, version, expires };
                self.table.insert_unique(hash, entry, |e| hasher.hash_one(&*e.key));
            }
        }
        version
    }

    /// Removes a key, expired or not. Bounds are settled by the caller.
    fn remove(&mut self, hash: u64, key: &str) {
        if let Ok(entry) = self.table.find_entry(hash, |e| &*e.key == key) {
            entry.remove();
        }
    }
}

/// Keeps a value on its own cache lines, so that shards (and the bound counters) never share one.
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

#[derive(Default)]
struct Usage {
    entries: AtomicUsize,
    bytes: AtomicUsize,
    /// Entries with an expiry, live or not: when 0, a full store has nothing to purge.
    expiring: AtomicUsize,
    /// Serialises writes that add entries. Such a write takes an entry and then bytes, and gives
    /// the entry back if the bytes do not fit; without this, another adding write could see that
    /// borrowed entry and fail with a store that has room. Writes that do not add entries
    /// (overwrites, deletes) never take it.
    adding: parking_lot::Mutex<()>,
}

/// The thread-safe status store. Share it by reference or in an `Arc`; every method takes `&self`.
pub struct Store {
    shards: Box<[Padded<RwLock<Shard>>]>,
    usage: Padded<Usage>,
    hasher: DefaultHashBuilder,
    opts: StoreOptions,
    hub: Arc<events::Hub>,
    /// The file of a durable store ([`Store::open`]); None in memory.
    disk: Option<Box<durable::Disk>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close_subscribers();
        if let Some(disk) = &self.disk {
            // Purges nobody waited for; an acknowledged write is already in the file.
            let _ = disk.flush();
        }
    }
}

/// A change to one key, told to subscribers with its shard lock held.
enum Change<'a> {
    Put { key: &'a Arc<str>, value: &'a Value, version: u64, expires: Option<Instant> },
    Remove { key: &'a Arc<str>, value: &'a Value, version: u64, why: EventKind },
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("options", &self.opts)
            .field("entries", &self.usage.0.entries.load(Ordering::Relaxed))
            .field("bytes", &self.usage.0.bytes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A change in entry count, byte weight and expiring entries that a write is about to make.
#[derive(Debug, Clone, Copy, Default)]
struct Delta {
    entries: isize,
    bytes: isize,
    expiring: isize,
}

impl Delta {
    /// From the entry being replaced (if any) to the new one, given as (weight, expires).
    fn of(old: Option<&Entry>, new: Option<(usize, bool)>) -> Delta {
        let (oe, ob, ox) = old.map_or((0, 0, 0), |e| (1, e.weight() as isize, e.expires.is_some() as isize));
        let (ne, nb, nx) = new.map_or((0, 0, 0), |(w, x)| (1, w as isize, x as isize));
        Delta { entries: ne - oe, bytes: nb - ob, expiring: nx - ox }
    }

    fn add(self, other: Delta) -> Delta {
        Delta {
            entries: self.entries + other.entries,
            bytes: self.bytes + other.bytes,
            expiring: self.expiring + other.expiring,
        }
    }
}

impl Store {
    pub fn new(opts: StoreOptions) -> Result<Store> {
        if opts.max_entries == 0 || opts.max_bytes == 0 || opts.max_key_len == 0 {
            return Err(Error::InvalidArg(format!(
                "store options need max_entries, max_bytes and max_key_len above 0 (got {}, {}, {})",
                opts.max_entries, opts.max_bytes, opts.max_key_len
            )));
        }
        if opts.default_ttl == Some(Duration::ZERO) {
            return Err(Error::InvalidArg("default_ttl of 0 would expire every key at once; use None".into()));
        }
        Ok(Store {
            shards: (0..SHARDS).map(|_| Padded(RwLock::new(Shard::default()))).collect(),
            usage: Padded::default(),
            hasher: DefaultHashBuilder::default(),
            opts,
            hub: Arc::default(),
            disk: None,
        })
    }

    /// The file of a durable store; None for an in-memory one.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.disk.as_ref().map(|d| d.path())
    }

    /// Appends a durable store's records (one group: they commit together) and raises the
    /// caller's ticket to wait for. Called with the changed keys' shard locks held.
    fn log(&self, ticket: &mut u64, records: impl FnOnce() -> Vec<durable::KvRecord>) {
        if let Some(disk) = &self.disk {
            *ticket = disk.append(records());
        }
    }

    /// Waits, with no lock held, until the records of a write are in the file.
    fn settle(&self, ticket: u64) -> Result<()> {
        match &self.disk {
            Some(disk) if ticket > 0 => disk.wait(ticket),
            _ => Ok(()),
        }
    }

    /// Refuses writes to a durable store whose file stopped taking them.
    fn writable(&self) -> Result<()> {
        match &self.disk {
            Some(disk) => disk.check(),
            None => Ok(()),
        }
    }

    /// Puts a key read from the file into a store being opened.
    #[cfg_attr(not(feature = "durable"), allow(dead_code))]
    fn load(&mut self, key: &str, value: Value, version: u64, expires: Option<Instant>) -> Result<()> {
        self.check_key(key)?;
        let (hash, shard) = self.locate(key);
        let weight = key.len() + value.weight();
        let what = || format!("key '{key}' from the file");
        self.reserve(&what, Delta::of(None, Some((weight, expires.is_some()))), weight)?;
        let shard = self.shards[shard].0.get_mut();
        shard.table.insert_unique(hash, Entry { key: Arc::from(key), value, version, expires }, |e| {
            self.hasher.hash_one(&*e.key)
        });
        Ok(())
    }

    /// Makes every shard hand out versions above `max` (the highest in the file).
    #[cfg_attr(not(feature = "durable"), allow(dead_code))]
    fn resume_versions(&mut self, max: u64) {
        for s in self.shards.iter_mut() {
            s.0.get_mut().versions.0 = max;
        }
    }

    /// Tells the subscribers of a shard about a change. Called with that shard's write lock
    /// held, which orders the events of a key as its versions.
    fn note(&self, subs: &events::Subscribers, change: Change<'_>) {
        if subs.is_empty() {
            return;
        }
        let (kind, key, value, version) = match change {
            Change::Put { key, value, version, expires } => {
                if let Some(at) = expires {
                    self.hub.note_expiry(at);
                }
                (EventKind::Set, key, value, version)
            }
            Change::Remove { key, value, version, why } => (why, key, value, version),
        };
        // The event is built only for subscribers that want it: one of another prefix costs a
        // prefix comparison, no reference counts.
        for sub in subs.iter().filter(|s| s.matches(key)) {
            sub.push(Event { kind, key: key.clone(), value: value.clone(), version });
        }
    }

    /// The removal of an entry: a delete when it was live, an expiry when it was not.
    fn note_removal(&self, subs: &events::Subscribers, e: &Entry, live: bool) {
        let why = if live { EventKind::Delete } else { EventKind::Expire };
        self.note(subs, Change::Remove { key: &e.key, value: &e.value, version: e.version, why });
    }

    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }

    /// Rejects keys that C callers could not pass back (NUL) and keys past the configured bounds.
    pub fn check_key(&self, key: &str) -> Result<()> {
        if key.is_empty() {
            return Err(Error::InvalidArg("key is empty".into()));
        }
        if key.len() > self.opts.max_key_len {
            let head: String = key.chars().take(32).collect();
            return Err(Error::InvalidArg(format!(
                "key of {} bytes exceeds max_key_len {} (key starts '{head}')",
                key.len(),
                self.opts.max_key_len
            )));
        }
        if has_nul(key.as_bytes()) {
            return Err(Error::InvalidArg(format!("key '{}' contains NUL", key.escape_debug())));
        }
        Ok(())
    }

    fn locate(&self, key: &str) -> (u64, usize) {
        let hash = self.hasher.hash_one(key);
        (hash, (hash >> 32) as usize & (SHARDS - 1))
    }

    fn expiry(&self, ttl: Ttl) -> Option<Instant> {
        let d = match ttl {
            Ttl::Default => self.opts.default_ttl?,
            Ttl::Never => return None,
            Ttl::After(d) => d,
        };
        // A TTL too long to represent is as good as never.
        Instant::now().checked_add(d)
    }

    /// Reads a key: its value and the version of the write that produced it.
    pub fn get(&self, key: &str) -> Result<Versioned<Value>> {
        self.check_key(key)?;
        let (hash, shard) = self.locate(key);
        let guard = self.shards[shard].0.read();
        match guard.find(hash, key) {
            Some(e) if e.live(&mut None) => Ok(Versioned { value: e.value.clone(), version: e.version }),
            _ => Err(Error::NotFound(key.to_owned())),
        }
    }

    pub fn get_bool(&self, key: &str) -> Result<Versioned<bool>> {
        let v = self.get(key)?;
        Ok(Versioned { value: v.value.into_bool(key)?, version: v.version })
    }

    pub fn get_int(&self, key: &str) -> Result<Versioned<i64>> {
        let v = self.get(key)?;
        Ok(Versioned { value: v.value.into_int(key)?, version: v.version })
    }

    pub fn get_double(&self, key: &str) -> Result<Versioned<f64>> {
        let v = self.get(key)?;
        Ok(Versioned { value: v.value.into_double(key)?, version: v.version })
    }

    pub fn get_str(&self, key: &str) -> Result<Versioned<Arc<str>>> {
        let v = self.get(key)?;
        Ok(Versioned { value: v.value.into_str(key)?, version: v.version })
    }

    pub fn get_bytes(&self, key: &str) -> Result<Versioned<Arc<[u8]>>> {
        let v = self.get(key)?;
        Ok(Versioned { value: v.value.into_bytes(key)?, version: v.version })
    }

    pub fn contains(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            Ok(_) => Ok(true),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes a key and returns the new version.
    pub fn set(&self, key: &str, value: Value, ttl: Ttl) -> Result<u64> {
        self.write_one(key, |_| Ok(Some((value.clone(), Expiry::Set(ttl)))))
    }

    /// Writes a copy of `data` to a key and returns the new version. Unlike
    /// `set(key, Value::bytes(data), ttl)`, the size is checked against the bounds (and the
    /// allocator) before anything is copied: data of any size is at worst [`Error::Full`].
    pub fn set_bytes(&self, key: &str, data: &[u8], ttl: Ttl) -> Result<u64> {
        self.check_key(key)?;
        self.check_fits(key, data.len())?;
        self.set(key, Value::try_bytes(data)?, ttl)
    }

    /// Writes `value` only if the key's current version is `expected_version`; 0 means the key
    /// must not exist. Returns the new version, or [`Error::Conflict`] with the version found.
    pub fn compare_and_set(&self, key: &str, expected_version: u64, value: Value, ttl: Ttl) -> Result<u64> {
        self.write_one(key, |cur| {
            let found = cur.map_or(0, |e| e.version);
            if found != expected_version {
                return Err(Error::Conflict { key: key.to_owned(), expected: expected_version, found });
            }
            Ok(Some((value.clone(), Expiry::Set(ttl))))
        })
    }

    /// Adds `delta` to an integer key, creating it at `delta` (with the default TTL) when absent.
    /// Returns the new value and version.
    pub fn add_int(&self, key: &str, delta: i64) -> Result<Versioned<i64>> {
        let mut new = 0;
        let version = self.write_one(key, |cur| {
            let Some(e) = cur else {
                new = delta;
                return Ok(Some((Value::Int(delta), Expiry::Set(Ttl::Default))));
            };
            let Value::Int(old) = e.value else {
                return Err(e.value.clone().into_int(key).unwrap_err());
            };
            new = old.checked_add(delta).ok_or(Error::Overflow { key: key.to_owned(), value: old, delta })?;
            Ok(Some((Value::Int(new), Expiry::Keep)))
        })?;
        Ok(Versioned { value: new, version })
    }

    /// Removes a key. A missing or expired key is [`Error::NotFound`].
    pub fn delete(&self, key: &str) -> Result<()> {
        let mut existed = false;
        self.write_one(key, |cur| {
            existed = cur.is_some();
            Ok(None)
        })?;
        if existed {
            Ok(())
        } else {
            Err(Error::NotFound(key.to_owned()))
        }
    }

    /// The core of every single-key write. `decide` sees the live entry (None when absent or
    /// expired) and returns the new value and TTL, or None to remove the key. The bounds are
    /// checked before anything changes; when they would be exceeded and expired keys hold room,
    /// they are purged and the write is tried once more.
    fn write_one<F>(&self, key: &str, mut decide: F) -> Result<u64>
    where
        F: FnMut(Option<&Entry>) -> Result<Option<(Value, Expiry)>>,
    {
        self.check_key(key)?;
        self.writable()?;
        let (hash, shard) = self.locate(key);
        let mut retried = false;
        let mut ticket = 0;
        loop {
            let result = self.write_locked(&mut self.shards[shard].0.write(), hash, key, &mut decide, &mut ticket);
            // The shard lock is released here: purging takes every shard's lock in turn, and
            // a durable write waits for its commit with no lock held.
            match result {
                Err(Error::Full(_)) if !retried => self.make_room(&mut retried),
                other => {
                    self.settle(ticket)?;
                    return other;
                }
            }
        }
    }

    /// One hash-table probe per write: the entry found (or the vacancy) is decided on, checked
    /// against the bounds and written in place.
    fn write_locked<F>(&self, shard: &mut Shard, hash: u64, key: &str, decide: &mut F, ticket: &mut u64) -> Result<u64>
    where
        F: FnMut(Option<&Entry>) -> Result<Option<(Value, Expiry)>>,
    {
        let Shard { table, versions, subs } = shard;
        let hasher = &self.hasher;
        let what = || format!("key '{key}'");
        match table.entry(hash, |e| &*e.key == key, |e| hasher.hash_one(&*e.key)) {
            hash_table::Entry::Occupied(mut found) => {
                let live = found.get().live(&mut None);
                let Some((value, expiry)) = decide(live.then_some(found.get()))? else {
                    let delta = Delta::of(Some(found.get()), None);
                    self.note_removal(subs, found.get(), live);
                    self.log(ticket, || {
                        vec![durable::KvRecord::Del { key: found.get().key.clone(), high: versions.0 }]
                    });
                    found.remove();
                    self.release(delta);
                    return Ok(0);
                };
                value.check()?;
                let weight = key.len() + value.weight();
                let expires = match expiry {
                    Expiry::Keep if live => found.get().expires,
                    Expiry::Keep => None,
                    Expiry::Set(ttl) => self.expiry(ttl),
                };
                self.reserve(&what, Delta::of(Some(found.get()), Some((weight, expires.is_some()))), weight)?;
                if !live {
                    self.note_removal(subs, found.get(), false);
                }
                let version = versions.next();
                found.get_mut().overwrite(value, version, expires);
                let e = found.get();
                self.note(subs, Change::Put { key: &e.key, value: &e.value, version, expires });
                self.log(ticket, || vec![durable::KvRecord::put(e)]);
                Ok(version)
            }
            hash_table::Entry::Vacant(vacancy) => {
                let Some((value, expiry)) = decide(None)? else { return Ok(0) };
                value.check()?;
                let weight = key.len() + value.weight();
                let expires = match expiry {
                    Expiry::Keep => None,
                    Expiry::Set(ttl) => self.expiry(ttl),
                };
                self.reserve(&what, Delta::of(None, Some((weight, expires.is_some()))), weight)?;
                let version = versions.next();
                let entry = vacancy.insert(Entry { key: Arc::from(key), value, version, expires });
                let e = entry.get();
                self.note(subs, Change::Put { key: &e.key, value: &e.value, version, expires });
                self.log(ticket, || vec![durable::KvRecord::put(e)]);
                Ok(version)
            }
        }
    }

    /// Fails with [`Error::Full`] when an entry of `largest` bytes (key plus value) can never
    /// fit past `max_bytes`.
    fn check_weight(&self, what: &dyn Fn() -> String, largest: usize) -> Result<()> {
        let max_bytes = self.opts.max_bytes;
        if largest > max_bytes {
            return Err(Error::Full(format!(
                "{}: an entry of {largest} bytes (key plus value) can never fit; max_bytes is {max_bytes}",
                what()
            )));
        }
        Ok(())
    }

    /// Checks, before a value of `value_len` bytes is copied, that `key` with it could ever
    /// fit, so that the size of a caller's value is refused instead of copied first.
    pub(crate) fn check_fits(&self, key: &str, value_len: usize) -> Result<()> {
        self.check_weight(&|| format!("key '{key}'"), key.len().saturating_add(value_len))
    }

    /// Takes room for a write from the store-wide bounds, or fails with nothing taken.
    /// `what` names the write in the error ("key 'x'", "batch of 3 operations"); `largest` is
    /// the weight of its largest single entry, which can never fit past `max_bytes`.
    fn reserve(&self, what: &dyn Fn() -> String, delta: Delta, largest: usize) -> Result<()> {
        let usage = &self.usage.0;
        let (max_entries, max_bytes) = (self.opts.max_entries, self.opts.max_bytes);
        self.check_weight(what, largest)?;
        let _adding = (delta.entries > 0).then(|| usage.adding.lock());
        if delta.entries > 0 {
            let add = delta.entries as usize;
            usage
                .entries
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_add(add).filter(|&t| t <= max_entries))
                .map_err(|n| {
                    Error::Full(format!("store full: {n} of {max_entries} entries in use; {} adds {add}", what()))
                })?;
        }
        if delta.bytes > 0 {
            let add = delta.bytes as usize;
            let taken = usage
                .bytes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_add(add).filter(|&t| t <= max_bytes));
            if let Err(n) = taken {
                if delta.entries > 0 {
                    usage.entries.fetch_sub(delta.entries as usize, Ordering::AcqRel);
                }
                return Err(Error::Full(format!(
                    "store full: {n} of {max_bytes} bytes in use; {} needs {add} more",
                    what()
                )));
            }
        }
        self.release(delta);
        Ok(())
    }

    /// Gives back room after removals (the negative parts of a delta; positive entries and
    /// bytes go through `reserve`) and counts expiring entries either way.
    fn release(&self, delta: Delta) {
        let usage = &self.usage.0;
        if delta.entries < 0 {
            usage.entries.fetch_sub(delta.entries.unsigned_abs(), Ordering::AcqRel);
        }
        if delta.bytes < 0 {
            usage.bytes.fetch_sub(delta.bytes.unsigned_abs(), Ordering::AcqRel);
        }
        match delta.expiring {
            0 => {}
            n if n > 0 => drop(usage.expiring.fetch_add(n as usize, Ordering::AcqRel)),
            n => drop(usage.expiring.fetch_sub(n.unsigned_abs(), Ordering::AcqRel)),
        }
    }

    /// Called once when a write was refused for a bound, with no shard lock held: purges expired
    /// keys if any entry has an expiry (a store without TTLs never scans itself on a refused
    /// write). The caller then tries once more in every case, because another writer may have
    /// purged, or deleted, between the refusal and this check.
    fn make_room(&self, retried: &mut bool) {
        if self.usage.0.expiring.load(Ordering::Acquire) > 0 {
            self.purge_expired();
        }
        *retried = true;
    }

    /// Number of live (unexpired) keys, counted at one instant across all shards.
    pub fn len(&self) -> usize {
        let guards: Vec<_> = self.shards.iter().map(|s| s.0.read()).collect();
        let mut now = None;
        guards.iter().map(|g| g.table.iter().filter(|e| e.live(&mut now)).count()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes currently charged against `max_bytes`, expired-but-unpurged keys included.
    pub fn bytes_used(&self) -> usize {
        self.usage.0.bytes.load(Ordering::Acquire)
    }

    /// Removes every key at one instant. Returns how many were removed (expired ones included).
    pub fn clear(&self) -> usize {
        let mut guards: Vec<_> = self.shards.iter().map(|s| s.0.write()).collect();
        let mut delta = Delta::default();
        let mut now = None;
        for g in guards.iter_mut() {
            let subs = g.subs.clone();
            for e in g.table.drain() {
                delta = delta.add(Delta::of(Some(&e), None));
                self.note_removal(&subs, &e, e.live(&mut now));
            }
        }
        let mut ticket = 0;
        let high = guards.iter().map(|g| g.versions.0).max().unwrap_or(0);
        self.log(&mut ticket, || vec![durable::KvRecord::Clear { high }]);
        drop(guards);
        // An error here leaves the store refusing writes; clear itself already happened.
        let _ = self.settle(ticket);
        self.release(delta);
        delta.entries.unsigned_abs()
    }

    /// Removes expired keys and returns how many it removed. Shards are scanned under their read
    /// lock and write-locked only when they hold something to remove, one at a time, so readers
    /// of other shards never wait and readers of this shard wait only for the removal itself.
    pub fn purge_expired(&self) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut now = None;
            {
                let g = shard.0.read();
                if g.table.iter().all(|e| e.live(&mut now)) {
                    if !g.subs.is_empty() {
                        self.note_earliest(&g);
                    }
                    continue;
                }
            }
            let mut g = shard.0.write();
            let Shard { table, subs, versions } = &mut *g;
            let high = versions.0;
            let mut now = None;
            let mut delta = Delta::default();
            table.retain(|e| {
                let keep = e.live(&mut now);
                if !keep {
                    delta = delta.add(Delta::of(Some(e), None));
                    self.note_removal(subs, e, false);
                    // Not waited for: an expired key is not loaded back anyway.
                    self.log(&mut 0, || vec![durable::KvRecord::Del { key: e.key.clone(), high }]);
                }
                keep
            });
            if !g.subs.is_empty() {
                self.note_earliest(&g);
            }
            self.release(delta);
            removed += delta.entries.unsigned_abs();
        }
        removed
    }

    /// Keeps the expiry timer set for the earliest expiry left in a shard that has listeners.
    fn note_earliest(&self, shard: &Shard) {
        if let Some(at) = shard.table.iter().filter_map(|e| e.expires).min() {
            self.hub.note_expiry(at);
        }
    }

    /// Live keys that start with `prefix`, sorted, taken at one instant.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.snapshot(prefix).entries().iter().map(|e| e.key.to_string()).collect()
    }
}

/// Whether `bytes` holds a 0 byte, eight bytes at a time. Every store call checks its key with
/// this, and `<[u8]>::contains` was a tenth of a C ABI call's instructions for short keys.
fn has_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    let zero_in_word = words.by_ref().any(|w| {
        let x = u64::from_ne_bytes(w.try_into().expect("chunks of 8"));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    });
    zero_in_word || words.remainder().contains(&0)
}

/// How a write sets the key's expiry.
#[derive(Debug, Clone, Copy)]
enum Expiry {
    Set(Ttl),
    /// Keep the live entry's expiry: an increment must not extend or cancel a counter's TTL.
    Keep,
}

#[cfg(test)]
mod tests;
