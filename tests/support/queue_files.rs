//! Durable queue files for the queue test binaries (tests/queue.rs, tests/queue_kill.rs), which
//! include this file alone (`#[path]`): a temporary directory and an open with the defaults.
#![allow(dead_code)] // each binary uses its own subset

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use netrig::journal::Durability;
use netrig::queue::{Queue, QueueOptions};

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "netrig-queue-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn file(&self) -> PathBuf {
        self.0.join("queue.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens the durable queue `name` in `path`, crash-safe against a killed process.
pub fn open(path: &Path, name: &str, opts: QueueOptions) -> Queue {
    Queue::open(path, name, opts, Durability::ProcessCrash).unwrap()
}
