//! Serving the S3 face over HTTP: the `s3s` service (request parsing, SigV4/SigV2 checks,
//! XML) on hyper, one task per connection.

use crate::s3::S3Gateway;
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use strata_client::FileSystem;
use strata_core::config::GatewayConfig;
use strata_core::{Error, Result};
use tokio::task::JoinHandle;

/// Lets unsigned requests through (`s3_anonymous = true`); signed ones are still checked.
struct AnonymousAllowed;

#[async_trait::async_trait]
impl S3Access for AnonymousAllowed {
    async fn check(&self, _cx: &mut S3AccessContext<'_>) -> s3s::S3Result<()> {
        Ok(())
    }
}

/// A running S3 endpoint; it stops accepting connections when dropped.
#[derive(Debug)]
pub struct S3Endpoint {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl S3Endpoint {
    /// Serves the S3 API over `fs` on `config.s3_listen`, accepting requests signed with one
    /// of `config.s3_keys` (and unsigned ones with `config.s3_anonymous`).
    pub async fn start(config: &GatewayConfig, fs: FileSystem) -> Result<S3Endpoint> {
        if config.s3_keys.is_empty() && !config.s3_anonymous {
            return Err(Error::InvalidArgument(
                "[gateway] has no s3_keys and s3_anonymous is off: no request could be served"
                    .to_string(),
            ));
        }
        let mut auth = SimpleAuth::new();
        for key in &config.s3_keys {
            auth.register(key.access_key.clone(), key.secret_key.clone().into());
        }
        let mut builder = S3ServiceBuilder::new(S3Gateway::new(fs));
        builder.set_auth(auth);
        if config.s3_anonymous {
            builder.set_access(AnonymousAllowed);
        }
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind(&config.s3_listen)
            .await
            .map_err(|e| {
                Error::io(
                    format!("binding the S3 endpoint to {}", config.s3_listen),
                    e,
                )
            })?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::io("reading the S3 endpoint's address", e))?;
        let task = tokio::spawn(async move {
            loop {
                let socket = match listener.accept().await {
                    Ok((socket, _)) => socket,
                    Err(e) => {
                        // Out of file descriptors, most likely: wait rather than spin.
                        tracing::warn!(error = %e, "accepting an S3 connection");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                let service = service.clone();
                tokio::spawn(async move {
                    let handler =
                        service_fn(move |request: hyper::Request<Incoming>| {
                            let carries_body = !request.body().is_end_stream();
                            let empty_expecting_continue =
                                !carries_body
                                    && request.headers().get(hyper::header::EXPECT).is_some_and(
                                        |v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"),
                                    );
                            let response = hyper::service::Service::call(&service, request);
                            async move {
                                let mut response = response.await?;
                                if (carries_body && !response.status().is_success())
                                    || empty_expecting_continue
                                {
                                    close_after(&mut response);
                                }
                                Ok::<_, s3s::HttpError>(response)
                            }
                        });
                    if let Err(e) = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), handler)
                        .await
                    {
                        tracing::debug!(error = %e, "an S3 connection ended");
                    }
                });
            }
        });
        tracing::info!(%address, keys = config.s3_keys.len(), anonymous = config.s3_anonymous, "S3 endpoint up");
        Ok(S3Endpoint { address, task })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its URL, e.g. `http://127.0.0.1:9878`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for S3Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Marks a response so the connection closes after it. An error answered before the request's
/// body was read (a bad key, a missing bucket) leaves that body unread; a client that sent
/// `Expect: 100-continue` sends it anyway after a while, and on a kept-alive connection those
/// bytes would be read as the next request. And an empty body sent with `Expect:
/// 100-continue` gets its final answer with no `100 Continue` before it, after which botocore
/// waits out its read timeout (60 s) on the connection's next request.
fn close_after(response: &mut s3s::HttpResponse) {
    response.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
}
