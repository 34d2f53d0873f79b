//! Time to live: what happens to a file or directory once it is older than its TTL.

use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// What the master does when a TTL runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlAction {
    /// Drop the cached copies of persisted files (their bytes stay in under storage), then
    /// forget the TTL.
    Free,
    /// Delete the file or directory, in under storage too when it is under a mount.
    Delete,
}

impl TtlAction {
    /// The name the wire, the journal and the CLI use.
    pub fn as_str(self) -> &'static str {
        match self {
            TtlAction::Free => "FREE",
            TtlAction::Delete => "DELETE",
        }
    }
}

impl fmt::Display for TtlAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TtlAction {
    type Err = Error;

    /// `free` or `delete`, in any case.
    fn from_str(text: &str) -> Result<TtlAction> {
        match text.to_ascii_uppercase().as_str() {
            "FREE" => Ok(TtlAction::Free),
            "DELETE" => Ok(TtlAction::Delete),
            _ => Err(Error::InvalidArgument(format!(
                "TTL action {text:?} is not free or delete"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_in_any_case_and_print_back() {
        for action in [TtlAction::Free, TtlAction::Delete] {
            assert_eq!(action.as_str().parse::<TtlAction>().unwrap(), action);
            let lower = action.as_str().to_ascii_lowercase();
            assert_eq!(lower.parse::<TtlAction>().unwrap(), action);
        }
        assert!("evict".parse::<TtlAction>().is_err());
        assert!("".parse::<TtlAction>().is_err());
    }
}
