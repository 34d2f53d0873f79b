//! Comparison operators and comparators of HBase's compare filters: `binary:`,
//! `binaryprefix:`, `substring:` (case-insensitive) and `regexstring:` (a regular expression
//! found anywhere in the value read as ISO-8859-1, `.` matching newlines, as HBase's Java
//! engine does by default).

use crate::error::{Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;

/// HBase's `CompareOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
}

impl CompareOp {
    /// The operator written as in the filter language.
    pub fn parse(text: &str) -> Option<CompareOp> {
        Some(match text {
            "<" => CompareOp::Less,
            "<=" => CompareOp::LessOrEqual,
            "=" => CompareOp::Equal,
            "!=" => CompareOp::NotEqual,
            ">=" => CompareOp::GreaterOrEqual,
            ">" => CompareOp::Greater,
            _ => return None,
        })
    }

    /// The operator as the filter language writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Less => "<",
            CompareOp::LessOrEqual => "<=",
            CompareOp::Equal => "=",
            CompareOp::NotEqual => "!=",
            CompareOp::GreaterOrEqual => ">=",
            CompareOp::Greater => ">",
        }
    }

    /// Whether a cell passes: `ordering` is the cell's part compared with the comparator's
    /// operand (HBase keeps a cell under `<` when the cell's bytes sort before the operand).
    pub fn passes(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Less => ordering == Ordering::Less,
            CompareOp::LessOrEqual => ordering != Ordering::Greater,
            CompareOp::Equal => ordering == Ordering::Equal,
            CompareOp::NotEqual => ordering != Ordering::Equal,
            CompareOp::GreaterOrEqual => ordering != Ordering::Less,
            CompareOp::Greater => ordering == Ordering::Greater,
        }
    }
}

/// What a compare filter compares a row, family, qualifier or value with.
#[derive(Debug, Clone)]
pub enum Comparator {
    /// Byte order against the operand.
    Binary(Bytes),
    /// Byte order against the operand, of the value's prefix of the operand's length.
    BinaryPrefix(Bytes),
    /// Equal when the value contains the operand, ignoring case.
    Substring(String),
    /// Equal when the pattern is found in the value.
    Regex(regex::bytes::Regex),
}

impl Comparator {
    /// Parses `type:operand` (the type is case-sensitive, as HBase's parser has it).
    pub fn parse(text: &[u8]) -> Result<Comparator> {
        let bad = |reason: String| Error::FilterSyntax {
            position: 0,
            reason,
        };
        let colon = text.iter().position(|b| *b == b':').ok_or_else(|| {
            bad(
                "a comparator is 'type:value' (binary, binaryprefix, substring, regexstring)"
                    .into(),
            )
        })?;
        let (kind, operand) = (&text[..colon], &text[colon + 1..]);
        match kind {
            b"binary" => Ok(Comparator::Binary(Bytes::copy_from_slice(operand))),
            b"binaryprefix" => Ok(Comparator::BinaryPrefix(Bytes::copy_from_slice(operand))),
            b"substring" => Ok(Comparator::Substring(latin1(operand).to_lowercase())),
            b"regexstring" => {
                let pattern = latin1_pattern(operand);
                regex::bytes::RegexBuilder::new(&pattern)
                    .dot_matches_new_line(true)
                    .unicode(false)
                    .size_limit(1 << 20)
                    .build()
                    .map(Comparator::Regex)
                    .map_err(|e| bad(format!("regular expression {pattern:?}: {e}")))
            }
            other => Err(bad(format!(
                "unknown comparator type {:?} (binary, binaryprefix, substring, regexstring)",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Whether only `=` and `!=` make sense with it (substring and regex say only "found"
    /// or "not found"); HBase refuses the other operators for them.
    pub fn equality_only(&self) -> bool {
        matches!(self, Comparator::Substring(_) | Comparator::Regex(_))
    }

    /// `value` compared with the operand.
    pub fn compare(&self, value: &[u8]) -> Ordering {
        match self {
            Comparator::Binary(operand) => value.cmp(operand),
            Comparator::BinaryPrefix(operand) => {
                value[..value.len().min(operand.len())].cmp(operand)
            }
            Comparator::Substring(needle) => {
                if latin1(value).to_lowercase().contains(needle.as_str()) {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Comparator::Regex(pattern) => {
                if pattern.is_match(value) {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
        }
    }

    /// Whether `value` passes `op` against this comparator.
    pub fn passes(&self, op: CompareOp, value: &[u8]) -> bool {
        op.passes(self.compare(value))
    }
}

/// A pattern's bytes as a byte-matching pattern: each byte over 0x7f stands for itself, as
/// the character it is in ISO-8859-1.
fn latin1_pattern(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii() {
                char::from(*b).to_string()
            } else {
                format!("\\x{b:02X}")
            }
        })
        .collect()
}

/// Bytes read as ISO-8859-1 (every byte one character), as HBase's string comparators do.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparators_order_and_match_as_hbase_does() {
        let binary = Comparator::parse(b"binary:m").unwrap();
        assert!(binary.passes(CompareOp::Less, b"abc"));
        assert!(!binary.passes(CompareOp::Less, b"m"));
        assert!(binary.passes(CompareOp::LessOrEqual, b"m"));
        assert!(binary.passes(CompareOp::Greater, b"mm"));
        assert!(binary.passes(CompareOp::NotEqual, b"x"));
        let prefix = Comparator::parse(b"binaryprefix:ab").unwrap();
        assert!(prefix.passes(CompareOp::Equal, b"abzzz"));
        assert!(prefix.passes(CompareOp::Less, b"aa999"));
        let substring = Comparator::parse(b"substring:OrA").unwrap();
        assert!(substring.passes(CompareOp::Equal, b"Storage"));
        assert!(substring.passes(CompareOp::NotEqual, b"hbase"));
        assert!(substring.equality_only());
        let regex = Comparator::parse(b"regexstring:^v[0-9]+.end$").unwrap();
        assert!(regex.passes(CompareOp::Equal, b"v12\nend"));
        assert!(!regex.passes(CompareOp::Equal, b"x12 end"));
        let bytes = Comparator::parse(b"regexstring:\xe9t\xe9").unwrap();
        assert!(
            bytes.passes(CompareOp::Equal, b"l'\xe9t\xe9"),
            "ISO-8859-1 bytes match"
        );
        for bad in [&b"binary"[..], b"BINARY:x", b"regexstring:(", b"nope:x"] {
            assert!(Comparator::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(CompareOp::parse(">="), Some(CompareOp::GreaterOrEqual));
        assert_eq!(CompareOp::parse("=>"), None);
        for op in ["<", "<=", "=", "!=", ">=", ">"] {
            assert_eq!(CompareOp::parse(op).map(CompareOp::as_str), Some(op));
        }
    }
}
