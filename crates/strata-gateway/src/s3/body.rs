//! Object bytes in motion, never whole in memory: a reader task streams a file's range to the
//! HTTP response through a short queue, and a request body is written into a file as it
//! arrives, hashed on the way (MD5 for the ETag, and the checksum a client sent, if any).

use crate::file_stream::file_stream;
use crate::s3::errors::{body_error, s3_error};
use base64::Engine;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum, Md5};
use s3s::dto::{Checksum as Checksums, ChecksumAlgorithm, StreamingBlob};
use s3s::{S3Result, TrailingHeaders, s3_error};
use strata_client::{FileReader, FileWriter};
use tokio_stream::StreamExt;

/// A stream of `length` bytes of `reader` from its position, as an S3 body.
pub fn object_stream(path: String, reader: FileReader, length: u64) -> StreamingBlob {
    StreamingBlob::wrap(file_stream(path, reader, length))
}

/// The checksums a client asked the server to verify (`x-amz-checksum-*` headers, trailers or
/// `x-amz-sdk-checksum-algorithm`).
#[derive(Debug, Default, Clone)]
pub struct ExpectedChecksums {
    /// The values sent in headers (trailers are read once the body has ended).
    pub sent: Checksums,
    /// The algorithm named without a value (its value then comes in a trailer).
    pub algorithm: Option<ChecksumAlgorithm>,
}

impl ExpectedChecksums {
    fn hasher(&self) -> S3Result<ChecksumHasher> {
        let sent = &self.sent;
        let mut hasher = ChecksumHasher::default();
        let named = self.algorithm.as_ref().map(|a| a.as_str());
        if sent.checksum_crc32.is_some() || named == Some(ChecksumAlgorithm::CRC32) {
            hasher.crc32 = Some(Default::default());
        }
        if sent.checksum_crc32c.is_some() || named == Some(ChecksumAlgorithm::CRC32C) {
            hasher.crc32c = Some(Default::default());
        }
        if sent.checksum_sha1.is_some() || named == Some(ChecksumAlgorithm::SHA1) {
            hasher.sha1 = Some(Default::default());
        }
        if sent.checksum_sha256.is_some() || named == Some(ChecksumAlgorithm::SHA256) {
            hasher.sha256 = Some(Default::default());
        }
        if sent.checksum_crc64nvme.is_some() || named == Some(ChecksumAlgorithm::CRC64NVME) {
            hasher.crc64nvme = Some(Default::default());
        }
        if let Some(name) = named {
            let known = [
                ChecksumAlgorithm::CRC32,
                ChecksumAlgorithm::CRC32C,
                ChecksumAlgorithm::SHA1,
                ChecksumAlgorithm::SHA256,
                ChecksumAlgorithm::CRC64NVME,
            ];
            if !known.contains(&name) {
                return Err(s3_error!(
                    InvalidArgument,
                    "unknown checksum algorithm {name}"
                ));
            }
        }
        Ok(hasher)
    }
}

/// A request body on its way in, with what the client says it hashes to.
pub struct IncomingBody {
    /// The bytes (absent when the request had none).
    pub body: Option<StreamingBlob>,
    /// The checksums sent in headers, or named for trailers.
    pub expected: ExpectedChecksums,
    /// The `Content-MD5` header, base64.
    pub content_md5: Option<String>,
    /// The trailers of an `aws-chunked` body, filled once it has been read.
    pub trailers: Option<TrailingHeaders>,
}

/// The [`IncomingBody`] of a PutObject or UploadPart input and its request's trailers.
macro_rules! incoming_body {
    ($input:expr, $trailers:expr) => {
        $crate::s3::body::IncomingBody {
            body: $input.body,
            expected: $crate::s3::body::ExpectedChecksums {
                sent: s3s::dto::Checksum {
                    checksum_crc32: $input.checksum_crc32,
                    checksum_crc32c: $input.checksum_crc32c,
                    checksum_sha1: $input.checksum_sha1,
                    checksum_sha256: $input.checksum_sha256,
                    checksum_crc64nvme: $input.checksum_crc64nvme,
                    ..Default::default()
                },
                algorithm: $input.checksum_algorithm,
            },
            content_md5: $input.content_md5,
            trailers: $trailers,
        }
    };
}

pub(super) use incoming_body;

/// A PutObject or UploadPart output (`$output`, a struct name) for a stored body: its ETag
/// and the checksums computed as it was written.
macro_rules! stored_output {
    ($output:ident, $etag:expr, $sums:expr) => {{
        let sums: s3s::dto::Checksum = $sums;
        $output {
            e_tag: Some(s3s::dto::ETag::Strong($etag)),
            checksum_crc32: sums.checksum_crc32,
            checksum_crc32c: sums.checksum_crc32c,
            checksum_sha1: sums.checksum_sha1,
            checksum_sha256: sums.checksum_sha256,
            checksum_crc64nvme: sums.checksum_crc64nvme,
            ..Default::default()
        }
    }};
}

pub(super) use stored_output;

/// What was written: the byte count, the MD5 and the checksums computed on the way.
#[derive(Debug)]
pub struct Written {
    /// Bytes written.
    pub length: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// The checksums the client asked for, base64 as S3 writes them.
    pub checksums: Checksums,
}

/// Writes `body` into `writer` (not closing it), hashing as it goes.
pub async fn write_body(
    mut body: StreamingBlob,
    writer: &mut FileWriter,
    expected: &ExpectedChecksums,
) -> S3Result<Written> {
    let mut md5 = Md5::new();
    let mut hasher = expected.hasher()?;
    let mut length = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(body_error)?;
        md5.update(&chunk);
        hasher.update(&chunk);
        writer.write(&chunk).await.map_err(s3_error)?;
        length += chunk.len() as u64;
    }
    Ok(Written {
        length,
        md5: md5.finalize(),
        checksums: hasher.finalize(),
    })
}

/// Checks the computed checksums against those sent in headers or `trailers`.
pub fn verify_checksums(
    computed: &Checksums,
    sent: &Checksums,
    trailers: Option<&hyper::HeaderMap>,
) -> S3Result<()> {
    let pairs = [
        ("crc32", &computed.checksum_crc32, &sent.checksum_crc32),
        ("crc32c", &computed.checksum_crc32c, &sent.checksum_crc32c),
        ("sha1", &computed.checksum_sha1, &sent.checksum_sha1),
        ("sha256", &computed.checksum_sha256, &sent.checksum_sha256),
        (
            "crc64nvme",
            &computed.checksum_crc64nvme,
            &sent.checksum_crc64nvme,
        ),
    ];
    for (name, computed, sent) in pairs {
        let Some(computed) = computed else { continue };
        let trailer = trailers
            .and_then(|t| t.get(format!("x-amz-checksum-{name}")))
            .and_then(|v| v.to_str().ok());
        let Some(expected) = sent.as_deref().or(trailer) else {
            continue;
        };
        if expected != computed {
            return Err(s3_error!(
                BadDigest,
                "the {name} checksum sent, {expected}, is not that of the bytes received, {computed}"
            ));
        }
    }
    Ok(())
}

/// Checks a `Content-MD5` header (base64) against the MD5 of the bytes received.
pub fn verify_content_md5(content_md5: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    let Some(sent) = content_md5 else {
        return Ok(());
    };
    if base64::engine::general_purpose::STANDARD.encode(md5) != sent.trim() {
        return Err(s3_error!(
            BadDigest,
            "the Content-MD5 sent does not match the bytes received"
        ));
    }
    Ok(())
}

/// Lowercase hex, as ETags are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
