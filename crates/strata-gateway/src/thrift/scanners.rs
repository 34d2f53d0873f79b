//! Scanners opened through Thrift, by the 32-bit ids Thrift hands out; each remembers
//! whether its rows go out with sorted columns. A scanner left open is closed after
//! `IDLE` without use (the region server's own lease ends it there too).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};
use strata_table::client::TableScanner;

/// How long a Thrift scanner lives unused.
const IDLE: Duration = Duration::from_secs(600);

type Shared = Arc<tokio::sync::Mutex<TableScanner>>;

/// An open scanner, whether its columns go out sorted, and when it was last used.
#[derive(Debug)]
struct Open {
    scanner: Shared,
    sorted: bool,
    used: Instant,
}

/// The open Thrift scanners.
#[derive(Debug, Clone, Default)]
pub struct ThriftScanners {
    open: Arc<Mutex<HashMap<i32, Open>>>,
    next: Arc<AtomicI32>,
}

impl ThriftScanners {
    /// Keeps a scanner; its id.
    pub fn add(&self, scanner: TableScanner, sorted: bool) -> i32 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut open = self.open.lock();
        open.retain(|_, o| o.used.elapsed() < IDLE);
        let scanner = Arc::new(tokio::sync::Mutex::new(scanner));
        open.insert(
            id,
            Open {
                scanner,
                sorted,
                used: Instant::now(),
            },
        );
        id
    }

    /// Scanner `id` and whether its columns are sorted.
    pub fn get(&self, id: i32) -> Option<(Shared, bool)> {
        let mut open = self.open.lock();
        let entry = open.get_mut(&id)?;
        entry.used = Instant::now();
        Some((entry.scanner.clone(), entry.sorted))
    }

    /// Forgets scanner `id`.
    pub fn remove(&self, id: i32) -> Option<Shared> {
        self.open.lock().remove(&id).map(|o| o.scanner)
    }
}
