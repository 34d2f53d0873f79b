//! Changes to one row, as HBase's `Put`, `Delete`, `Increment`, `Append` and
//! `CheckAndMutate` express them. Every change to one row is applied atomically across its
//! families, with one sequence id.

use crate::cell::CellKind;
use crate::filter::CompareOp;
use bytes::Bytes;

/// How durable a change must be before it is acknowledged (HBase's `Durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The table's default: `SyncWal`.
    #[default]
    UseDefault,
    /// Not logged: lost if the region server dies before a flush.
    SkipWal,
    /// Logged, acknowledged before the log is flushed.
    AsyncWal,
    /// Logged and hflushed to every replica of the log before the answer.
    SyncWal,
    /// Logged and hsynced (on disk on every replica) before the answer.
    FsyncWal,
}

impl Durability {
    /// The durability meant: `UseDefault` is `SyncWal`.
    pub fn effective(self) -> Durability {
        match self {
            Durability::UseDefault => Durability::SyncWal,
            other => other,
        }
    }
}

/// One cell change within a row mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The column family.
    pub family: Bytes,
    /// The qualifier (empty for family markers).
    pub qualifier: Bytes,
    /// The timestamp; `None` is the server's clock when applied (HBase's
    /// `LATEST_TIMESTAMP`). A version delete without one deletes the newest version.
    pub timestamp: Option<i64>,
    /// A value, or a delete marker.
    pub kind: CellKind,
    /// The value (empty for markers).
    pub value: Bytes,
}

/// Changes to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// The row.
    pub row: Bytes,
    /// The changes, applied together.
    pub edits: Vec<Edit>,
    /// How durable before the answer.
    pub durability: Durability,
    /// The nonce of the increment or append it writes, logged with it.
    pub(crate) nonce: Option<Nonce>,
}

impl Mutation {
    /// An empty mutation of `row`.
    pub fn new(row: impl Into<Bytes>) -> Mutation {
        Mutation {
            row: row.into(),
            edits: Vec::new(),
            durability: Durability::UseDefault,
            nonce: None,
        }
    }

    fn edit(
        mut self,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: Option<i64>,
        kind: CellKind,
        value: Bytes,
    ) -> Mutation {
        self.edits.push(Edit {
            family: family.into(),
            qualifier: qualifier.into(),
            timestamp,
            kind,
            value,
        });
        self
    }

    /// Puts `value` in `family:qualifier`, at the server's time or at `timestamp`.
    pub fn put(
        self,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: Option<i64>,
        value: impl Into<Bytes>,
    ) -> Mutation {
        self.edit(family, qualifier, timestamp, CellKind::Put, value.into())
    }

    /// Deletes one version of `family:qualifier`: the one at `timestamp`, else the newest.
    pub fn delete_version(
        self,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: Option<i64>,
    ) -> Mutation {
        self.edit(family, qualifier, timestamp, CellKind::Delete, Bytes::new())
    }

    /// Deletes every version of `family:qualifier` up to `timestamp` (default: now).
    pub fn delete_column(
        self,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: Option<i64>,
    ) -> Mutation {
        self.edit(
            family,
            qualifier,
            timestamp,
            CellKind::DeleteColumn,
            Bytes::new(),
        )
    }

    /// Deletes every column of `family` up to `timestamp` (default: now).
    pub fn delete_family(self, family: impl Into<Bytes>, timestamp: Option<i64>) -> Mutation {
        self.edit(
            family,
            Bytes::new(),
            timestamp,
            CellKind::DeleteFamily,
            Bytes::new(),
        )
    }

    /// Deletes the whole row: every column of every family up to `timestamp` (default: now).
    /// It is carried as a family marker with an empty family, which the region turns into
    /// one marker per family.
    pub fn delete_row(self, timestamp: Option<i64>) -> Mutation {
        self.edit(
            Bytes::new(),
            Bytes::new(),
            timestamp,
            CellKind::DeleteFamily,
            Bytes::new(),
        )
    }

    /// Deletes the versions with exactly `timestamp` of every column of `family`.
    pub fn delete_family_version(self, family: impl Into<Bytes>, timestamp: i64) -> Mutation {
        self.edit(
            family,
            Bytes::new(),
            Some(timestamp),
            CellKind::DeleteFamilyVersion,
            Bytes::new(),
        )
    }

    /// With this durability.
    pub fn with_durability(mut self, durability: Durability) -> Mutation {
        self.durability = durability;
        self
    }
}

/// Adds to 8-byte big-endian counters (HBase's `Increment`), or appends bytes to values
/// (`Append`), reading and writing under the row's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadModifyWrite {
    /// The row.
    pub row: Bytes,
    /// `(family, qualifier, change)` per column.
    pub columns: Vec<(Bytes, Bytes, Change)>,
    /// How durable before the answer.
    pub durability: Durability,
    /// The operation's nonce: the client gives each operation one (kept across its
    /// retries), so a retry of one already applied is answered, not applied twice.
    pub nonce: Option<Nonce>,
}

/// An operation's nonce, unique per client and operation (HBase's nonce group and nonce).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce {
    /// The client's (HBase's nonce group).
    pub group: u64,
    /// The operation's.
    pub value: u64,
}

impl Nonce {
    /// A fresh random nonce.
    pub fn random() -> Nonce {
        Nonce {
            group: rand::random(),
            value: rand::random(),
        }
    }

    /// The nonce in its wire form (`None` for 0 and 0).
    pub fn from_parts(group: u64, value: u64) -> Option<Nonce> {
        (group != 0 || value != 0).then_some(Nonce { group, value })
    }
}

/// What a read-modify-write does to one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Adds to the counter (a missing column counts as 0).
    Increment(i64),
    /// Appends to the value (a missing column counts as empty).
    Append(Bytes),
}

/// A mutation applied only if a column's newest value passes a test (HBase's
/// `checkAndMutate`).
#[derive(Debug, Clone)]
pub struct CheckAndMutate {
    /// The column's family.
    pub family: Bytes,
    /// The column's qualifier.
    pub qualifier: Bytes,
    /// The test, read as HBase reads it: `value op current` (`Greater` with 5 passes when
    /// 5 is greater than the current value).
    pub op: CompareOp,
    /// The value to compare with; `None`: the test is that the column does not exist (or
    /// holds an empty value).
    pub value: Option<Bytes>,
    /// What happens when the test passes (its row is the tested row).
    pub mutation: Mutation,
}

impl CheckAndMutate {
    /// Whether the column's newest value (`None`: the column does not exist) passes, as
    /// `HRegion.checkAndMutate` decides.
    pub fn passes(&self, current: Option<&[u8]>) -> bool {
        match (&self.value, current) {
            (None, None) => true,
            (None, Some(v)) => v.is_empty() && self.op != CompareOp::NotEqual,
            (Some(_), None) => false,
            (Some(expected), Some(v)) => self.op.passes(expected[..].cmp(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(op: CompareOp, value: Option<&'static [u8]>) -> CheckAndMutate {
        CheckAndMutate {
            family: Bytes::from_static(b"f"),
            qualifier: Bytes::from_static(b"q"),
            op,
            value: value.map(Bytes::from_static),
            mutation: Mutation::new(&b"r"[..]),
        }
    }

    #[test]
    fn checks_read_value_op_current_as_hbase_does() {
        assert!(check(CompareOp::Greater, Some(b"5")).passes(Some(b"3")));
        assert!(!check(CompareOp::Greater, Some(b"5")).passes(Some(b"7")));
        assert!(check(CompareOp::Equal, Some(b"x")).passes(Some(b"x")));
        assert!(!check(CompareOp::Equal, Some(b"x")).passes(None));
        assert!(check(CompareOp::Equal, None).passes(None));
        assert!(check(CompareOp::Equal, None).passes(Some(b"")));
        assert!(!check(CompareOp::NotEqual, None).passes(Some(b"")));
        assert!(!check(CompareOp::Equal, None).passes(Some(b"v")));
        assert_eq!(Durability::UseDefault.effective(), Durability::SyncWal);
        let m = Mutation::new(&b"r"[..])
            .put(&b"f"[..], &b"q"[..], None, &b"v"[..])
            .delete_family(&b"g"[..], Some(3));
        assert_eq!(m.edits[1].kind, CellKind::DeleteFamily);
        assert!(m.edits[1].qualifier.is_empty());
    }
}
