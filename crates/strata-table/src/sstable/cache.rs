//! The block cache of a region server: decoded data blocks of every open SSTable, least
//! recently used evicted first, bounded by bytes. Blocks of in-memory families live in a
//! second part that is evicted only when the first is empty (HBase's in-memory priority).

use super::block::DataBlock;
use lru::LruCache;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A block's identity: the open file's id and the block's offset in it.
pub type BlockKey = (u64, u64);

/// Decoded blocks shared by every region of a server.
#[derive(Debug)]
pub struct BlockCache {
    capacity: usize,
    parts: Mutex<Parts>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug)]
struct Parts {
    single: LruCache<BlockKey, Arc<DataBlock>>,
    in_memory: LruCache<BlockKey, Arc<DataBlock>>,
    used: usize,
}

/// How the cache has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups that found their block.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Bytes held.
    pub used: usize,
    /// Blocks held.
    pub blocks: usize,
}

impl BlockCache {
    /// A cache of at most `capacity` bytes (0 caches nothing).
    pub fn new(capacity: usize) -> BlockCache {
        BlockCache {
            capacity,
            parts: Mutex::new(Parts {
                single: LruCache::unbounded(),
                in_memory: LruCache::unbounded(),
                used: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The block, if cached (it becomes the most recently used).
    pub fn get(&self, key: BlockKey) -> Option<Arc<DataBlock>> {
        let mut parts = self.parts.lock();
        let found = match parts.in_memory.get(&key) {
            Some(b) => Some(b.clone()),
            None => parts.single.get(&key).cloned(),
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `block`, evicting the least recently used blocks beyond the capacity.
    pub fn insert(&self, key: BlockKey, block: Arc<DataBlock>, in_memory: bool) {
        let weight = block.weight();
        if weight > self.capacity {
            return;
        }
        let mut parts = self.parts.lock();
        let part = if in_memory {
            &mut parts.in_memory
        } else {
            &mut parts.single
        };
        if let Some(old) = part.put(key, block) {
            parts.used -= old.weight();
        }
        parts.used += weight;
        while parts.used > self.capacity {
            let evicted = match parts.single.pop_lru() {
                Some(e) => Some(e),
                None => parts.in_memory.pop_lru(),
            };
            match evicted {
                Some((_, b)) => parts.used -= b.weight(),
                None => break,
            }
        }
    }

    /// Drops every block of the open file `file` (it was closed or deleted).
    pub fn evict_file(&self, file: u64) {
        let mut guard = self.parts.lock();
        let parts = &mut *guard;
        let mut freed = 0;
        for part in [&mut parts.single, &mut parts.in_memory] {
            let keys: Vec<BlockKey> = part
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| k.0 == file)
                .collect();
            for key in keys {
                if let Some(b) = part.pop(&key) {
                    freed += b.weight();
                }
            }
        }
        parts.used -= freed;
    }

    /// Hits, misses and use.
    pub fn stats(&self) -> CacheStats {
        let parts = self.parts.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            used: parts.used,
            blocks: parts.single.len() + parts.in_memory.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::{CellKey, CellKind};
    use bytes::{Bytes, BytesMut};

    fn block(value_len: usize) -> Arc<DataBlock> {
        let mut raw = BytesMut::new();
        let key = CellKey {
            row: Bytes::from_static(b"r"),
            qualifier: Bytes::new(),
            timestamp: 1,
            kind: CellKind::Put,
            sequence: 1,
        };
        super::super::block::encode_cell(&mut raw, &key, &vec![0u8; value_len]);
        Arc::new(DataBlock::decode(raw.freeze(), "t").unwrap())
    }

    #[test]
    fn the_least_recently_used_go_first_and_in_memory_blocks_last() {
        let one = block(1000).weight();
        let cache = BlockCache::new(3 * one);
        cache.insert((1, 0), block(1000), true);
        cache.insert((2, 0), block(1000), false);
        cache.insert((2, 100), block(1000), false);
        assert!(cache.get((2, 0)).is_some());
        cache.insert((3, 0), block(1000), false);
        assert!(
            cache.get((2, 100)).is_none(),
            "least recently used single block evicted"
        );
        assert!(cache.get((1, 0)).is_some(), "the in-memory block stays");
        assert!(cache.get((2, 0)).is_some());
        cache.evict_file(2);
        let stats = cache.stats();
        assert_eq!((stats.blocks, stats.used), (2, 2 * one));
        assert_eq!((stats.hits, stats.misses), (3, 1));
        BlockCache::new(0).insert((9, 9), block(10), false);
    }
}
