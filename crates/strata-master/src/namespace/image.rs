//! The namespace as a stream of snapshot records (parents before children) and back.

use super::{
    BlockRecord, Directory, FileInode, Fingerprint, Inode, InodeKind, Namespace, Ttl, UfsCopy,
};
use std::collections::{HashMap, VecDeque};
use strata_core::{BlockId, InodeId};
use strata_proto::journal::{self, InodeRecord, SnapshotHeader};

impl Namespace {
    /// The header describing this namespace in a snapshot.
    pub fn image_header(&self) -> SnapshotHeader {
        SnapshotHeader {
            version: 1,
            last_txid: self.last_txid,
            next_inode_id: self.next_inode,
            next_block_id: self.next_block,
            next_generation: self.next_generation,
            inode_count: self.inodes.len() as u64,
            ec_policies: self.ec_policies.keys().cloned().collect(),
            next_group_id: self.next_group,
            mounts: self.mounts.values().map(|m| m.record()).collect(),
        }
    }

    /// Every inode as a snapshot record, parents before children.
    pub fn image_records(&self) -> impl Iterator<Item = InodeRecord> + '_ {
        let mut queue = VecDeque::from([InodeId::ROOT]);
        std::iter::from_fn(move || {
            let id = queue.pop_front()?;
            let inode = self.inodes.get(&id)?;
            let mut record = InodeRecord {
                id: inode.id.0,
                parent: inode.parent.0,
                name: inode.name.clone(),
                owner: inode.owner.clone(),
                group: inode.group.clone(),
                mode: inode.mode,
                modification_time: inode.mtime,
                access_time: inode.atime,
                pinned: inode.pinned,
                creation_time: inode.ctime,
                ttl_ms: inode.ttl.map_or(0, |t| t.ms),
                ttl_action: inode.ttl.map(|t| t.action.to_string()).unwrap_or_default(),
                xattrs: (inode.xattrs.iter())
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
                ..Default::default()
            };
            match &inode.kind {
                InodeKind::Directory(dir) => {
                    record.directory = true;
                    record.ec_policy = dir.ec.clone().unwrap_or_default();
                    record.from_ufs = dir.from_ufs;
                    queue.extend(dir.children.values().copied());
                }
                InodeKind::File(file) => {
                    record.replication = file.replication;
                    record.block_size = file.block_size;
                    record.client_name = file.writer.clone().unwrap_or_default();
                    record.ec_policy = file.ec_policy.clone().unwrap_or_default();
                    record.write_type = file.write_type.clone().unwrap_or_default();
                    if let Some(copy) = &file.persisted {
                        record.persisted = Some(copy.fingerprint.record());
                        record.persisted_at = copy.since;
                    }
                    record.blocks = file
                        .blocks
                        .iter()
                        .map(|b| journal::BlockRecord {
                            id: b.id.0,
                            generation: b.generation,
                            length: b.length,
                            complete: b.complete,
                        })
                        .collect();
                }
            }
            Some(record)
        })
    }

    /// Rebuilds a namespace from a snapshot, checking that the records form a tree.
    pub fn from_image(
        header: &SnapshotHeader,
        records: impl IntoIterator<Item = InodeRecord>,
    ) -> Result<Namespace, String> {
        let mut ns = Namespace {
            inodes: HashMap::with_capacity(header.inode_count as usize),
            block_owner: HashMap::new(),
            next_inode: header.next_inode_id,
            next_block: header.next_block_id,
            next_generation: header.next_generation,
            next_group: header.next_group_id.max(BlockId::STRIPED_BASE),
            last_txid: header.last_txid,
            files: 0,
            directories: 0,
            ec_policies: Default::default(),
            mounts: Default::default(),
            pending_persist: Default::default(),
            with_ttl: Default::default(),
        };
        ns.restore_mounts(&header.mounts);
        for name in &header.ec_policies {
            let policy = strata_ec::EcPolicy::parse(name)
                .map_err(|e| format!("snapshot lists a bad policy: {e}"))?;
            ns.ec_policies.insert(policy.name(), policy);
        }
        for record in records {
            let id = InodeId(record.id);
            if ns.inodes.contains_key(&id) {
                return Err(format!("inode {} appears twice", record.id));
            }
            if record.id >= ns.next_inode {
                return Err(format!("inode {} is beyond the id counter", record.id));
            }
            let kind = if record.directory {
                ns.directories += 1;
                InodeKind::Directory(Directory {
                    children: Default::default(),
                    ec: (!record.ec_policy.is_empty()).then(|| record.ec_policy.clone()),
                    from_ufs: record.from_ufs,
                })
            } else {
                ns.files += 1;
                let mut blocks = Vec::with_capacity(record.blocks.len());
                for b in &record.blocks {
                    let block = BlockId(b.id);
                    if ns.block_owner.insert(block, id).is_some() {
                        return Err(format!("{block} belongs to two files"));
                    }
                    let counter = if block.is_striped() {
                        ns.next_group
                    } else {
                        ns.next_block
                    };
                    if b.id >= counter || b.generation >= ns.next_generation {
                        return Err(format!("{block} is beyond the id counters"));
                    }
                    blocks.push(BlockRecord {
                        id: block,
                        generation: b.generation,
                        length: b.length,
                        complete: b.complete,
                    });
                }
                InodeKind::File(FileInode {
                    replication: record.replication,
                    block_size: record.block_size,
                    blocks,
                    writer: (!record.client_name.is_empty()).then(|| record.client_name.clone()),
                    ec_policy: (!record.ec_policy.is_empty()).then(|| record.ec_policy.clone()),
                    persisted: record.persisted.as_ref().map(|f| UfsCopy {
                        fingerprint: Fingerprint::from_record(f),
                        since: record.persisted_at,
                    }),
                    write_type: (!record.write_type.is_empty()).then(|| record.write_type.clone()),
                })
            };
            let parent = InodeId(record.parent);
            if id == InodeId::ROOT {
                if !record.directory {
                    return Err("the root is not a directory".to_string());
                }
            } else {
                let Some(Inode {
                    kind: InodeKind::Directory(dir),
                    ..
                }) = ns.inodes.get_mut(&parent)
                else {
                    return Err(format!(
                        "inode {} comes before its parent directory {}",
                        record.id, record.parent
                    ));
                };
                if dir.children.insert(record.name.clone(), id).is_some() {
                    return Err(format!(
                        "two entries named {:?} in inode {}",
                        record.name, record.parent
                    ));
                }
            }
            let ttl = if record.ttl_ms > 0 {
                let action = record
                    .ttl_action
                    .parse()
                    .map_err(|e| format!("inode {}: {e}", record.id))?;
                ns.with_ttl.insert(id);
                Some(Ttl {
                    ms: record.ttl_ms,
                    action,
                })
            } else {
                None
            };
            ns.inodes.insert(
                id,
                Inode {
                    id,
                    parent,
                    name: record.name,
                    owner: record.owner,
                    group: record.group,
                    mode: record.mode,
                    mtime: record.modification_time,
                    atime: record.access_time,
                    ctime: record.creation_time,
                    ttl,
                    pinned: record.pinned,
                    xattrs: record.xattrs.into_iter().collect(),
                    kind,
                },
            );
        }
        if !ns.inodes.contains_key(&InodeId::ROOT) {
            return Err("the snapshot has no root directory".to_string());
        }
        if ns.inodes.len() as u64 != header.inode_count {
            return Err(format!(
                "the header promises {} inodes, the snapshot holds {}",
                header.inode_count,
                ns.inodes.len()
            ));
        }
        let ids: Vec<InodeId> = ns.inodes.keys().copied().collect();
        for id in ids {
            ns.queue_persist_if_async(id);
        }
        Ok(ns)
    }
}
