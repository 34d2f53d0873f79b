//! Reading an SSTable: the trailer, info, index and bloom filter are read once when the file
//! is opened; data blocks are fetched by positional reads as scans reach them and kept in the
//! server's block cache.

use super::block::{DataBlock, unframe};
use super::bloom::Bloom;
use super::cache::BlockCache;
use super::format::{BlockHandle, TRAILER_LEN, Trailer};
use crate::cell::CellKey;
use crate::error::{Error, Result};
use crate::proto::storage::SsTableInfo;
use crate::schema::BloomType;
use bytes::Bytes;
use prost::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use strata_client::PositionalReader;

/// Ids of open files, unique in the process (block cache keys).
static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(1);

/// Where an SSTable's bytes are.
#[derive(Debug)]
pub enum Source {
    /// A Strata file.
    Strata(PositionalReader),
    /// Bytes in memory (a file just written in a test, or read whole).
    Memory(Bytes),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Strata(r) => r.length(),
            Source::Memory(b) => b.len() as u64,
        }
    }

    async fn read(&self, offset: u64, len: usize) -> Result<Bytes> {
        match self {
            Source::Strata(r) => Ok(r.read_at(offset, len).await?),
            Source::Memory(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                b.get(start..start.saturating_add(len))
                    .map(|s| b.slice_ref(s))
                    .ok_or_else(|| Error::Internal("read past the end of a memory file".into()))
            }
        }
    }
}

/// An open SSTable.
#[derive(Debug)]
pub struct SsTable {
    id: u64,
    path: String,
    source: Source,
    info: SsTableInfo,
    /// First key of each data block, with its handle as the value.
    index: DataBlock,
    bloom: Option<Bloom>,
    in_memory: bool,
    cache: Arc<BlockCache>,
    /// The reference file it is read through, when it is a parent region's file.
    reference: Option<String>,
}

impl SsTable {
    /// Opens the file at `path` read through `source`; `in_memory` gives its blocks the
    /// cache's in-memory priority.
    pub async fn open(
        path: &str,
        source: Source,
        cache: Arc<BlockCache>,
        in_memory: bool,
    ) -> Result<SsTable> {
        let owned = source;
        let source = &owned;
        let length = source.len();
        if length < TRAILER_LEN as u64 {
            return Err(Error::corrupt(path, "SSTable", "shorter than a trailer"));
        }
        let trailer = Trailer::decode(
            &source
                .read(length - TRAILER_LEN as u64, TRAILER_LEN)
                .await?,
            path,
        )?;
        let within = |h: BlockHandle| h.offset.saturating_add(u64::from(h.length)) <= length;
        if !within(trailer.info) || !within(trailer.index) || !within(trailer.bloom) {
            return Err(Error::corrupt(
                path,
                "SSTable trailer",
                "a block lies past the end",
            ));
        }
        let read_block = |h: BlockHandle| async move {
            let stored = source.read(h.offset, h.length as usize).await?;
            unframe(&stored, path)
        };
        let info = SsTableInfo::decode(read_block(trailer.info).await?)
            .map_err(|e| Error::corrupt(path, "SSTable info", e.to_string()))?;
        let index = DataBlock::decode(read_block(trailer.index).await?, path)?;
        if index.len() != info.data_blocks as usize {
            return Err(Error::corrupt(
                path,
                "SSTable index",
                "entries differ from blocks",
            ));
        }
        for i in 0..index.len() {
            let handle = BlockHandle::decode(&index.cell(i).1)
                .ok_or_else(|| Error::corrupt(path, "SSTable index", "short handle"))?;
            if !within(handle) {
                return Err(Error::corrupt(
                    path,
                    "SSTable index",
                    "a block lies past the end",
                ));
            }
        }
        let bloom = if trailer.bloom.length == 0 {
            None
        } else {
            Some(
                Bloom::decode(&read_block(trailer.bloom).await?)
                    .ok_or_else(|| Error::corrupt(path, "bloom filter", "malformed"))?,
            )
        };
        Ok(SsTable {
            id: NEXT_FILE_ID.fetch_add(1, Ordering::Relaxed),
            path: path.to_string(),
            source: owned,
            info,
            index,
            bloom,
            in_memory,
            cache,
            reference: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The same file, read by a region through the reference file at `reference`.
    pub fn through_reference(mut self, reference: &str) -> SsTable {
        self.reference = Some(reference.to_string());
        self
    }

    /// Whether a region reads it through a reference file (it is another region's).
    pub fn is_reference(&self) -> bool {
        self.reference.is_some()
    }

    /// The file that puts it in its store: the reference file, or the SSTable itself.
    pub fn store_path(&self) -> &str {
        self.reference.as_deref().unwrap_or(&self.path)
    }

    /// What the file holds.
    pub fn info(&self) -> &SsTableInfo {
        &self.info
    }

    /// Bytes the file takes.
    pub fn length(&self) -> u64 {
        self.source.len()
    }

    /// Number of data blocks.
    pub fn blocks(&self) -> usize {
        self.index.len()
    }

    /// The block that would hold `key`: the last one whose first key is not after it.
    pub fn block_for(&self, key: &CellKey) -> usize {
        let next = self.index.seek(key);
        if next < self.index.len() && self.index.cell(next).0 == *key {
            next
        } else {
            next.saturating_sub(1)
        }
    }

    /// The first key of block `i`.
    pub fn first_key(&self, i: usize) -> CellKey {
        self.index.cell(i).0
    }

    /// False when the file certainly holds nothing of `row`.
    pub fn may_contain_row(&self, row: &[u8]) -> bool {
        if row < &self.info.first_row[..] || row > &self.info.last_row[..] {
            return false;
        }
        match (&self.bloom, BloomType::from_code(self.info.bloom)) {
            (Some(bloom), Some(BloomType::Row)) => bloom.may_contain(row),
            _ => true,
        }
    }

    /// False when the file certainly holds nothing of `row` in column `qualifier` (a
    /// row+column bloom answers; any other answers for the row).
    pub fn may_contain_column(&self, row: &[u8], qualifier: &[u8]) -> bool {
        match (&self.bloom, BloomType::from_code(self.info.bloom)) {
            (Some(bloom), Some(BloomType::RowCol)) => {
                row >= &self.info.first_row[..]
                    && row <= &self.info.last_row[..]
                    && bloom.may_contain_row_column(row, qualifier)
            }
            _ => self.may_contain_row(row),
        }
    }

    /// Data block `i`, from the cache or the file.
    pub async fn block(&self, i: usize) -> Result<Arc<DataBlock>> {
        let handle = BlockHandle::decode(&self.index.cell(i).1)
            .ok_or_else(|| Error::corrupt(&self.path, "SSTable index", "short handle"))?;
        let key = (self.id, handle.offset);
        if let Some(block) = self.cache.get(key) {
            return Ok(block);
        }
        let stored = self
            .source
            .read(handle.offset, handle.length as usize)
            .await?;
        let block = Arc::new(DataBlock::decode(
            unframe(&stored, &self.path)?,
            &self.path,
        )?);
        self.cache.insert(key, block.clone(), self.in_memory);
        Ok(block)
    }
}

impl Drop for SsTable {
    fn drop(&mut self) {
        self.cache.evict_file(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::super::writer::SsTableWriter;
    use super::*;
    use crate::cell::CellKind;
    use crate::schema::{Compression, FamilyDescriptor};

    fn key(row: &str, qualifier: &str, timestamp: i64, kind: CellKind) -> CellKey {
        CellKey {
            row: Bytes::copy_from_slice(row.as_bytes()),
            qualifier: Bytes::copy_from_slice(qualifier.as_bytes()),
            timestamp,
            kind,
            sequence: timestamp as u64,
        }
    }

    async fn written(family: &FamilyDescriptor, cells: &[(CellKey, Vec<u8>)]) -> SsTable {
        let mut w = SsTableWriter::new(family, Vec::new());
        for (k, v) in cells {
            w.add(k, v).await.unwrap();
        }
        let (bytes, info) = w.finish().await.unwrap();
        assert_eq!(info.cells, cells.len() as u64);
        let cache = Arc::new(BlockCache::new(1 << 20));
        SsTable::open("mem", Source::Memory(bytes.into()), cache, false)
            .await
            .unwrap()
    }

    fn cells(n: usize) -> Vec<(CellKey, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let kind = if i % 10 == 3 {
                    CellKind::DeleteColumn
                } else {
                    CellKind::Put
                };
                (
                    key(&format!("row-{i:05}"), "q", 100 + i as i64, kind),
                    vec![i as u8; 100],
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_written_file_reads_back_block_by_block_in_every_layout() {
        let data = cells(2000);
        for (compression, bloom) in [
            (Compression::None, BloomType::Row),
            (Compression::Lz4, BloomType::RowCol),
            (Compression::Zstd, BloomType::None),
        ] {
            let mut family = FamilyDescriptor::new("cf");
            family.compression = compression;
            family.bloom = bloom;
            family.block_size = 4096;
            let t = written(&family, &data).await;
            assert!(t.blocks() > 40, "{} blocks", t.blocks());
            let info = t.info();
            assert_eq!(
                (info.first_row.as_ref(), info.last_row.as_ref()),
                (&b"row-00000"[..], &b"row-01999"[..])
            );
            assert_eq!(info.delete_markers, 200);
            assert_eq!((info.min_timestamp, info.max_timestamp), (100, 2099));
            assert_eq!(info.max_sequence, 2099);
            let middle = String::from_utf8_lossy(&info.middle_row).into_owned();
            assert!(
                middle.as_str() > "row-00800" && middle.as_str() < "row-01200",
                "{middle}"
            );
            let mut back = Vec::new();
            for i in 0..t.blocks() {
                let block = t.block(i).await.unwrap();
                assert_eq!(block.cell(0).0, t.first_key(i));
                for c in 0..block.len() {
                    let (k, v) = block.cell(c);
                    back.push((k, v.to_vec()));
                }
            }
            assert_eq!(back, data);
            let probe = &data[1234].0;
            let i = t.block_for(probe);
            let block = t.block(i).await.unwrap();
            let at = block.seek(probe);
            assert_eq!(block.cell(at).0, *probe);
            assert!(t.may_contain_row(b"row-01234"));
            assert!(t.may_contain_column(b"row-01234", b"q"));
            assert!(!t.may_contain_row(b"zzz") && !t.may_contain_row(b"a"));
        }
    }

    #[tokio::test]
    async fn damaged_files_are_refused_with_their_path() {
        let family = FamilyDescriptor::new("cf");
        let mut w = SsTableWriter::new(&family, Vec::new());
        for (k, v) in cells(50) {
            w.add(&k, &v).await.unwrap();
        }
        let (bytes, _) = w.finish().await.unwrap();
        let cache = Arc::new(BlockCache::new(1 << 20));
        let open =
            |b: Vec<u8>| SsTable::open("/t/f1", Source::Memory(b.into()), cache.clone(), false);
        let mut flipped = bytes.clone();
        flipped[10] ^= 0xff;
        let t = open(flipped).await.unwrap();
        let err = t.block(0).await.unwrap_err();
        assert!(err.to_string().contains("/t/f1"), "{err}");
        assert!(open(bytes[..bytes.len() - 3].to_vec()).await.is_err());
        assert!(open(b"short".to_vec()).await.is_err());
        let mut w = SsTableWriter::new(&family, Vec::new());
        w.add(&key("b", "q", 1, CellKind::Put), b"v").await.unwrap();
        assert!(
            w.add(&key("a", "q", 1, CellKind::Put), b"v").await.is_err(),
            "out of order"
        );
    }
}
