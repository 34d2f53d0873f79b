//! Reading a range of one replica: the worker streams chunk-aligned packets with their
//! checksums; every packet is verified before its bytes are handed out.

use crate::data::{Packet, ReadBlock, Request, Response, Status, request};
use crate::frame::{read_header, read_payload, write_frame};
use crate::net::{connect, within};
use crate::rpc::{UfsBlock, WorkerAddress};
use bytes::Bytes;
use std::time::Duration;
use strata_core::checksum::{decode_checksums, verify_chunks};
use strata_core::{Error, ExtendedBlock, Result};
use tokio::io::BufReader;
use tokio::net::TcpStream;

/// A stream of verified bytes of `[start, end)` of one block (block offsets) from one worker.
#[derive(Debug)]
pub struct BlockReader {
    block: ExtendedBlock,
    worker: WorkerAddress,
    stream: BufReader<TcpStream>,
    chunk_size: u32,
    position: u64,
    end: u64,
    timeout: Duration,
    /// Bytes received but not yet handed out by `read_exact`.
    pending: Option<Bytes>,
}

impl BlockReader {
    /// Asks `worker` for `[start, end)` of `block`.
    pub async fn open(
        block: ExtendedBlock,
        worker: &WorkerAddress,
        start: u64,
        end: u64,
        client_name: &str,
        timeout: Duration,
    ) -> Result<BlockReader> {
        Self::open_or_read_through(block, worker, start, end, client_name, timeout, None).await
    }

    /// Asks `worker` for `[start, end)` of `block`; with `ufs`, a worker that does not hold
    /// the block reads it from under storage (and keeps it).
    pub async fn open_or_read_through(
        block: ExtendedBlock,
        worker: &WorkerAddress,
        start: u64,
        end: u64,
        client_name: &str,
        timeout: Duration,
        ufs: Option<UfsBlock>,
    ) -> Result<BlockReader> {
        let mut stream = connect(&worker.data_address, timeout).await?;
        let request = Request {
            op: Some(request::Op::ReadBlock(ReadBlock {
                block: Some(block.into()),
                offset: start,
                length: end - start,
                client_name: client_name.to_string(),
                ufs,
            })),
        };
        write_frame(&mut stream, &request, &[]).await?;
        let mut stream = BufReader::with_capacity(64 << 10, stream);
        let response: Response =
            within(timeout, &worker.data_address, read_header(&mut stream)).await??;
        if response.status != Status::Ok as i32 {
            return Err(Error::Unavailable {
                address: worker.data_address.clone(),
                reason: response.message,
            });
        }
        if response.length < end {
            return Err(Error::Unavailable {
                address: worker.data_address.clone(),
                reason: format!(
                    "its replica of {} has only {} bytes",
                    block.id, response.length
                ),
            });
        }
        Ok(BlockReader {
            block,
            worker: worker.clone(),
            stream,
            chunk_size: response.chunk_size.max(1),
            position: start,
            end,
            timeout,
            pending: None,
        })
    }

    /// The worker this stream reads from.
    pub fn worker(&self) -> &WorkerAddress {
        &self.worker
    }

    /// Exactly the next `len` bytes (fewer only at the end of the range).
    pub async fn read_exact(&mut self, len: usize) -> Result<Bytes> {
        let first = match self.pending.take() {
            Some(b) => b,
            None => match self.next().await? {
                Some(b) => b,
                None => return Ok(Bytes::new()),
            },
        };
        if first.len() >= len {
            let mut first = first;
            let rest = first.split_off(len);
            if !rest.is_empty() {
                self.pending = Some(rest);
            }
            return Ok(first);
        }
        let mut out = bytes::BytesMut::with_capacity(len);
        out.extend_from_slice(&first);
        while out.len() < len {
            let Some(mut chunk) = self.next().await? else {
                break;
            };
            let want = len - out.len();
            if chunk.len() > want {
                self.pending = Some(chunk.split_off(want));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// The next verified run of bytes, `None` at the end of the range.
    pub async fn next(&mut self) -> Result<Option<Bytes>> {
        if let Some(pending) = self.pending.take() {
            return Ok(Some(pending));
        }
        loop {
            if self.position >= self.end {
                return Ok(None);
            }
            let address = &self.worker.data_address;
            let packet: Packet =
                within(self.timeout, address, read_header(&mut self.stream)).await??;
            if packet.last {
                return Err(Error::Unavailable {
                    address: address.clone(),
                    reason: format!(
                        "the stream of {} ended at {} of {}",
                        self.block.id, self.position, self.end
                    ),
                });
            }
            let payload = within(
                self.timeout,
                address,
                read_payload(&mut self.stream, packet.data_length as usize),
            )
            .await??
            .freeze();
            let checksums = decode_checksums(&packet.checksums)
                .ok_or_else(|| Error::Protocol(format!("{address}: malformed checksums")))?;
            if let Err(offset) = verify_chunks(packet.offset, &payload, &checksums, self.chunk_size)
            {
                return Err(Error::ChecksumMismatch {
                    block: self.block.id.to_string(),
                    offset,
                });
            }
            let packet_end = packet.offset + payload.len() as u64;
            if packet.offset > self.position || packet_end <= self.position {
                if packet_end <= self.position {
                    continue;
                }
                return Err(Error::Protocol(format!(
                    "{address}: packet at {} skips past {}",
                    packet.offset, self.position
                )));
            }
            let from = (self.position - packet.offset) as usize;
            let to = (packet_end.min(self.end) - packet.offset) as usize;
            self.position += (to - from) as u64;
            return Ok(Some(payload.slice(from..to)));
        }
    }
}
