//! The Thrift server: one port for HBase's Thrift1 API in all four forms happybase can speak
//! (buffered or framed transport, binary or compact protocol), told apart by the first bytes
//! of a connection: a strict binary message starts with 0x80, a compact one with 0x82, and a
//! framed one with a 4-byte length and then one of those. Each connection is served on a
//! blocking thread by the generated processor; a connection that sends garbage is dropped
//! and the server keeps serving.

use super::handler::HbaseHandler;
use super::hbase::HbaseSyncProcessor;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use strata_core::{Error, Result};
use strata_table::client::Connection;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TCompactInputProtocol, TCompactOutputProtocol,
    TInputProtocol, TOutputProtocol,
};
use thrift::server::TProcessor;
use thrift::transport::{TBufferedReadTransport, TBufferedWriteTransport, TFramedWriteTransport};
use tokio::task::JoinHandle;

/// The largest frame a framed client may send.
const MAX_FRAME: usize = 64 << 20;
/// How long a connection may sit silent in the middle of a request.
const READ_TIMEOUT: Duration = Duration::from_secs(600);
/// The first byte of a strict binary protocol message.
const BINARY_FIRST: u8 = 0x80;
/// The first byte of a compact protocol message.
const COMPACT_FIRST: u8 = 0x82;

/// The running Thrift server.
#[derive(Debug)]
pub struct ThriftServer {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl ThriftServer {
    /// Listens on `listen` and answers HBase's Thrift1 calls through `connection`.
    pub async fn start(listen: &str, connection: Connection) -> Result<ThriftServer> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::io(format!("binding the Thrift port {listen}"), e))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::io("reading the Thrift port's address", e))?;
        let handler = HbaseHandler::new(connection, tokio::runtime::Handle::current());
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a Thrift connection failed");
                        continue;
                    }
                };
                let handler = handler.clone();
                tokio::task::spawn_blocking(move || {
                    let stream = match stream.into_std() {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::debug!(error = %e, "cannot take over a Thrift connection");
                            return;
                        }
                    };
                    if let Err(e) = serve(stream, handler) {
                        tracing::debug!(%peer, error = %e, "Thrift connection ended");
                    }
                });
            }
        });
        tracing::info!(%address, "Thrift server up (HBase Thrift1: buffered or framed, binary or compact)");
        Ok(ThriftServer { address, task })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for ThriftServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Buffered { compact: bool },
    Framed { compact: bool },
}

/// Tells the form from the connection's first bytes (without consuming them).
fn sniff(stream: &TcpStream) -> io::Result<Option<Form>> {
    let mut head = [0u8; 5];
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if std::time::Instant::now() > deadline {
            return Ok(None);
        }
        let n = stream.peek(&mut head)?;
        if n == 0 {
            return Ok(None);
        }
        match head[0] {
            BINARY_FIRST => return Ok(Some(Form::Buffered { compact: false })),
            COMPACT_FIRST => return Ok(Some(Form::Buffered { compact: true })),
            _ if n < 5 => std::thread::sleep(Duration::from_millis(1)),
            _ => {
                return Ok(match head[4] {
                    BINARY_FIRST => Some(Form::Framed { compact: false }),
                    COMPACT_FIRST => Some(Form::Framed { compact: true }),
                    _ => None,
                });
            }
        }
    }
}

fn serve(stream: TcpStream, handler: HbaseHandler) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let Some(form) = sniff(&stream)? else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a Thrift binary or compact message",
        ));
    };
    let reader = stream.try_clone()?;
    let (read, write): (Box<dyn Read + Send>, Box<dyn Write + Send>) = match form {
        Form::Buffered { .. } => (
            Box::new(TBufferedReadTransport::new(reader)),
            Box::new(TBufferedWriteTransport::new(stream)),
        ),
        Form::Framed { .. } => (
            Box::new(BoundedFrames::new(reader)),
            Box::new(TFramedWriteTransport::new(stream)),
        ),
    };
    let compact = matches!(
        form,
        Form::Buffered { compact: true } | Form::Framed { compact: true }
    );
    let (mut input, mut output): (
        Box<dyn TInputProtocol + Send>,
        Box<dyn TOutputProtocol + Send>,
    ) = if compact {
        (
            Box::new(TCompactInputProtocol::new(read)),
            Box::new(TCompactOutputProtocol::new(write)),
        )
    } else {
        (
            Box::new(TBinaryInputProtocol::new(read, true)),
            Box::new(TBinaryOutputProtocol::new(write, true)),
        )
    };
    let processor = HbaseSyncProcessor::new(handler);
    loop {
        match processor.process(&mut *input, &mut *output) {
            Ok(()) => {}
            Err(thrift::Error::Transport(e)) if e.kind == thrift::TransportErrorKind::EndOfFile => {
                return Ok(());
            }
            Err(e) => return Err(io::Error::other(e.to_string())),
        }
    }
}

/// Reads framed messages (`[u32 big-endian length][message]`), refusing frames over
/// `MAX_FRAME` before reserving room for them.
struct BoundedFrames<R> {
    inner: R,
    frame: Vec<u8>,
    at: usize,
}

impl<R: Read> BoundedFrames<R> {
    fn new(inner: R) -> BoundedFrames<R> {
        BoundedFrames {
            inner,
            frame: Vec::new(),
            at: 0,
        }
    }
}

impl<R: Read> Read for BoundedFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.frame.len() {
            let mut size = [0u8; 4];
            self.inner.read_exact(&mut size)?;
            let size = u32::from_be_bytes(size) as usize;
            if size > MAX_FRAME {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a frame of {size} bytes is larger than {MAX_FRAME}"),
                ));
            }
            self.frame.resize(size, 0);
            self.inner.read_exact(&mut self.frame)?;
            self.at = 0;
        }
        let n = buf.len().min(self.frame.len() - self.at);
        buf[..n].copy_from_slice(&self.frame[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_over_the_bound_are_refused_before_they_are_read() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&3u32.to_be_bytes());
        wire.extend_from_slice(b"abc");
        wire.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut frames = BoundedFrames::new(&wire[..]);
        let mut out = [0u8; 8];
        assert_eq!(frames.read(&mut out).unwrap(), 3);
        assert_eq!(&out[..3], b"abc");
        assert_eq!(
            frames.read(&mut out).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
