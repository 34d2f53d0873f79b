//! Table and column family descriptors, with HBase's names, defaults and naming rules.

use crate::error::{Error, Result};
use bytes::Bytes;
use std::fmt;
use std::time::Duration;

/// The longest row key HBase accepts (`Short.MAX_VALUE`).
pub const MAX_ROW_LENGTH: usize = 32_767;
/// The namespace of tables named without one.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The namespace of the store's own tables.
pub const SYSTEM_NAMESPACE: &str = "hbase";

/// A table's name: `namespace:qualifier`, `default` when no namespace is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    /// The namespace.
    pub namespace: String,
    /// The name within it.
    pub qualifier: String,
}

impl TableName {
    /// Parses `[namespace:]qualifier` by HBase's rules: a namespace of letters, digits and
    /// `_`; a qualifier of letters, digits, `_`, `-` and `.`, not starting with `.` or `-`.
    pub fn parse(name: &str) -> Result<TableName> {
        let (namespace, qualifier) = match name.split_once(':') {
            Some((ns, q)) => (ns, q),
            None => (DEFAULT_NAMESPACE, name),
        };
        let bad = |reason: &str| Error::InvalidRequest(format!("table name {name:?}: {reason}"));
        if namespace.is_empty()
            || !namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad("a namespace is letters, digits and '_'"));
        }
        if qualifier.is_empty() || qualifier.len() > 255 {
            return Err(bad("a table name is 1 to 255 characters"));
        }
        if qualifier.starts_with('.') || qualifier.starts_with('-') {
            return Err(bad("a table name cannot start with '.' or '-'"));
        }
        if !(qualifier.bytes()).all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
            return Err(bad("a table name is letters, digits, '_', '-' and '.'"));
        }
        Ok(TableName {
            namespace: namespace.to_string(),
            qualifier: qualifier.to_string(),
        })
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace == DEFAULT_NAMESPACE {
            write!(f, "{}", self.qualifier)
        } else {
            write!(f, "{}:{}", self.namespace, self.qualifier)
        }
    }
}

/// How a family's data blocks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as they are.
    #[default]
    None,
    /// LZ4 (fast).
    Lz4,
    /// Zstandard (smaller).
    Zstd,
}

impl Compression {
    /// The code stored in files.
    pub fn code(self) -> u32 {
        match self {
            Compression::None => 0,
            Compression::Lz4 => 1,
            Compression::Zstd => 2,
        }
    }

    /// The compression of a stored code.
    pub fn from_code(code: u32) -> Option<Compression> {
        Some(match code {
            0 => Compression::None,
            1 => Compression::Lz4,
            2 => Compression::Zstd,
            _ => return None,
        })
    }

    /// HBase's name (`NONE`, `LZ4`, `ZSTD`), case-insensitive; `GZ`, `SNAPPY` and others are
    /// refused by name.
    pub fn parse(name: &str) -> Result<Compression> {
        match name.to_ascii_uppercase().as_str() {
            "NONE" | "" => Ok(Compression::None),
            "LZ4" => Ok(Compression::Lz4),
            "ZSTD" => Ok(Compression::Zstd),
            other => Err(Error::InvalidRequest(format!(
                "compression {other} is not supported (NONE, LZ4, ZSTD)"
            ))),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "NONE",
            Compression::Lz4 => "LZ4",
            Compression::Zstd => "ZSTD",
        })
    }
}

/// What a family's bloom filters are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BloomType {
    /// No bloom filter.
    None,
    /// The row (HBase's default).
    #[default]
    Row,
    /// The row and the column qualifier.
    RowCol,
}

impl BloomType {
    /// The code stored in files.
    pub fn code(self) -> u32 {
        match self {
            BloomType::None => 0,
            BloomType::Row => 1,
            BloomType::RowCol => 2,
        }
    }

    /// The bloom type of a stored code.
    pub fn from_code(code: u32) -> Option<BloomType> {
        Some(match code {
            0 => BloomType::None,
            1 => BloomType::Row,
            2 => BloomType::RowCol,
            _ => return None,
        })
    }

    /// HBase's name: `NONE`, `ROW`, `ROWCOL` (case-insensitive).
    pub fn parse(name: &str) -> Result<BloomType> {
        match name.to_ascii_uppercase().as_str() {
            "NONE" => Ok(BloomType::None),
            "ROW" | "" => Ok(BloomType::Row),
            "ROWCOL" => Ok(BloomType::RowCol),
            other => Err(Error::InvalidRequest(format!(
                "bloom filter type {other} is not one of NONE, ROW, ROWCOL"
            ))),
        }
    }
}

impl fmt::Display for BloomType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BloomType::None => "NONE",
            BloomType::Row => "ROW",
            BloomType::RowCol => "ROWCOL",
        })
    }
}

/// One column family, with HBase's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyDescriptor {
    /// The family's name.
    pub name: Bytes,
    /// Versions kept per column (HBase: `VERSIONS`, default 1).
    pub max_versions: u32,
    /// Versions kept even past the TTL (`MIN_VERSIONS`, default 0).
    pub min_versions: u32,
    /// Cells older than this are expired; `None` is forever (`TTL`).
    pub ttl: Option<Duration>,
    /// Data block codec.
    pub compression: Compression,
    /// Bloom filter key.
    pub bloom: BloomType,
    /// Uncompressed bytes per data block (`BLOCKSIZE`, default 64 KiB).
    pub block_size: u32,
    /// Blocks of this family stay in the block cache before others (`IN_MEMORY`).
    pub in_memory: bool,
}

impl FamilyDescriptor {
    /// A family named `name` with HBase's defaults.
    pub fn new(name: impl Into<Bytes>) -> FamilyDescriptor {
        FamilyDescriptor {
            name: name.into(),
            max_versions: 1,
            min_versions: 0,
            ttl: None,
            compression: Compression::None,
            bloom: BloomType::Row,
            block_size: 64 << 10,
            in_memory: false,
        }
    }

    /// Checks HBase's rules for a family: a printable name without ':' that does not start
    /// with '.', at least one version, no more minimum versions than versions.
    pub fn validate(&self) -> Result<()> {
        let name = String::from_utf8_lossy(&self.name);
        let bad = |reason: &str| Error::InvalidRequest(format!("column family {name:?}: {reason}"));
        if self.name.is_empty() {
            return Err(bad("a family needs a name"));
        }
        if self.name.starts_with(b".") {
            return Err(bad("a family name cannot start with '.'"));
        }
        if self.name.iter().any(|b| *b == b':' || b.is_ascii_control()) {
            return Err(bad("a family name holds no ':' and no control characters"));
        }
        if self.max_versions == 0 {
            return Err(bad("VERSIONS must be at least 1"));
        }
        if self.min_versions > self.max_versions {
            return Err(bad("MIN_VERSIONS cannot exceed VERSIONS"));
        }
        if self.block_size < 1024 || self.block_size > (16 << 20) {
            return Err(bad("BLOCKSIZE must be between 1 KiB and 16 MiB"));
        }
        Ok(())
    }

    /// The family's name as text (lossy), for messages.
    pub fn name_text(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A table: its name and column families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDescriptor {
    /// The table's name.
    pub name: TableName,
    /// Its column families, in name order.
    pub families: Vec<FamilyDescriptor>,
}

impl TableDescriptor {
    /// Checks every family and that there is at least one and no two share a name; sorts
    /// them by name.
    pub fn validate(&mut self) -> Result<()> {
        if self.families.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "table {} needs at least one column family",
                self.name
            )));
        }
        for family in &self.families {
            family.validate()?;
        }
        self.families.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = self.families.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(Error::InvalidRequest(format!(
                "table {}: column family {} given twice",
                self.name,
                w[0].name_text()
            )));
        }
        Ok(())
    }

    /// The family named `name`.
    pub fn family(&self, name: &[u8]) -> Result<&FamilyDescriptor> {
        self.families
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Error::NoSuchFamily {
                table: self.name.to_string(),
                family: String::from_utf8_lossy(name).into_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_follow_hbase_rules() {
        let t = TableName::parse("users").unwrap();
        assert_eq!(
            (t.namespace.as_str(), t.qualifier.as_str()),
            ("default", "users")
        );
        assert_eq!(t.to_string(), "users");
        let t = TableName::parse("ops:metrics.v2").unwrap();
        assert_eq!(t.to_string(), "ops:metrics.v2");
        for bad in ["", ":t", "ns:", ".t", "-t", "a b", "ns-x:t", "t/x"] {
            assert!(TableName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn families_have_hbase_defaults_and_rules() {
        let f = FamilyDescriptor::new("cf");
        assert_eq!((f.max_versions, f.min_versions, f.ttl), (1, 0, None));
        assert_eq!(
            (f.bloom, f.compression, f.block_size),
            (BloomType::Row, Compression::None, 65536)
        );
        f.validate().unwrap();
        for bad in ["", ".x", "a:b"] {
            assert!(FamilyDescriptor::new(bad.to_string()).validate().is_err());
        }
        let mut table = TableDescriptor {
            name: TableName::parse("t").unwrap(),
            families: vec![FamilyDescriptor::new("b"), FamilyDescriptor::new("a")],
        };
        table.validate().unwrap();
        assert_eq!(table.families[0].name, "a");
        assert!(matches!(
            table.family(b"z"),
            Err(Error::NoSuchFamily { .. })
        ));
        table.families.push(FamilyDescriptor::new("a"));
        assert!(table.validate().is_err());
        assert_eq!(Compression::parse("zstd").unwrap(), Compression::Zstd);
        assert!(Compression::parse("SNAPPY").is_err());
        assert_eq!(BloomType::parse("ROWCOL").unwrap(), BloomType::RowCol);
    }
}
