//! Reconstruction of lost internal blocks of a block group: read `data` surviving internal
//! blocks stripe by stripe, decode the lost cells, and stream them to their new workers.

use crate::context::WorkerContext;
use bytes::Bytes;
use strata_core::{BlockId, Error, ExtendedBlock, Result};
use strata_ec::{Coder, EcPolicy, StripeGeometry};
use strata_proto::block_io::{BlockReader, BlockSink};
use strata_proto::data::WriteStage;
use strata_proto::rpc::ReconstructCommand;

/// Runs one reconstruction command.
/// Rebuilds the command's internal blocks and sends them to its targets; the bytes sent.
pub async fn run(ctx: &WorkerContext, command: ReconstructCommand) -> Result<u64> {
    let group = command
        .group
        .as_ref()
        .map(ExtendedBlock::from)
        .ok_or_else(|| Error::Protocol("reconstruction without a group".to_string()))?;
    let policy =
        EcPolicy::parse(&command.policy).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if command.source_indices.len() != policy.data
        || command.sources.len() != policy.data
        || command.target_indices.len() != command.targets.len()
    {
        return Err(Error::Protocol(format!(
            "reconstruction of {} needs {} sources, got {}",
            group.id,
            policy.data,
            command.sources.len()
        )));
    }
    let geometry = StripeGeometry::new(&policy);
    let unit = |index: u32| ExtendedBlock {
        id: group.id.internal(index as usize),
        generation: group.generation,
        length: geometry.internal_length(group.length, index as usize),
    };
    let timeout = ctx.config.socket_timeout;
    let client = format!("reconstruct-{}", ctx.id);
    let mut readers = Vec::with_capacity(policy.data);
    for (index, source) in command.source_indices.iter().zip(&command.sources) {
        if *index as usize >= policy.units() {
            return Err(Error::Protocol(format!(
                "no internal block {index} in {policy}"
            )));
        }
        let block = unit(*index);
        readers.push((
            *index as usize,
            source.clone(),
            BlockReader::open(block, source, 0, block.length, &client, timeout).await?,
        ));
    }
    let mut sinks = Vec::with_capacity(command.targets.len());
    for (index, target) in command.target_indices.iter().zip(&command.targets) {
        if *index as usize >= policy.units() {
            return Err(Error::Protocol(format!(
                "no internal block {index} in {policy}"
            )));
        }
        let sink = BlockSink::open(
            unit(*index),
            std::slice::from_ref(target),
            WriteStage::Transfer,
            &client,
            ctx.store.chunk_size(),
            timeout,
        )
        .await?;
        sinks.push((*index as usize, sink));
    }
    let coder = Coder::new(policy);
    let wanted: Vec<usize> = sinks.iter().map(|(i, _)| *i).collect();
    for stripe in 0..geometry.stripes(group.length) {
        let width = geometry.cell_length(group.length, stripe, 0) as usize;
        let mut cells: Vec<Option<Bytes>> = vec![None; policy.units()];
        for (index, source, reader) in readers.iter_mut() {
            let len = geometry.cell_length(group.length, stripe, *index) as usize;
            let bytes = match reader.read_exact(len).await {
                Ok(b) if b.len() == len => b,
                Ok(_) => {
                    return Err(Error::Protocol(format!(
                        "{} ended early",
                        unit(*index as u32).id
                    )));
                }
                Err(e) => {
                    if matches!(e, Error::ChecksumMismatch { .. }) {
                        ctx.master.report_bad(&source.id, unit(*index as u32)).await;
                    }
                    return Err(e);
                }
            };
            // Only the cells of a short last stripe need zero padding (and so a copy).
            cells[*index] = Some(if len == width {
                bytes
            } else {
                let mut cell = vec![0u8; width];
                cell[..len].copy_from_slice(&bytes);
                Bytes::from(cell)
            });
        }
        let inputs: Vec<Option<&[u8]>> = cells.iter().map(|c| c.as_deref()).collect();
        let mut rebuilt = vec![vec![0u8; width]; wanted.len()];
        let mut outputs: Vec<&mut [u8]> = rebuilt.iter_mut().map(|r| r.as_mut_slice()).collect();
        coder
            .reconstruct(&inputs, &wanted, &mut outputs)
            .map_err(|e| Error::Internal(format!("decoding {}: {e}", group.id)))?;
        for ((index, sink), cell) in sinks.iter_mut().zip(&rebuilt) {
            let len = geometry.cell_length(group.length, stripe, *index) as usize;
            sink.send(&cell[..len]).await?;
        }
    }
    let mut sent = 0;
    for (index, sink) in sinks {
        let written = sink.finish().await?;
        tracing::info!(block = %BlockId(group.id.0 + index as u64), bytes = written, "internal block rebuilt");
        sent += written;
    }
    Ok(sent)
}
