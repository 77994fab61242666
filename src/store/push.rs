//! Pushing a snapshot directory into a store: its files cut into chunks,
//! each uploaded once, then its manifest as the commit.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use snap::Sha256Digest;
use snap::snapshot::{MANIFEST_FILE, PAYLOAD_DIR, SIGNATURE_FILE, Snapshot};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::layout::{CHUNK_SIZE, StoreManifest, StoredFile, lay_out, pieces};
use super::{PARALLEL_TRANSFERS, Put, SnapshotStore, StoreError};

/// zstd's default level: about as fast to write as to read back.
const ZSTD_LEVEL: i32 = 3;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Whether its manifest was written, or one was there already (another
    /// machine's, for the same identity), which was kept.
    pub committed: bool,
    /// The transfer's figures.
    pub stats: PushStats,
}

/// A push's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Bytes in the snapshot's payload files.
    pub bytes: u64,
    /// Chunks they make.
    pub chunks: u64,
    /// Of those, chunks of zeros: recorded, not stored.
    pub zero_chunks: u64,
    /// Distinct non-zero chunks the store did not hold, uploaded.
    pub uploaded: u64,
    /// Their bytes before compression.
    pub uploaded_bytes: u64,
    /// Their bytes as stored (zstd).
    pub stored_bytes: u64,
    /// Distinct non-zero chunks the store held already, not uploaded.
    pub already_stored: u64,
}

impl PushStats {
    /// One line for people: what was uploaded, of how much.
    pub fn summary(&self) -> String {
        format!(
            "{} of {} chunks uploaded ({} MiB, {} MiB compressed), {} already stored, {} all zeros; {} MiB in all",
            self.uploaded,
            self.chunks,
            super::mib(self.uploaded_bytes),
            super::mib(self.stored_bytes),
            self.already_stored,
            self.zero_chunks,
            super::mib(self.bytes),
        )
    }
}

/// Where one distinct chunk can be read from: chunk `index` of the image
/// of `files` in `payload`.
#[derive(Debug, Clone)]
struct Source {
    digest: Sha256Digest,
    index: usize,
    len: u64,
    payload: Arc<PathBuf>,
    files: Arc<Vec<StoredFile>>,
}

impl SnapshotStore {
    /// Pushes `snapshot` as `key`: every chunk the store lacks, then the
    /// manifest, written only if the store has none for `key` unless
    /// `replace`. When another machine committed first, its snapshot is
    /// kept and `committed` is false.
    pub async fn push(
        &self,
        snapshot: &Snapshot,
        key: &str,
        replace: bool,
    ) -> Result<Pushed, StoreError> {
        let dir = snapshot.dir().to_path_buf();
        let listed: Vec<(String, u64)> = snapshot
            .manifest()
            .files
            .iter()
            .map(|f| (f.path.clone(), f.size))
            .collect();
        let Cut {
            files,
            chunks,
            sources,
            mut stats,
        } = tokio::task::spawn_blocking(move || cut(&dir, &listed))
            .await
            .map_err(StoreError::Task)??;

        self.progress_total(sources.iter().map(|source| source.len).sum());
        let permits = Arc::new(Semaphore::new(PARALLEL_TRANSFERS));
        let mut tasks = JoinSet::new();
        for source in sources {
            let permits = Arc::clone(&permits);
            let store = self.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                store.upload(source).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done.map_err(StoreError::Task)?? {
                Some((raw, stored)) => {
                    stats.uploaded += 1;
                    stats.uploaded_bytes += raw;
                    stats.stored_bytes += stored;
                }
                None => stats.already_stored += 1,
            }
        }

        let dir = snapshot.dir();
        let manifest_path = dir.join(MANIFEST_FILE);
        let manifest = std::fs::read(&manifest_path).map_err(|cause| StoreError::Io {
            op: "read",
            path: manifest_path,
            cause,
        })?;
        let signature_path = dir.join(SIGNATURE_FILE);
        let signature = match std::fs::read(&signature_path) {
            Ok(sig) => Some(sig),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(cause) => {
                return Err(StoreError::Io {
                    op: "read",
                    path: signature_path,
                    cause,
                });
            }
        };
        let listing = StoreManifest::new(&manifest, signature.as_deref(), files, chunks);
        let body = serde_json::to_vec(&listing).unwrap_or_default();
        let committed = self.put(&super::manifest_key(key), body, !replace).await? == Put::Written;
        Ok(Pushed { committed, stats })
    }

    /// Uploads one chunk unless the store has it: its raw and stored sizes,
    /// or `None` if it was there.
    async fn upload(&self, source: Source) -> Result<Option<(u64, u64)>, StoreError> {
        let key = super::chunk_key(&source.digest);
        if self.exists(&key).await? {
            self.progress(source.len);
            return Ok(None);
        }
        let raw = source.len;
        let compressed = tokio::task::spawn_blocking(move || {
            let chunk = read_chunk(&source.payload, &source.files, source.index, source.len)?;
            zstd::bulk::compress(&chunk, ZSTD_LEVEL).map_err(|cause| StoreError::Io {
                op: "compress a chunk of",
                path: source.payload.to_path_buf(),
                cause,
            })
        })
        .await
        .map_err(StoreError::Task)??;
        let stored = compressed.len() as u64;
        // Content-addressed: writing a chunk another push wrote meanwhile
        // writes the same bytes.
        self.put(&key, compressed, false).await?;
        self.progress(raw);
        Ok(Some((raw, stored)))
    }
}

/// Lays the listed payload files out in an image and cuts it into chunks:
/// the files' places, each chunk's digest (`None` for zeros), one source
/// for each distinct non-zero chunk, and the counts.
fn cut(dir: &Path, listed: &[(String, u64)]) -> Result<Cut, StoreError> {
    let payload = Arc::new(dir.join(PAYLOAD_DIR));
    let (files, len) = lay_out(listed);
    let files = Arc::new(files);
    let mut stats = PushStats {
        bytes: listed.iter().map(|(_, size)| size).sum(),
        ..PushStats::default()
    };
    let mut chunks = Vec::new();
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for index in 0..len.div_ceil(CHUNK_SIZE) as usize {
        let chunk_len = CHUNK_SIZE.min(len - index as u64 * CHUNK_SIZE);
        let chunk = read_chunk(&payload, &files, index, chunk_len)?;
        stats.chunks += 1;
        if chunk.iter().all(|&b| b == 0) {
            stats.zero_chunks += 1;
            chunks.push(None);
            continue;
        }
        let digest = Sha256Digest::of(&chunk);
        if seen.insert(digest) {
            sources.push(Source {
                digest,
                index,
                len: chunk_len,
                payload: Arc::clone(&payload),
                files: Arc::clone(&files),
            });
        }
        chunks.push(Some(digest.to_string()));
    }
    Ok(Cut {
        files: files.to_vec(),
        chunks,
        sources,
        stats,
    })
}

/// What [`cut`] found.
#[derive(Debug)]
struct Cut {
    files: Vec<StoredFile>,
    chunks: Vec<Option<String>>,
    sources: Vec<Source>,
    stats: PushStats,
}

/// Chunk `index` (`len` bytes) of the image of `files` in `payload`.
fn read_chunk(
    payload: &Path,
    files: &[StoredFile],
    index: usize,
    len: u64,
) -> Result<Vec<u8>, StoreError> {
    let mut chunk = vec![0u8; len as usize];
    for piece in pieces(files, CHUNK_SIZE, index, len) {
        let path = payload.join(&files[piece.file].path);
        let start = piece.chunk_offset as usize;
        File::open(&path)
            .and_then(|file| {
                file.read_exact_at(
                    &mut chunk[start..start + piece.len as usize],
                    piece.file_offset,
                )
            })
            .map_err(|cause| StoreError::Io {
                op: "read",
                path,
                cause,
            })?;
    }
    Ok(chunk)
}
