//! What can go wrong between a snapshot directory and a store.

use std::io;
use std::path::PathBuf;

use snap::Sha256Digest;
use snap::snapshot::CreateError;

use super::layout::LayoutError;

/// Why a snapshot could not be pushed to or pulled from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The S3 client could not be set up from the environment.
    #[error(
        "cannot set up the S3 client for {store} (from AWS_ENDPOINT_URL, AWS_REGION and the credentials variables)"
    )]
    Client {
        /// The store.
        store: String,
        /// The cause.
        #[source]
        cause: Box<object_store::Error>,
    },
    /// A request to the store failed: it is down, refused the credentials,
    /// or answered with an error.
    #[error("{op} {key} in {store} failed{}", endpoint.as_ref().map(|e| format!(" (endpoint {e})")).unwrap_or_default())]
    Request {
        /// What was asked: GET, PUT, HEAD.
        op: &'static str,
        /// The object's key.
        key: String,
        /// The store.
        store: String,
        /// The endpoint asked, if not AWS's own.
        endpoint: Option<String>,
        /// The cause.
        #[source]
        cause: Box<object_store::Error>,
    },
    /// A request to the store did not finish by its deadline: the store
    /// accepted the connection and stalled, or is far too slow.
    #[error(
        "{op} {key} in {store} did not finish within {} s{}: the store stalled or is too slow",
        deadline.as_secs(),
        endpoint.as_ref().map(|e| format!(" (endpoint {e})")).unwrap_or_default()
    )]
    Deadline {
        /// What was asked: GET, PUT, HEAD.
        op: &'static str,
        /// The object's key.
        key: String,
        /// The store.
        store: String,
        /// The endpoint asked, if not AWS's own.
        endpoint: Option<String>,
        /// The deadline, [`super::REQUEST_DEADLINE`].
        deadline: std::time::Duration,
    },
    /// An object in the store is larger than anything it may hold can be;
    /// it was not read further.
    #[error(
        "{key} in {store} is over its bound of {bound} bytes ({what}); refused after receiving {received} bytes of it"
    )]
    TooLarge {
        /// The object's key.
        key: String,
        /// The store.
        store: String,
        /// The most it may hold.
        bound: u64,
        /// What it is, and why the bound.
        what: String,
        /// Bytes of it received before it was refused: 0 when its
        /// announced size was over the bound.
        received: u64,
    },
    /// The store's manifest for a snapshot cannot be used.
    #[error("{key} in {store} cannot be used")]
    BadManifest {
        /// The manifest's key.
        key: String,
        /// The store.
        store: String,
        /// What is wrong with it.
        #[source]
        cause: LayoutError,
    },
    /// A chunk the manifest lists is not in the store.
    #[error(
        "chunk {digest} of {file} is missing from {store}: the snapshot's upload is incomplete or the chunk was deleted"
    )]
    MissingChunk {
        /// The chunk.
        digest: Sha256Digest,
        /// The payload file it belongs to.
        file: String,
        /// The store.
        store: String,
    },
    /// A chunk came back with other bytes than its name says, twice.
    #[error(
        "chunk {digest} of {file} from {store} is corrupt: fetched twice, its bytes hash to {found} both times; refused"
    )]
    CorruptChunk {
        /// The chunk.
        digest: Sha256Digest,
        /// The payload file it belongs to.
        file: String,
        /// The store.
        store: String,
        /// What was wrong the second time.
        found: String,
    },
    /// The local chunk cache failed.
    #[error("chunk cache {}: cannot {op}", path.display())]
    Cache {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        cause: io::Error,
    },
    /// A local file could not be read or written.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        cause: io::Error,
    },
    /// The pulled snapshot could not be written into place.
    #[error("cannot put the pulled snapshot in place")]
    Write(#[source] CreateError),
    /// A background task died.
    #[error("a chunk transfer task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl StoreError {
    pub(crate) fn cache(op: &'static str, path: &std::path::Path, cause: io::Error) -> Self {
        Self::Cache {
            op,
            path: path.to_path_buf(),
            cause,
        }
    }

    /// Whether the store could not be reached at all (rather than answering
    /// with an error), so that what the cache holds is all there is.
    pub fn is_unreachable(&self) -> bool {
        let cause = match self {
            Self::Request { cause, .. } => cause,
            Self::Deadline { .. } => return true,
            _ => return false,
        };
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(cause.as_ref());
        while let Some(err) = source {
            if let Some(http) = err.downcast_ref::<object_store::client::HttpError>() {
                use object_store::client::HttpErrorKind;
                return matches!(http.kind(), HttpErrorKind::Connect | HttpErrorKind::Timeout);
            }
            source = err.source();
        }
        false
    }
}
