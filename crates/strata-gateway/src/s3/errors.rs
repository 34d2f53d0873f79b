//! Strata's errors as S3 error responses: each gets the S3 code a client expects
//! (`AccessDenied`, `ServiceUnavailable`, ...) and a message naming the path involved.

use crate::s3_names::NameError;
use s3s::{S3Error, S3ErrorCode, s3_error};
use strata_core::Error;

/// The S3 error code for a key that cannot be stored because an object stands where the key
/// needs a directory (`a/b/c` under the object `a/b`), or a directory where it needs a file.
pub const KEY_CONFLICT: &str = "KeyConflictsWithPath";

/// The S3 error for a Strata error where no more particular one applies.
pub fn s3_error(error: Error) -> S3Error {
    let message = error.to_string();
    let code = match &error {
        Error::NotFound { .. } => S3ErrorCode::NoSuchKey,
        Error::InvalidPath { .. } | Error::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
        Error::NotADirectory { .. } | Error::IsADirectory { .. } => return key_conflict(message),
        Error::AlreadyExists { .. } | Error::LeaseConflict { .. } => S3ErrorCode::OperationAborted,
        Error::InvalidOperation { .. } | Error::DirectoryNotEmpty { .. } => {
            S3ErrorCode::InvalidRequest
        }
        Error::SafeMode { .. }
        | Error::NotEnoughWorkers { .. }
        | Error::Unavailable { .. }
        | Error::RecoveryInProgress { .. }
        | Error::Timeout(_) => S3ErrorCode::ServiceUnavailable,
        Error::NoSpace { .. } => S3ErrorCode::ServiceUnavailable,
        _ => S3ErrorCode::InternalError,
    };
    S3Error::with_message(code, message)
}

/// A key that cannot be stored where it would go (see [`KEY_CONFLICT`]); HTTP 409.
pub fn key_conflict(message: impl Into<String>) -> S3Error {
    let mut error = S3Error::with_message(S3ErrorCode::Custom(KEY_CONFLICT.into()), message.into());
    error.set_status_code(hyper::StatusCode::CONFLICT);
    error
}

/// A bucket name or key that S3 or the namespace does not allow.
pub fn name_error(error: NameError) -> S3Error {
    match error {
        NameError::Bucket { .. } => s3_error!(InvalidBucketName, "{error}"),
        NameError::Key { .. } => s3_error!(InvalidArgument, "{error}"),
    }
}

/// Wraps a failure reading a request body.
pub fn body_error(error: impl std::fmt::Display) -> S3Error {
    s3_error!(IncompleteBody, "reading the request body: {error}")
}
