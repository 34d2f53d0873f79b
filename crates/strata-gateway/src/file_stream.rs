//! A file's bytes as a stream for an HTTP response body, never whole in memory: a task of its
//! own reads ahead through a short queue and stops when the client goes away.

use bytes::Bytes;
use strata_client::FileReader;
use strata_core::Error;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Chunks read ahead of the HTTP response (each up to a packet, 256 KiB by default).
const READ_AHEAD_CHUNKS: usize = 8;

/// A stream of `length` bytes of `reader` from its position; `path` names the file in errors.
pub fn file_stream(
    path: String,
    mut reader: FileReader,
    length: u64,
) -> ReceiverStream<Result<Bytes, Error>> {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, Error>>(READ_AHEAD_CHUNKS);
    tokio::spawn(async move {
        let mut remaining = length;
        while remaining > 0 {
            let chunk = match reader.next_chunk().await {
                Ok(Some(mut chunk)) => {
                    chunk.truncate(usize::try_from(remaining).unwrap_or(usize::MAX));
                    remaining -= chunk.len() as u64;
                    Ok(chunk)
                }
                Ok(None) => Err(Error::Io(format!("{path} ended {remaining} bytes early"))),
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    ReceiverStream::new(receiver)
}
