//! Typed errors across gRPC: a [`strata_core::Error`] travels as a `tonic::Status` whose details
//! hold an [`ErrorDetail`], and comes back out as the same variant.

use crate::rpc::{ErrorCode, ErrorDetail};
use prost::Message;
use strata_core::Error;
use tonic::{Code, Status};

/// Converts an error into a gRPC status that keeps its type.
pub fn to_status(err: &Error) -> Status {
    let (d, grpc) = describe(err);
    Status::with_details(grpc, err.to_string(), d.encode_to_vec().into())
}

/// The typed code of an error, as it crosses the wire (the audit log records its name).
pub fn error_code(err: &Error) -> ErrorCode {
    ErrorCode::try_from(describe(err).0.code).unwrap_or(ErrorCode::Unspecified)
}

/// The details an error travels with, and the gRPC code closest to it.
fn describe(err: &Error) -> (ErrorDetail, Code) {
    let mut d = ErrorDetail::default();
    let (code, grpc) = match err {
        Error::InvalidPath { path, reason } => {
            d.path = path.clone();
            d.reason = reason.clone();
            (ErrorCode::InvalidPath, Code::InvalidArgument)
        }
        Error::NotFound { path } => {
            d.path = path.clone();
            (ErrorCode::NotFound, Code::NotFound)
        }
        Error::AlreadyExists { path } => {
            d.path = path.clone();
            (ErrorCode::AlreadyExists, Code::AlreadyExists)
        }
        Error::NotADirectory { path } => {
            d.path = path.clone();
            (ErrorCode::NotADirectory, Code::FailedPrecondition)
        }
        Error::IsADirectory { path } => {
            d.path = path.clone();
            (ErrorCode::IsADirectory, Code::FailedPrecondition)
        }
        Error::DirectoryNotEmpty { path } => {
            d.path = path.clone();
            (ErrorCode::DirectoryNotEmpty, Code::FailedPrecondition)
        }
        Error::InvalidOperation { path, reason } => {
            d.path = path.clone();
            d.reason = reason.clone();
            (ErrorCode::InvalidOperation, Code::FailedPrecondition)
        }
        Error::LeaseConflict { path, holder } => {
            d.path = path.clone();
            d.holder = holder.clone();
            (ErrorCode::LeaseConflict, Code::FailedPrecondition)
        }
        Error::NoLease { path, client } => {
            d.path = path.clone();
            d.holder = client.clone();
            (ErrorCode::NoLease, Code::FailedPrecondition)
        }
        Error::RecoveryInProgress { path } => {
            d.path = path.clone();
            (ErrorCode::RecoveryInProgress, Code::Unavailable)
        }
        Error::PastEndOfFile {
            path,
            offset,
            length,
        } => {
            d.path = path.clone();
            d.offset = *offset;
            d.length = *length;
            (ErrorCode::PastEndOfFile, Code::OutOfRange)
        }
        Error::SafeMode { reason } => {
            d.reason = reason.clone();
            (ErrorCode::SafeMode, Code::Unavailable)
        }
        Error::NotEnoughWorkers { reason } => {
            d.reason = reason.clone();
            (ErrorCode::NotEnoughWorkers, Code::ResourceExhausted)
        }
        Error::NoSpace { reason } => {
            d.reason = reason.clone();
            (ErrorCode::NoSpace, Code::ResourceExhausted)
        }
        Error::ChecksumMismatch { block, offset } => {
            d.block = block.clone();
            d.offset = *offset;
            (ErrorCode::ChecksumMismatch, Code::DataLoss)
        }
        Error::BlockUnavailable {
            path,
            block,
            reason,
        } => {
            d.path = path.clone();
            d.block = block.clone();
            d.reason = reason.clone();
            (ErrorCode::BlockUnavailable, Code::Unavailable)
        }
        Error::ReplicaNotFound { block, reason } => {
            d.block = block.clone();
            d.reason = reason.clone();
            (ErrorCode::ReplicaNotFound, Code::NotFound)
        }
        Error::InvalidArgument(reason) => {
            d.reason = reason.clone();
            (ErrorCode::InvalidArgument, Code::InvalidArgument)
        }
        Error::Io(reason) => {
            d.reason = reason.clone();
            (ErrorCode::Io, Code::Internal)
        }
        Error::UnderStorage { uri, reason } => {
            d.address = uri.clone();
            d.reason = reason.clone();
            (ErrorCode::UnderStorage, Code::Unavailable)
        }
        Error::Unavailable { address, reason } => {
            d.address = address.clone();
            d.reason = reason.clone();
            (ErrorCode::Unavailable, Code::Unavailable)
        }
        Error::Protocol(reason) => {
            d.reason = reason.clone();
            (ErrorCode::Protocol, Code::InvalidArgument)
        }
        Error::Timeout(reason) => {
            d.reason = reason.clone();
            (ErrorCode::Timeout, Code::DeadlineExceeded)
        }
        Error::Internal(reason) => {
            d.reason = reason.clone();
            (ErrorCode::Internal, Code::Internal)
        }
    };
    d.code = code as i32;
    (d, grpc)
}

/// Converts a gRPC status back into the error it carries; a status without Strata details
/// (a transport failure, a foreign server) is classified by its gRPC code.
pub fn from_status(status: &Status, address: &str) -> Error {
    if let Ok(d) = ErrorDetail::decode(status.details())
        && d.code != ErrorCode::Unspecified as i32
        && let Some(err) = from_detail(d)
    {
        return err;
    }
    let message = status.message().to_string();
    match status.code() {
        Code::Unavailable | Code::Cancelled | Code::Unknown => Error::Unavailable {
            address: address.to_string(),
            reason: if message.is_empty() {
                format!("{:?}", status.code())
            } else {
                message
            },
        },
        Code::DeadlineExceeded => Error::Timeout(format!("{address}: {message}")),
        Code::InvalidArgument => Error::InvalidArgument(message),
        Code::NotFound => Error::NotFound { path: message },
        _ => Error::Protocol(format!("{address}: {:?}: {message}", status.code())),
    }
}

fn from_detail(d: ErrorDetail) -> Option<Error> {
    let code = ErrorCode::try_from(d.code).ok()?;
    let ErrorDetail {
        path,
        reason,
        offset,
        length,
        holder,
        block,
        address,
        ..
    } = d;
    Some(match code {
        ErrorCode::Unspecified => return None,
        ErrorCode::InvalidPath => Error::InvalidPath { path, reason },
        ErrorCode::NotFound => Error::NotFound { path },
        ErrorCode::AlreadyExists => Error::AlreadyExists { path },
        ErrorCode::NotADirectory => Error::NotADirectory { path },
        ErrorCode::IsADirectory => Error::IsADirectory { path },
        ErrorCode::DirectoryNotEmpty => Error::DirectoryNotEmpty { path },
        ErrorCode::InvalidOperation => Error::InvalidOperation { path, reason },
        ErrorCode::LeaseConflict => Error::LeaseConflict { path, holder },
        ErrorCode::NoLease => Error::NoLease {
            path,
            client: holder,
        },
        ErrorCode::RecoveryInProgress => Error::RecoveryInProgress { path },
        ErrorCode::PastEndOfFile => Error::PastEndOfFile {
            path,
            offset,
            length,
        },
        ErrorCode::SafeMode => Error::SafeMode { reason },
        ErrorCode::NotEnoughWorkers => Error::NotEnoughWorkers { reason },
        ErrorCode::NoSpace => Error::NoSpace { reason },
        ErrorCode::ChecksumMismatch => Error::ChecksumMismatch { block, offset },
        ErrorCode::BlockUnavailable => Error::BlockUnavailable {
            path,
            block,
            reason,
        },
        ErrorCode::ReplicaNotFound => Error::ReplicaNotFound { block, reason },
        ErrorCode::InvalidArgument => Error::InvalidArgument(reason),
        ErrorCode::Io => Error::Io(reason),
        ErrorCode::Unavailable => Error::Unavailable { address, reason },
        ErrorCode::UnderStorage => Error::UnderStorage {
            uri: address,
            reason,
        },
        ErrorCode::Protocol => Error::Protocol(reason),
        ErrorCode::Timeout => Error::Timeout(reason),
        ErrorCode::Internal => Error::Internal(reason),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_type() {
        let samples = vec![
            Error::NotFound { path: "/a".into() },
            Error::PastEndOfFile {
                path: "/f".into(),
                offset: 10,
                length: 5,
            },
            Error::LeaseConflict {
                path: "/f".into(),
                holder: "c1".into(),
            },
            Error::SafeMode {
                reason: "starting".into(),
            },
            Error::InvalidPath {
                path: "a//b".into(),
                reason: "empty".into(),
            },
            Error::UnderStorage {
                uri: "s3://lake/raw".into(),
                reason: "access denied".into(),
            },
        ];
        for err in samples {
            assert_eq!(from_status(&to_status(&err), "x"), err);
        }
    }

    #[test]
    fn plain_status_is_classified() {
        let err = from_status(&Status::unavailable("connection refused"), "1.2.3.4:5");
        assert!(matches!(err, Error::Unavailable { .. }));
        assert!(err.is_retriable());
    }
}
