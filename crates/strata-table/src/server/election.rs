//! The active table master is chosen through a Strata lease, without ZooKeeper. The file
//! `<root>/master` is held open for writing by the active master: its client's lease keeps
//! it, and a line `active <address>` in it (hflushed, so readers of the open file see it)
//! tells region servers and clients where to go. A standby tries to append to the file; the
//! lease refuses it while the active master lives. When the active master stops answering,
//! the standby recovers the file's lease at once (fencing the old master: its next sync of the
//! file fails and it steps down), appends its own line and becomes active.

use crate::error::{Error, Result};
use std::time::Duration;
use strata_client::{CreateOptions, FileSystem, FileWriter};
use strata_core::Error as FsError;

/// The file's name under the root.
pub const MASTER_FILE: &str = "master";
/// Failed checks of the active master before a standby takes over.
const CHECKS_BEFORE_TAKEOVER: u32 = 3;

fn master_file(root: &str) -> String {
    format!("{root}/{MASTER_FILE}")
}

/// The active master's address, as the master file last says (`None` before any master).
pub async fn active_master(fs: &FileSystem, root: &str) -> Result<Option<String>> {
    let bytes = match fs.open(&master_file(root)).await {
        Ok(mut reader) => reader.read_to_end().await?,
        Err(FsError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("active "))
        .map(|a| a.trim().to_string()))
}

/// The active master's hold on the master file.
#[derive(Debug)]
pub struct Leadership {
    writer: FileWriter,
}

impl Leadership {
    /// Still active: the file is synced on every replica of its pipeline. An error means the
    /// lease was recovered by a standby and this master must step down.
    pub async fn confirm(&mut self) -> Result<()> {
        Ok(self.writer.hsync().await?)
    }
}

/// Becomes the active master at `address`, waiting as a standby while another is active;
/// `alive` tells whether the master at an address answers.
pub async fn campaign<F, Fut>(
    fs: &FileSystem,
    root: &str,
    address: &str,
    check_interval: Duration,
    alive: F,
) -> Result<Leadership>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let path = master_file(root);
    let mut failed_checks = 0;
    let mut announced_standby = false;
    loop {
        let opened = match fs
            .create(
                &path,
                CreateOptions {
                    create_parents: true,
                    ..Default::default()
                },
            )
            .await
        {
            Err(FsError::AlreadyExists { .. }) => fs.append(&path).await,
            other => other,
        };
        match opened {
            Ok(mut writer) => {
                writer
                    .write(format!("active {address}\n").as_bytes())
                    .await?;
                writer.hflush().await?;
                tracing::info!(%address, "this table master is active");
                return Ok(Leadership { writer });
            }
            Err(FsError::LeaseConflict { .. }) => {
                let active = active_master(fs, root).await?.unwrap_or_default();
                if !announced_standby {
                    tracing::info!(%address, %active, "standing by: another table master is active");
                    announced_standby = true;
                }
                if !active.is_empty() && active != address && alive(active.clone()).await {
                    failed_checks = 0;
                } else {
                    failed_checks += 1;
                }
                if failed_checks >= CHECKS_BEFORE_TAKEOVER {
                    tracing::warn!(%active, "the active table master does not answer; taking over");
                    let _ = fs.recover_lease(&path).await;
                    failed_checks = 0;
                }
            }
            Err(FsError::RecoveryInProgress { .. }) => {}
            Err(e) => return Err(Error::Fs(e)),
        }
        tokio::time::sleep(check_interval).await;
    }
}
