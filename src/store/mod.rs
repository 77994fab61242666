//! Snapshots in an S3-compatible object store: one machine makes a
//! snapshot and pushes it, any other pulls it instead of running init.
//! `docs/store.md` has the design and the figures.
//!
//! ```text
//! s3://BUCKET/PREFIX/
//! ├── chunks/SHA256                  a payload chunk (512 KiB), zstd-compressed,
//! │                                  named by the sha256 of its bytes
//! └── snapshots/KEY/
//!     ├── manifest.json              the snapshot: its manifest.snap and
//!     │                              manifest.sig, and each file's chunks;
//!     │                              written last, with If-None-Match
//!     └── working-set.json           the chunks a first invocation touched
//! ```
//!
//! KEY names what was snapshotted ([`snapshot_key`]): the engine, the
//! identity (bootstrap and its digest, arguments, configuration), the
//! architecture, and for the native engine the kernel release.

mod chunk_cache;
mod error;
mod layout;
mod pull;
mod push;
mod url;
pub mod working_set;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};
use snap::snapshot::{Host, HostRule, Identity};

pub use chunk_cache::{ChunkCache, Evicted};
pub use error::StoreError;
pub use layout::{CHUNK_SIZE, LayoutError, StoreManifest, StoredFile};
pub use pull::PullStats;
pub use push::{PushStats, Pushed};
pub use url::{BadStoreUrl, StoreUrl};

/// At most this many chunk transfers run at once.
const PARALLEL_TRANSFERS: usize = 16;

/// Every request to the store ends within this, its retries and the
/// reading of its body included: a store that accepts a connection and
/// then never answers, or answers a byte at a time, is given up on, and
/// `snaprun run` goes on to run init.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(15);

/// An object read from the store, or how much of it had arrived when it
/// proved larger than its bound.
#[derive(Debug)]
enum Body {
    Whole(Bytes),
    Over { received: u64 },
}

/// A store of snapshots, and this machine's cache of its chunks. Clones
/// share the client.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    url: StoreUrl,
    endpoint: Option<String>,
    client: Arc<dyn ObjectStore>,
    cache: ChunkCache,
    /// Advanced by the bytes of each chunk a push or pull is done with.
    progress: Option<indicatif::ProgressBar>,
}

/// What a conditional write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Put {
    Written,
    AlreadyThere,
}

impl SnapshotStore {
    /// The store at `url`, reached with the endpoint, region and
    /// credentials in the usual AWS variables (`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`), with `cache` for its chunks.
    pub fn connect(url: StoreUrl, cache: ChunkCache) -> Result<Self, StoreError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&url.bucket)
            // A store that is down is said so within seconds, not after
            // the client's default three minutes of retries.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_secs(1),
                    base: 2.0,
                },
                max_retries: 3,
                // No retry starts past the deadline; each request is also
                // cut at it whatever the client does (`within_deadline`).
                retry_timeout: REQUEST_DEADLINE,
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(3))
                    // Past the deadline, so that the deadline, one clear
                    // error, is what ends a stalled request.
                    .with_timeout(REQUEST_DEADLINE + Duration::from_secs(5)),
            );
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .filter(|e| !e.is_empty());
        if endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
        {
            builder = builder.with_allow_http(true);
        }
        let client = builder.build().map_err(|cause| StoreError::Client {
            store: url.to_string(),
            cause: Box::new(cause),
        })?;
        Ok(Self {
            url,
            endpoint,
            client: Arc::new(client),
            cache,
            progress: None,
        })
    }

    /// Shows pushes' and pulls' progress on `bar`, in bytes of chunks.
    pub fn with_progress(mut self, bar: indicatif::ProgressBar) -> Self {
        self.progress = Some(bar);
        self
    }

    /// Takes the progress bar off the terminal, if there is one.
    pub fn clear_progress(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }

    /// Sets the progress bar's total, if there is one.
    fn progress_total(&self, bytes: u64) {
        if let Some(bar) = &self.progress {
            bar.set_length(bytes);
        }
    }

    /// Advances the progress bar, if there is one.
    fn progress(&self, bytes: u64) {
        if let Some(bar) = &self.progress {
            bar.inc(bytes);
        }
    }

    /// The store's address.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// This machine's chunk cache.
    pub fn cache(&self) -> &ChunkCache {
        &self.cache
    }

    fn request_error(&self, op: &'static str, key: &str, cause: object_store::Error) -> StoreError {
        StoreError::Request {
            op,
            key: key.to_owned(),
            store: self.url.to_string(),
            endpoint: self.endpoint.clone(),
            cause: Box::new(cause),
        }
    }

    /// Runs `request`, op `op` on the object at `path`, failing it with
    /// [`StoreError::Deadline`] if it has not finished by
    /// [`REQUEST_DEADLINE`].
    async fn within_deadline<T>(
        &self,
        op: &'static str,
        path: &ObjectPath,
        request: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(REQUEST_DEADLINE, request).await {
            Ok(done) => done,
            Err(_elapsed) => Err(StoreError::Deadline {
                op,
                key: path.to_string(),
                store: self.url.to_string(),
                endpoint: self.endpoint.clone(),
                deadline: REQUEST_DEADLINE,
            }),
        }
    }

    /// The object at `key` under the prefix, or `None` if there is none.
    /// It may be at most `bound` bytes (`what` says what it is, and so why,
    /// in the error): a larger one is refused as soon as its size is
    /// announced or, if the store understates it, as soon as more than
    /// `bound` bytes have arrived; no more is read.
    async fn get(&self, key: &str, bound: u64, what: &str) -> Result<Option<Bytes>, StoreError> {
        let path = ObjectPath::from(self.url.key(key));
        let got = self.within_deadline("GET", &path, async {
            let result = match self.client.get(&path).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(cause) => return Err(self.request_error("GET", path.as_ref(), cause)),
            };
            if result.meta.size > bound {
                return Ok(Some(Body::Over { received: 0 }));
            }
            read_bounded(result.into_stream(), bound)
                .await
                .map(Some)
                .map_err(|cause| self.request_error("GET", path.as_ref(), cause))
        });
        match got.await? {
            None => Ok(None),
            Some(Body::Whole(bytes)) => Ok(Some(bytes)),
            Some(Body::Over { received }) => Err(StoreError::TooLarge {
                key: path.to_string(),
                store: self.url.to_string(),
                bound,
                what: what.to_owned(),
                received,
            }),
        }
    }

    /// The store manifest at `key` under the prefix, or `None`: at most
    /// [`layout::MAX_MANIFEST_BYTES`].
    async fn get_manifest(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.get(
            key,
            layout::MAX_MANIFEST_BYTES as u64,
            "the most a store manifest may be",
        )
        .await
    }

    /// Whether the object at `key` under the prefix exists.
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let path = ObjectPath::from(self.url.key(key));
        self.within_deadline("HEAD", &path, async {
            match self.client.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(cause) => Err(self.request_error("HEAD", path.as_ref(), cause)),
            }
        })
        .await
    }

    /// Writes `bytes` at `key` under the prefix; with `only_new`, only if
    /// nothing is there yet (If-None-Match: *).
    async fn put(&self, key: &str, bytes: Vec<u8>, only_new: bool) -> Result<Put, StoreError> {
        let path = ObjectPath::from(self.url.key(key));
        let mode = if only_new {
            PutMode::Create
        } else {
            PutMode::Overwrite
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.within_deadline("PUT", &path, async {
            match self
                .client
                .put_opts(&path, PutPayload::from(bytes), options)
                .await
            {
                Ok(_) => Ok(Put::Written),
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) if only_new => Ok(Put::AlreadyThere),
                Err(cause) => Err(self.request_error("PUT", path.as_ref(), cause)),
            }
        })
        .await
    }
}

/// Reads `body` to its end, or only until more than `bound` bytes have
/// arrived: what is read is never more than `bound` plus one piece.
async fn read_bounded<S>(mut body: S, bound: u64) -> Result<Body, object_store::Error>
where
    S: futures_core::Stream<Item = Result<Bytes, object_store::Error>> + Unpin,
{
    let mut whole = Vec::new();
    let mut received = 0u64;
    while let Some(piece) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
        let piece = piece?;
        received += piece.len() as u64;
        if received > bound {
            return Ok(Body::Over { received });
        }
        whole.extend_from_slice(&piece);
    }
    Ok(Body::Whole(whole.into()))
}

/// The name a store gives the snapshot of `identity` by `engine`, taken on
/// `host` and allowed to travel as far as `rule` says: equal exactly when
/// one may serve for the other.
pub fn snapshot_key(engine: &str, identity: &Identity, rule: HostRule, host: &Host) -> String {
    let arch = match rule {
        HostRule::Any => "any",
        _ => host.arch.as_str(),
    };
    let kernel = match rule {
        HostRule::SameKernel => host.kernel_release.as_str(),
        _ => "any",
    };
    let named = format!("{engine}\n{}\n{arch}\n{kernel}", identity.digest());
    snap::Sha256Digest::of(named.as_bytes()).to_string()
}

/// Where snapshot `key`'s objects are, under the store's prefix.
fn snapshot_dir(key: &str) -> String {
    format!("snapshots/{key}")
}

fn manifest_key(key: &str) -> String {
    format!("{}/manifest.json", snapshot_dir(key))
}

fn working_set_key(key: &str) -> String {
    format!("{}/working-set.json", snapshot_dir(key))
}

fn chunk_key(digest: &snap::Sha256Digest) -> String {
    format!("chunks/{digest}")
}

/// `bytes` in MiB, to one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / f64::from(1 << 20))
}

/// The key of the snapshot whose manifest this is, as [`snapshot_key`]
/// names it on the machine that made it.
pub fn key_of(manifest: &snap::snapshot::Manifest) -> String {
    let rule = snap::engine::host_rule(&manifest.engine);
    snapshot_key(&manifest.engine, &manifest.identity, rule, &manifest.host)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::task::{Context, Poll};

    /// A body that arrives in `pieces` of `size` bytes, and counts how many
    /// were taken from it.
    struct Pieces {
        left: usize,
        size: usize,
        taken: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl futures_core::Stream for Pieces {
        type Item = Result<Bytes, object_store::Error>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            self.left -= 1;
            self.taken
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Poll::Ready(Some(Ok(Bytes::from(vec![7u8; self.size]))))
        }
    }

    fn body(pieces: usize, size: usize) -> (Pieces, Arc<std::sync::atomic::AtomicUsize>) {
        let taken = Arc::default();
        let body = Pieces {
            left: pieces,
            size,
            taken: Arc::clone(&taken),
        };
        (body, taken)
    }

    #[tokio::test]
    async fn a_body_up_to_its_bound_is_read_whole() {
        let (pieces, _) = body(4, 1000);
        match read_bounded(pieces, 4000).await.unwrap() {
            Body::Whole(bytes) => assert_eq!(bytes.len(), 4000),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_past_its_bound_stops_being_read_at_the_first_piece_over_it() {
        // A store that says nothing of the size, and sends 200 MiB.
        let (pieces, taken) = body(200 * 1024, 1024);
        match read_bounded(pieces, 10_000).await.unwrap() {
            Body::Over { received } => assert_eq!(received, 10 * 1024),
            other => panic!("{other:?}"),
        }
        assert_eq!(taken.load(std::sync::atomic::Ordering::Relaxed), 10);
    }
}
