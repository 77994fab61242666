//! Pulling a snapshot from a store into a snapshot directory, through the
//! chunk cache: the working set's chunks first, then the rest, each
//! verified before it is cached or written.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use snap::Sha256Digest;
use snap::Snapshot;
use snap::snapshot::SnapshotWriter;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::layout::StoreManifest;
use super::working_set::WorkingSet;
use super::{PARALLEL_TRANSFERS, SnapshotStore, StoreError};

/// A pull's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullStats {
    /// Bytes in the snapshot's payload files.
    pub bytes: u64,
    /// Chunks they make.
    pub chunks: u64,
    /// Of those, chunks of zeros, written as holes.
    pub zero_chunks: u64,
    /// Distinct non-zero chunks found in the cache.
    pub from_cache: u64,
    /// Distinct non-zero chunks fetched from the store.
    pub fetched: u64,
    /// Bytes fetched from the store (compressed, as stored).
    pub fetched_bytes: u64,
    /// Chunks of the recorded working set, fetched or found first.
    pub working_set: u64,
    /// Whether the store was unreachable and the cached manifest served.
    pub offline: bool,
}

impl PullStats {
    /// One line for people: what was fetched, of how much.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} chunks: {} fetched ({} MiB), {} from the cache, {} all zeros; {} MiB in all",
            self.chunks,
            self.fetched,
            super::mib(self.fetched_bytes),
            self.from_cache,
            self.zero_chunks,
            super::mib(self.bytes),
        );
        if self.working_set > 0 {
            line.push_str(&format!("; the working set's {} first", self.working_set));
        }
        if self.offline {
            line.push_str("; the store was unreachable, and the cache served");
        }
        line
    }
}

/// One distinct chunk to place, and where it goes.
#[derive(Debug)]
struct Wanted {
    digest: Sha256Digest,
    len: u64,
    /// The image's chunks that hold these bytes.
    places: Vec<usize>,
}

/// What the tasks share: the open payload files and the counters.
#[derive(Debug)]
struct Assembly {
    manifest: StoreManifest,
    files: Vec<File>,
    from_cache: AtomicU64,
    fetched: AtomicU64,
    fetched_bytes: AtomicU64,
}

impl Assembly {
    /// The first payload file chunk `index` holds a piece of, to name the
    /// chunk by in messages.
    fn file_of(&self, index: usize) -> String {
        self.manifest
            .pieces(index)
            .first()
            .map(|piece| self.manifest.files[piece.file].path.clone())
            .unwrap_or_default()
    }

    /// Writes `bytes`, the contents of each of the image's chunks `places`,
    /// into the payload files they hold pieces of.
    fn write(&self, places: &[usize], bytes: &[u8]) -> Result<(), StoreError> {
        for &index in places {
            for piece in self.manifest.pieces(index) {
                let start = piece.chunk_offset as usize;
                self.files[piece.file]
                    .write_all_at(&bytes[start..start + piece.len as usize], piece.file_offset)
                    .map_err(|cause| StoreError::Io {
                        op: "write",
                        path: self.manifest.files[piece.file].path.clone().into(),
                        cause,
                    })?;
            }
        }
        Ok(())
    }
}

impl SnapshotStore {
    /// Pulls snapshot `key` into `dir`, replacing what is there (an older
    /// snapshot, or nothing), and returns it with the figures; `None` if
    /// the store has no snapshot `key`. It is checked as
    /// [`snap::Snapshot::open`] checks a snapshot (the signature under the
    /// configured key, every file against the manifest's checksums) before
    /// it replaces anything; check what it must be with
    /// [`snap::Snapshot::require`].
    ///
    /// If the store cannot be reached, the manifest last seen for `key` and
    /// the chunks the cache holds serve, when they are enough.
    pub async fn pull(
        &self,
        key: &str,
        dir: &Path,
    ) -> Result<Option<(Snapshot, PullStats)>, StoreError> {
        let manifest_key = super::manifest_key(key);
        let cached_manifest = self.cache.manifest_path(key);
        let mut offline = false;
        // The working set is asked for alongside: one round trip, not two.
        let (fetched, working_set) =
            tokio::join!(self.get_manifest(&manifest_key), self.working_set(key));
        let bytes = match fetched {
            Ok(Some(bytes)) => {
                // Kept for when the store is down; losing it costs nothing.
                let _ = fs::write(&cached_manifest, &bytes);
                bytes.to_vec()
            }
            Ok(None) => return Ok(None),
            Err(err) if err.is_unreachable() => match read_cached_manifest(&cached_manifest) {
                Ok(bytes) => {
                    tracing::warn!(
                        "{}; restoring from the manifest and chunks cached here",
                        snap::chain(&err)
                    );
                    offline = true;
                    bytes
                }
                Err(_) => return Err(err),
            },
            Err(err) => return Err(err),
        };
        let bad = |cause| StoreError::BadManifest {
            key: self.url.key(&manifest_key),
            store: self.url.to_string(),
            cause,
        };
        let manifest = StoreManifest::parse(&bytes).map_err(bad)?;
        // Refused here, before anything is fetched or written, rather than
        // when the pulled snapshot is opened.
        let named = format!("{}/{}", self.url, super::snapshot_dir(key));
        let carried = manifest.carried(Path::new(&named)).map_err(bad)?;

        let mut stats = PullStats {
            offline,
            ..PullStats::default()
        };
        let wanted = plan(&manifest, &working_set, &mut stats);
        self.progress_total(wanted.iter().map(|w| w.len).sum());
        stats.bytes = manifest.files.iter().map(|f| f.size).sum();

        let writer = {
            let dir = dir.to_path_buf();
            tokio::task::spawn_blocking(move || SnapshotWriter::create(&dir))
                .await
                .map_err(StoreError::Task)?
                .map_err(StoreError::Write)?
        };
        let payload = writer.payload_dir();
        let mut files = Vec::new();
        for file in &manifest.files {
            files.push(create_sparse(&payload, &file.path, file.size)?);
        }
        let assembly = Arc::new(Assembly {
            manifest,
            files,
            from_cache: AtomicU64::new(0),
            fetched: AtomicU64::new(0),
            fetched_bytes: AtomicU64::new(0),
        });

        // The working set was put first; tasks start in order, so its
        // chunks are asked for first.
        let permits = Arc::new(Semaphore::new(PARALLEL_TRANSFERS));
        let mut tasks = JoinSet::new();
        for chunk in wanted {
            let permits = Arc::clone(&permits);
            let store = self.clone();
            let assembly = Arc::clone(&assembly);
            let permit = permits.acquire_owned().await;
            tasks.spawn(async move {
                let _permit = permit;
                store.place(chunk, assembly).await
            });
            while let Some(done) = tasks.try_join_next() {
                done.map_err(StoreError::Task)??;
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(StoreError::Task)??;
        }
        stats.from_cache = assembly.from_cache.load(Ordering::Relaxed);
        stats.fetched = assembly.fetched.load(Ordering::Relaxed);
        stats.fetched_bytes = assembly.fetched_bytes.load(Ordering::Relaxed);
        drop(assembly);
        let cache = self.cache.clone();
        let snapshot = tokio::task::spawn_blocking(move || {
            let committed = writer.commit_received(&carried.manifest, carried.signature.as_deref());
            if let Err(err) = cache.evict() {
                tracing::warn!(%err, dir = %cache.dir().display(), "cannot evict from the chunk cache");
            }
            committed
        })
        .await
        .map_err(StoreError::Task)?
        .map_err(StoreError::Write)?;
        Ok(Some((snapshot, stats)))
    }

    /// Gets one chunk, from the cache or else the store, and writes it to
    /// each of its places.
    async fn place(&self, chunk: Wanted, assembly: Arc<Assembly>) -> Result<(), StoreError> {
        let bytes = match self.cached(&chunk).await? {
            Some(bytes) => {
                assembly.from_cache.fetch_add(1, Ordering::Relaxed);
                bytes
            }
            None => {
                // One process fetches a chunk at a time; the others wait,
                // then find it cached.
                let lock = {
                    let cache = self.cache.clone();
                    let digest = chunk.digest;
                    tokio::task::spawn_blocking(move || cache.lock_fetch(&digest))
                        .await
                        .map_err(StoreError::Task)?
                        .map_err(|e| StoreError::cache("lock", self.cache.dir(), e))?
                };
                if let Some(bytes) = self.cached(&chunk).await? {
                    assembly.from_cache.fetch_add(1, Ordering::Relaxed);
                    bytes
                } else {
                    let file = assembly.file_of(chunk.places[0]);
                    let (bytes, stored) = self.fetch(&chunk, &file).await?;
                    assembly.fetched.fetch_add(1, Ordering::Relaxed);
                    assembly.fetched_bytes.fetch_add(stored, Ordering::Relaxed);
                    let cache = self.cache.clone();
                    let digest = chunk.digest;
                    tokio::task::spawn_blocking(move || {
                        let inserted = cache.insert(&digest, &bytes);
                        drop(lock);
                        inserted
                            .map(|()| bytes)
                            .map_err(|e| StoreError::cache("write", cache.dir(), e))
                    })
                    .await
                    .map_err(StoreError::Task)??
                }
            }
        };
        self.progress(chunk.len);
        tokio::task::spawn_blocking(move || assembly.write(&chunk.places, &bytes))
            .await
            .map_err(StoreError::Task)?
    }

    /// The chunk's bytes from the cache, checked again; a cached copy that
    /// no longer matches is dropped.
    async fn cached(&self, chunk: &Wanted) -> Result<Option<Vec<u8>>, StoreError> {
        let cache = self.cache.clone();
        let (digest, len) = (chunk.digest, chunk.len);
        tokio::task::spawn_blocking(move || {
            let Some(mut file) = cache
                .open_chunk(&digest)
                .map_err(|e| StoreError::cache("open", cache.dir(), e))?
            else {
                return Ok(None);
            };
            let mut bytes = Vec::with_capacity(len as usize);
            // One byte more than the chunk tells a longer file.
            (&mut file)
                .take(len + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| StoreError::cache("read", cache.dir(), e))?;
            if bytes.len() as u64 == len && Sha256Digest::of(&bytes) == digest {
                Ok(Some(bytes))
            } else {
                tracing::warn!(%digest, "a cached chunk does not match its name; fetching it again");
                let _ = fs::remove_file(cache.dir().join(digest.to_string()));
                Ok(None)
            }
        })
        .await
        .map_err(StoreError::Task)?
    }

    /// Fetches one chunk from the store and checks it: its bytes and their
    /// size as stored. A chunk that does not match is fetched once more,
    /// then refused.
    async fn fetch(&self, chunk: &Wanted, file: &str) -> Result<(Vec<u8>, u64), StoreError> {
        let key = super::chunk_key(&chunk.digest);
        let mut found = String::new();
        for _attempt in 0..2 {
            // Its compressed size at worst: zstd's bound for its length.
            let bound = zstd::zstd_safe::compress_bound(chunk.len as usize) as u64;
            let what = format!("the most a chunk of {} bytes takes compressed", chunk.len);
            let Some(stored) = self.get(&key, bound, &what).await? else {
                return Err(StoreError::MissingChunk {
                    digest: chunk.digest,
                    file: file.to_owned(),
                    store: self.url.to_string(),
                });
            };
            let len = chunk.len;
            let digest = chunk.digest;
            let checked = tokio::task::spawn_blocking(move || {
                // Never more than the chunk's own length is decompressed.
                match zstd::bulk::decompress(&stored, len as usize) {
                    Ok(bytes) if bytes.len() as u64 == len => {
                        let got = Sha256Digest::of(&bytes);
                        if got == digest {
                            Ok((bytes, stored.len() as u64))
                        } else {
                            Err(format!("its bytes hash to {got}"))
                        }
                    }
                    Ok(bytes) => Err(format!(
                        "it decompresses to {} bytes, not {len}",
                        bytes.len()
                    )),
                    Err(err) => Err(format!("it does not decompress ({err})")),
                }
            })
            .await
            .map_err(StoreError::Task)?;
            match checked {
                Ok(good) => return Ok(good),
                Err(what) => {
                    tracing::warn!(%key, "chunk does not match its name ({what}); fetching it again");
                    found = what;
                }
            }
        }
        Err(StoreError::CorruptChunk {
            digest: chunk.digest,
            file: file.to_owned(),
            store: self.url.to_string(),
            found,
        })
    }
}

/// The distinct non-zero chunks to get, the working set's first, and the
/// counts of all and of zeros.
fn plan(manifest: &StoreManifest, working_set: &WorkingSet, stats: &mut PullStats) -> Vec<Wanted> {
    let mut index: HashMap<Sha256Digest, usize> = HashMap::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    for n in 0..manifest.chunks.len() {
        stats.chunks += 1;
        let Some(digest) = manifest.digest(n) else {
            stats.zero_chunks += 1;
            continue;
        };
        match index.get(&digest) {
            Some(&at) => wanted[at].places.push(n),
            None => {
                index.insert(digest, wanted.len());
                wanted.push(Wanted {
                    digest,
                    len: manifest.chunk_len(n),
                    places: vec![n],
                });
            }
        }
    }
    // Stable: within each group, image order.
    wanted.sort_by_key(|w| !working_set.contains(&w.digest));
    stats.working_set = wanted
        .iter()
        .filter(|w| working_set.contains(&w.digest))
        .count() as u64;
    wanted
}

/// The manifest cached at `path`, read up to one byte past the bound
/// that parsing it then checks.
fn read_cached_manifest(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(super::layout::MAX_MANIFEST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Creates payload file `rel` under `payload` (and its directories,
/// owner-only), `size` bytes long and all holes until chunks are written.
fn create_sparse(payload: &Path, rel: &str, size: u64) -> Result<File, StoreError> {
    let path = payload.join(rel);
    if let Some(parent) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|cause| StoreError::Io {
                op: "write",
                path: parent.to_path_buf(),
                cause,
            })?;
    }
    OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .and_then(|file| file.set_len(size).map(|()| file))
        .map_err(|cause| StoreError::Io {
            op: "write",
            path,
            cause,
        })
}
