//! Errors as WebHDFS answers them: an HTTP status and a `RemoteException` naming the Java
//! exception a Hadoop client rethrows (`FileNotFoundException`, `FileAlreadyExistsException`,
//! ...), with the statuses Hadoop's own server uses for each.

use serde::Serialize;
use strata_core::Error;

/// `{"RemoteException": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteExceptionBody {
    /// The exception.
    #[serde(rename = "RemoteException")]
    pub remote_exception: RemoteException,
}

/// An exception as Hadoop's client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteException {
    /// The class's simple name, e.g. `FileNotFoundException`.
    pub exception: String,
    /// The class's full name, e.g. `java.io.FileNotFoundException`.
    pub java_class_name: String,
    /// What went wrong, naming the path.
    pub message: String,
}

/// The HTTP status and body for `error`.
pub fn remote_exception(error: &Error) -> (u16, RemoteExceptionBody) {
    let (status, class) = match error {
        Error::NotFound { .. } | Error::IsADirectory { .. } => {
            (404, "java.io.FileNotFoundException")
        }
        Error::AlreadyExists { .. } => (403, "org.apache.hadoop.fs.FileAlreadyExistsException"),
        Error::DirectoryNotEmpty { .. } => {
            (403, "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException")
        }
        Error::NotADirectory { .. } => (403, "org.apache.hadoop.fs.ParentNotDirectoryException"),
        Error::InvalidPath { .. } | Error::InvalidArgument(_) => {
            (400, "java.lang.IllegalArgumentException")
        }
        Error::LeaseConflict { .. } => (
            403,
            "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
        ),
        Error::RecoveryInProgress { .. } => (
            403,
            "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException",
        ),
        Error::SafeMode { .. } => (
            403,
            "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
        ),
        Error::PastEndOfFile { .. } => (403, "java.io.EOFException"),
        Error::InvalidOperation { .. }
        | Error::NoLease { .. }
        | Error::NotEnoughWorkers { .. }
        | Error::NoSpace { .. }
        | Error::ChecksumMismatch { .. }
        | Error::BlockUnavailable { .. } => (403, "java.io.IOException"),
        _ => (500, "java.io.IOException"),
    };
    let exception = class.rsplit('.').next().unwrap_or(class).to_string();
    let body = RemoteExceptionBody {
        remote_exception: RemoteException {
            exception,
            java_class_name: class.to_string(),
            message: message(error),
        },
    };
    (status, body)
}

/// The message HDFS gives for `error`, where clients read it (HdfsCLI looks for "does not
/// exist"); Strata's own text otherwise.
fn message(error: &Error) -> String {
    match error {
        Error::NotFound { path } => format!("File does not exist: {path}"),
        Error::IsADirectory { path } => format!("Path is not a file: {path}"),
        Error::DirectoryNotEmpty { path } => {
            format!("`{path} is non empty': Directory is not empty")
        }
        Error::NotADirectory { path } => format!("{path} (is not a directory)"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_gets_the_status_and_class_hadoop_uses() {
        let missing = Error::NotFound {
            path: "/foo".to_string(),
        };
        let (status, body) = remote_exception(&missing);
        assert_eq!(status, 404);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"RemoteException": {
                "exception": "FileNotFoundException",
                "javaClassName": "java.io.FileNotFoundException",
                "message": "File does not exist: /foo"
            }})
        );
        let cases = [
            (
                Error::AlreadyExists { path: "/a".into() },
                403,
                "FileAlreadyExistsException",
            ),
            (
                Error::DirectoryNotEmpty { path: "/d".into() },
                403,
                "PathIsNotEmptyDirectoryException",
            ),
            (
                Error::InvalidArgument("bad".into()),
                400,
                "IllegalArgumentException",
            ),
            (
                Error::SafeMode {
                    reason: "starting".into(),
                },
                403,
                "SafeModeException",
            ),
            (Error::Internal("bug".into()), 500, "IOException"),
        ];
        for (error, status, exception) in cases {
            let (got, body) = remote_exception(&error);
            assert_eq!(
                (got, body.remote_exception.exception.as_str()),
                (status, exception)
            );
            assert!(!body.remote_exception.message.is_empty());
        }
    }
}
