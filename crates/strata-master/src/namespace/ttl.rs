//! Times to live: setting and removing an inode's TTL, and finding the inodes whose TTL has run
//! out (the master's TTL checker then frees or deletes them).

use super::{Namespace, Outcome, Ttl};
use strata_core::ttl::TtlAction;
use strata_core::{Error, InodeId, Result, StrataPath};
use strata_proto::journal;

/// An inode whose time to live has run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The inode.
    pub id: InodeId,
    /// Where it is now.
    pub path: StrataPath,
    /// What is to happen to it.
    pub action: TtlAction,
}

impl Namespace {
    pub(super) fn set_ttl(&mut self, op: &journal::SetTtl) -> Result<Outcome> {
        let path = StrataPath::parse(&op.path)?;
        if path.is_root() {
            return Err(Error::InvalidOperation {
                path: op.path.clone(),
                reason: "the root cannot have a time to live".to_string(),
            });
        }
        if op.ttl_ms < 0 {
            return Err(Error::InvalidArgument(format!(
                "{path}: a time to live of {} ms is negative",
                op.ttl_ms
            )));
        }
        let id = self.resolve(&path)?;
        let ttl = if op.ttl_ms == 0 {
            self.with_ttl.remove(&id);
            None
        } else {
            let action = op.action.parse()?;
            self.with_ttl.insert(id);
            Some(Ttl {
                ms: op.ttl_ms,
                action,
            })
        };
        self.inode_mut(id)?.ttl = ttl;
        Ok(Outcome::Done)
    }

    /// The inodes whose time to live ran out at `now` (ms since the epoch), in id order.
    pub fn expired(&self, now: i64) -> Vec<Expired> {
        self.with_ttl
            .iter()
            .filter_map(|&id| {
                let inode = self.inodes.get(&id)?;
                let ttl = inode.ttl?;
                let created = if inode.ctime > 0 {
                    inode.ctime
                } else {
                    inode.mtime
                };
                if created.saturating_add(ttl.ms) > now {
                    return None;
                }
                let path = StrataPath::parse(&self.path_of(id).ok()?).ok()?;
                Some(Expired {
                    id,
                    path,
                    action: ttl.action,
                })
            })
            .collect()
    }
}
