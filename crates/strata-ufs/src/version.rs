//! Telling versions of an object apart: what Strata recorded when it listed or wrote an
//! object against what the storage holds now.

/// One version of an object as a listing or a stat shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectVersion<'a> {
    /// Its length.
    pub length: u64,
    /// Its ETag, quoted or not; empty when the storage keeps none.
    pub etag: &'a str,
    /// Its modification time in ms since the epoch; 0 when unknown.
    pub modified_ms: i64,
}

impl ObjectVersion<'_> {
    /// Whether both are the same version: same length, and the same ETag when both have one
    /// (content decides), else the same modification time, to the millisecond when both
    /// carry milliseconds, else to the second (listings and stats of one object may differ in
    /// precision).
    pub fn matches(&self, other: &ObjectVersion<'_>) -> bool {
        if self.length != other.length {
            return false;
        }
        let (a, b) = (self.etag.trim_matches('"'), other.etag.trim_matches('"'));
        if !a.is_empty() && !b.is_empty() {
            return a == b;
        }
        let (a, b) = (self.modified_ms, other.modified_ms);
        if a == 0 || b == 0 {
            return true;
        }
        if a % 1000 != 0 && b % 1000 != 0 {
            return a == b;
        }
        a.div_euclid(1000) == b.div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::ObjectVersion;

    fn v(length: u64, etag: &str, modified_ms: i64) -> ObjectVersion<'_> {
        ObjectVersion {
            length,
            etag,
            modified_ms,
        }
    }

    #[test]
    fn etags_decide_then_seconds() {
        assert!(v(5, "\"abc\"", 1_500).matches(&v(5, "abc", 9_000)));
        assert!(!v(5, "abc", 1_500).matches(&v(5, "abd", 1_500)));
        assert!(!v(5, "abc", 1_500).matches(&v(6, "abc", 1_500)));
        assert!(v(5, "", 1_500).matches(&v(5, "", 1_000)));
        assert!(!v(5, "", 1_500).matches(&v(5, "", 1_999)));
        assert!(!v(5, "", 1_500).matches(&v(5, "", 2_000)));
        assert!(v(5, "", 0).matches(&v(5, "", 2_000)));
    }
}
