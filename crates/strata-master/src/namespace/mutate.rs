//! The namespace operations that journal entries describe. Each validates everything before it
//! changes anything, so a failed operation leaves the tree untouched.

use super::{
    BlockRecord, Directory, FileInode, Inode, InodeKind, MAX_REPLICATION, MIN_BLOCK_SIZE,
    Namespace, Outcome, SUPERGROUP, parse_path,
};
use strata_core::{BlockId, Error, ExtendedBlock, InodeId, Result, StrataPath};
use strata_ec::EcPolicy;
use strata_ec::policy::REPLICATION;
use strata_proto::journal;

impl Namespace {
    pub(super) fn mkdir(&mut self, op: &journal::Mkdir) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        if let Some(existing) = self.lookup(&path)? {
            let inode = self.inode(existing)?;
            if inode.is_directory() && op.create_parents {
                return Ok(Outcome::Directory(self.status_of(inode, path.to_string())));
            }
            return Err(Error::AlreadyExists {
                path: path.to_string(),
            });
        }
        let parent = self.parent_dir(&path, op.create_parents, op)?;
        let id = self.insert_child(
            parent,
            path.name(),
            new_inode_attrs(&op.owner, &op.group, op.mode, op.time),
            InodeKind::Directory(Directory::default()),
        )?;
        let inode = self.inode(id)?;
        Ok(Outcome::Directory(self.status_of(inode, path.to_string())))
    }

    pub(super) fn create_file(&mut self, op: &journal::CreateFile) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        if path.is_root() {
            return Err(Error::IsADirectory {
                path: path.to_string(),
            });
        }
        validate_replication(&path, op.replication)?;
        if op.block_size < MIN_BLOCK_SIZE {
            return Err(Error::InvalidArgument(format!(
                "{path}: block size {} is below the minimum of {MIN_BLOCK_SIZE} bytes",
                op.block_size
            )));
        }
        if op.client_name.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{path}: create needs a client name"
            )));
        }
        let policy = self.layout_for(&path, &op.ec_policy)?;
        if let Some(p) = policy
            && !op.block_size.is_multiple_of(p.cell as u64)
        {
            return Err(Error::InvalidArgument(format!(
                "{path}: block size {} is not a multiple of the {p} cell size ({} bytes)",
                op.block_size, p.cell
            )));
        }
        let write_type = self.write_type_for(&path, &op.write_type)?;
        let mut replaced = Vec::new();
        if let Some(existing) = self.lookup(&path)? {
            let file = self.closed_file(existing, &path)?;
            if !op.overwrite {
                return Err(Error::AlreadyExists {
                    path: path.to_string(),
                });
            }
            replaced = file.blocks.iter().map(BlockRecord::extended).collect();
            self.remove_subtree(existing, op.time)?;
        }
        let mkdir_attrs = journal::Mkdir {
            owner: op.owner.clone(),
            group: op.group.clone(),
            mode: 0o755,
            time: op.time,
            ..Default::default()
        };
        let parent = self.parent_dir(&path, op.create_parents, &mkdir_attrs)?;
        let id = self.insert_child(
            parent,
            path.name(),
            new_inode_attrs(&op.owner, &op.group, op.mode, op.time),
            InodeKind::File(FileInode {
                replication: if policy.is_some() { 1 } else { op.replication },
                block_size: op.block_size,
                blocks: Vec::new(),
                writer: Some(op.client_name.clone()),
                ec_policy: policy.map(|p| p.name()),
                persisted: None,
                write_type,
            }),
        )?;
        let inode = self.inode(id)?;
        Ok(Outcome::Created {
            status: self.status_of(inode, path.to_string()),
            replaced,
        })
    }

    pub(super) fn add_block(&mut self, op: &journal::AddBlock) -> Result<Outcome> {
        let id = InodeId(op.inode_id);
        let path = self.path_of_checked(id)?;
        let file = self.writable_file(id, &path, &op.client_name)?;
        if let Some(last) = file.blocks.last()
            && !last.complete
        {
            match &op.previous {
                Some(prev) if prev.id == last.id.0 && prev.generation == last.generation => {}
                Some(prev) => {
                    return Err(Error::InvalidOperation {
                        path,
                        reason: format!(
                            "previous block blk_{}_{} is not the last block {}",
                            prev.id,
                            prev.generation,
                            last.extended()
                        ),
                    });
                }
                None => {
                    return Err(Error::InvalidOperation {
                        path,
                        reason: format!("the last block {} is still being written", last.id),
                    });
                }
            }
        }
        let striped = file.ec_policy.is_some();
        let id_counter = if striped {
            &mut self.next_group
        } else {
            &mut self.next_block
        };
        let block = ExtendedBlock {
            id: BlockId(*id_counter),
            generation: self.next_generation,
            length: 0,
        };
        *id_counter += if striped { BlockId::GROUP_STRIDE } else { 1 };
        self.next_generation += 1;
        let file = self.file_mut(id)?;
        if let (Some(prev), Some(last)) = (&op.previous, file.blocks.last_mut())
            && !last.complete
        {
            last.length = prev.length;
            last.complete = true;
        }
        let offset = file.length();
        let replication = file.replication;
        file.blocks.push(BlockRecord {
            id: block.id,
            generation: block.generation,
            length: 0,
            complete: false,
        });
        self.block_owner.insert(block.id, id);
        Ok(Outcome::BlockAdded {
            block,
            offset,
            replication,
        })
    }

    pub(super) fn abandon_block(&mut self, op: &journal::AbandonBlock) -> Result<Outcome> {
        let id = InodeId(op.inode_id);
        let path = self.path_of_checked(id)?;
        let file = self.writable_file(id, &path, &op.client_name)?;
        match file.blocks.last() {
            Some(last) if last.id.0 == op.block_id && !last.complete => {}
            _ => {
                return Err(Error::InvalidOperation {
                    path,
                    reason: format!("blk_{} is not the block being written", op.block_id),
                });
            }
        }
        let file = self.file_mut(id)?;
        let Some(removed) = file.blocks.pop() else {
            return Err(Error::Internal(format!("{path}: block list changed")));
        };
        self.block_owner.remove(&removed.id);
        Ok(Outcome::BlockAbandoned(removed.extended()))
    }

    pub(super) fn bump_generation(&mut self, op: &journal::BumpGeneration) -> Result<Outcome> {
        let id = InodeId(op.inode_id);
        let path = self.path_of_checked(id)?;
        let file = if op.client_name.is_empty() {
            self.open_file(id, &path)?
        } else {
            self.writable_file(id, &path, &op.client_name)?
        };
        match file.blocks.last() {
            Some(last) if last.id.0 == op.block_id && !last.complete => {}
            _ => {
                return Err(Error::InvalidOperation {
                    path,
                    reason: format!("blk_{} is not the block being written", op.block_id),
                });
            }
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        let file = self.file_mut(id)?;
        let last = file
            .blocks
            .last_mut()
            .ok_or_else(|| Error::Internal(format!("{path}: block list changed")))?;
        last.generation = generation;
        Ok(Outcome::NewGeneration(last.extended()))
    }

    pub(super) fn complete_file(&mut self, op: &journal::CompleteFile) -> Result<Outcome> {
        let id = InodeId(op.inode_id);
        let path = self.path_of_checked(id)?;
        let file = self.writable_file(id, &path, &op.client_name)?;
        let last_open = file.blocks.last().filter(|b| !b.complete).copied();
        match (last_open, &op.last) {
            (None, _) => {}
            (Some(open), Some(last))
                if open.id.0 == last.id && open.generation == last.generation => {}
            (Some(open), _) => {
                return Err(Error::InvalidOperation {
                    path,
                    reason: format!(
                        "the last block {} was not reported finished",
                        open.extended()
                    ),
                });
            }
        }
        let file = self.file_mut(id)?;
        if let (Some(last), Some(record)) = (&op.last, file.blocks.last_mut())
            && !record.complete
        {
            record.length = last.length;
            record.complete = true;
        }
        file.writer = None;
        let inode = self.inode_mut(id)?;
        inode.mtime = op.time;
        self.queue_persist_if_async(id);
        Ok(Outcome::Completed)
    }

    pub(super) fn append_file(&mut self, op: &journal::AppendFile) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        let id = self.resolve(&path)?;
        let file = self.closed_file(id, &path)?;
        if op.client_name.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{path}: append needs a client name"
            )));
        }
        if self.holds_persisted(id)? {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: "appending to a file persisted in under storage is not supported"
                    .to_string(),
            });
        }
        // A striped file grows by whole new block groups.
        let partial = file.ec_policy.is_none()
            && file
                .blocks
                .last()
                .is_some_and(|b| b.length < file.block_size);
        let generation = self.next_generation;
        if partial {
            self.next_generation += 1;
        }
        let file = self.file_mut(id)?;
        file.writer = Some(op.client_name.clone());
        let mut last_block = None;
        if partial {
            let offset = file.length() - file.blocks.last().map_or(0, |b| b.length);
            if let Some(last) = file.blocks.last_mut() {
                last.generation = generation;
                last.complete = false;
                last_block = Some((last.extended(), offset));
            }
        }
        let inode = self.inode_mut(id)?;
        inode.mtime = op.time;
        let inode = self.inode(id)?;
        let mut status = self.status_of(inode, path.to_string());
        if let Some((block, _)) = last_block {
            status.length += block.length;
        }
        Ok(Outcome::Appending { status, last_block })
    }

    pub(super) fn set_ec_policy(&mut self, op: &journal::SetEcPolicy) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        let id = self.resolve(&path)?;
        let setting = match op.policy.as_str() {
            "" => None,
            REPLICATION => Some(REPLICATION.to_string()),
            name => Some(self.known_policy(name)?.name()),
        };
        match &mut self.inode_mut(id)?.kind {
            InodeKind::Directory(dir) => dir.ec = setting,
            InodeKind::File(_) => {
                return Err(Error::NotADirectory {
                    path: path.to_string(),
                });
            }
        }
        Ok(Outcome::Done)
    }

    pub(super) fn add_ec_policy(&mut self, op: &journal::AddEcPolicy) -> Result<Outcome> {
        let policy =
            EcPolicy::parse(&op.name).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        if self.ec_policy(&policy.name()).is_none() {
            self.ec_policies.insert(policy.name(), policy);
        }
        Ok(Outcome::Done)
    }

    fn known_policy(&self, name: &str) -> Result<EcPolicy> {
        EcPolicy::parse(name).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        self.ec_policy(name).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown erasure coding policy {name:?} (see `strata ec list`; add one with `strata ec add-policy`)"
            ))
        })
    }

    /// The layout a new file at `path` gets: the requested policy, `REPLICATION`, or (when
    /// nothing is requested) the nearest existing ancestor's setting.
    pub fn layout_for(&self, path: &StrataPath, requested: &str) -> Result<Option<EcPolicy>> {
        let setting = match requested {
            "" => {
                let mut ancestor = InodeId::ROOT;
                if let Some(parent) = path.parent() {
                    for name in parent.components() {
                        let child = self
                            .inode(ancestor)?
                            .directory()
                            .and_then(|d| d.children.get(name).copied());
                        match child {
                            Some(c) if self.inode(c)?.is_directory() => ancestor = c,
                            _ => break,
                        }
                    }
                }
                self.inherited_ec(ancestor)?.map(|(setting, _)| setting)
            }
            other => Some(other.to_string()),
        };
        match setting.as_deref() {
            None | Some(REPLICATION) => Ok(None),
            Some(name) => self.known_policy(name).map(Some),
        }
    }

    pub(super) fn delete(&mut self, op: &journal::Delete) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        if path.is_root() {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: "the root directory cannot be deleted".to_string(),
            });
        }
        let Some(id) = self.lookup(&path)? else {
            return Ok(Outcome::Deleted {
                existed: false,
                blocks: Vec::new(),
                open_files: Vec::new(),
            });
        };
        self.check_no_mount_point_within(&path)?;
        if let Some(dir) = self.inode(id)?.directory()
            && !dir.children.is_empty()
            && !op.recursive
        {
            return Err(Error::DirectoryNotEmpty {
                path: path.to_string(),
            });
        }
        let (blocks, open_files) = self.remove_subtree(id, op.time)?;
        Ok(Outcome::Deleted {
            existed: true,
            blocks,
            open_files,
        })
    }

    pub(super) fn set_replication(&mut self, op: &journal::SetReplication) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        validate_replication(&path, op.replication)?;
        let id = self.resolve(&path)?;
        let file = match &mut self.inode_mut(id)?.kind {
            InodeKind::File(f) => f,
            InodeKind::Directory(_) => {
                return Err(Error::IsADirectory {
                    path: path.to_string(),
                });
            }
        };
        file.replication = op.replication;
        Ok(Outcome::ReplicationChanged(
            file.blocks.iter().map(|b| b.id).collect(),
        ))
    }

    pub(super) fn set_permission(&mut self, op: &journal::SetPermission) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        if op.mode > 0o7777 {
            return Err(Error::InvalidArgument(format!(
                "{path}: mode {:o} is not a permission",
                op.mode
            )));
        }
        let id = self.resolve(&path)?;
        self.inode_mut(id)?.mode = op.mode;
        Ok(Outcome::Done)
    }

    pub(super) fn set_owner(&mut self, op: &journal::SetOwner) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        let id = self.resolve(&path)?;
        let inode = self.inode_mut(id)?;
        if !op.owner.is_empty() {
            inode.owner = op.owner.clone();
        }
        if !op.group.is_empty() {
            inode.group = op.group.clone();
        }
        Ok(Outcome::Done)
    }

    pub(super) fn set_times(&mut self, op: &journal::SetTimes) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        let id = self.resolve(&path)?;
        let inode = self.inode_mut(id)?;
        if op.modification_time >= 0 {
            inode.mtime = op.modification_time;
        }
        if op.access_time >= 0 {
            inode.atime = op.access_time;
        }
        Ok(Outcome::Done)
    }

    pub(super) fn commit_block_recovery(
        &mut self,
        op: &journal::CommitBlockRecovery,
    ) -> Result<Outcome> {
        let id = InodeId(op.inode_id);
        let path = self.path_of_checked(id)?;
        let file = self.open_file(id, &path)?;
        if op.block_id != 0 {
            match file.blocks.last() {
                Some(last) if last.id.0 == op.block_id => {}
                _ => {
                    return Err(Error::InvalidOperation {
                        path,
                        reason: format!("blk_{} is not the file's last block", op.block_id),
                    });
                }
            }
        }
        let file = self.file_mut(id)?;
        let mut dropped = None;
        if op.block_id != 0 {
            if op.drop_last_block {
                dropped = file.blocks.pop();
            } else if let Some(last) = file.blocks.last_mut() {
                last.generation = op.new_generation;
                last.length = op.length;
                last.complete = true;
            }
        }
        for block in file.blocks.iter_mut() {
            block.complete = true;
        }
        file.writer = None;
        if let Some(block) = dropped {
            self.block_owner.remove(&block.id);
        }
        self.inode_mut(id)?.mtime = op.time;
        Ok(Outcome::Completed)
    }

    /// The directory that will hold `path`, created with its ancestors when `create` is set.
    fn parent_dir(
        &mut self,
        path: &StrataPath,
        create: bool,
        attrs: &journal::Mkdir,
    ) -> Result<InodeId> {
        let Some(parent_path) = path.parent() else {
            return Err(Error::AlreadyExists {
                path: path.to_string(),
            });
        };
        if !create {
            let parent = self.resolve(&parent_path).map_err(|e| match e {
                Error::NotFound { .. } => Error::NotFound {
                    path: parent_path.to_string(),
                },
                other => other,
            })?;
            if !self.inode(parent)?.is_directory() {
                return Err(Error::NotADirectory {
                    path: parent_path.to_string(),
                });
            }
            return Ok(parent);
        }
        // Check the whole chain first so that a failure creates nothing.
        let mut current = InodeId::ROOT;
        let mut walked = String::new();
        let mut missing_from = None;
        for (depth, name) in parent_path.components().enumerate() {
            walked.push('/');
            walked.push_str(name);
            let dir = match &self.inode(current)?.kind {
                InodeKind::Directory(d) => d,
                InodeKind::File(_) => return Err(Error::NotADirectory { path: walked }),
            };
            match dir.children.get(name) {
                Some(child) => current = *child,
                None => {
                    missing_from = Some(depth);
                    break;
                }
            }
        }
        if !self.inode(current)?.is_directory() {
            return Err(Error::NotADirectory {
                path: parent_path.to_string(),
            });
        }
        if let Some(first_missing) = missing_from {
            for name in parent_path.components().skip(first_missing) {
                current = self.insert_child(
                    current,
                    name,
                    new_inode_attrs(&attrs.owner, &attrs.group, 0o755, attrs.time),
                    InodeKind::Directory(Directory::default()),
                )?;
            }
        }
        Ok(current)
    }

    pub(super) fn insert_child(
        &mut self,
        parent: InodeId,
        name: &str,
        attrs: InodeAttrs,
        kind: InodeKind,
    ) -> Result<InodeId> {
        let id = InodeId(self.next_inode);
        self.next_inode += 1;
        if kind_is_dir(&kind) {
            self.directories += 1;
        } else {
            self.files += 1;
        }
        let inode = Inode {
            id,
            parent,
            name: name.to_string(),
            owner: attrs.owner,
            group: attrs.group,
            mode: attrs.mode,
            mtime: attrs.time,
            atime: attrs.time,
            ctime: attrs.time,
            ttl: None,
            pinned: false,
            xattrs: Default::default(),
            kind,
        };
        self.inodes.insert(id, inode);
        self.dir_mut(parent)?.children.insert(name.to_string(), id);
        self.inode_mut(parent)?.mtime = attrs.time;
        Ok(id)
    }

    /// Removes an inode and everything beneath it, returning the blocks that were freed and
    /// the files that were open for writing.
    pub(super) fn remove_subtree(
        &mut self,
        id: InodeId,
        time: i64,
    ) -> Result<(Vec<ExtendedBlock>, Vec<InodeId>)> {
        let parent = self.inode(id)?.parent;
        let name = self.inode(id)?.name.clone();
        self.dir_mut(parent)?.children.remove(&name);
        self.inode_mut(parent)?.mtime = time;
        let mut blocks = Vec::new();
        let mut open_files = Vec::new();
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            let Some(inode) = self.inodes.remove(&next) else {
                continue;
            };
            self.with_ttl.remove(&next);
            match inode.kind {
                InodeKind::Directory(dir) => {
                    self.directories -= 1;
                    stack.extend(dir.children.into_values());
                }
                InodeKind::File(file) => {
                    self.files -= 1;
                    self.pending_persist.remove(&next);
                    if file.writer.is_some() {
                        open_files.push(next);
                    }
                    for block in file.blocks {
                        self.block_owner.remove(&block.id);
                        blocks.push(block.extended());
                    }
                }
            }
        }
        Ok((blocks, open_files))
    }

    fn path_of_checked(&self, id: InodeId) -> Result<String> {
        if !self.inodes.contains_key(&id) {
            return Err(Error::NotFound {
                path: format!("<{id}: deleted>"),
            });
        }
        self.path_of(id)
    }

    /// A file nobody is writing.
    pub(super) fn closed_file(&self, id: InodeId, path: &StrataPath) -> Result<&FileInode> {
        let file = self.inode(id)?.file().ok_or_else(|| Error::IsADirectory {
            path: path.to_string(),
        })?;
        if let Some(holder) = &file.writer {
            return Err(Error::LeaseConflict {
                path: path.to_string(),
                holder: holder.clone(),
            });
        }
        Ok(file)
    }

    /// A file open for writing by `client`.
    fn writable_file(&self, id: InodeId, path: &str, client: &str) -> Result<&FileInode> {
        let file = self.open_file(id, path)?;
        match &file.writer {
            Some(holder) if holder == client => Ok(file),
            _ => Err(Error::NoLease {
                path: path.to_string(),
                client: client.to_string(),
            }),
        }
    }

    /// A file open for writing by anyone.
    fn open_file(&self, id: InodeId, path: &str) -> Result<&FileInode> {
        let file = self.inode(id)?.file().ok_or_else(|| Error::IsADirectory {
            path: path.to_string(),
        })?;
        if file.writer.is_none() {
            return Err(Error::NoLease {
                path: path.to_string(),
                client: String::new(),
            });
        }
        Ok(file)
    }

    pub(super) fn file_mut(&mut self, id: InodeId) -> Result<&mut FileInode> {
        match &mut self.inode_mut(id)?.kind {
            InodeKind::File(f) => Ok(f),
            InodeKind::Directory(_) => Err(Error::Internal(format!("{id} is not a file"))),
        }
    }

    /// Directory `id`, to change.
    pub(super) fn dir_mut(&mut self, id: InodeId) -> Result<&mut Directory> {
        match &mut self.inode_mut(id)?.kind {
            InodeKind::Directory(d) => Ok(d),
            InodeKind::File(_) => Err(Error::Internal(format!("{id} is not a directory"))),
        }
    }
}

pub(super) struct InodeAttrs {
    owner: String,
    group: String,
    mode: u32,
    time: i64,
}

pub(super) fn new_inode_attrs(owner: &str, group: &str, mode: u32, time: i64) -> InodeAttrs {
    InodeAttrs {
        owner: owner.to_string(),
        group: if group.is_empty() {
            SUPERGROUP.to_string()
        } else {
            group.to_string()
        },
        mode: mode & 0o7777,
        time,
    }
}

fn kind_is_dir(kind: &InodeKind) -> bool {
    matches!(kind, InodeKind::Directory(_))
}

fn validate_replication(path: &StrataPath, replication: u32) -> Result<()> {
    if replication == 0 || replication > MAX_REPLICATION {
        return Err(Error::InvalidArgument(format!(
            "{path}: replication {replication} is outside 1..={MAX_REPLICATION}"
        )));
    }
    Ok(())
}
