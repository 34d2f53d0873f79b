//! Writing an SSTable: cells arrive in key order, fill data blocks of the family's block
//! size, and each full block is compressed, checksummed and written out at once, so a file of
//! any size is written with one block in memory (plus its index and bloom keys).

use super::block::{self, encode_cell};
use super::bloom::BloomBuilder;
use super::format::{BlockHandle, Trailer};
use crate::cell::CellKey;
use crate::error::{Error, Result};
use crate::proto::storage::SsTableInfo;
use crate::schema::{BloomType, Compression, FamilyDescriptor};
use bytes::{Bytes, BytesMut};
use prost::Message;

/// Where an SSTable's bytes go: a Strata file, or memory.
pub trait Sink {
    /// Appends `data`.
    fn write(&mut self, data: &[u8]) -> impl std::future::Future<Output = Result<()>> + Send;
}

impl Sink for Vec<u8> {
    async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.extend_from_slice(data);
        Ok(())
    }
}

impl Sink for strata_client::FileWriter {
    async fn write(&mut self, data: &[u8]) -> Result<()> {
        Ok(strata_client::FileWriter::write(self, data).await?)
    }
}

/// An SSTable being written.
#[derive(Debug)]
pub struct SsTableWriter<S> {
    sink: S,
    compression: Compression,
    bloom_type: BloomType,
    block_size: usize,
    offset: u64,
    block: BytesMut,
    block_first: Option<CellKey>,
    index: BytesMut,
    bloom: BloomBuilder,
    first_keys: Vec<Bytes>,
    last: Option<CellKey>,
    info: SsTableInfo,
}

impl<S: Sink> SsTableWriter<S> {
    /// A writer of a file of `family` into `sink`.
    pub fn new(family: &FamilyDescriptor, sink: S) -> SsTableWriter<S> {
        SsTableWriter {
            sink,
            compression: family.compression,
            bloom_type: family.bloom,
            block_size: family.block_size as usize,
            offset: 0,
            block: BytesMut::new(),
            block_first: None,
            index: BytesMut::new(),
            bloom: BloomBuilder::default(),
            first_keys: Vec::new(),
            last: None,
            info: SsTableInfo {
                family: family.name.clone(),
                compression: family.compression.code(),
                bloom: family.bloom.code(),
                min_timestamp: i64::MAX,
                max_timestamp: i64::MIN,
                ..Default::default()
            },
        }
    }

    /// Marks the file as written by a major compaction.
    pub fn set_major(&mut self, major: bool) {
        self.info.major = major;
    }

    /// Cells added so far.
    pub fn cells(&self) -> u64 {
        self.info.cells
    }

    /// Bytes written so far (whole blocks).
    pub fn written(&self) -> u64 {
        self.offset
    }

    /// Adds a cell; keys must come in strictly increasing order.
    pub async fn add(&mut self, key: &CellKey, value: &[u8]) -> Result<()> {
        if self.last.as_ref().is_some_and(|last| last >= key) {
            return Err(Error::Internal(
                "SSTable cells must be added in increasing key order".to_string(),
            ));
        }
        if self.block_first.is_none() {
            self.block_first = Some(key.clone());
        }
        encode_cell(&mut self.block, key, value);
        let new_row = self.last.as_ref().is_none_or(|l| l.row != key.row);
        match self.bloom_type {
            BloomType::None => {}
            BloomType::Row if new_row => self.bloom.add(&key.row),
            BloomType::Row => {}
            BloomType::RowCol => self.bloom.add_row_column(&key.row, &key.qualifier),
        }
        let info = &mut self.info;
        if info.cells == 0 {
            info.first_row = key.row.clone();
        }
        info.cells += 1;
        info.max_sequence = info.max_sequence.max(key.sequence);
        info.min_timestamp = info.min_timestamp.min(key.timestamp);
        info.max_timestamp = info.max_timestamp.max(key.timestamp);
        if key.kind.is_delete() {
            info.delete_markers += 1;
        }
        self.last = Some(key.clone());
        if self.block.len() >= self.block_size {
            self.flush_block().await?;
        }
        Ok(())
    }

    async fn flush_block(&mut self) -> Result<()> {
        let Some(first) = self.block_first.take() else {
            return Ok(());
        };
        let stored = block::frame(&self.block, self.compression)?;
        self.block.clear();
        let handle = self.write_stored(&stored).await?;
        self.info.data_bytes += u64::from(handle.length);
        self.info.data_blocks += 1;
        self.first_keys.push(first.row.clone());
        encode_cell(&mut self.index, &first, &handle.encode());
        Ok(())
    }

    async fn write_stored(&mut self, stored: &[u8]) -> Result<BlockHandle> {
        let handle = BlockHandle {
            offset: self.offset,
            length: stored.len() as u32,
        };
        self.sink.write(stored).await?;
        self.offset += stored.len() as u64;
        Ok(handle)
    }

    /// Writes the last data block, the bloom filter, the index, the info and the trailer;
    /// returns the sink and the file's info.
    pub async fn finish(mut self) -> Result<(S, SsTableInfo)> {
        self.flush_block().await?;
        self.info.last_row = self
            .last
            .as_ref()
            .map(|k| k.row.clone())
            .unwrap_or_default();
        self.info.middle_row = self
            .first_keys
            .get(self.first_keys.len() / 2)
            .cloned()
            .unwrap_or_default();
        self.info.created_ms = strata_core::now_millis();
        if self.info.cells == 0 {
            self.info.min_timestamp = 0;
            self.info.max_timestamp = 0;
        }
        let bloom = if self.bloom_type == BloomType::None {
            BlockHandle::default()
        } else {
            let stored =
                block::frame(&std::mem::take(&mut self.bloom).finish(), Compression::None)?;
            self.write_stored(&stored).await?
        };
        let index = block::frame(&self.index, Compression::None)?;
        let index = self.write_stored(&index).await?;
        let info = block::frame(&self.info.encode_to_vec(), Compression::None)?;
        let info = self.write_stored(&info).await?;
        let trailer = Trailer { bloom, index, info }.encode();
        self.sink.write(&trailer).await?;
        Ok((self.sink, self.info))
    }
}
