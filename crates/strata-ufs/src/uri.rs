//! Addresses of under storage: `file:///absolute/dir` and `s3://bucket[/prefix]`, and the
//! options (`--option key=value`) each kind accepts.

use std::fmt;
use std::path::PathBuf;

/// Options an S3 mount accepts (passed to OpenDAL's S3 service as they are).
pub const S3_OPTIONS: &[&str] = &[
    "endpoint",
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "enable_virtual_host_style",
    "disable_config_load",
    "disable_ec2_metadata",
    "allow_anonymous",
];

/// Where an under storage is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UfsUri {
    /// A directory of the local file system (on every worker: a shared or local disk).
    Local {
        /// The absolute directory.
        root: PathBuf,
    },
    /// A bucket of an S3-compatible store, optionally below a key prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/` (empty for the whole bucket).
        prefix: String,
    },
}

impl UfsUri {
    /// Parses `file:///abs/dir` or `s3://bucket[/prefix]`.
    pub fn parse(text: &str) -> Result<UfsUri, String> {
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "{text}: a file URI needs an absolute path (file:///dir)"
                ));
            }
            let root = PathBuf::from(path.trim_end_matches('/'));
            if root
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                return Err(format!("{text}: `..` is not allowed"));
            }
            return Ok(UfsUri::Local {
                root: if root.as_os_str().is_empty() {
                    PathBuf::from("/")
                } else {
                    root
                },
            });
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !valid_bucket {
                return Err(format!(
                    "{text}: {bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '-', '.')"
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|p| p == ".." || p == ".") || prefix.contains("//") {
                return Err(format!("{text}: the prefix has an empty, `.` or `..` part"));
            }
            return Ok(UfsUri::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        Err(format!(
            "{text}: under storage must be file:///abs/dir or s3://bucket[/prefix]"
        ))
    }

    /// The options this kind of storage accepts.
    pub fn accepted_options(&self) -> &'static [&'static str] {
        match self {
            UfsUri::Local { .. } => &[],
            UfsUri::S3 { .. } => S3_OPTIONS,
        }
    }
}

impl fmt::Display for UfsUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UfsUri::Local { root } => write!(f, "file://{}", root.display()),
            UfsUri::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            UfsUri::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_and_print() {
        let local = UfsUri::parse("file:///data/lake/").unwrap();
        assert_eq!(
            local,
            UfsUri::Local {
                root: PathBuf::from("/data/lake")
            }
        );
        assert_eq!(local.to_string(), "file:///data/lake");
        let s3 = UfsUri::parse("s3://my-bucket/raw/2026/").unwrap();
        assert_eq!(s3.to_string(), "s3://my-bucket/raw/2026");
        assert_eq!(
            UfsUri::parse("s3://my-bucket").unwrap().to_string(),
            "s3://my-bucket"
        );
        for bad in [
            "file://relative",
            "file:///a/../b",
            "s3://A_B/x",
            "s3://ab",
            "s3://bucket/a/../b",
            "s3://bucket/a//b",
            "hdfs://nn/x",
            "",
        ] {
            assert!(UfsUri::parse(bad).is_err(), "{bad}");
        }
    }
}
