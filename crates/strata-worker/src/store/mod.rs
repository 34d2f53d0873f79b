//! The block store: replica files with their checksums, the in-memory map of replicas, and the
//! state changes a replica goes through (being written, finalized, reopened, recovered,
//! deleted).
//!
//! Each replica has its own lock. A writer holds it only while it writes one packet, and checks
//! under it that the replica still has the writer's generation: when lease or pipeline recovery
//! moves a replica to a newer generation, a writer left over from the old pipeline stops at its
//! next packet instead of writing into the recovered replica.

mod layout;
mod load;
mod reader;
mod tiering;
mod volume;
mod writer;

pub use layout::ReplicaState;
pub use reader::ReplicaReader;
pub use tiering::TierMoves;
pub use volume::disk_space;
pub use writer::{AckMarker, ReplicaWriter};

use layout::{Layout, chunks_for, meta_header, meta_len};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use strata_core::checksum::crc32c;
use strata_core::tier::{Medium, TierConfig};
use strata_core::{BlockId, Error, Result};
use strata_proto::rpc::{self, ReportedBlock, StorageReport, TierReport};
use volume::Volume;

/// What the store knows of one replica.
#[derive(Debug, Clone)]
pub struct ReplicaInfo {
    /// The block.
    pub id: BlockId,
    /// Its generation stamp.
    pub generation: u64,
    /// Bytes stored and checksummed.
    pub length: u64,
    /// Bytes readers may see: of a replica being written, what every worker downstream has
    /// acknowledged (so everything hflushed); else its length.
    pub acknowledged: u64,
    /// Finished or not.
    pub state: ReplicaState,
    /// Whether a pipeline is writing it now.
    pub writer_active: bool,
    /// The volume (tier directory) holding its files.
    pub volume: usize,
    /// The tier of that volume.
    pub medium: Medium,
    /// When it was last written or read, on the store's logical clock (0: not since start-up).
    pub last_access: u64,
    /// Reads since start-up or since it last moved between tiers.
    pub reads: u32,
}

impl ReplicaInfo {
    /// The replica as a block report entry.
    pub fn reported(&self) -> ReportedBlock {
        ReportedBlock {
            id: self.id.0,
            generation: self.generation,
            length: self.length,
            state: match self.state {
                ReplicaState::Finalized => rpc::ReplicaState::Finalized as i32,
                ReplicaState::BeingWritten => rpc::ReplicaState::BeingWritten as i32,
            },
            medium: rpc::StorageMedium::from(self.medium) as i32,
        }
    }
}

type Handle = Arc<Mutex<ReplicaInfo>>;

#[derive(Debug)]
struct Inner {
    /// Every tier's directories, fastest tier first.
    volumes: Vec<Volume>,
    chunk_size: u32,
    sync_on_close: bool,
    replicas: Mutex<HashMap<BlockId, Handle>>,
    /// The logical clock of replica accesses, for eviction.
    clock: AtomicU64,
}

/// The replicas on one worker.
#[derive(Debug, Clone)]
pub struct BlockStore {
    inner: Arc<Inner>,
}

/// How a write pipeline opens its replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// A new replica.
    Create,
    /// Continue a finalized replica from `start_offset` (append).
    Append,
    /// Continue a replica after a pipeline failure from `start_offset`.
    Recover,
}

impl BlockStore {
    /// Opens the store over the directories of `tiers` (fastest first), loading every replica
    /// found there.
    pub fn open(tiers: &[TierConfig], chunk_size: u32, sync_on_close: bool) -> Result<BlockStore> {
        let mut volumes = Vec::new();
        for tier in tiers {
            for dir in &tier.dirs {
                volumes.push(Volume::open(tier.medium, &dir.path, dir.capacity.bytes())?);
            }
        }
        let mut replicas: HashMap<BlockId, ReplicaInfo> = HashMap::new();
        for (index, volume) in volumes.iter().enumerate() {
            for info in load::load_replicas(&volume.layout, index, volume.medium, chunk_size)? {
                // A second copy (a crash while the replica moved between tiers): the better
                // one stays, the other's files go.
                let dropped = match replicas.get(&info.id) {
                    Some(kept) if !supersedes(&info, kept) => Some(info),
                    _ => replicas.insert(info.id, info),
                };
                if let Some(dropped) = dropped {
                    tracing::warn!(block = %dropped.id, dir = %volumes[dropped.volume].dir.display(),
                        "removing a second copy of a replica");
                    remove_replica_files(&volumes[dropped.volume].layout, &dropped);
                }
            }
        }
        for info in replicas.values() {
            volumes[info.volume].add_used(info.length);
        }
        let replicas = replicas
            .into_iter()
            .map(|(id, info)| (id, Arc::new(Mutex::new(info))))
            .collect();
        Ok(BlockStore {
            inner: Arc::new(Inner {
                volumes,
                chunk_size,
                sync_on_close,
                replicas: Mutex::new(replicas),
                clock: AtomicU64::new(0),
            }),
        })
    }

    /// Bytes per checksum.
    pub fn chunk_size(&self) -> u32 {
        self.inner.chunk_size
    }

    /// Opens a replica for a write pipeline; a new one goes to the fastest tier with room for
    /// `expected_length` bytes.
    pub fn open_writer(
        &self,
        id: BlockId,
        generation: u64,
        mode: OpenMode,
        start_offset: u64,
        expected_length: u64,
    ) -> Result<ReplicaWriter> {
        match mode {
            OpenMode::Create => self.create(id, generation, expected_length),
            OpenMode::Append | OpenMode::Recover => {
                let exists = self.inner.replicas.lock().contains_key(&id);
                if !exists && mode == OpenMode::Recover && start_offset == 0 {
                    return self.create(id, generation, expected_length);
                }
                self.reopen(id, generation, mode, start_offset)
            }
        }
    }

    fn create(&self, id: BlockId, generation: u64, expected_length: u64) -> Result<ReplicaWriter> {
        let volume = self.choose_volume(id, expected_length)?;
        let handle = {
            let mut replicas = self.inner.replicas.lock();
            if let Some(existing) = replicas.get(&id) {
                let old = existing.lock().clone();
                // An unfinished replica nobody writes any more is a failed earlier attempt.
                let replaceable = old.state == ReplicaState::BeingWritten
                    && !old.writer_active
                    && old.generation <= generation;
                if !replaceable {
                    return Err(Error::InvalidOperation {
                        path: id.to_string(),
                        reason: format!(
                            "a replica already exists (generation {}, {:?})",
                            old.generation, old.state
                        ),
                    });
                }
                self.remove_files(&old);
            }
            let info = ReplicaInfo {
                id,
                generation,
                length: 0,
                acknowledged: 0,
                state: ReplicaState::BeingWritten,
                writer_active: true,
                volume,
                medium: self.inner.volumes[volume].medium,
                last_access: self.tick(),
                reads: 0,
            };
            let handle = Arc::new(Mutex::new(info));
            replicas.insert(id, handle.clone());
            handle
        };
        let layout = &self.inner.volumes[volume].layout;
        let data_path = layout.data_path(id, ReplicaState::BeingWritten);
        let meta_path = layout.meta_path(id, generation, ReplicaState::BeingWritten);
        let opened = (|| -> std::io::Result<(File, File)> {
            let data = OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&data_path)?;
            let meta = OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&meta_path)?;
            meta.write_all_at(&meta_header(self.inner.chunk_size), 0)?;
            Ok((data, meta))
        })();
        match opened {
            Ok((data, meta)) => Ok(ReplicaWriter::new(
                self.clone(),
                handle,
                data,
                meta,
                generation,
                None,
            )),
            Err(e) => {
                self.inner.replicas.lock().remove(&id);
                Err(Error::io(format!("creating replica {id}"), e))
            }
        }
    }

    fn reopen(
        &self,
        id: BlockId,
        generation: u64,
        mode: OpenMode,
        start_offset: u64,
    ) -> Result<ReplicaWriter> {
        let handle = self.handle(id)?;
        let mut info = handle.lock();
        if mode == OpenMode::Append && info.state != ReplicaState::Finalized {
            return Err(Error::InvalidOperation {
                path: id.to_string(),
                reason: "only a finalized replica can be appended to".to_string(),
            });
        }
        check_continuable(&info, generation, start_offset)?;
        // A writer left over from the failed pipeline stops at its next packet.
        info.writer_active = false;
        let (data, meta, partial) = self.move_replica(
            &mut info,
            generation,
            start_offset,
            ReplicaState::BeingWritten,
        )?;
        info.writer_active = true;
        drop(info);
        Ok(ReplicaWriter::new(
            self.clone(),
            handle,
            data,
            meta,
            generation,
            partial,
        ))
    }

    /// Truncates a replica to `length`, renames it to `generation` and moves it to `state`'s
    /// directory; returns its open files and the checksum of its partial last chunk.
    fn move_replica(
        &self,
        info: &mut ReplicaInfo,
        generation: u64,
        length: u64,
        state: ReplicaState,
    ) -> Result<(File, File, Option<u32>)> {
        let volume = &self.inner.volumes[info.volume];
        let layout = &volume.layout;
        let id = info.id;
        let old_data = layout.data_path(id, info.state);
        let old_meta = layout.meta_path(id, info.generation, info.state);
        let new_data = layout.data_path(id, state);
        let new_meta = layout.meta_path(id, generation, state);
        let chunk = self.inner.chunk_size;
        let result = (|| -> std::io::Result<(File, File, Option<u32>)> {
            let data = OpenOptions::new().read(true).write(true).open(&old_data)?;
            let meta = OpenOptions::new().read(true).write(true).open(&old_meta)?;
            let partial = truncate_files(&data, &meta, length, chunk)?;
            if old_data != new_data {
                layout
                    .ensure_dir(id, state)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                std::fs::rename(&old_data, &new_data)?;
            }
            if old_meta != new_meta {
                std::fs::rename(&old_meta, &new_meta)?;
            }
            Ok((data, meta, partial))
        })()
        .map_err(|e| Error::io(format!("moving replica {id}"), e))?;
        volume.sub_used(info.length.saturating_sub(length));
        info.generation = generation;
        info.length = length;
        info.acknowledged = length;
        info.state = state;
        Ok(result)
    }

    /// Finishes a replica: syncs it when configured, moves it to the finalized directory.
    pub fn finalize(&self, writer: ReplicaWriter) -> Result<ReportedBlock> {
        let (handle, data, meta, generation) = writer.into_parts()?;
        let mut info = handle.lock();
        if info.generation != generation || info.state != ReplicaState::BeingWritten {
            return Err(Error::InvalidOperation {
                path: info.id.to_string(),
                reason: "the replica was recovered by another pipeline".to_string(),
            });
        }
        if self.inner.sync_on_close {
            data.sync_data()
                .and_then(|_| meta.sync_data())
                .map_err(|e| Error::io(format!("syncing replica {}", info.id), e))?;
        }
        let length = info.length;
        self.move_replica(&mut info, generation, length, ReplicaState::Finalized)?;
        info.writer_active = false;
        info.last_access = self.tick();
        Ok(info.reported())
    }

    /// Opens a replica for reading; its generation must be at least `min_generation`.
    pub fn open_reader(&self, id: BlockId, min_generation: u64) -> Result<ReplicaReader> {
        let handle = self.handle(id)?;
        let info = handle.lock();
        if info.generation < min_generation {
            return Err(Error::ReplicaNotFound {
                block: id.to_string(),
                reason: format!(
                    "this worker holds generation {}, older than the requested {min_generation}",
                    info.generation
                ),
            });
        }
        let layout = &self.inner.volumes[info.volume].layout;
        let data_path = layout.data_path(id, info.state);
        let meta_path = layout.meta_path(id, info.generation, info.state);
        let data = File::open(&data_path)
            .map_err(|e| Error::io(format!("opening {}", data_path.display()), e))?;
        let meta = File::open(&meta_path)
            .map_err(|e| Error::io(format!("opening {}", meta_path.display()), e))?;
        if info.state == ReplicaState::Finalized {
            return Ok(ReplicaReader::new(
                info.clone(),
                data,
                meta,
                self.inner.chunk_size,
            ));
        }
        // A replica being written shows what every worker downstream acknowledged. Its last
        // chunk may still grow, so the checksum of its visible part is taken now, from bytes
        // checked against the stored checksum while the writer is held off by the lock.
        let mut visible = info.clone();
        visible.length = info.acknowledged;
        let tail = tail_checksum(&info, &data, &meta, self.inner.chunk_size)?;
        Ok(ReplicaReader::new(visible, data, meta, self.inner.chunk_size).with_tail(tail))
    }

    /// Deletes a replica unless this worker holds a newer generation. Returns what was deleted.
    pub fn delete(&self, id: BlockId, generation: u64) -> Option<ReportedBlock> {
        let mut replicas = self.inner.replicas.lock();
        let handle = replicas.get(&id)?.clone();
        let info = handle.lock();
        if info.generation > generation {
            return None;
        }
        replicas.remove(&id);
        drop(replicas);
        self.remove_files(&info);
        self.inner.volumes[info.volume].sub_used(info.length);
        Some(info.reported())
    }

    /// Removes an unfinished replica of `generation` that no pipeline writes any more (what a
    /// failed copy leaves behind).
    pub fn discard_unfinished(&self, id: BlockId, generation: u64) {
        let mut replicas = self.inner.replicas.lock();
        let Some(handle) = replicas.get(&id).cloned() else {
            return;
        };
        let info = handle.lock();
        if info.state != ReplicaState::BeingWritten
            || info.writer_active
            || info.generation != generation
        {
            return;
        }
        replicas.remove(&id);
        drop(replicas);
        self.remove_files(&info);
        self.inner.volumes[info.volume].sub_used(info.length);
    }

    fn remove_files(&self, info: &ReplicaInfo) {
        remove_replica_files(&self.inner.volumes[info.volume].layout, info);
    }

    /// Notes a read of a replica by a client, for eviction and promotion.
    pub fn note_read(&self, id: BlockId) {
        let Ok(handle) = self.handle(id) else {
            return;
        };
        let now = self.tick();
        let mut info = handle.lock();
        info.last_access = now;
        info.reads = info.reads.saturating_add(1);
    }

    /// The next tick of the access clock.
    fn tick(&self) -> u64 {
        self.inner.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// What this worker holds of a block (for lease recovery).
    pub fn info(&self, id: BlockId) -> Option<ReplicaInfo> {
        self.inner
            .replicas
            .lock()
            .get(&id)
            .map(|h| h.lock().clone())
    }

    /// Lease recovery: truncate the replica to `length` and finalize it under `generation`.
    pub fn recover_to(&self, id: BlockId, generation: u64, length: u64) -> Result<ReportedBlock> {
        let handle = self.handle(id)?;
        let mut info = handle.lock();
        if info.generation == generation
            && info.state == ReplicaState::Finalized
            && info.length == length
        {
            return Ok(info.reported());
        }
        check_continuable(&info, generation, length)?;
        info.writer_active = false;
        let (data, meta, _) =
            self.move_replica(&mut info, generation, length, ReplicaState::Finalized)?;
        if self.inner.sync_on_close {
            data.sync_data()
                .and_then(|_| meta.sync_data())
                .map_err(|e| Error::io(format!("syncing replica {id}"), e))?;
        }
        Ok(info.reported())
    }

    /// Every replica, for a full block report.
    pub fn report(&self) -> Vec<ReportedBlock> {
        self.inner
            .replicas
            .lock()
            .values()
            .map(|h| h.lock().reported())
            .collect()
    }

    /// Finalized replicas as `(id, generation)`, for the scanner.
    pub fn finalized(&self) -> Vec<(BlockId, u64)> {
        self.inner
            .replicas
            .lock()
            .values()
            .filter_map(|h| {
                let info = h.lock();
                (info.state == ReplicaState::Finalized).then_some((info.id, info.generation))
            })
            .collect()
    }

    /// Number of replicas.
    pub fn len(&self) -> usize {
        self.inner.replicas.lock().len()
    }

    /// Whether its volumes span more than one medium, so replicas can move between tiers.
    pub fn has_several_tiers(&self) -> bool {
        let volumes = &self.inner.volumes;
        volumes.iter().any(|v| v.medium != volumes[0].medium)
    }

    /// Whether the store holds no replica.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity, use and free space, in all and per tier.
    pub fn storage(&self) -> StorageReport {
        let mut tiers: Vec<TierReport> = Vec::new();
        for volume in &self.inner.volumes {
            let (capacity, remaining) = volume.space();
            let medium = volume.medium.name();
            let position = match tiers.iter().position(|t| t.medium == medium) {
                Some(position) => position,
                None => {
                    tiers.push(TierReport {
                        medium: medium.to_string(),
                        ..Default::default()
                    });
                    tiers.len() - 1
                }
            };
            let tier = &mut tiers[position];
            tier.capacity += capacity;
            tier.used += volume.used();
            tier.remaining += remaining;
            tier.dirs += 1;
        }
        StorageReport {
            capacity: tiers.iter().map(|t| t.capacity).sum(),
            used: tiers.iter().map(|t| t.used).sum(),
            remaining: tiers.iter().map(|t| t.remaining).sum(),
            tiers,
        }
    }

    /// The volume a new replica goes to: in the fastest tier that has a directory with room
    /// for `expected_length` bytes, the directory with the most room.
    fn choose_volume(&self, id: BlockId, expected_length: u64) -> Result<usize> {
        let volumes = &self.inner.volumes;
        let room: Vec<u64> = volumes.iter().map(|v| v.space().1).collect();
        let wanted = expected_length.max(1);
        let fits = |i: &usize| room[*i] >= wanted;
        let fastest = (0..volumes.len()).find(&fits).map(|i| volumes[i].medium);
        let chosen = (0..volumes.len())
            .filter(fits)
            .filter(|i| Some(volumes[*i].medium) == fastest)
            .max_by_key(|i| room[*i]);
        chosen.ok_or_else(|| Error::NoSpace {
            reason: format!(
                "no tier of this worker has room for block {id} ({expected_length} bytes): {}",
                volumes
                    .iter()
                    .zip(&room)
                    .map(|(v, r)| format!("{} {} has {r} bytes free", v.medium, v.dir.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    fn handle(&self, id: BlockId) -> Result<Handle> {
        self.inner
            .replicas
            .lock()
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::ReplicaNotFound {
                block: id.to_string(),
                reason: "this worker holds no replica of it".to_string(),
            })
    }

    fn add_used(&self, volume: usize, bytes: u64) {
        if let Some(v) = self.inner.volumes.get(volume) {
            v.add_used(bytes);
        }
    }
}

/// Removes a replica's data and meta files from `layout` (a missing file is not an error).
fn remove_replica_files(layout: &Layout, info: &ReplicaInfo) {
    for path in [
        layout.data_path(info.id, info.state),
        layout.meta_path(info.id, info.generation, info.state),
    ] {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove replica file");
        }
    }
}

/// For a replica being written whose acknowledged length ends inside a chunk: that chunk's
/// index and the checksum of its acknowledged part, computed from its bytes on disk after they
/// passed the stored checksum of the chunk as written so far.
fn tail_checksum(
    info: &ReplicaInfo,
    data: &File,
    meta: &File,
    chunk_size: u32,
) -> Result<Option<(u64, u32)>> {
    let chunk = chunk_size as u64;
    let visible = info.acknowledged;
    if visible.is_multiple_of(chunk) {
        return Ok(None);
    }
    let slot = visible / chunk;
    let start = slot * chunk;
    let written_end = info.length.min(start + chunk);
    let mut bytes = vec![0u8; (written_end - start) as usize];
    let mut stored = [0u8; 4];
    data.read_exact_at(&mut bytes, start)
        .and_then(|()| meta.read_exact_at(&mut stored, layout::META_HEADER_LEN + 4 * slot))
        .map_err(|e| Error::io(format!("reading the last chunk of {}", info.id), e))?;
    if crc32c(&bytes) != u32::from_le_bytes(stored) {
        return Err(Error::ChecksumMismatch {
            block: info.id.to_string(),
            offset: start,
        });
    }
    Ok(Some((slot, crc32c(&bytes[..(visible - start) as usize]))))
}

/// Whether a replica found at start-up is to be kept over another copy of the same block
/// found in a faster tier's directory (a crash while a replica moved between tiers): a
/// finalized one over an unfinished one, then the newer generation, then the longer.
fn supersedes(found: &ReplicaInfo, kept: &ReplicaInfo) -> bool {
    let rank = |r: &ReplicaInfo| (r.state == ReplicaState::Finalized, r.generation, r.length);
    rank(found) > rank(kept)
}

/// A replica can be moved on to `generation` at `length` only if it is of an older generation
/// and holds at least `length` bytes.
fn check_continuable(info: &ReplicaInfo, generation: u64, length: u64) -> Result<()> {
    let reason = if info.generation >= generation {
        format!(
            "replica generation {} is not older than {generation}",
            info.generation
        )
    } else if info.length < length {
        format!(
            "replica holds {} bytes, fewer than the {length} needed",
            info.length
        )
    } else {
        return Ok(());
    };
    Err(Error::InvalidOperation {
        path: info.id.to_string(),
        reason,
    })
}

/// Truncates a replica's data and meta files to `length`, recomputing the checksum of a new
/// partial last chunk; returns that checksum (None when `length` is on a chunk boundary).
fn truncate_files(
    data: &File,
    meta: &File,
    length: u64,
    chunk: u32,
) -> std::io::Result<Option<u32>> {
    let current = data.metadata()?.len();
    if current > length {
        data.set_len(length)?;
    }
    meta.set_len(meta_len(length, chunk))?;
    let within = length % chunk as u64;
    if within == 0 {
        return Ok(None);
    }
    let start = length - within;
    let mut buf = vec![0u8; within as usize];
    data.read_exact_at(&mut buf, start)?;
    let crc = crc32c(&buf);
    let slot = layout::META_HEADER_LEN + 4 * (chunks_for(length, chunk) - 1);
    meta.write_all_at(&crc.to_le_bytes(), slot)?;
    Ok(Some(crc))
}

#[cfg(test)]
mod tests;
