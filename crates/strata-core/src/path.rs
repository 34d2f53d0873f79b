//! Validated absolute paths in the Strata namespace.
//!
//! A [`StrataPath`] is always absolute and normalised: it starts with `/`, has no empty, `.` or
//! `..` components, no NUL byte, no component over [`MAX_NAME_BYTES`] bytes and is at most
//! [`MAX_PATH_BYTES`] long. Once built, code can rely on it without checking again.

use crate::error::{Error, Result};
use std::fmt;

/// The longest allowed name of one path component, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// The longest allowed path, in bytes.
pub const MAX_PATH_BYTES: usize = 8000;
/// The deepest allowed path, in components.
pub const MAX_DEPTH: usize = 1000;

/// An absolute, normalised, validated path such as `/data/logs/a.txt`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrataPath(String);

impl StrataPath {
    /// The root directory `/`.
    pub fn root() -> StrataPath {
        StrataPath("/".to_string())
    }

    /// Validates `text` as an absolute path. One trailing `/` is accepted and dropped.
    pub fn parse(text: &str) -> Result<StrataPath> {
        let invalid = |reason: &str| Error::InvalidPath {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if !text.starts_with('/') {
            return Err(invalid("the path must be absolute (start with /)"));
        }
        if text.len() > MAX_PATH_BYTES {
            return Err(invalid(&format!(
                "the path is longer than {MAX_PATH_BYTES} bytes"
            )));
        }
        if text.contains('\0') {
            return Err(invalid("the path contains a NUL byte"));
        }
        if text == "/" {
            return Ok(StrataPath::root());
        }
        let body = text.strip_prefix('/').unwrap_or(text);
        let body = body.strip_suffix('/').unwrap_or(body);
        let mut depth = 0;
        for name in body.split('/') {
            validate_name(name).map_err(|reason| invalid(&reason))?;
            depth += 1;
        }
        if depth > MAX_DEPTH {
            return Err(invalid(&format!(
                "the path is deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(StrataPath(format!("/{body}")))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The components from the root down; empty for `/`.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The last component; empty for `/`.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The parent directory; `None` for `/`.
    pub fn parent(&self) -> Option<StrataPath> {
        if self.is_root() {
            return None;
        }
        match self.0.rfind('/') {
            Some(0) | None => Some(StrataPath::root()),
            Some(i) => Some(StrataPath(self.0[..i].to_string())),
        }
    }

    /// This path with one more component `name`, which must itself be a valid name.
    pub fn join(&self, name: &str) -> Result<StrataPath> {
        validate_name(name).map_err(|reason| Error::InvalidPath {
            path: format!("{}/{}", self.0.trim_end_matches('/'), name),
            reason,
        })?;
        let joined = if self.is_root() {
            format!("/{name}")
        } else {
            format!("{}/{name}", self.0)
        };
        if joined.len() > MAX_PATH_BYTES {
            return Err(Error::InvalidPath {
                path: joined,
                reason: format!("the path is longer than {MAX_PATH_BYTES} bytes"),
            });
        }
        Ok(StrataPath(joined))
    }

    /// Whether `self` is `other` or lies beneath it.
    pub fn is_within(&self, other: &StrataPath) -> bool {
        if other.is_root() {
            return true;
        }
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// The number of components (0 for `/`).
    pub fn depth(&self) -> usize {
        self.components().count()
    }
}

/// Checks one path component, returning why it is not allowed.
pub fn validate_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("the path has an empty component (//)".to_string());
    }
    if name == "." || name == ".." {
        return Err(format!("the path has a '{name}' component"));
    }
    if name.contains('/') {
        return Err(format!("the name {name:?} contains '/'"));
    }
    if name.contains('\0') {
        return Err("the path contains a NUL byte".to_string());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the component {}... is longer than {MAX_NAME_BYTES} bytes",
            name.chars().take(16).collect::<String>()
        ));
    }
    Ok(())
}

impl fmt::Display for StrataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for StrataPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        StrataPath::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_normal_paths() {
        assert_eq!(StrataPath::parse("/").unwrap().as_str(), "/");
        assert_eq!(StrataPath::parse("/a/b/").unwrap().as_str(), "/a/b");
        assert_eq!(StrataPath::parse("/a b/ü.txt").unwrap().name(), "ü.txt");
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in ["", "a/b", "/a//b", "/a/../b", "/./a", "/a\0b", "//"] {
            assert!(
                matches!(StrataPath::parse(bad), Err(Error::InvalidPath { .. })),
                "{bad:?} should be rejected"
            );
        }
        let long = format!("/{}", "x".repeat(256));
        assert!(StrataPath::parse(&long).is_err());
        let ok = format!("/{}", "x".repeat(255));
        assert!(StrataPath::parse(&ok).is_ok());
    }

    #[test]
    fn parent_and_within() {
        let p = StrataPath::parse("/a/b/c").unwrap();
        assert_eq!(p.parent().unwrap().as_str(), "/a/b");
        assert_eq!(
            StrataPath::parse("/a").unwrap().parent().unwrap().as_str(),
            "/"
        );
        assert!(StrataPath::root().parent().is_none());
        let ab = StrataPath::parse("/a/b").unwrap();
        assert!(p.is_within(&ab));
        assert!(!StrataPath::parse("/a/bc").unwrap().is_within(&ab));
        assert!(ab.is_within(&StrataPath::root()));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_is_idempotent(text in "\\PC{0,40}") {
            if let Ok(p) = StrataPath::parse(&text) {
                let again = StrataPath::parse(p.as_str()).unwrap();
                prop_assert_eq!(&again, &p);
                prop_assert!(p.components().all(|c| !c.is_empty() && c != "." && c != ".."));
            }
        }

        #[test]
        fn join_then_parent_round_trips(names in proptest::collection::vec("[a-z0-9._-]{1,12}", 1..6)) {
            let mut p = StrataPath::root();
            for n in &names {
                match p.join(n) {
                    Ok(child) => {
                        prop_assert_eq!(child.parent().unwrap(), p.clone());
                        prop_assert_eq!(child.name(), n.as_str());
                        p = child;
                    }
                    Err(_) => prop_assert!(n == "." || n == ".."),
                }
            }
        }
    }
}
