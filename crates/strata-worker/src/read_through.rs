//! Read-through: a read of a block this worker does not hold, of a file whose bytes are in
//! under storage. The object is first checked against the fingerprint the master listed (a
//! changed object is never served), the asked range is answered from the under storage at
//! once, and the whole block is kept as a replica (checksummed here) and reported to the
//! master, so that the next read comes from the cache. Only the touched block is fetched,
//! never the whole object.

use crate::context::WorkerContext;
use crate::read_block::{READ_PACKET, send_last, send_packet};
use crate::store::{OpenMode, ReplicaWriter};
use crate::write_block::failure;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use strata_core::checksum::chunk_checksums;
use strata_core::{BlockId, Error, Result};
use strata_proto::data::{ReadBlock, Response, Status};
use strata_proto::frame::write_frame;
use strata_proto::rpc::UfsBlock;
use strata_ufs::{ObjectVersion, UnderStorage};
use tokio::io::AsyncWrite;

/// Bytes fetched from under storage per request (a multiple of every chunk size).
const FETCH: u64 = 4 << 20;

/// Reads that start this far into a block or farther are answered with a range read of their
/// own before the block is fetched whole; nearer ones stream while the block fills.
const DIRECT_FROM: u64 = FETCH;

/// The under storages of mounts, opened on first use with what the master says of them.
#[derive(Debug, Default)]
pub struct MountedStorages {
    open: Mutex<HashMap<String, Arc<UnderStorage>>>,
}

impl MountedStorages {
    /// The under storage of the mount at `mount`.
    pub(crate) async fn get(&self, ctx: &WorkerContext, mount: &str) -> Result<Arc<UnderStorage>> {
        if let Some(open) = self.open.lock().get(mount) {
            return Ok(open.clone());
        }
        let info = ctx.master.get_mount(mount).await?;
        let options: BTreeMap<String, String> = info.options.into_iter().collect();
        let storage = Arc::new(UnderStorage::open(&info.uri, &options)?);
        self.open.lock().insert(mount.to_string(), storage.clone());
        Ok(storage)
    }

    /// Forgets the storage of `mount` (after an error, so the next use asks the master again:
    /// the mount may have been replaced).
    fn forget(&self, mount: &str) {
        self.open.lock().remove(mount);
    }
}

/// Answers a `ReadBlock` for a block this worker does not hold from under storage.
pub async fn handle<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: ReadBlock,
    source: UfsBlock,
) -> Result<()> {
    let result = serve(ctx, out, &req, &source).await;
    if result.is_err() {
        ctx.mounted.forget(&source.mount);
    }
    result
}

async fn serve<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: &ReadBlock,
    source: &UfsBlock,
) -> Result<()> {
    let prepared = async {
        let block = req
            .block
            .as_ref()
            .ok_or_else(|| Error::Protocol("ReadBlock without a block".to_string()))?;
        if req.offset > source.length {
            return Err(Error::InvalidArgument(format!(
                "{}: offset {} is past the block's {} bytes",
                BlockId(block.id),
                req.offset,
                source.length
            )));
        }
        let storage = ctx.mounted.get(ctx, &source.mount).await?;
        check_unchanged(&storage, source).await?;
        Ok((BlockId(block.id), block.generation, storage))
    }
    .await;
    let (id, generation, storage) = match prepared {
        Ok(p) => p,
        Err(e) => {
            let _ = write_frame(out, &failure(&e, 0), &[]).await;
            return Err(e);
        }
    };
    let chunk = ctx.store.chunk_size() as u64;
    let start = req.offset - req.offset % chunk;
    let end = req.offset.saturating_add(req.length).min(source.length);
    let response = Response {
        status: Status::Ok as i32,
        chunk_size: chunk as u32,
        start_offset: start,
        length: source.length,
        generation,
        finalized: true,
        ..Default::default()
    };
    write_frame(out, &response, &[]).await?;
    // Another reader may be filling the block already: then this one only passes through.
    let open = || {
        ctx.store
            .open_writer(id, generation, OpenMode::Create, 0, source.length)
    };
    let writer = match open() {
        Err(Error::NoSpace { .. })
            if crate::tier_keeper::make_room(ctx, source.length).await > 0 =>
        {
            open().ok()
        }
        opened => opened.ok(),
    };
    let fill = Fill {
        ctx,
        storage: &storage,
        source,
        id,
        generation,
    };
    match writer {
        Some(writer) if start < DIRECT_FROM => fill.run(writer, Some((start, end, out))).await,
        writer => {
            fill.pass_through(start, end, out).await?;
            match writer {
                Some(writer) => fill.run::<W>(writer, None).await,
                None => Ok(()),
            }
        }
    }
}

/// Refuses an object that is no longer the one the master listed.
async fn check_unchanged(storage: &UnderStorage, source: &UfsBlock) -> Result<()> {
    let expected = source.fingerprint.clone().unwrap_or_default();
    let stale = |reason: String| Error::UnderStorage {
        uri: format!("{}/{}", storage.uri(), source.key),
        reason: format!("{reason} since it was listed (run `strata cache sync`)"),
    };
    let Some(now) = storage.stat(&source.key).await? else {
        return Err(stale("the object was deleted".to_string()));
    };
    let current = ObjectVersion {
        length: now.length,
        etag: now.etag.as_deref().unwrap_or_default(),
        modified_ms: now.modified_ms.unwrap_or_default(),
    };
    let listed = ObjectVersion {
        length: expected.length,
        etag: &expected.etag,
        modified_ms: expected.modified_ms,
    };
    if now.is_dir || !current.matches(&listed) {
        return Err(stale(format!(
            "the object changed ({} bytes, now {})",
            expected.length, now.length
        )));
    }
    Ok(())
}

/// Fetching one block from under storage.
struct Fill<'a> {
    ctx: &'a WorkerContext,
    storage: &'a UnderStorage,
    source: &'a UfsBlock,
    id: BlockId,
    generation: u64,
}

impl Fill<'_> {
    async fn fetch(&self, offset: u64, length: u64) -> Result<bytes::Bytes> {
        let bytes = self
            .storage
            .read(&self.source.key, self.source.object_offset + offset, length)
            .await?;
        if bytes.len() as u64 != length {
            return Err(Error::UnderStorage {
                uri: format!("{}/{}", self.storage.uri(), self.source.key),
                reason: format!("asked for {length} bytes, got {}", bytes.len()),
            });
        }
        Ok(bytes)
    }

    /// Sends `[start, end)` of the block straight from under storage, then the last packet.
    async fn pass_through<W: AsyncWrite + Unpin>(
        &self,
        start: u64,
        end: u64,
        out: &mut W,
    ) -> Result<()> {
        let mut seqno = 0;
        let mut pos = start;
        while pos < end {
            let n = (end - pos).min(FETCH);
            let bytes = self.fetch(pos, n).await?;
            seqno = send(self.ctx, out, seqno, pos, &bytes).await?;
            pos += n;
        }
        send_last(out, seqno, pos).await
    }

    /// Fetches the whole block into `writer`, sending `[start, end)` to a reader on the way,
    /// then finalizes the replica and reports it.
    async fn run<W: AsyncWrite + Unpin>(
        &self,
        writer: ReplicaWriter,
        mut reader: Option<(u64, u64, &mut W)>,
    ) -> Result<()> {
        let filled = self.fill(writer, &mut reader).await;
        let writer = match filled {
            Ok(w) => w,
            Err(e) => {
                self.ctx.store.discard_unfinished(self.id, self.generation);
                return Err(e);
            }
        };
        let reported = self.ctx.store.finalize(writer)?;
        tracing::debug!(block = %self.id, bytes = self.source.length, "block cached from under storage");
        self.ctx.master.block_received(&self.ctx.id, reported).await;
        Ok(())
    }

    async fn fill<W: AsyncWrite + Unpin>(
        &self,
        mut writer: ReplicaWriter,
        reader: &mut Option<(u64, u64, &mut W)>,
    ) -> Result<ReplicaWriter> {
        let chunk_size = self.ctx.store.chunk_size();
        let mut seqno = 0;
        let mut pos = 0;
        while pos < self.source.length {
            let n = (self.source.length - pos).min(FETCH);
            let bytes = self.fetch(pos, n).await?;
            let crcs = chunk_checksums(pos, &bytes, chunk_size);
            writer.write_packet(pos, &bytes, &crcs)?;
            if let Some((start, end, out)) = reader.as_mut() {
                let from = (*start).max(pos);
                let to = (*end).min(pos + n);
                let mut sent = Ok(());
                if from < to {
                    let slice = bytes.slice((from - pos) as usize..(to - pos) as usize);
                    sent = send(self.ctx, out, seqno, from, &slice)
                        .await
                        .map(|next| seqno = next);
                }
                if sent.is_ok() && pos + n >= *end {
                    sent = send_last(out, seqno, *end).await;
                    *reader = None;
                }
                // A reader that has what it wanted may hang up: the block is kept anyway.
                if let Err(e) = sent {
                    tracing::debug!(block = %self.id, error = %e, "reader left during read-through");
                    *reader = None;
                }
            }
            pos += n;
        }
        if let Some((_, end, out)) = reader.take() {
            let _ = send_last(out, seqno, end).await;
        }
        Ok(writer)
    }
}

/// Sends `data` (starting at block offset `offset`, a chunk boundary) as packets with their
/// checksums; returns the next sequence number.
async fn send<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    mut seqno: u64,
    offset: u64,
    data: &[u8],
) -> Result<u64> {
    let chunk_size = ctx.store.chunk_size();
    let mut at = offset;
    for piece in data.chunks(READ_PACKET as usize) {
        let checksums = chunk_checksums(at, piece, chunk_size);
        send_packet(ctx, out, seqno, at, piece, &checksums).await?;
        at += piece.len() as u64;
        seqno += 1;
    }
    Ok(seqno)
}
