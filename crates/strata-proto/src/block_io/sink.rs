//! Sending a block down a pipeline: set-up, packets with per-chunk checksums, the empty last
//! packet, and every acknowledgement checked. Any failure ends the stream with an error.

use crate::data::{
    Ack, Packet, Request, Response, Status, Target, WriteBlock, WriteStage, request,
};
use crate::frame::{FrameError, read_header, write_frame};
use crate::net::{connect, within};
use crate::rpc::WorkerAddress;
use std::time::Duration;
use strata_core::checksum::{chunk_checksums, encode_checksums};
use strata_core::{Error, ExtendedBlock, Result};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

/// Most data bytes in one packet.
pub const SINK_PACKET: usize = 256 << 10;

/// An open pipeline receiving one block.
#[derive(Debug)]
pub struct BlockSink {
    out: OwnedWriteHalf,
    acks: JoinHandle<Result<Option<u64>>>,
    address: String,
    seqno: u64,
    offset: u64,
    chunk_size: u32,
    timeout: Duration,
}

impl BlockSink {
    /// Opens a pipeline through `targets` for `block`: its generation, and its length as the
    /// most it will hold (targets put it in a tier with that much room; 0 when unknown).
    pub async fn open(
        block: ExtendedBlock,
        targets: &[WorkerAddress],
        stage: WriteStage,
        client_name: &str,
        chunk_size: u32,
        timeout: Duration,
    ) -> Result<BlockSink> {
        let Some(first) = targets.first() else {
            return Err(Error::NotEnoughWorkers {
                reason: format!("no worker to write {} to", block.id),
            });
        };
        let mut stream = connect(&first.data_address, timeout).await?;
        let request = Request {
            op: Some(request::Op::WriteBlock(WriteBlock {
                block: Some(block.into()),
                stage: stage as i32,
                downstream: targets[1..]
                    .iter()
                    .map(|t| Target {
                        worker_id: t.id.clone(),
                        address: t.data_address.clone(),
                    })
                    .collect(),
                client_name: client_name.to_string(),
                start_offset: 0,
                old_generation: 0,
                chunk_size,
                expected_length: block.length,
            })),
        };
        write_frame(&mut stream, &request, &[]).await?;
        let response: Response =
            within(timeout, &first.data_address, read_header(&mut stream)).await??;
        if response.status != Status::Ok as i32 {
            return Err(Error::Unavailable {
                address: first.data_address.clone(),
                reason: response.message,
            });
        }
        let (mut acks, out) = stream.into_split();
        let acks = tokio::spawn(async move {
            let mut last = None;
            loop {
                match read_header::<_, Ack>(&mut acks).await {
                    Ok(ack) if ack.status == Status::Ok as i32 => last = Some(ack.seqno),
                    Ok(ack) => {
                        return Err(Error::Unavailable {
                            address: format!("pipeline position {}", ack.failed_index),
                            reason: ack.message,
                        });
                    }
                    Err(FrameError::Closed) => return Ok(last),
                    Err(e) => return Err(e.into()),
                }
            }
        });
        Ok(BlockSink {
            out,
            acks,
            address: first.data_address.clone(),
            seqno: 0,
            offset: 0,
            chunk_size,
            timeout,
        })
    }

    /// Bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.offset
    }

    /// Sends `data`, cut into packets, computing their checksums.
    pub async fn send(&mut self, data: &[u8]) -> Result<()> {
        for piece in data.chunks(SINK_PACKET) {
            let checksums = chunk_checksums(self.offset, piece, self.chunk_size);
            self.send_checked(piece, &checksums).await?;
        }
        Ok(())
    }

    /// Sends one packet with checksums already known (one per chunk piece from the current
    /// offset).
    pub async fn send_checked(&mut self, data: &[u8], checksums: &[u32]) -> Result<()> {
        let packet = Packet {
            seqno: self.seqno,
            offset: self.offset,
            last: false,
            checksums: encode_checksums(checksums),
            data_length: data.len() as u32,
            sync: false,
        };
        within(
            self.timeout,
            &self.address,
            write_frame(&mut self.out, &packet, data),
        )
        .await??;
        self.seqno += 1;
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Sends the last packet and waits until every packet is acknowledged.
    pub async fn finish(mut self) -> Result<u64> {
        let last = Packet {
            seqno: self.seqno,
            offset: self.offset,
            last: true,
            ..Default::default()
        };
        within(
            self.timeout,
            &self.address,
            write_frame(&mut self.out, &last, &[]),
        )
        .await??;
        let acked = within(self.timeout * 2, &self.address, &mut self.acks)
            .await?
            .map_err(|e| Error::Internal(format!("acknowledgement reader: {e}")))??;
        if acked != Some(self.seqno) {
            return Err(Error::Unavailable {
                address: self.address.clone(),
                reason: format!(
                    "the pipeline closed after acknowledging {acked:?} of {} packets",
                    self.seqno + 1
                ),
            });
        }
        Ok(self.offset)
    }
}

impl Drop for BlockSink {
    fn drop(&mut self) {
        self.acks.abort();
    }
}
