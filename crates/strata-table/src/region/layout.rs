//! Where a region keeps its files in Strata:
//!
//! ```text
//! <root>/data/<namespace>/<table>/<region>/<family>/<max sequence>-<n>.sst   SSTables
//! <root>/data/<namespace>/<table>/<region>/wal/<first sequence>-<n>.log      write-ahead logs
//! <root>/data/<namespace>/<table>/<region>/.tmp/                             files being written
//! ```
//!
//! Family names are written with every byte outside `[A-Za-z0-9_.-]` as `%XX`.

use crate::schema::TableName;

/// The directory of `table`'s regions under the store's `root`.
pub fn table_dir(root: &str, table: &TableName) -> String {
    format!("{root}/data/{}/{}", table.namespace, table.qualifier)
}

/// The paths of one region's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionDir {
    dir: String,
}

impl RegionDir {
    /// The region named `region` of the table whose directory is `table_dir`.
    pub fn new(table_dir: &str, region: &str) -> RegionDir {
        RegionDir {
            dir: format!("{table_dir}/{region}"),
        }
    }

    /// The region's directory.
    pub fn path(&self) -> &str {
        &self.dir
    }

    /// The directory of `family`'s SSTables.
    pub fn family(&self, family: &[u8]) -> String {
        format!("{}/{}", self.dir, encode_name(family))
    }

    /// The directory of the region's write-ahead logs.
    pub fn wal_dir(&self) -> String {
        format!("{}/wal", self.dir)
    }

    /// A new log whose first entry will have `first_sequence`.
    pub fn wal(&self, first_sequence: u64) -> String {
        format!(
            "{}/{first_sequence:020}-{:08x}.log",
            self.wal_dir(),
            rand::random::<u32>()
        )
    }

    /// A new SSTable of `family` holding sequence ids up to `max_sequence`.
    pub fn sstable(&self, family: &[u8], max_sequence: u64) -> String {
        format!(
            "{}/{max_sequence:020}-{:08x}.sst",
            self.family(family),
            rand::random::<u32>()
        )
    }

    /// Where files are written before they are renamed into place.
    pub fn tmp_dir(&self) -> String {
        format!("{}/.tmp", self.dir)
    }

    /// A new file in the temporary directory.
    pub fn tmp_file(&self) -> String {
        format!("{}/{:016x}", self.tmp_dir(), rand::random::<u64>())
    }
}

/// A family name as a path component.
pub fn encode_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name {
        if b.is_ascii_alphanumeric() || b"_.-".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_path_safe_and_logs_sort_by_sequence() {
        assert_eq!(encode_name(b"cf"), "cf");
        assert_eq!(encode_name(b"a b/%\xff"), "a%20b%2F%25%FF");
        let t = TableName::parse("ns:users").unwrap();
        let dir = RegionDir::new(&table_dir("/strata-table", &t), "r1");
        assert_eq!(dir.family(b"cf"), "/strata-table/data/ns/users/r1/cf");
        assert!(dir.wal(9) < dir.wal(10));
        assert!(
            dir.sstable(b"cf", 5)
                .starts_with("/strata-table/data/ns/users/r1/cf/0000")
        );
    }
}
