//! Writing a file: a replicated file through replica pipelines, an erasure-coded file as
//! stripes over the internal blocks of block groups. Closing waits until every block has its
//! minimum replicas (a group: its data-unit count of internal blocks) and the master has
//! closed the file.

mod pipeline;
mod replicated;
mod striped;

use crate::call;
use crate::filesystem::FsInner;
use replicated::ReplicatedWriter;
use std::sync::Arc;
use std::time::Duration;
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::rpc::CompleteRequest;
pub(crate) use striped::StripedWriter;

enum Layout {
    Replicated(ReplicatedWriter),
    Striped(StripedWriter),
}

/// A file open for writing. Call [`FileWriter::close`] to make it durable and visible; a writer
/// dropped without closing leaves the file to lease recovery.
pub struct FileWriter {
    fs: Arc<FsInner>,
    path: String,
    inode: u64,
    layout: Layout,
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl FileWriter {
    pub(crate) fn replicated(
        fs: Arc<FsInner>,
        path: String,
        inode: u64,
        writer: ReplicatedWriter,
    ) -> FileWriter {
        FileWriter {
            fs,
            path,
            inode,
            layout: Layout::Replicated(writer),
        }
    }

    pub(crate) fn striped(
        fs: Arc<FsInner>,
        path: String,
        inode: u64,
        writer: StripedWriter,
    ) -> FileWriter {
        FileWriter {
            fs,
            path,
            inode,
            layout: Layout::Striped(writer),
        }
    }

    /// A replicated writer for a newly created or reopened file.
    pub(crate) fn new_replicated(
        fs: Arc<FsInner>,
        path: String,
        inode: u64,
        block_size: u64,
        lease: crate::lease::LeaseGuard,
    ) -> ReplicatedWriter {
        ReplicatedWriter::new(fs, path, inode, block_size, lease)
    }

    /// The path being written.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file length so far: what it held when opened plus everything written.
    pub fn bytes_written(&self) -> u64 {
        match &self.layout {
            Layout::Replicated(w) => w.bytes_written(),
            Layout::Striped(w) => w.bytes_written(),
        }
    }

    /// Writes `data` (buffered into packets or stripes; returns once it is sent or queued).
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.layout {
            Layout::Replicated(w) => w.write(data).await,
            Layout::Striped(w) => w.write(data).await,
        }
    }

    /// HDFS's hflush: returns once everything written so far is on every worker of the
    /// pipeline and visible to readers who open the file from now on. Erasure-coded files
    /// cannot be flushed before they are closed.
    pub async fn hflush(&mut self) -> Result<()> {
        self.flush(false).await
    }

    /// HDFS's hsync: as [`FileWriter::hflush`], and every worker has synced it to disk.
    pub async fn hsync(&mut self) -> Result<()> {
        self.flush(true).await
    }

    async fn flush(&mut self, sync: bool) -> Result<()> {
        match &mut self.layout {
            Layout::Replicated(w) => w.flush(sync).await,
            Layout::Striped(_) => Err(Error::InvalidOperation {
                path: self.path.clone(),
                reason: "an erasure-coded file cannot be flushed before it is closed".to_string(),
            }),
        }
    }

    /// Sends what is buffered, finishes the last block and closes the file on the master.
    pub async fn close(self) -> Result<()> {
        let last = match self.layout {
            Layout::Replicated(w) => w.finish().await?,
            Layout::Striped(w) => w.finish().await?,
        };
        complete(&self.fs, &self.path, self.inode, last).await
    }
}

/// Closes a file on the master, waiting until its last block has enough finished replicas.
async fn complete(fs: &FsInner, path: &str, inode: u64, last: Option<ExtendedBlock>) -> Result<()> {
    let mut delay = Duration::from_millis(5);
    let deadline = tokio::time::Instant::now() + fs.config.socket_timeout;
    loop {
        let request = CompleteRequest {
            path: path.to_string(),
            inode_id: inode,
            client_name: fs.client_name.clone(),
            last: last.map(Into::into),
        };
        if call!(fs.master, client, complete(request))?.completed {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout(format!(
                "{path}: the last block did not reach its minimum replication"
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}
