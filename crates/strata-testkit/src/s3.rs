//! A real S3 server for tests: the `s3s-fs` crate's S3 implementation over a temporary
//! directory, served on a loopback port, with one key pair, counting the requests it answers
//! (so a test can tell whether a read reached the under storage).

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use strata_core::{Error, Result};
use tokio::task::JoinHandle;

/// The key pair the server accepts.
pub const ACCESS_KEY: &str = "strata-test";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "strata-test-secret";

/// A running S3 server; stopped when dropped.
pub struct S3Server {
    dir: tempfile::TempDir,
    endpoint: String,
    requests: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl S3Server {
    /// Starts a server on a free loopback port with the given buckets (empty directories).
    pub async fn start(buckets: &[&str]) -> Result<S3Server> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("creating a temp dir", e))?;
        for bucket in buckets {
            std::fs::create_dir_all(dir.path().join(bucket))
                .map_err(|e| Error::io(format!("creating bucket {bucket}"), e))?;
        }
        let fs = s3s_fs::FileSystem::new(dir.path())
            .map_err(|e| Error::Internal(format!("s3s-fs: {e:?}")))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::io("binding the S3 server", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::io("reading the S3 server's address", e))?;
        let requests = Arc::new(AtomicU64::new(0));
        let counted = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                let counted = counted.clone();
                let handler = service_fn(move |request| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    hyper::service::Service::call(&service, request)
                });
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), handler)
                        .await;
                });
            }
        });
        Ok(S3Server {
            dir,
            endpoint: format!("http://{address}"),
            requests,
            task,
        })
    }

    /// The server's URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The options a mount of this server needs (endpoint, region, keys).
    pub fn mount_options(&self) -> BTreeMap<String, String> {
        [
            ("endpoint", self.endpoint.as_str()),
            ("region", "us-east-1"),
            ("access_key_id", ACCESS_KEY),
            ("secret_access_key", SECRET_KEY),
            ("disable_config_load", "true"),
            ("disable_ec2_metadata", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Where object `key` of `bucket` is stored on disk (to change it behind a mount's back).
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.dir.path().join(bucket).join(key)
    }

    /// The directory holding every bucket.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
