//! The data port: accepts connections, reads the request frame and hands it to its handler.
//! A malformed, oversized or unknown request gets an error response and the connection is
//! closed; nothing a peer sends can stop the server.

use crate::context::WorkerContext;
use crate::write_block::failure;
use crate::{persist, read_block, recovery, write_block};
use std::sync::Arc;
use std::time::Instant;
use strata_core::Error;
use strata_proto::data::{Request, request};
use strata_proto::frame::{FrameError, read_header, write_frame};
use strata_proto::net::{tune, within};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Accepts connections until `stopped` turns true.
pub async fn serve(
    ctx: Arc<WorkerContext>,
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let ctx = ctx.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move {
                    let mut stopped = stopped;
                    tokio::select! {
                        r = handle(&ctx, stream) => if let Err(e) = r {
                            tracing::debug!(%peer, error = %e, "data connection ended with an error");
                        },
                        _ = stopped.wait_for(|s| *s) => {}
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handle(ctx: &Arc<WorkerContext>, mut stream: TcpStream) -> Result<(), Error> {
    tune(&stream);
    let _op = ctx.begin_operation();
    let timeout = ctx.config.socket_timeout;
    let request: Request = match within(timeout, "request header", read_header(&mut stream)).await?
    {
        Ok(r) => r,
        Err(FrameError::Closed) => return Ok(()),
        Err(e) => {
            let err = Error::Protocol(e.to_string());
            let _ = write_frame(&mut stream, &failure(&err, 0), &[]).await;
            return Err(err);
        }
    };
    let started = Instant::now();
    let op = op_name(&request.op);
    let result = dispatch(ctx, stream, request).await;
    ctx.metrics
        .operation_done(op, result.is_ok(), started.elapsed());
    result
}

/// The name of an operation, as metrics label it.
fn op_name(op: &Option<request::Op>) -> &'static str {
    match op {
        Some(request::Op::WriteBlock(_)) => "write_block",
        Some(request::Op::ReadBlock(_)) => "read_block",
        Some(request::Op::BlockChecksum(_)) => "block_checksum",
        Some(request::Op::RecoveryQuery(_)) => "recovery_query",
        Some(request::Op::RecoveryFinalize(_)) => "recovery_finalize",
        Some(request::Op::PersistFile(_)) => "persist_file",
        Some(request::Op::VisibleLength(_)) => "visible_length",
        None => "none",
    }
}

/// Hands the request to its operation's handler.
async fn dispatch(
    ctx: &Arc<WorkerContext>,
    mut stream: TcpStream,
    request: Request,
) -> Result<(), Error> {
    match request.op {
        Some(request::Op::WriteBlock(req)) => write_block::handle(ctx.clone(), stream, req).await,
        Some(request::Op::ReadBlock(req)) => read_block::handle(ctx, &mut stream, req).await,
        Some(request::Op::BlockChecksum(req)) => read_block::checksum(ctx, &mut stream, req).await,
        Some(request::Op::RecoveryQuery(req)) => {
            recovery::handle_query(ctx, &mut stream, req).await
        }
        Some(request::Op::RecoveryFinalize(req)) => {
            recovery::handle_finalize(ctx, &mut stream, req).await
        }
        Some(request::Op::PersistFile(req)) => persist::handle(ctx, &mut stream, req).await,
        Some(request::Op::VisibleLength(req)) => {
            read_block::visible_length(ctx, &mut stream, req).await
        }
        None => {
            let err = Error::Protocol("request without an operation".to_string());
            let _ = write_frame(&mut stream, &failure(&err, 0), &[]).await;
            Err(err)
        }
    }
}
