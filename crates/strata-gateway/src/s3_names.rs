//! Where S3 names live in the namespace. Bucket `b` is the top-level directory `/b`; key `k`
//! is the file `/b/k`, each `/` in the key a directory level, so the S3 face, the CLI and
//! Hadoop see one tree. A key that cannot be a path (an empty level as in `a//b`, a `.` or
//! `..` level, a leading `/`, a level over 255 bytes, a NUL) is refused with a clear error,
//! never stored under a name that would read back as another; a key ending in `/` names a
//! directory (the "folder" objects that S3 consoles and Hadoop's S3A create).

use strata_core::StrataPath;

/// The longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Why an S3 name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not a bucket name S3 allows.
    #[error("invalid bucket name {name:?}: {reason}")]
    Bucket {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key that cannot map onto a path.
    #[error("key {key:?} cannot be stored: {reason}")]
    Key {
        /// The key given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What a key names in the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectName {
    /// A file: the object's bytes.
    File(StrataPath),
    /// A directory: a key ending in `/`.
    Directory(StrataPath),
}

impl ObjectName {
    /// The path, file or directory.
    pub fn path(&self) -> &StrataPath {
        match self {
            ObjectName::File(p) | ObjectName::Directory(p) => p,
        }
    }
}

/// The directory of bucket `name`, which must follow S3's rules: 3 to 63 lowercase letters,
/// digits, `.` and `-`, beginning and ending with a letter or digit, no `..`, not an IPv4
/// address.
pub fn bucket_path(name: &str) -> Result<StrataPath, NameError> {
    let refuse = |reason| {
        Err(NameError::Bucket {
            name: name.to_string(),
            reason,
        })
    };
    if !(3..=63).contains(&name.len()) {
        return refuse("it must be 3 to 63 characters long");
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    if !name.chars().all(allowed) {
        return refuse("only lowercase letters, digits, '.' and '-' are allowed");
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(name.chars().next()) || !alphanumeric(name.chars().last()) {
        return refuse("it must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return refuse("it must not contain '..'");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return refuse("it must not be an IP address");
    }
    StrataPath::parse(&format!("/{name}")).or_else(|_| refuse("it is not a valid directory name"))
}

/// What `key` of bucket `bucket` names.
pub fn object_name(bucket: &str, key: &str) -> Result<ObjectName, NameError> {
    let bucket = bucket_path(bucket)?;
    let refuse = |reason: &str| {
        Err(NameError::Key {
            key: key.to_string(),
            reason: reason.to_string(),
        })
    };
    if key.is_empty() {
        return refuse("it is empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return refuse(&format!("it is longer than {MAX_KEY_BYTES} bytes"));
    }
    if key.starts_with('/') {
        return refuse("it begins with '/', an empty directory level");
    }
    let (levels, directory) = match key.strip_suffix('/') {
        Some(levels) => (levels, true),
        None => (key, false),
    };
    if levels.is_empty() {
        return refuse("it is only '/'");
    }
    for level in levels.split('/') {
        match level {
            "" => return refuse("it has an empty directory level ('//')"),
            "." | ".." => return refuse("it has a '.' or '..' level"),
            _ => {}
        }
    }
    let path = match StrataPath::parse(&format!("{bucket}/{levels}")) {
        Ok(path) => path,
        Err(strata_core::Error::InvalidPath { reason, .. }) => return refuse(&reason),
        Err(e) => return refuse(&e.to_string()),
    };
    Ok(if directory {
        ObjectName::Directory(path)
    } else {
        ObjectName::File(path)
    })
}

/// The key of `path` in bucket directory `bucket` (`/b/x/y` in `/b` is `x/y`); `None` when
/// the path is not beneath the bucket.
pub fn key_of(bucket: &StrataPath, path: &StrataPath) -> Option<String> {
    path.as_str()
        .strip_prefix(bucket.as_str())?
        .strip_prefix('/')
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_follow_s3_rules() {
        assert_eq!(
            bucket_path("logs-2026.eu").unwrap().as_str(),
            "/logs-2026.eu"
        );
        for bad in [
            "ab",
            "Logs",
            "-logs",
            "logs-",
            "lo..gs",
            "192.168.1.1",
            "lo_gs",
            "a/b",
        ] {
            assert!(
                matches!(bucket_path(bad), Err(NameError::Bucket { .. })),
                "{bad}"
            );
        }
        assert!(bucket_path(&"a".repeat(64)).is_err());
    }

    #[test]
    fn keys_map_to_files_and_directories_or_are_refused() {
        assert_eq!(
            object_name("lake", "raw/2026/part-0.csv").unwrap(),
            ObjectName::File(StrataPath::parse("/lake/raw/2026/part-0.csv").unwrap())
        );
        assert_eq!(
            object_name("lake", "raw/").unwrap(),
            ObjectName::Directory(StrataPath::parse("/lake/raw").unwrap())
        );
        assert_eq!(
            object_name("lake", "with space & ü.txt")
                .unwrap()
                .path()
                .as_str(),
            "/lake/with space & ü.txt"
        );
        for bad in [
            "", "/", "/a", "a//b", "a/./b", "a/../b", "..", "a/b//", "nul\0",
        ] {
            let refused = object_name("lake", bad);
            assert!(
                matches!(refused, Err(NameError::Key { .. })),
                "{bad:?}: {refused:?}"
            );
        }
        assert!(
            object_name("lake", &"k".repeat(256)).is_err(),
            "a level over 255 bytes"
        );
        assert!(
            object_name("lake", &"k/".repeat(513)).is_err(),
            "over 1024 bytes"
        );
        assert!(matches!(
            object_name("Lake", "a"),
            Err(NameError::Bucket { .. })
        ));
    }

    proptest! {
        #[test]
        fn a_stored_key_lists_back_as_itself(
            levels in prop::collection::vec("[a-zA-Z0-9 ._=-]{1,20}", 1..6),
        ) {
            prop_assume!(levels.iter().all(|l| l != "." && l != ".."));
            let key = levels.join("/");
            let name = object_name("lake", &key).unwrap();
            let bucket = bucket_path("lake").unwrap();
            prop_assert_eq!(key_of(&bucket, name.path()), Some(key));
        }
    }
}
