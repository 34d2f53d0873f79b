//! Whole-file checksums of [`FileSystem`], computed from the chunk CRC32Cs workers store, so
//! no data crosses the network for a replicated file: the file's CRC32C (combined), and HDFS's
//! MD5-of-MD5-of-CRC32C (what Hadoop's `getFileChecksum` and `distcp` compare). An
//! erasure-coded file's internal blocks each hold cells of many stripes, so its checksums are
//! computed over its bytes as they are read.

use crate::call;
use crate::filesystem::FileSystem;
use md5::{Digest, Md5};
use strata_core::checksum::{crc32c, crc32c_combine};
use strata_core::{Error, ExtendedBlock, Result, StrataPath};
use strata_proto::block_io::ask;
use strata_proto::data::{BlockChecksum, Response, request};
use strata_proto::rpc::{GetBlockLocationsRequest, GetBlockLocationsResponse, WorkerAddress};

/// The CRC32C of a whole file, combined from its blocks' checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileChecksum {
    /// CRC32C (Castagnoli) of the file's bytes.
    pub crc32c: u32,
    /// The file's length.
    pub length: u64,
}

/// HDFS's default file checksum: the MD5 of each block's MD5 of its chunk CRC32Cs (each
/// big-endian). Equal for equal bytes written with equal block and chunk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Md5Md5Crc32c {
    /// Bytes covered by one CRC (the chunk size).
    pub bytes_per_crc: u32,
    /// CRCs in a full block when the file has more than one block, else 0 (as HDFS has it).
    pub crcs_per_block: u64,
    /// The MD5 of the blocks' MD5s.
    pub md5: [u8; 16],
}

impl Md5Md5Crc32c {
    /// Its name in Hadoop, e.g. `MD5-of-32768MD5-of-4096CRC32C`.
    pub fn algorithm(&self) -> String {
        format!(
            "MD5-of-{}MD5-of-{}CRC32C",
            self.crcs_per_block, self.bytes_per_crc
        )
    }

    /// Its bytes as Hadoop writes them: bytes per CRC (4, big-endian), CRCs per block (8,
    /// big-endian), the MD5 (16).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28);
        out.extend_from_slice(&self.bytes_per_crc.to_be_bytes());
        out.extend_from_slice(&self.crcs_per_block.to_be_bytes());
        out.extend_from_slice(&self.md5);
        out
    }
}

impl FileSystem {
    /// The file's CRC32C, combined from its blocks' stored checksums (no data is read).
    pub async fn checksum(&self, path: &str) -> Result<FileChecksum> {
        let (path, located) = self.locate_all(path).await?;
        if is_striped(&located) {
            let groups = vec![(0, u64::MAX)];
            let mut crc = 0u32;
            let mut length = 0u64;
            self.read_in_chunks(path.as_str(), &groups, |_, chunk| {
                let chunk_crc = crc32c(chunk);
                crc = if length == 0 {
                    chunk_crc
                } else {
                    crc32c_combine(crc, chunk_crc, chunk.len() as u64)
                };
                length += chunk.len() as u64;
            })
            .await?;
            return Ok(FileChecksum {
                crc32c: crc,
                length,
            });
        }
        let mut crc = 0u32;
        let mut length = 0u64;
        for located in &located.blocks {
            let block = located_block(located)?;
            let block_crc = self
                .block_checksum(&path, block, &located.locations, false)
                .await?
                .crc32c;
            crc = if length == 0 {
                block_crc
            } else {
                crc32c_combine(crc, block_crc, block.length)
            };
            length += block.length;
        }
        Ok(FileChecksum {
            crc32c: crc,
            length,
        })
    }

    /// HDFS's MD5-of-MD5-of-CRC32C checksum of the file; each block's part comes from a
    /// worker holding it (an erasure-coded file's, block group by block group, from its
    /// bytes as they are read).
    pub async fn md5_md5_crc32c(&self, path: &str) -> Result<Md5Md5Crc32c> {
        let (path, located) = self.locate_all(path).await?;
        let bytes_per_crc = self.inner().chunk_size;
        let block_md5s: Vec<[u8; 16]> = if is_striped(&located) {
            let groups: Vec<(u64, u64)> = (located.blocks.iter())
                .map(|b| Ok((b.offset, located_block(b)?.length)))
                .collect::<Result<_>>()?;
            let mut md5s = vec![Md5::new(); groups.len()];
            self.read_in_chunks(path.as_str(), &groups, |group, chunk| {
                md5s[group].update(crc32c(chunk).to_be_bytes());
            })
            .await?;
            md5s.into_iter().map(|m| m.finalize().into()).collect()
        } else {
            let mut md5s = Vec::with_capacity(located.blocks.len());
            for located in &located.blocks {
                let block = located_block(located)?;
                let response =
                    (self.block_checksum(&path, block, &located.locations, true)).await?;
                let md5 = <[u8; 16]>::try_from(response.chunk_crcs_md5.as_slice())
                    .map_err(|_| Error::Protocol("a block checksum without its MD5".into()))?;
                md5s.push(md5);
            }
            md5s
        };
        let crcs_per_block = match located.blocks.first() {
            Some(first) if located.blocks.len() > 1 => located_block(first)?
                .length
                .div_ceil(u64::from(bytes_per_crc)),
            _ => 0,
        };
        let mut md5 = Md5::new();
        for block_md5 in &block_md5s {
            md5.update(block_md5);
        }
        Ok(Md5Md5Crc32c {
            bytes_per_crc,
            crcs_per_block,
            md5: md5.finalize().into(),
        })
    }

    /// The file's status and every block with its locations.
    async fn locate_all(&self, path: &str) -> Result<(StrataPath, GetBlockLocationsResponse)> {
        let path = StrataPath::parse(path)?;
        let request = GetBlockLocationsRequest {
            path: path.to_string(),
            offset: 0,
            length: u64::MAX,
            with_block_being_written: false,
        };
        let located = call!(self.inner().master, client, get_block_locations(request))?;
        Ok((path, located))
    }

    /// Reads each `(offset, length)` range of the file in turn and hands `each` the range's
    /// index and its bytes cut into chunks of the chunk size, counted from the range's start.
    async fn read_in_chunks(
        &self,
        path: &str,
        ranges: &[(u64, u64)],
        mut each: impl FnMut(usize, &[u8]),
    ) -> Result<()> {
        let chunk_size = self.inner().chunk_size as usize;
        let mut reader = self.open(path).await?;
        for (index, &(offset, length)) in ranges.iter().enumerate() {
            reader.seek(offset)?;
            let mut remaining = length;
            let mut pending: Vec<u8> = Vec::with_capacity(chunk_size);
            while remaining > 0 {
                let Some(data) = reader.next_chunk().await? else {
                    break;
                };
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                remaining -= take as u64;
                let mut rest = &data[..take];
                while !rest.is_empty() {
                    let fill = (chunk_size - pending.len()).min(rest.len());
                    pending.extend_from_slice(&rest[..fill]);
                    rest = &rest[fill..];
                    if pending.len() == chunk_size {
                        each(index, &pending);
                        pending.clear();
                    }
                }
            }
            if !pending.is_empty() {
                each(index, &pending);
            }
        }
        Ok(())
    }

    /// A worker's answer about one block: its CRC32C, and with `md5` the MD5 of its chunk
    /// CRC32Cs; the next holder is asked when one fails.
    async fn block_checksum(
        &self,
        path: &StrataPath,
        block: ExtendedBlock,
        locations: &[WorkerAddress],
        md5: bool,
    ) -> Result<Response> {
        let timeout = self.inner().config.socket_timeout;
        let mut last = None;
        for worker in locations {
            let attempt = async {
                let op = request::Op::BlockChecksum(BlockChecksum {
                    block: Some(block.into()),
                    chunk_crcs_md5: md5,
                });
                let response = ask(&worker.data_address, op, timeout).await?;
                if response.length != block.length {
                    return Err(Error::Unavailable {
                        address: worker.data_address.clone(),
                        reason: format!(
                            "its replica of {} has {} bytes, not {}",
                            block.id, response.length, block.length
                        ),
                    });
                }
                Ok(response)
            };
            match attempt.await {
                Ok(response) => return Ok(response),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::BlockUnavailable {
            path: path.to_string(),
            block: block.id.to_string(),
            reason: last.map_or_else(|| "no replica is known".to_string(), |e| e.to_string()),
        })
    }
}

/// Whether the located file is erasure-coded.
fn is_striped(located: &GetBlockLocationsResponse) -> bool {
    (located.status.as_ref()).is_some_and(|s| !s.ec_policy.is_empty())
}

/// The block of a located block.
fn located_block(located: &strata_proto::rpc::LocatedBlock) -> Result<ExtendedBlock> {
    (located.block.as_ref())
        .map(ExtendedBlock::from)
        .ok_or_else(|| Error::Protocol("located block without a block".to_string()))
}
