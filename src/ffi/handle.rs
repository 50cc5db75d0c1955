//! Typed generational handles: the only way C sees a netrig object.
//!
//! A handle is a `{ uint64_t id }` struct: `[kind:8][index:24][generation:32]`. The id is never
//! dereferenced, so a zero, forged, freed, double-freed or wrong-kind id is looked up and
//! rejected with `NETRIG_E_INVALID_HANDLE`, never undefined behaviour.
//!
//! Each kind has one static [`HandleTable`]: chunks of slots that are allocated on demand and
//! never moved or freed, so a lookup needs no lock. A slot holds the live id and a pointer to
//! the boxed object. The C handle types reach their tables only through [`CHandle`]
//! (`store.with(|s| ..)`, `netrig_store::insert(..)`), whose impls `handles!` generates from one
//! list of every kind, so a handle cannot be looked up in another kind's table and every
//! message names the C type C sees.
//!
//! Freeing while another thread is inside a call on the same handle is made safe with hazard
//! slots, not reference counts: before touching an object a thread publishes the id it is
//! using in its own thread-local hazard slot (a store to a cache line only that thread writes),
//! then re-checks that the id is still live. `free` retires the id first, then waits until no
//! hazard slot holds it, and only then drops the object. The hot path therefore takes no lock
//! and writes no shared cache line; the price, a sequentially consistent store, is measured in
//! `benches/store.rs` and reported in THREAD_SAFETY.md.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// A C handle type (`#[repr(C)] struct netrig_x { uint64_t id; }`) bound to its Rust object,
/// its kind and its table. Implemented only by [`handles!`] below, once per kind, so a handle
/// can only ever be looked up in its own table and name itself by its C type's name.
pub(crate) trait CHandle: Copy {
    /// What the table holds for a handle of this type.
    type Object: Send + Sync + 'static;
    /// This type's one table, which gives every id its kind.
    fn table() -> &'static HandleTable<Self::Object>;
    fn id(self) -> u64;
    fn from_id(id: u64) -> Self;

    /// Runs `f` on the object (see [`HandleTable::with`]).
    #[inline(always)]
    fn with<R>(self, f: impl FnOnce(&Self::Object) -> R) -> Result<R> {
        Self::table().with(self.id(), f)
    }

    /// [`CHandle::with`] for an `f` that can fail itself: one `Result` for both.
    #[inline(always)]
    fn try_with<R>(self, f: impl FnOnce(&Self::Object) -> Result<R>) -> Result<R> {
        Self::table().with(self.id(), f)?
    }

    /// A clone of the object (an `Arc`, for calls that go on after they let go of the table).
    #[inline(always)]
    fn get(self) -> Result<Self::Object>
    where
        Self::Object: Clone,
    {
        self.with(Self::Object::clone)
    }

    /// Registers `object` and returns its new handle.
    fn insert(object: Self::Object) -> Result<Self> {
        Self::table().insert(object).map(Self::from_id)
    }

    /// Unregisters the handle and hands its object back (see [`HandleTable::take`]).
    fn take(self) -> Result<Self::Object> {
        Self::table().take(self.id())
    }

    /// Unregisters the handle and drops its object (see [`HandleTable::remove`]).
    fn remove(self) -> Result<()> {
        Self::table().remove(self.id())
    }
}

/// Declares every kind of handle once: its tag (part of every id, so never changed or reused),
/// its `Kind` variant, the C type (`module::netrig_x`, defined by hand in that module for
/// cbindgen) and the object its table holds. Generates `Kind`, its names (the C type's name,
/// so a message can never name another type than the one C sees), `Kind::from_tag`, one static
/// table per kind and the [`CHandle`] impls. A kind behind a `#[cfg]` keeps its tag and name
/// in every build; only its table and impl go.
macro_rules! handles {
    ($( $(#[$cfg:meta])? $tag:literal $kind:ident => $module:ident :: $cty:ident : $object:ty; )*) => {
        /// The kinds of handle. The number is part of every id, so a handle of one kind is
        /// rejected by another kind's functions with a message naming both.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Kind {
            $( $kind = $tag, )*
        }

        impl Kind {
            /// Every kind, in tag order.
            pub const ALL: &'static [Kind] = &[$( Kind::$kind, )*];

            /// The name of the kind's C type, as messages and the header spell it.
            pub fn name(self) -> &'static str {
                match self {
                    $( Kind::$kind => stringify!($cty), )*
                }
            }

            fn from_tag(tag: u8) -> Option<Kind> {
                match tag {
                    $( $tag => Some(Kind::$kind), )*
                    _ => None,
                }
            }
        }

        $(
            $(#[$cfg])?
            impl CHandle for super::$module::$cty {
                type Object = $object;
                #[inline(always)]
                fn table() -> &'static HandleTable<$object> {
                    static TABLE: HandleTable<$object> = HandleTable::new(Kind::$kind);
                    &TABLE
                }
                #[inline(always)]
                fn id(self) -> u64 {
                    self.id
                }
                #[inline(always)]
                fn from_id(id: u64) -> Self {
                    super::$module::$cty { id }
                }
            }
        )*

        /// For the tests: each kind compiled into this build, with its C type's full Rust name
        /// and the kind of that type's table.
        #[cfg(test)]
        // One push per kind, so that a kind's `#[cfg]` can leave its push out.
        #[allow(clippy::vec_init_then_push)]
        fn compiled_kinds() -> Vec<(Kind, &'static str, Kind)> {
            let mut kinds = Vec::new();
            $(
                $(#[$cfg])?
                kinds.push((
                    Kind::$kind,
                    std::any::type_name::<super::$module::$cty>(),
                    <super::$module::$cty as CHandle>::table().kind,
                ));
            )*
            kinds
        }
    };
}

handles! {
    1 Store => store::netrig_store: std::sync::Arc<crate::store::Store>;
    2 Batch => batch::netrig_batch: parking_lot::Mutex<crate::store::Batch>;
    3 Snapshot => snapshot::netrig_snapshot: super::snapshot::CSnapshot;
    4 StrList => snapshot::netrig_strlist: Vec<std::ffi::CString>;
    #[cfg(feature = "ssh")] 5 Device => device::netrig_device: super::device::DeviceSlot;
    #[cfg(feature = "ssh")] 6 Output => output::netrig_output: super::output::COutput;
    #[cfg(feature = "ssh")] 7 Pool => pool::netrig_pool: std::sync::Arc<super::pool::CPool>;
    #[cfg(feature = "ssh")] 8 Job => job::netrig_job: parking_lot::Mutex<super::job::JobSpec>;
    #[cfg(feature = "ssh")] 9 Run => run::netrig_run: std::sync::Arc<super::run::CRun>;
    10 Subscription => events::netrig_subscription: std::sync::Arc<crate::store::Subscription>;
    11 Change => events::netrig_change: super::events::CChange;
    12 Queue => queue::netrig_queue: std::sync::Arc<crate::queue::Queue>;
    13 Item => queue::netrig_item: super::queue::CItem;
}

const INDEX_BITS: u32 = 24;
const MAX_INDEX: u32 = (1 << INDEX_BITS) - 1;
/// Chunk `c` holds `FIRST_CHUNK << c` slots; 19 chunks cover every 24-bit index.
const FIRST_CHUNK_BITS: u32 = 6;
const CHUNKS: usize = (INDEX_BITS - FIRST_CHUNK_BITS + 1) as usize;

fn encode(kind: Kind, index: u32, generation: u32) -> u64 {
    (kind as u64) << 56 | (index as u64) << 32 | generation as u64
}

/// Maps a slot index to (chunk, offset within chunk, chunk length).
fn locate(index: u32) -> (usize, usize, usize) {
    let shifted = index as u64 + (1 << FIRST_CHUNK_BITS);
    let chunk = (63 - shifted.leading_zeros() - FIRST_CHUNK_BITS) as usize;
    let base = 1u64 << (chunk as u32 + FIRST_CHUNK_BITS);
    (chunk, (shifted - base) as usize, base as usize)
}

struct Slot<T> {
    /// The id of the object in this slot, or 0 when empty.
    id: AtomicU64,
    object: AtomicPtr<T>,
}

struct Alloc {
    /// Free slots with the generation their next object gets.
    free: Vec<(u32, u32)>,
    next_index: u32,
}

/// One kind's table of live objects.
pub struct HandleTable<T> {
    kind: Kind,
    chunks: [AtomicPtr<Slot<T>>; CHUNKS],
    alloc: Mutex<Alloc>,
    /// The table owns boxed `T`s and hands out `&T` to any thread.
    _owns: PhantomData<Box<T>>,
}

impl<T> std::fmt::Debug for HandleTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandleTable").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl<T: Send + Sync> HandleTable<T> {
    pub const fn new(kind: Kind) -> Self {
        HandleTable {
            kind,
            chunks: [const { AtomicPtr::new(ptr::null_mut()) }; CHUNKS],
            alloc: Mutex::new(Alloc { free: Vec::new(), next_index: 0 }),
            _owns: PhantomData,
        }
    }

    fn slot(&self, index: u32) -> Option<&Slot<T>> {
        let (chunk, offset, _) = locate(index);
        let base = self.chunks[chunk].load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-null chunk pointer was published (Release) after the chunk was fully
        // initialised, chunks are never freed or moved, and `offset` is below the chunk's length
        // by construction of `locate`.
        Some(unsafe { &*base.add(offset) })
    }

    /// Registers an object and returns its id.
    pub fn insert(&self, object: T) -> Result<u64> {
        let mut alloc = self.alloc.lock();
        let (index, generation) = match alloc.free.pop() {
            Some(free) => free,
            None => {
                let index = alloc.next_index;
                if index > MAX_INDEX {
                    return Err(Error::Full(format!("too many live {} handles ({})", self.kind.name(), MAX_INDEX + 1)));
                }
                let (chunk, _, len) = locate(index);
                if self.chunks[chunk].load(Ordering::Acquire).is_null() {
                    let slots: Box<[Slot<T>]> = (0..len)
                        .map(|_| Slot { id: AtomicU64::new(0), object: AtomicPtr::new(ptr::null_mut()) })
                        .collect();
                    self.chunks[chunk].store(Box::into_raw(slots) as *mut Slot<T>, Ordering::Release);
                }
                alloc.next_index += 1;
                (index, 1)
            }
        };
        drop(alloc);
        let slot = self.slot(index).expect("chunk allocated above");
        let id = encode(self.kind, index, generation);
        slot.object.store(Box::into_raw(Box::new(object)), Ordering::Relaxed);
        slot.id.store(id, Ordering::Release);
        Ok(id)
    }

    /// Explains why `id` is not a live handle of this kind.
    fn reject(&self, id: u64) -> Error {
        let what = self.kind.name();
        if id == 0 {
            return Error::InvalidHandle(format!("{what} handle is NULL (id 0)"));
        }
        match Kind::from_tag((id >> 56) as u8) {
            Some(k) if k == self.kind => {
                Error::InvalidHandle(format!("{what} handle {id:#x} was freed or never issued"))
            }
            Some(k) => Error::InvalidHandle(format!("handle {id:#x} is a {}, not a {what}", k.name())),
            None => Error::InvalidHandle(format!("{id:#x} is not a netrig handle (expected a {what})")),
        }
    }

    fn live_slot(&self, id: u64) -> Result<&Slot<T>> {
        if (id >> 56) as u8 != self.kind as u8 || id as u32 == 0 {
            return Err(self.reject(id));
        }
        self.slot(((id >> 32) as u32) & MAX_INDEX).ok_or_else(|| self.reject(id))
    }

    /// Runs `f` on the object behind `id`. The object cannot be dropped while `f` runs, even if
    /// another thread frees the handle: that `free` waits for `f` to return.
    pub fn with<R>(&self, id: u64, f: impl FnOnce(&T) -> R) -> Result<R> {
        let slot = self.live_slot(id)?;
        let hazard = Hazard::publish(id)?;
        if slot.id.load(Ordering::SeqCst) != id {
            drop(hazard);
            return Err(self.reject(id));
        }
        let object = slot.object.load(Ordering::Acquire);
        // SAFETY: the slot held `id` after our hazard slot held `id` (both SeqCst), so a freeing
        // thread either retired the id before our check (we would have bailed out above) or
        // will see our hazard and wait before dropping the object. The pointer was stored
        // before the id was published (Release/Acquire on `slot.id`), so it is the live object.
        let result = f(unsafe { &*object });
        drop(hazard);
        Ok(result)
    }

    /// Unregisters `id` and drops its object, after every call already inside it on other
    /// threads has returned. A second free of the same id is `InvalidHandle`.
    pub fn remove(&self, id: u64) -> Result<()> {
        self.take(id).map(drop)
    }

    /// Unregisters `id` and hands its object back instead of dropping it (for frees that do
    /// more than drop, like returning a leased session), after every call already inside it on
    /// other threads has returned.
    pub fn take(&self, id: u64) -> Result<T> {
        let slot = self.live_slot(id)?;
        if Hazard::held_by_this_thread(id) {
            return Err(Error::InvalidArg(format!(
                "{} handle {id:#x} cannot be freed from inside a call that is using it",
                self.kind.name()
            )));
        }
        slot.id.compare_exchange(id, 0, Ordering::SeqCst, Ordering::SeqCst).map_err(|_| self.reject(id))?;
        Hazard::wait_until_released(id);
        let object = slot.object.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: we won the compare-exchange that retired `id`, so no other remove can reach
        // this pointer, and no thread holds a hazard on `id` any more, so nothing borrows it.
        // It came from `Box::into_raw` in `insert`.
        let object = unsafe { Box::from_raw(object) };
        let generation = id as u32;
        if generation < u32::MAX {
            self.alloc.lock().free.push((((id >> 32) as u32) & MAX_INDEX, generation + 1));
        }
        Ok(*object)
    }
}

/// Nested calls on one thread (a netrig call made from inside another's callback) each get
/// their own hazard slot, up to this depth.
const HAZARDS_PER_THREAD: usize = 4;

/// One thread's hazard slots, on their own cache lines. Records are leaked and reused by later
/// threads, so the freeing side can read them without any lifetime bookkeeping.
#[repr(align(128))]
struct HazardRecord {
    slots: [AtomicU64; HAZARDS_PER_THREAD],
    in_use: AtomicBool,
}

static RECORDS: Mutex<Vec<&'static HazardRecord>> = Mutex::new(Vec::new());

impl HazardRecord {
    fn acquire() -> &'static HazardRecord {
        let mut records = RECORDS.lock();
        if let Some(r) =
            records.iter().find(|r| r.in_use.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok())
        {
            return r;
        }
        let r: &'static HazardRecord =
            Box::leak(Box::new(HazardRecord { slots: Default::default(), in_use: AtomicBool::new(true) }));
        records.push(r);
        r
    }

    fn release(&self) {
        self.in_use.store(false, Ordering::Release);
    }
}

/// The calling thread's record and how many of its slots are in use.
struct Local {
    record: &'static HazardRecord,
    depth: Cell<usize>,
}

impl Drop for Local {
    fn drop(&mut self) {
        self.record.release();
    }
}

thread_local! {
    static LOCAL: Local = Local { record: HazardRecord::acquire(), depth: Cell::new(0) };
}

/// A published hazard; clears its slot when dropped (also on panic unwinding).
struct Hazard {
    slot: &'static AtomicU64,
    /// Set when the thread's local record was unavailable (thread-local storage being torn
    /// down) and a record was borrowed from the registry for this one call.
    borrowed: Option<&'static HazardRecord>,
}

impl Hazard {
    fn publish(id: u64) -> Result<Hazard> {
        let taken = LOCAL.try_with(|local| {
            let depth = local.depth.get();
            if depth == HAZARDS_PER_THREAD {
                return None;
            }
            local.depth.set(depth + 1);
            Some(&local.record.slots[depth])
        });
        let (slot, borrowed) = match taken {
            Ok(Some(slot)) => (slot, None),
            Ok(None) => {
                return Err(Error::InvalidArg(format!(
                    "netrig calls nested more than {HAZARDS_PER_THREAD} deep on one thread"
                )))
            }
            Err(_) => {
                let record = HazardRecord::acquire();
                (&record.slots[0], Some(record))
            }
        };
        slot.store(id, Ordering::SeqCst);
        Ok(Hazard { slot, borrowed })
    }

    fn held_by_this_thread(id: u64) -> bool {
        LOCAL
            .try_with(|local| local.record.slots[..local.depth.get()].iter().any(|s| s.load(Ordering::Relaxed) == id))
            .unwrap_or(false)
    }

    fn wait_until_released(id: u64) {
        let records: Vec<&'static HazardRecord> = RECORDS.lock().clone();
        for record in records {
            for slot in &record.slots {
                let mut spins = 0u32;
                while slot.load(Ordering::SeqCst) == id {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else if spins < 1024 {
                        std::thread::yield_now();
                    } else {
                        std::thread::sleep(std::time::Duration::from_micros(50));
                    }
                }
            }
        }
    }
}

impl Drop for Hazard {
    fn drop(&mut self) {
        self.slot.store(0, Ordering::Release);
        match self.borrowed {
            Some(record) => record.release(),
            None => {
                let _ = LOCAL.try_with(|local| local.depth.set(local.depth.get() - 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn locate_covers_every_index_once() {
        assert_eq!(locate(0), (0, 0, 64));
        assert_eq!(locate(63), (0, 63, 64));
        assert_eq!(locate(64), (1, 0, 128));
        assert_eq!(locate(MAX_INDEX).0, CHUNKS - 1);
        let (c, off, len) = locate(MAX_INDEX);
        assert!(off < len && c < CHUNKS);
    }

    #[test]
    fn freed_double_freed_and_foreign_ids_are_rejected() {
        static A: HandleTable<String> = HandleTable::new(Kind::Store);
        static B: HandleTable<String> = HandleTable::new(Kind::Batch);
        let id = A.insert("x".into()).unwrap();
        assert_eq!(A.with(id, |s| s.clone()).unwrap(), "x");
        let wrong = B.with(id, |_| ()).unwrap_err().to_string();
        assert!(wrong.contains("is a netrig_store, not a netrig_batch"), "{wrong}");
        assert!(A.with(0, |_| ()).unwrap_err().to_string().contains("NULL"));
        assert!(matches!(A.with(0xdead_beef, |_| ()), Err(Error::InvalidHandle(_))));
        A.remove(id).unwrap();
        assert!(A.with(id, |_| ()).unwrap_err().to_string().contains("freed"));
        assert!(matches!(A.remove(id), Err(Error::InvalidHandle(_))));
        // The slot is reused under a new generation; the old id stays dead.
        let id2 = A.insert("y".into()).unwrap();
        assert_ne!(id, id2);
        assert!(matches!(A.with(id, |_| ()), Err(Error::InvalidHandle(_))));
        assert_eq!(A.with(id2, |s| s.clone()).unwrap(), "y");
        A.remove(id2).unwrap();
    }

    struct CountsDrops(Arc<AtomicUsize>);
    impl Drop for CountsDrops {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Frees race with lookups on other threads: no lookup ever sees a dropped object, and
    /// every object is dropped exactly once.
    #[test]
    fn free_waits_for_concurrent_users() {
        static T: HandleTable<(CountsDrops, AtomicU64)> = HandleTable::new(Kind::Snapshot);
        let drops = Arc::new(AtomicUsize::new(0));
        const ROUNDS: usize = 300;
        for _ in 0..ROUNDS {
            let id = T.insert((CountsDrops(drops.clone()), AtomicU64::new(7))).unwrap();
            let before = drops.load(Ordering::SeqCst);
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    std::thread::spawn(move || {
                        let mut ok = 0;
                        while let Ok(v) = T.with(id, |(_, n)| {
                            std::hint::spin_loop();
                            n.load(Ordering::Relaxed)
                        }) {
                            assert_eq!(v, 7);
                            ok += 1;
                            if ok > 50 {
                                break;
                            }
                        }
                    })
                })
                .collect();
            T.remove(id).unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), before + 1);
            for r in readers {
                r.join().unwrap();
            }
        }
        assert_eq!(drops.load(Ordering::SeqCst), ROUNDS);
    }

    #[test]
    fn free_from_inside_its_own_call_is_refused() {
        static T: HandleTable<u32> = HandleTable::new(Kind::StrList);
        let id = T.insert(1).unwrap();
        let inner = T.with(id, |_| T.remove(id)).unwrap();
        assert!(matches!(inner, Err(Error::InvalidArg(_))));
        T.remove(id).unwrap();
    }

    /// A message names a handle by its kind's name, so that name must be the C type's, for
    /// every kind this build has; and a tag names one kind only.
    #[test]
    fn kind_names_are_the_c_type_names_and_tags_are_unique() {
        let compiled = compiled_kinds();
        #[cfg(feature = "ssh")]
        assert_eq!(compiled.len(), Kind::ALL.len(), "every kind has its C type in a full build");
        for (kind, type_name, table_kind) in compiled {
            assert_eq!(type_name.rsplit("::").next(), Some(kind.name()), "{kind:?} is named after {type_name}");
            assert_eq!(table_kind, kind, "{type_name} looks its handles up in the {kind:?} table");
        }
        let mut tags: Vec<u8> = Kind::ALL.iter().map(|k| *k as u8).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), Kind::ALL.len(), "tags are unique: {:?}", Kind::ALL);
        for &kind in Kind::ALL {
            assert_eq!(Kind::from_tag(kind as u8), Some(kind));
            assert!(kind.name().starts_with("netrig_"), "{kind:?}");
        }
        assert_eq!(Kind::from_tag(0), None);
        assert_eq!(Kind::from_tag(14), None);
        // The tags are part of every id a program holds: they never change.
        assert_eq!((Kind::Store as u8, Kind::Device as u8, Kind::Change as u8, Kind::Item as u8), (1, 5, 11, 13));
    }

    #[test]
    fn handles_reach_their_objects_through_their_own_table() {
        use super::super::batch::netrig_batch;
        use super::super::store::netrig_store;
        let batch = netrig_batch::insert(parking_lot::Mutex::new(crate::store::Batch::new())).unwrap();
        assert_eq!(batch.with(|b| b.lock().len()).unwrap(), 0);
        let as_store = netrig_store { id: batch.id };
        let wrong = as_store.with(|_| ()).unwrap_err().to_string();
        assert!(wrong.contains("is a netrig_batch, not a netrig_store"), "{wrong}");
        batch.remove().unwrap();
        let freed = batch.with(|_| ()).unwrap_err().to_string();
        assert!(freed.contains("netrig_batch handle") && freed.contains("was freed or never issued"), "{freed}");
        assert!(matches!(batch.take(), Err(Error::InvalidHandle(_))));
    }
}
