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
                retry_timeout: Duration::from_secs(15),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(3))
                    .with_timeout(Duration::from_secs(120)),
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

    /// The object at `key` under the prefix, or `None` if there is none.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let path = ObjectPath::from(self.url.key(key));
        let fetched = match self.client.get(&path).await {
            Ok(result) => result.bytes().await,
            Err(err) => Err(err),
        };
        match fetched {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(cause) => Err(self.request_error("GET", path.as_ref(), cause)),
        }
    }

    /// Whether the object at `key` under the prefix exists.
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let path = ObjectPath::from(self.url.key(key));
        match self.client.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(cause) => Err(self.request_error("HEAD", path.as_ref(), cause)),
        }
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
    }
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
