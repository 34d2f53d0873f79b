//! One block's write pipeline, seen from the client: packets go to the first worker, which
//! forwards them down the chain; acknowledgements come back on the same connection. Sent
//! packets are kept until acknowledged, so when a worker fails the pipeline is rebuilt from
//! the survivors (new generation stamp from the master, replicas cut back to the acknowledged
//! length) and the unacknowledged packets are sent again.

use bytes::Bytes;
use std::collections::VecDeque;
use std::time::Duration;
use strata_core::checksum::{chunk_checksums, encode_checksums};
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::data::{
    Ack, Packet, Request, Response, Status, Target, WriteBlock, WriteStage, request,
};
use strata_proto::frame::{read_header, write_frame};
use strata_proto::net::{connect, within};
use strata_proto::rpc::{LocatedBlock, WorkerAddress};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How many times one block's pipeline may be rebuilt before the write fails.
const MAX_RECOVERIES: u32 = 8;

/// What the pipeline needs to know about the write it belongs to.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// This client's name (lease holder).
    pub client_name: String,
    /// Bytes per checksum.
    pub chunk_size: u32,
    /// Bytes sent but not yet acknowledged before the writer waits.
    pub window: usize,
    /// How long to wait for a worker.
    pub timeout: Duration,
    /// The block size: workers put a new replica where it has room to grow that far.
    pub block_size: u64,
}

/// Why a pipeline could not be set up.
#[derive(Debug)]
pub struct SetupError {
    /// Position of the worker that failed.
    pub failed_index: usize,
    /// What happened.
    pub error: Error,
}

#[derive(Debug, Clone)]
struct SentPacket {
    seqno: u64,
    offset: u64,
    data: Bytes,
    checksums: Vec<u8>,
    last: bool,
    sync: bool,
}

#[derive(Debug)]
enum AckEvent {
    Acked(u64),
    Failed {
        index: Option<usize>,
        reason: String,
    },
}

/// Asks the master for a new generation stamp for the survivors of a failed pipeline.
pub trait PipelineRecovery {
    /// Returns the block under its new generation, located on the survivors.
    fn recover(
        &self,
        block: ExtendedBlock,
        survivors: &[WorkerAddress],
    ) -> impl std::future::Future<Output = Result<LocatedBlock>> + Send;
}

/// An open pipeline for one block.
#[derive(Debug)]
pub struct BlockPipeline {
    settings: PipelineSettings,
    block: ExtendedBlock,
    nodes: Vec<WorkerAddress>,
    out: OwnedWriteHalf,
    events: mpsc::UnboundedReceiver<AckEvent>,
    ack_task: JoinHandle<()>,
    unacked: VecDeque<SentPacket>,
    unacked_bytes: usize,
    next_seqno: u64,
    acked: u64,
    sent: u64,
    recoveries: u32,
    /// The last packet is acknowledged: the block is on every worker, nothing more can fail.
    done: bool,
    /// A failure reported while nothing was in flight, acted on before the next packet.
    deferred_failure: Option<Option<usize>>,
    /// Workers that failed in this pipeline (the writer excludes them from later blocks).
    pub failed: Vec<String>,
}

impl BlockPipeline {
    /// Connects to the first worker of `located` and sets up the chain.
    pub async fn open(
        settings: PipelineSettings,
        located: &LocatedBlock,
        stage: WriteStage,
        start_offset: u64,
    ) -> std::result::Result<BlockPipeline, SetupError> {
        let block = located
            .block
            .as_ref()
            .map(ExtendedBlock::from)
            .ok_or_else(|| SetupError {
                failed_index: 0,
                error: Error::Protocol("located block without a block".to_string()),
            })?;
        let nodes = located.locations.clone();
        let (out, events, ack_task) =
            connect_chain(&settings, block, &nodes, stage, start_offset).await?;
        Ok(BlockPipeline {
            settings,
            block,
            nodes,
            out,
            events,
            ack_task,
            unacked: VecDeque::new(),
            unacked_bytes: 0,
            next_seqno: 0,
            acked: start_offset,
            sent: start_offset,
            recoveries: 0,
            done: false,
            deferred_failure: None,
            failed: Vec::new(),
        })
    }

    /// Bytes of the block sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Sends the next run of the block's data.
    pub async fn send(&mut self, data: Bytes, recovery: &impl PipelineRecovery) -> Result<()> {
        self.send_packet(data, false, recovery).await
    }

    /// Sends `data` (possibly empty) and waits until every worker acknowledged everything
    /// sent: hflush, or with `sync` hsync (every worker syncs the replica to disk first).
    pub async fn flush(
        &mut self,
        data: Bytes,
        sync: bool,
        recovery: &impl PipelineRecovery,
    ) -> Result<()> {
        if !data.is_empty() || sync {
            self.send_packet(data, sync, recovery).await?;
        }
        while !self.unacked.is_empty() {
            self.wait_for_event(recovery).await?;
        }
        Ok(())
    }

    async fn send_packet(
        &mut self,
        data: Bytes,
        sync: bool,
        recovery: &impl PipelineRecovery,
    ) -> Result<()> {
        let packet = SentPacket {
            seqno: self.next_seqno,
            offset: self.sent,
            checksums: encode_checksums(&chunk_checksums(
                self.sent,
                &data,
                self.settings.chunk_size,
            )),
            data,
            last: false,
            sync,
        };
        self.next_seqno += 1;
        self.sent += packet.data.len() as u64;
        self.queue_and_write(packet, recovery).await
    }

    /// Sends the final empty packet, waits for every acknowledgement and returns the block
    /// with its final generation and length.
    pub async fn finish(
        mut self,
        recovery: &impl PipelineRecovery,
    ) -> Result<(ExtendedBlock, Vec<String>)> {
        let packet = SentPacket {
            seqno: self.next_seqno,
            offset: self.sent,
            data: Bytes::new(),
            checksums: Vec::new(),
            last: true,
            sync: false,
        };
        self.next_seqno += 1;
        self.queue_and_write(packet, recovery).await?;
        while !self.unacked.is_empty() {
            self.wait_for_event(recovery).await?;
        }
        self.ack_task.abort();
        Ok((
            ExtendedBlock {
                length: self.sent,
                ..self.block
            },
            std::mem::take(&mut self.failed),
        ))
    }

    async fn queue_and_write(
        &mut self,
        packet: SentPacket,
        recovery: &impl PipelineRecovery,
    ) -> Result<()> {
        if let Some(index) = self.deferred_failure.take() {
            self.recover(index, recovery).await?;
        }
        while self.unacked_bytes >= self.settings.window {
            self.wait_for_event(recovery).await?;
        }
        self.unacked_bytes += packet.data.len();
        self.unacked.push_back(packet.clone());
        if let Err(e) = write_packet(&mut self.out, &packet, self.settings.timeout).await {
            tracing::debug!(error = %e, "pipeline write failed");
            let index = self.failure_index().await;
            self.recover(index, recovery).await?;
        }
        self.drain_ready(recovery).await
    }

    /// Handles acknowledgements that have already arrived.
    async fn drain_ready(&mut self, recovery: &impl PipelineRecovery) -> Result<()> {
        while let Ok(event) = self.events.try_recv() {
            self.handle(event, recovery).await?;
        }
        Ok(())
    }

    async fn wait_for_event(&mut self, recovery: &impl PipelineRecovery) -> Result<()> {
        let patience = self.settings.timeout + Duration::from_secs(5) * self.nodes.len() as u32;
        match tokio::time::timeout(patience, self.events.recv()).await {
            Ok(Some(event)) => self.handle(event, recovery).await,
            Ok(None) => self.recover(None, recovery).await,
            Err(_) => {
                tracing::warn!(block = %self.block.id, "no acknowledgement in time; rebuilding the pipeline");
                self.recover(None, recovery).await
            }
        }
    }

    async fn handle(&mut self, event: AckEvent, recovery: &impl PipelineRecovery) -> Result<()> {
        match event {
            AckEvent::Acked(seqno) => {
                if self.unacked.is_empty() {
                    return Err(Error::Protocol(format!(
                        "acknowledgement {seqno} for nothing sent"
                    )));
                }
                if !self.acknowledge(seqno) {
                    return self.recover(Some(0), recovery).await;
                }
                Ok(())
            }
            // Workers close the connection after the last acknowledgement: not a failure.
            AckEvent::Failed { .. } if self.done => Ok(()),
            AckEvent::Failed { index, reason } if self.unacked.is_empty() => {
                tracing::info!(block = %self.block.id, ?index, %reason, "pipeline failure reported while idle");
                self.deferred_failure = Some(index);
                Ok(())
            }
            AckEvent::Failed { index, reason } => {
                tracing::info!(block = %self.block.id, ?index, %reason, "pipeline failure reported");
                self.recover(index, recovery).await
            }
        }
    }

    /// Records the acknowledgement of the oldest packet in flight; false if `seqno` is not it.
    fn acknowledge(&mut self, seqno: u64) -> bool {
        if self.unacked.front().is_none_or(|p| p.seqno != seqno) {
            return false;
        }
        if let Some(p) = self.unacked.pop_front() {
            self.unacked_bytes -= p.data.len();
            self.acked = p.offset + p.data.len() as u64;
            self.done |= p.last;
        }
        true
    }

    /// After a failed write, the position of the failed worker as the acknowledgements tell it.
    async fn failure_index(&mut self) -> Option<usize> {
        let wait = self.settings.timeout.min(Duration::from_secs(5));
        loop {
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Some(AckEvent::Acked(seqno))) => {
                    self.acknowledge(seqno);
                }
                Ok(Some(AckEvent::Failed { index, .. })) => return index,
                _ => return None,
            }
        }
    }

    /// Rebuilds the pipeline without the failed worker (the first one when unknown) and sends
    /// every unacknowledged packet again.
    async fn recover(
        &mut self,
        failed: Option<usize>,
        recovery: &impl PipelineRecovery,
    ) -> Result<()> {
        let mut failed = failed.unwrap_or(0);
        loop {
            self.recoveries += 1;
            if self.recoveries > MAX_RECOVERIES {
                return Err(Error::BlockUnavailable {
                    path: String::new(),
                    block: self.block.id.to_string(),
                    reason: format!("the write pipeline failed {MAX_RECOVERIES} times"),
                });
            }
            let index = failed.min(self.nodes.len().saturating_sub(1));
            if index < self.nodes.len() {
                let bad = self.nodes.remove(index);
                tracing::warn!(block = %self.block.id, worker = %bad.data_address,
                    "removing a failed worker from the write pipeline");
                self.failed.push(bad.id);
            }
            self.ack_task.abort();
            if self.nodes.is_empty() {
                return Err(Error::BlockUnavailable {
                    path: String::new(),
                    block: self.block.id.to_string(),
                    reason: "every worker in the write pipeline failed".to_string(),
                });
            }
            let acked = ExtendedBlock {
                length: self.acked,
                ..self.block
            };
            let located = recovery.recover(acked, &self.nodes).await?;
            let Some(block) = located.block.as_ref().map(ExtendedBlock::from) else {
                return Err(Error::Protocol(
                    "pipeline recovery returned no block".to_string(),
                ));
            };
            self.block = ExtendedBlock {
                length: self.block.length,
                ..block
            };
            match connect_chain(
                &self.settings,
                self.block,
                &self.nodes,
                WriteStage::PipelineRecovery,
                self.acked,
            )
            .await
            {
                Ok((out, events, ack_task)) => {
                    self.out = out;
                    self.events = events;
                    self.ack_task = ack_task;
                }
                Err(e) => {
                    tracing::info!(error = %e.error, index = e.failed_index, "pipeline rebuild failed");
                    failed = e.failed_index;
                    continue;
                }
            }
            let resend: Vec<SentPacket> = self.unacked.iter().cloned().collect();
            let mut broken = None;
            for packet in &resend {
                if let Err(e) = write_packet(&mut self.out, packet, self.settings.timeout).await {
                    broken = Some(e);
                    break;
                }
            }
            match broken {
                None => return Ok(()),
                Some(e) => {
                    tracing::info!(error = %e, "resending after recovery failed");
                    failed = self.failure_index().await.unwrap_or(0);
                }
            }
        }
    }
}

impl Drop for BlockPipeline {
    fn drop(&mut self) {
        self.ack_task.abort();
    }
}

async fn write_packet(
    out: &mut OwnedWriteHalf,
    packet: &SentPacket,
    timeout: Duration,
) -> Result<()> {
    let header = Packet {
        seqno: packet.seqno,
        offset: packet.offset,
        last: packet.last,
        checksums: packet.checksums.clone(),
        data_length: packet.data.len() as u32,
        sync: packet.sync,
    };
    within(
        timeout,
        "sending a packet",
        write_frame(out, &header, &packet.data),
    )
    .await??;
    Ok(())
}

type Chain = (
    OwnedWriteHalf,
    mpsc::UnboundedReceiver<AckEvent>,
    JoinHandle<()>,
);

async fn connect_chain(
    settings: &PipelineSettings,
    block: ExtendedBlock,
    nodes: &[WorkerAddress],
    stage: WriteStage,
    start_offset: u64,
) -> std::result::Result<Chain, SetupError> {
    let Some(first) = nodes.first() else {
        return Err(SetupError {
            failed_index: 0,
            error: Error::NotEnoughWorkers {
                reason: format!("no worker to write {} to", block.id),
            },
        });
    };
    let fail = |failed_index: usize| {
        move |error: Error| SetupError {
            failed_index,
            error,
        }
    };
    let mut stream = connect(&first.data_address, settings.timeout)
        .await
        .map_err(fail(0))?;
    let request = Request {
        op: Some(request::Op::WriteBlock(WriteBlock {
            block: Some(block.into()),
            stage: stage as i32,
            downstream: nodes[1..]
                .iter()
                .map(|n| Target {
                    worker_id: n.id.clone(),
                    address: n.data_address.clone(),
                })
                .collect(),
            client_name: settings.client_name.clone(),
            start_offset,
            old_generation: 0,
            chunk_size: settings.chunk_size,
            expected_length: settings.block_size,
        })),
    };
    write_frame(&mut stream, &request, &[])
        .await
        .map_err(|e| fail(0)(e.into()))?;
    let response: Response = within(
        settings.timeout * 2,
        &first.data_address,
        read_header(&mut stream),
    )
    .await
    .map_err(fail(0))?
    .map_err(|e| fail(0)(e.into()))?;
    if response.status != Status::Ok as i32 {
        let index = if response.status == Status::DownstreamFailed as i32 {
            response.failed_index as usize
        } else {
            0
        };
        let address = nodes.get(index).map_or("?", |n| n.data_address.as_str());
        return Err(SetupError {
            failed_index: index,
            error: Error::Unavailable {
                address: address.to_string(),
                reason: response.message,
            },
        });
    }
    let (acks, out) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(read_acks(acks, tx));
    Ok((out, rx, task))
}

async fn read_acks(mut acks: OwnedReadHalf, events: mpsc::UnboundedSender<AckEvent>) {
    loop {
        let event = match read_header::<_, Ack>(&mut acks).await {
            Ok(ack) if ack.status == Status::Ok as i32 => AckEvent::Acked(ack.seqno),
            Ok(ack) => AckEvent::Failed {
                index: Some(ack.failed_index as usize),
                reason: ack.message,
            },
            Err(e) => AckEvent::Failed {
                index: None,
                reason: e.to_string(),
            },
        };
        let stop = matches!(event, AckEvent::Failed { .. });
        if events.send(event).is_err() || stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;
    use strata_proto::frame::read_payload;
    use strata_proto::rpc::Block;
    use tokio::net::TcpListener;

    /// A worker that accepts pipelines and swallows their packets without acknowledging them;
    /// the tests feed acknowledgements to the pipeline themselves.
    async fn silent_worker() -> WorkerAddress {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _: Request = read_header(&mut s).await.unwrap();
                    let ok = Response {
                        status: Status::Ok as i32,
                        ..Default::default()
                    };
                    write_frame(&mut s, &ok, &[]).await.unwrap();
                    while let Ok(p) = read_header::<_, Packet>(&mut s).await {
                        if read_payload(&mut s, p.data_length as usize).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        WorkerAddress {
            id: address.clone(),
            data_address: address,
            ..Default::default()
        }
    }

    /// Stands in for the master: records the survivors it is asked about.
    #[derive(Default)]
    struct RecordingMaster {
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl PipelineRecovery for RecordingMaster {
        async fn recover(
            &self,
            block: ExtendedBlock,
            survivors: &[WorkerAddress],
        ) -> Result<LocatedBlock> {
            self.calls
                .lock()
                .push(survivors.iter().map(|s| s.id.clone()).collect());
            Ok(LocatedBlock {
                block: Some(
                    ExtendedBlock {
                        generation: block.generation + 1,
                        ..block
                    }
                    .into(),
                ),
                locations: survivors.to_vec(),
                ..Default::default()
            })
        }
    }

    fn settings() -> PipelineSettings {
        PipelineSettings {
            client_name: "test".into(),
            chunk_size: 4096,
            window: 1 << 20,
            timeout: Duration::from_secs(5),
            block_size: 1 << 20,
        }
    }

    async fn pipeline(
        nodes: Vec<WorkerAddress>,
    ) -> (BlockPipeline, mpsc::UnboundedSender<AckEvent>) {
        let located = LocatedBlock {
            block: Some(Block {
                id: 7,
                generation: 1,
                length: 0,
            }),
            locations: nodes,
            ..Default::default()
        };
        let mut p = BlockPipeline::open(settings(), &located, WriteStage::Create, 0)
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        p.ack_task.abort();
        p.events = rx;
        (p, tx)
    }

    #[tokio::test]
    async fn a_worker_hanging_up_after_the_last_ack_is_not_a_failure() {
        let (p, acks) = pipeline(vec![silent_worker().await]).await;
        acks.send(AckEvent::Acked(0)).unwrap();
        acks.send(AckEvent::Failed {
            index: None,
            reason: "closed".into(),
        })
        .unwrap();
        let master = RecordingMaster::default();
        let (block, failed) = p.finish(&master).await.unwrap();
        assert!(failed.is_empty());
        assert_eq!(block.generation, 1, "no recovery happened");
        assert!(master.calls.lock().is_empty());
    }

    #[tokio::test]
    async fn a_failure_while_idle_is_handled_before_the_next_packet() {
        let (first, second) = (silent_worker().await, silent_worker().await);
        let (mut p, acks) = pipeline(vec![first.clone(), second.clone()]).await;
        acks.send(AckEvent::Failed {
            index: Some(1),
            reason: "downstream died".into(),
        })
        .unwrap();
        let master = RecordingMaster::default();
        p.send(bytes::Bytes::from_static(b"hello"), &master)
            .await
            .unwrap();
        assert_eq!(*master.calls.lock(), vec![vec![first.id.clone()]]);
        assert_eq!(p.failed, vec![second.id]);
        assert_eq!(p.block.generation, 2);
    }
}
