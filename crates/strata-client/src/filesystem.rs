//! [`FileSystem`]: the client API over a Strata cluster.

use crate::call;
use crate::lease::LeaseRenewer;
use crate::master::MasterClient;
use crate::reader::{FileReader, PositionalReader};
use crate::writer::{FileWriter, StripedWriter};
use std::sync::Arc;
use std::time::Duration;
use strata_core::config::ClientConfig;
use strata_core::{Error, Result, StrataPath};
use strata_ec::EcPolicy;
use strata_ec::policy::REPLICATION;
use strata_proto::rpc::*;

/// Options for creating a file.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Replace an existing file.
    pub overwrite: bool,
    /// Create missing parent directories.
    pub create_parents: bool,
    /// Replicas per block (0: the client's, else the master's default).
    pub replication: u32,
    /// Block size (0: the client's, else the master's default).
    pub block_size: u64,
    /// Permission bits (0: `rw-r--r--`).
    pub mode: u32,
    /// Layout: empty inherits the nearest ancestor directory's erasure coding policy,
    /// `REPLICATION` forces replication, a policy name (`RS-6-3-1024k`) forces that policy.
    pub ec_policy: String,
    /// Under a mount: MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH (empty: the
    /// mount's).
    pub write_type: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FsInner {
    pub(crate) master: MasterClient,
    pub(crate) config: ClientConfig,
    pub(crate) client_name: String,
    pub(crate) chunk_size: u32,
    lease: LeaseRenewer,
}

/// A connection to a Strata cluster, acting as one user.
#[derive(Debug, Clone)]
pub struct FileSystem {
    inner: Arc<FsInner>,
    user: Arc<str>,
}

fn parse(path: &str) -> Result<StrataPath> {
    StrataPath::parse(path)
}

impl FileSystem {
    /// Connects to the master named in `config` and fetches its defaults.
    pub async fn connect(config: ClientConfig) -> Result<FileSystem> {
        let master = MasterClient::new(&config.master)?;
        let defaults = call!(master, client, get_server_defaults(Empty {}))?;
        let client_name = format!(
            "strata-client-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let renew_every =
            Duration::from_millis(defaults.lease_timeout_ms / 4).max(Duration::from_millis(100));
        let lease = LeaseRenewer::start(master.clone(), client_name.clone(), renew_every);
        let user: Arc<str> = config.effective_user().into();
        Ok(FileSystem {
            inner: Arc::new(FsInner {
                master: master.as_user(&user),
                config,
                client_name,
                chunk_size: defaults.chunk_size,
                lease,
            }),
            user,
        })
    }

    /// The same connection acting as `user`: what it creates is owned by `user` (a gateway
    /// serving many users holds one connection).
    pub fn as_user(&self, user: &str) -> FileSystem {
        FileSystem {
            inner: Arc::new(FsInner {
                master: self.inner.master.as_user(user),
                ..FsInner::clone(&self.inner)
            }),
            user: user.into(),
        }
    }

    /// The user this client acts as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The master's defaults for new files.
    pub async fn server_defaults(&self) -> Result<ServerDefaults> {
        call!(self.inner.master, client, get_server_defaults(Empty {}))
    }

    /// The master's stubs, for admin calls.
    pub fn master(&self) -> &MasterClient {
        &self.inner.master
    }

    pub(crate) fn inner(&self) -> &Arc<FsInner> {
        &self.inner
    }

    /// This client's name (the holder of its write leases).
    pub fn client_name(&self) -> &str {
        &self.inner.client_name
    }

    /// Creates a directory (and its parents with `create_parents`).
    pub async fn mkdirs(&self, path: &str, create_parents: bool) -> Result<()> {
        self.mkdirs_with_mode(path, create_parents, 0).await
    }

    /// Creates a directory with permission bits `mode` (0: `rwxr-xr-x`), and its parents with
    /// `create_parents`.
    pub async fn mkdirs_with_mode(
        &self,
        path: &str,
        create_parents: bool,
        mode: u32,
    ) -> Result<()> {
        let path = parse(path)?;
        let request = MkdirsRequest {
            path: path.to_string(),
            user: self.user.to_string(),
            mode,
            create_parents,
        };
        call!(self.inner.master, client, mkdirs(request)).map(|_| ())
    }

    /// Creates a file and opens it for writing.
    pub async fn create(&self, path: &str, options: CreateOptions) -> Result<FileWriter> {
        let path = parse(path)?;
        let config = &self.inner.config;
        let request = CreateRequest {
            path: path.to_string(),
            user: self.user.to_string(),
            mode: options.mode,
            overwrite: options.overwrite,
            create_parents: options.create_parents,
            replication: if options.replication > 0 {
                options.replication
            } else {
                config.replication
            },
            block_size: if options.block_size > 0 {
                options.block_size
            } else {
                config.block_size.bytes()
            },
            client_name: self.inner.client_name.clone(),
            ec_policy: options.ec_policy,
            write_type: options.write_type,
        };
        let status = call!(self.inner.master, client, create(request))?
            .status
            .ok_or_else(|| Error::Protocol("create returned no status".to_string()))?;
        self.writer_for(path.to_string(), &status)
    }

    /// A writer for a file just created or reopened (empty or continuing at its length).
    fn writer_for(&self, path: String, status: &FileStatus) -> Result<FileWriter> {
        let lease = self.inner.lease.hold();
        if status.ec_policy.is_empty() {
            let mut writer = FileWriter::new_replicated(
                self.inner.clone(),
                path.clone(),
                status.inode_id,
                status.block_size,
                lease,
            );
            writer.start_at(status.length);
            return Ok(FileWriter::replicated(
                self.inner.clone(),
                path,
                status.inode_id,
                writer,
            ));
        }
        let policy =
            EcPolicy::parse(&status.ec_policy).map_err(|e| Error::Protocol(e.to_string()))?;
        let writer = StripedWriter::new(
            self.inner.clone(),
            path.clone(),
            status.inode_id,
            policy,
            status.block_size,
            status.length,
            lease,
        );
        Ok(FileWriter::striped(
            self.inner.clone(),
            path,
            status.inode_id,
            writer,
        ))
    }

    /// Opens an existing file to add data at its end.
    pub async fn append(&self, path: &str) -> Result<FileWriter> {
        let path = parse(path)?;
        let request = AppendRequest {
            path: path.to_string(),
            client_name: self.inner.client_name.clone(),
        };
        let response = call!(self.inner.master, client, append(request))?;
        let status = response
            .status
            .ok_or_else(|| Error::Protocol("append returned no status".to_string()))?;
        if !status.ec_policy.is_empty() {
            return self.writer_for(path.to_string(), &status);
        }
        // A partial last block is continued inside its replicas.
        let mut writer = FileWriter::new_replicated(
            self.inner.clone(),
            path.to_string(),
            status.inode_id,
            status.block_size,
            self.inner.lease.hold(),
        );
        writer.start_at(status.length);
        let writer = writer.resume(response.last_block).await?;
        Ok(FileWriter::replicated(
            self.inner.clone(),
            path.to_string(),
            status.inode_id,
            writer,
        ))
    }

    /// HDFS's recoverLease: closes a file another writer left open, now, at the length every
    /// replica of its last block holds, so nothing that writer hflushed is lost, and fences
    /// the writer off. True once the file is closed; call again until it is.
    pub async fn recover_lease(&self, path: &str) -> Result<bool> {
        let request = RecoverLeaseRequest {
            path: parse(path)?.to_string(),
        };
        Ok(call!(self.inner.master, client, recover_lease(request))?.closed)
    }

    /// Opens a closed file for positional reads from many tasks at once.
    pub async fn open_positional(&self, path: &str) -> Result<PositionalReader> {
        let path = parse(path)?;
        PositionalReader::open(self.inner.clone(), path.to_string()).await
    }

    /// Opens a file for reading.
    pub async fn open(&self, path: &str) -> Result<FileReader> {
        let path = parse(path)?;
        FileReader::open(self.inner.clone(), path.to_string()).await
    }

    /// Reads `length` bytes at `offset`; reading at or past the end is an error.
    pub async fn read_range(&self, path: &str, offset: u64, length: u64) -> Result<Vec<u8>> {
        let mut reader = self.open(path).await?;
        if offset > reader.length() || (offset == reader.length() && length > 0) {
            return Err(Error::PastEndOfFile {
                path: path.to_string(),
                offset,
                length: reader.length(),
            });
        }
        reader.seek(offset)?;
        let mut out = Vec::with_capacity(length.min(reader.length() - offset) as usize);
        while (out.len() as u64) < length {
            let Some(chunk) = reader.next_chunk().await? else {
                break;
            };
            let take = chunk.len().min((length - out.len() as u64) as usize);
            out.extend_from_slice(&chunk[..take]);
        }
        Ok(out)
    }

    /// The status of `path`; an error when nothing is there.
    pub async fn stat(&self, path: &str) -> Result<FileStatus> {
        self.try_stat(path).await?.ok_or_else(|| Error::NotFound {
            path: path.to_string(),
        })
    }

    /// The status of `path`, or `None`.
    pub async fn try_stat(&self, path: &str) -> Result<Option<FileStatus>> {
        self.try_stat_with_xattrs(path, &[]).await
    }

    /// The status of `path` carrying those of the extended attributes `xattrs` it has, or
    /// `None`.
    pub async fn try_stat_with_xattrs(
        &self,
        path: &str,
        xattrs: &[String],
    ) -> Result<Option<FileStatus>> {
        let path = parse(path)?;
        let request = GetFileInfoRequest {
            path: path.to_string(),
            xattrs: xattrs.to_vec(),
        };
        Ok(call!(self.inner.master, client, get_file_info(request))?.status)
    }

    /// One page of a listing: entries after `start_after`, and whether more follow.
    pub async fn list_page(
        &self,
        path: &str,
        start_after: &str,
        limit: u32,
    ) -> Result<(Vec<FileStatus>, bool)> {
        self.list_page_with_xattrs(path, start_after, limit, &[])
            .await
    }

    /// One page of a listing whose entries carry those of the extended attributes `xattrs`
    /// they have.
    pub async fn list_page_with_xattrs(
        &self,
        path: &str,
        start_after: &str,
        limit: u32,
        xattrs: &[String],
    ) -> Result<(Vec<FileStatus>, bool)> {
        let response = self.list_call(path, start_after, limit, xattrs).await?;
        Ok((response.entries, response.has_more))
    }

    /// One page of a listing: entries after `start_after`, and how many follow them.
    pub async fn list_remaining(
        &self,
        path: &str,
        start_after: &str,
        limit: u32,
    ) -> Result<(Vec<FileStatus>, u64)> {
        let response = self.list_call(path, start_after, limit, &[]).await?;
        Ok((response.entries, response.remaining))
    }

    async fn list_call(
        &self,
        path: &str,
        start_after: &str,
        limit: u32,
        xattrs: &[String],
    ) -> Result<ListStatusResponse> {
        let request = ListStatusRequest {
            path: parse(path)?.to_string(),
            start_after: start_after.to_string(),
            limit,
            xattrs: xattrs.to_vec(),
        };
        call!(self.inner.master, client, list_status(request))
    }

    /// A listing read page by page.
    pub fn list(&self, path: &str) -> Lister {
        self.list_with_xattrs(path, &[])
    }

    /// A listing read page by page, its entries carrying those of the extended attributes
    /// `xattrs` they have.
    pub fn list_with_xattrs(&self, path: &str, xattrs: &[String]) -> Lister {
        Lister {
            fs: self.clone(),
            path: path.to_string(),
            xattrs: xattrs.to_vec(),
            after: String::new(),
            done: false,
        }
    }

    /// Renames `source` to `destination` (which must not exist).
    pub async fn rename(&self, source: &str, destination: &str) -> Result<()> {
        let request = RenameRequest {
            source: parse(source)?.to_string(),
            destination: parse(destination)?.to_string(),
            overwrite: false,
            if_destination: None,
        };
        call!(self.inner.master, client, rename(request)).map(|_| ())
    }

    /// Renames file `source` over file `destination` in one step: readers see one or the
    /// other, and the replaced file's space is freed. With `if_destination` (a status of the
    /// destination read earlier), only if the destination has not changed since.
    pub async fn replace(
        &self,
        source: &str,
        destination: &str,
        if_destination: Option<&FileStatus>,
    ) -> Result<()> {
        let request = RenameRequest {
            source: parse(source)?.to_string(),
            destination: parse(destination)?.to_string(),
            overwrite: true,
            if_destination: if_destination.map(|s| FileVersion {
                modification_time: s.modification_time,
                length: s.length,
            }),
        };
        call!(self.inner.master, client, rename(request)).map(|_| ())
    }

    /// Deletes `path` (a non-empty directory only with `recursive`); false if nothing was there.
    pub async fn delete(&self, path: &str, recursive: bool) -> Result<bool> {
        let request = DeleteRequest {
            path: parse(path)?.to_string(),
            recursive,
        };
        Ok(call!(self.inner.master, client, delete(request))?.deleted)
    }

    /// Changes the replication of a file.
    pub async fn set_replication(&self, path: &str, replication: u32) -> Result<()> {
        let request = SetReplicationRequest {
            path: parse(path)?.to_string(),
            replication,
        };
        call!(self.inner.master, client, set_replication(request)).map(|_| ())
    }

    /// Moves the blocks of closed replicated files `sources`, in order, to the end of
    /// `target` and removes the sources, copying no byte (HDFS's `concat`).
    pub async fn concat(&self, target: &str, sources: &[&str]) -> Result<()> {
        let request = ConcatRequest {
            target: parse(target)?.to_string(),
            sources: (sources.iter())
                .map(|s| parse(s).map(|p| p.to_string()))
                .collect::<Result<_>>()?,
        };
        call!(self.inner.master, client, concat(request)).map(|_| ())
    }

    /// Changes permission bits.
    pub async fn set_permission(&self, path: &str, mode: u32) -> Result<()> {
        let request = SetPermissionRequest {
            path: parse(path)?.to_string(),
            mode,
        };
        call!(self.inner.master, client, set_permission(request)).map(|_| ())
    }

    /// Changes owner and/or group (empty leaves one unchanged).
    pub async fn set_owner(&self, path: &str, owner: &str, group: &str) -> Result<()> {
        let request = SetOwnerRequest {
            path: parse(path)?.to_string(),
            owner: owner.to_string(),
            group: group.to_string(),
        };
        call!(self.inner.master, client, set_owner(request)).map(|_| ())
    }

    /// Changes modification and/or access time (negative leaves one unchanged).
    pub async fn set_times(
        &self,
        path: &str,
        modification_time: i64,
        access_time: i64,
    ) -> Result<()> {
        let request = SetTimesRequest {
            path: parse(path)?.to_string(),
            modification_time,
            access_time,
        };
        call!(self.inner.master, client, set_times(request)).map(|_| ())
    }

    /// Totals beneath `path`.
    pub async fn content_summary(&self, path: &str) -> Result<ContentSummary> {
        let request = GetContentSummaryRequest {
            path: parse(path)?.to_string(),
        };
        call!(self.inner.master, client, get_content_summary(request))
    }

    /// The file's status and its blocks overlapping `offset..offset + length`, each with the
    /// workers holding it, nearest first.
    pub async fn block_locations(
        &self,
        path: &str,
        offset: u64,
        length: u64,
    ) -> Result<GetBlockLocationsResponse> {
        let request = GetBlockLocationsRequest {
            path: parse(path)?.to_string(),
            offset,
            length,
            with_block_being_written: false,
        };
        call!(self.inner.master, client, get_block_locations(request))
    }

    /// Every erasure coding policy the cluster knows.
    pub async fn ec_policies(&self) -> Result<Vec<EcPolicyInfo>> {
        Ok(call!(self.inner.master, client, list_ec_policies(Empty {}))?.policies)
    }

    /// Adds a policy such as `RS-6-3-256k` (a codec, data and parity units, a cell size).
    pub async fn add_ec_policy(&self, name: &str) -> Result<EcPolicyInfo> {
        let request = AddEcPolicyRequest {
            name: name.to_string(),
        };
        call!(self.inner.master, client, add_ec_policy(request))
    }

    /// Sets the erasure coding policy of a directory (`REPLICATION` forces replication
    /// beneath; an empty name inherits again).
    pub async fn set_ec_policy(&self, path: &str, policy: &str) -> Result<()> {
        let request = SetEcPolicyRequest {
            path: parse(path)?.to_string(),
            policy: policy.to_string(),
        };
        call!(self.inner.master, client, set_ec_policy(request)).map(|_| ())
    }

    /// The policy files created at `path` get, and where it is set (empty: the default).
    pub async fn get_ec_policy(&self, path: &str) -> Result<GetEcPolicyResponse> {
        let request = GetEcPolicyRequest {
            path: parse(path)?.to_string(),
        };
        call!(self.inner.master, client, get_ec_policy(request))
    }

    /// Rewrites a file into another layout and puts it in place of the original in one step:
    /// `layout` is a policy name, `REPLICATION`, or empty for its directory's policy. Readers
    /// see the old file or the new one, never a mix; the old layout's space is freed.
    pub async fn convert(&self, path: &str, layout: &str) -> Result<FileStatus> {
        let original = self.stat(path).await?;
        if is_directory(&original) {
            return Err(Error::IsADirectory {
                path: path.to_string(),
            });
        }
        if original.under_construction {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: "the file is open for writing".to_string(),
            });
        }
        let parsed = parse(path)?;
        let parent = parsed.parent().unwrap_or_else(StrataPath::root);
        let target = if layout.is_empty() {
            self.get_ec_policy(parent.as_str()).await?.policy
        } else {
            layout.to_string()
        };
        let current = if original.ec_policy.is_empty() {
            REPLICATION
        } else {
            original.ec_policy.as_str()
        };
        if current == target {
            return Ok(original);
        }
        let temporary = parent
            .join(&format!(
                ".{}.strata-converting-{}",
                parsed.name(),
                self.inner.client_name
            ))
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let temporary = temporary.as_str();
        let copied = self
            .copy_into_layout(path, temporary, &original, &target)
            .await;
        if let Err(e) = copied {
            let _ = self.delete(temporary, false).await;
            return Err(e);
        }
        if let Err(e) = self.replace(temporary, path, Some(&original)).await {
            let _ = self.delete(temporary, false).await;
            return Err(e);
        }
        self.stat(path).await
    }

    async fn copy_into_layout(
        &self,
        source: &str,
        temporary: &str,
        original: &FileStatus,
        target: &str,
    ) -> Result<()> {
        // The master rounds the block size down to whole cells for a striped layout.
        let options = CreateOptions {
            overwrite: true,
            block_size: original.block_size,
            mode: original.mode,
            ec_policy: target.to_string(),
            ..Default::default()
        };
        let mut reader = self.open(source).await?;
        let mut writer = self.create(temporary, options).await?;
        while let Some(chunk) = reader.next_chunk().await? {
            writer.write(&chunk).await?;
        }
        writer.close().await?;
        self.set_owner(temporary, &original.owner, &original.group)
            .await?;
        self.set_times(temporary, original.modification_time, original.access_time)
            .await
    }

    /// The cluster report.
    pub async fn report(&self) -> Result<ReportResponse> {
        call!(self.inner.master, admin, report(Empty {}))
    }

    /// Under-replicated, missing and corrupt blocks with their files (worst first, at most
    /// `limit`; 0 for the master's default) and how many there are in all.
    pub async fn unhealthy_blocks(&self, limit: u32) -> Result<ListUnhealthyBlocksResponse> {
        let request = ListUnhealthyBlocksRequest { limit };
        call!(self.inner.master, admin, list_unhealthy_blocks(request))
    }

    /// Safe mode: get, enter or leave.
    pub async fn safe_mode(&self, action: SafeModeAction) -> Result<SafeModeResponse> {
        let request = SafeModeRequest {
            action: action as i32,
        };
        call!(self.inner.master, admin, safe_mode(request))
    }

    /// Starts decommissioning a worker (by id, data address or host).
    pub async fn decommission(&self, worker: &str) -> Result<WorkerReport> {
        let request = DecommissionRequest {
            worker: worker.to_string(),
        };
        call!(self.inner.master, admin, decommission(request))?
            .worker
            .ok_or_else(|| Error::Protocol("decommission returned no worker".to_string()))
    }

    /// Returns a decommissioned worker to service.
    pub async fn recommission(&self, worker: &str) -> Result<WorkerReport> {
        let request = DecommissionRequest {
            worker: worker.to_string(),
        };
        call!(self.inner.master, admin, recommission(request))?
            .worker
            .ok_or_else(|| Error::Protocol("recommission returned no worker".to_string()))
    }

    /// Checks the health of every block beneath `path`; the summary comes last.
    pub async fn fsck(&self, path: &str) -> Result<(Vec<FsckFile>, FsckSummary)> {
        let request = FsckRequest {
            path: parse(path)?.to_string(),
        };
        let mut stream = call!(self.inner.master, admin, fsck(request))?;
        let mut files = Vec::new();
        let mut summary = None;
        loop {
            match stream.message().await {
                Ok(Some(message)) => {
                    files.extend(message.files);
                    if message.summary.is_some() {
                        summary = message.summary;
                    }
                }
                Ok(None) => break,
                Err(status) => return Err(self.inner.master.error(status)),
            }
        }
        let summary =
            summary.ok_or_else(|| Error::Protocol("fsck ended without a summary".to_string()))?;
        Ok((files, summary))
    }

    /// Writes a namespace snapshot on the master now.
    pub async fn checkpoint(&self) -> Result<u64> {
        Ok(call!(self.inner.master, admin, checkpoint(Empty {}))?.txid)
    }
}

/// A directory listing fetched one page at a time.
#[derive(Debug)]
pub struct Lister {
    fs: FileSystem,
    path: String,
    xattrs: Vec<String>,
    after: String,
    done: bool,
}

impl Lister {
    /// The next page, `None` when the listing is complete.
    pub async fn next_page(&mut self) -> Result<Option<Vec<FileStatus>>> {
        if self.done {
            return Ok(None);
        }
        let (entries, more) = (self.fs)
            .list_page_with_xattrs(&self.path, &self.after, 0, &self.xattrs)
            .await?;
        self.done = !more;
        if let Some(last) = entries.last() {
            self.after = last.path.rsplit('/').next().unwrap_or_default().to_string();
        }
        Ok(Some(entries))
    }

    /// Every entry.
    pub async fn collect(mut self) -> Result<Vec<FileStatus>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }
}

/// Whether a status is a directory.
pub fn is_directory(status: &FileStatus) -> bool {
    status.file_type == FileType::Directory as i32
}
