//! Multi-version concurrency control and row locks of a region. Every row mutation takes the
//! next sequence id; its cells are visible to reads once it and every earlier mutation have
//! completed (the read point), so a read never sees half a row mutation or a later mutation
//! without an earlier one. Row locks serialize mutations of one row (check-and-mutate and
//! increments read and write under them); they are striped, and taken in stripe order.

use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, watch};

/// Stripes of row locks per region.
const LOCK_STRIPES: usize = 1024;

/// Sequence ids handed out and completed.
#[derive(Debug)]
pub struct Mvcc {
    state: Mutex<MvccState>,
    read_point: watch::Sender<u64>,
}

#[derive(Debug)]
struct MvccState {
    last: u64,
    pending: BTreeSet<u64>,
}

impl Mvcc {
    /// Continues after `last`: everything up to it is complete.
    pub fn new(last: u64) -> Mvcc {
        Mvcc {
            state: Mutex::new(MvccState {
                last,
                pending: BTreeSet::new(),
            }),
            read_point: watch::channel(last).0,
        }
    }

    /// Takes the next sequence id for a mutation in progress.
    pub fn begin(&self) -> u64 {
        let mut s = self.state.lock();
        s.last += 1;
        let id = s.last;
        s.pending.insert(id);
        id
    }

    /// The last sequence id handed out.
    pub fn last(&self) -> u64 {
        self.state.lock().last
    }

    /// Every sequence id up to this one has completed: reads see exactly those.
    pub fn read_point(&self) -> u64 {
        *self.read_point.borrow()
    }

    /// Marks `id` complete (done or failed) and moves the read point.
    pub fn complete(&self, id: u64) {
        let mut s = self.state.lock();
        s.pending.remove(&id);
        let point = match s.pending.first() {
            Some(first) => first - 1,
            None => s.last,
        };
        self.read_point.send_if_modified(|p| {
            let moved = point > *p;
            *p = (*p).max(point);
            moved
        });
    }

    /// Waits until reads see `id` (so a writer reads its own write once answered).
    pub async fn wait_visible(&self, id: u64) {
        let mut rx = self.read_point.subscribe();
        let _ = rx.wait_for(|p| *p >= id).await;
    }
}

/// Locks over the rows of a region.
#[derive(Debug)]
pub struct RowLocks {
    stripes: Vec<std::sync::Arc<AsyncMutex<()>>>,
}

impl Default for RowLocks {
    fn default() -> Self {
        RowLocks {
            stripes: (0..LOCK_STRIPES)
                .map(|_| std::sync::Arc::new(AsyncMutex::new(())))
                .collect(),
        }
    }
}

/// Held row locks; released when dropped.
#[derive(Debug)]
pub struct RowGuard {
    _held: Vec<OwnedMutexGuard<()>>,
}

impl RowLocks {
    /// Locks every row of `rows` (in stripe order, so two batches never deadlock).
    pub async fn lock<'a>(&self, rows: impl IntoIterator<Item = &'a [u8]>) -> RowGuard {
        let stripes: BTreeSet<usize> = rows.into_iter().map(stripe).collect();
        let mut held = Vec::with_capacity(stripes.len());
        for s in stripes {
            held.push(self.stripes[s].clone().lock_owned().await);
        }
        RowGuard { _held: held }
    }
}

fn stripe(row: &[u8]) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    row.hash(&mut hasher);
    (hasher.finish() % LOCK_STRIPES as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_read_point_waits_for_every_earlier_mutation() {
        let mvcc = Mvcc::new(10);
        let (a, b, c) = (mvcc.begin(), mvcc.begin(), mvcc.begin());
        assert_eq!((a, b, c, mvcc.read_point()), (11, 12, 13, 10));
        mvcc.complete(b);
        assert_eq!(mvcc.read_point(), 10, "11 is still in flight");
        mvcc.complete(a);
        assert_eq!(mvcc.read_point(), 12);
        let waiter = tokio::spawn(async move {
            mvcc.wait_visible(13).await;
            mvcc.read_point()
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let mvcc = Mvcc::new(0);
        let id = mvcc.begin();
        mvcc.complete(id);
        mvcc.wait_visible(id).await;
        drop(waiter);
    }

    #[tokio::test]
    async fn row_locks_serialize_one_row_and_not_others() {
        let locks = std::sync::Arc::new(RowLocks::default());
        let others: Vec<Vec<u8>> = (0..)
            .map(|i| format!("row-{i}").into_bytes())
            .filter(|r| stripe(r) != stripe(b"row-a"))
            .take(2)
            .collect();
        let held = locks.lock([&b"row-a"[..]]).await;
        let other = locks.lock(others.iter().map(|r| &r[..])).await;
        drop(other);
        let l = locks.clone();
        let waiting = tokio::spawn(async move {
            let _g = l.lock([&b"row-a"[..]]).await;
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        waiting.await.unwrap();
    }
}
