//! The data-plane frame codec: `[u32 big-endian header length][prost header][payload]`.
//!
//! Lengths are checked before anything is allocated, so a peer announcing a huge frame gets an
//! error instead of exhausting memory.

use bytes::BytesMut;
use prost::Message;
use strata_core::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest header a peer may send.
pub const MAX_HEADER_LEN: usize = 64 << 10;
/// Largest payload a packet may carry.
pub const MAX_PAYLOAD_LEN: usize = 16 << 20;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly before a new frame began.
    #[error("connection closed by peer")]
    Closed,
    /// A socket error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A length over the protocol's limit.
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Header or payload.
        what: &'static str,
        /// The announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A header that is not a valid message of the expected type.
    #[error("malformed header: {0}")]
    Decode(#[from] prost::DecodeError),
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Io(io) => Error::Io(io.to_string()),
            FrameError::Closed => Error::Protocol("connection closed by peer".to_string()),
            other => Error::Protocol(other.to_string()),
        }
    }
}

/// Encodes a header (with its length prefix) into a new buffer.
pub fn encode_header<M: Message>(header: &M) -> Vec<u8> {
    let len = header.encoded_len();
    let mut buf = Vec::with_capacity(4 + len);
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    // Encoding into a Vec cannot run out of space.
    let _ = header.encode(&mut buf);
    buf
}

/// Writes one frame: the header, then `payload` (empty for frames without one).
pub async fn write_frame<W, M>(writer: &mut W, header: &M, payload: &[u8]) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
    M: Message,
{
    let head = encode_header(header);
    if payload.is_empty() {
        writer.write_all(&head).await
    } else if payload.len() <= 4096 {
        let mut joined = head;
        joined.extend_from_slice(payload);
        writer.write_all(&joined).await
    } else {
        writer.write_all(&head).await?;
        writer.write_all(payload).await
    }
}

/// Reads one frame header of type `M`.
pub async fn read_header<R, M>(reader: &mut R) -> Result<M, FrameError>
where
    R: AsyncRead + Unpin,
    M: Message + Default,
{
    let mut len_bytes = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = reader.read(&mut len_bytes[got..]).await?;
        if n == 0 {
            return Err(if got == 0 {
                FrameError::Closed
            } else {
                FrameError::Io(std::io::ErrorKind::UnexpectedEof.into())
            });
        }
        got += n;
    }
    let len = u32::from_be_bytes(len_bytes) as usize;
    if len > MAX_HEADER_LEN {
        return Err(FrameError::TooLarge {
            what: "header",
            len,
            max: MAX_HEADER_LEN,
        });
    }
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf).await?;
    Ok(M::decode(buf.as_slice())?)
}

/// Reads a payload of `len` bytes announced by a header.
pub async fn read_payload<R>(reader: &mut R, len: usize) -> Result<BytesMut, FrameError>
where
    R: AsyncRead + Unpin,
{
    if len > MAX_PAYLOAD_LEN {
        return Err(FrameError::TooLarge {
            what: "payload",
            len,
            max: MAX_PAYLOAD_LEN,
        });
    }
    let mut buf = BytesMut::zeroed(len);
    reader.read_exact(&mut buf).await?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Packet, Request};
    use proptest::prelude::*;

    #[tokio::test]
    async fn round_trip_packet() {
        let header = Packet {
            seqno: 7,
            offset: 4096,
            last: false,
            checksums: vec![1, 2, 3, 4],
            data_length: 5,
            sync: false,
        };
        let mut wire = Vec::new();
        write_frame(&mut wire, &header, b"hello").await.unwrap();
        let mut reader = wire.as_slice();
        let got: Packet = read_header(&mut reader).await.unwrap();
        assert_eq!(got, header);
        let payload = read_payload(&mut reader, got.data_length as usize)
            .await
            .unwrap();
        assert_eq!(&payload[..], b"hello");
        assert!(matches!(
            read_header::<_, Packet>(&mut reader).await,
            Err(FrameError::Closed)
        ));
    }

    #[tokio::test]
    async fn oversized_lengths_are_refused() {
        let wire = (u32::MAX).to_be_bytes();
        let mut reader = &wire[..];
        assert!(matches!(
            read_header::<_, Packet>(&mut reader).await,
            Err(FrameError::TooLarge { .. })
        ));
        let mut empty: &[u8] = &[];
        assert!(read_payload(&mut empty, MAX_PAYLOAD_LEN + 1).await.is_err());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let mut reader = bytes.as_slice();
                let _ = read_header::<_, Request>(&mut reader).await;
            });
        }
    }
}
