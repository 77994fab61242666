//! The machine's chunk cache: verified payload chunks, one file each named
//! by its sha256, kept within a byte budget by evicting the least recently
//! used.
//!
//! ```text
//! CACHE/
//! ├── SHA256              a chunk's bytes (never written in place)
//! ├── .locks/SHA256       held while one process fetches that chunk
//! └── manifests/KEY.json  the last store manifest seen for a snapshot
//! ```
//!
//! Instances never map cache files: a pulled snapshot is assembled into a
//! snapshot directory of its own, which engines restore from. So eviction
//! can never take a page from under a running instance, and a chunk that a
//! pull has opened stays readable even if it is evicted meanwhile.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use nix::fcntl::{Flock, FlockArg};
use snap::Sha256Digest;

const LOCKS: &str = ".locks";
const MANIFESTS: &str = "manifests";
/// A chunk being written: `.tmp-SHA256-PID`.
const TEMP: &str = ".tmp-";

/// The chunk cache in one directory.
#[derive(Debug, Clone)]
pub struct ChunkCache {
    dir: PathBuf,
    budget: u64,
}

/// What one eviction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Chunks removed.
    pub chunks: u64,
    /// Bytes they held.
    pub bytes: u64,
    /// Bytes the cache holds afterwards.
    pub left: u64,
}

/// Held while this process fetches a chunk, so that another process that
/// wants the same chunk waits and then finds it cached.
#[derive(Debug)]
pub struct FetchLock(#[allow(dead_code)] Flock<File>);

impl ChunkCache {
    /// The cache in `dir` (created owner-only if missing), kept under
    /// `budget` bytes.
    pub fn open(dir: &Path, budget: u64) -> io::Result<Self> {
        for sub in [dir.to_path_buf(), dir.join(LOCKS), dir.join(MANIFESTS)] {
            match fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&sub)
            {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            budget,
        })
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn chunk_path(&self, digest: &Sha256Digest) -> PathBuf {
        self.dir.join(digest.to_string())
    }

    /// The cached chunk `digest`, opened, with its use recorded for
    /// eviction; `None` if it is not cached. The open file stays readable
    /// even if the chunk is evicted meanwhile.
    pub fn open_chunk(&self, digest: &Sha256Digest) -> io::Result<Option<File>> {
        match File::open(self.chunk_path(digest)) {
            Ok(file) => {
                // Recency for eviction; a failure only makes it look older.
                let _ = file.set_modified(SystemTime::now());
                Ok(Some(file))
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Waits until no other process fetches `digest`, and holds it until
    /// the returned lock drops.
    pub fn lock_fetch(&self, digest: &Sha256Digest) -> io::Result<FetchLock> {
        let path = self.dir.join(LOCKS).join(digest.to_string());
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map(FetchLock)
            .map_err(|(_, errno)| io::Error::from(errno))
    }

    /// Adds a chunk whose sha256 the caller has checked, atomically: a
    /// reader sees all of it or none.
    pub fn insert(&self, digest: &Sha256Digest, bytes: &[u8]) -> io::Result<()> {
        let temp = self
            .dir
            .join(format!("{TEMP}{digest}-{}", std::process::id()));
        let written = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut file| file.write_all(bytes))
            .and_then(|()| fs::rename(&temp, self.chunk_path(digest)));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// Where the last store manifest seen for snapshot `key` is kept.
    pub fn manifest_path(&self, key: &str) -> PathBuf {
        self.dir.join(MANIFESTS).join(format!("{key}.json"))
    }

    /// Removes the least recently used chunks until the cache holds at most
    /// its budget.
    pub fn evict(&self) -> io::Result<Evicted> {
        let mut chunks = Vec::new();
        let mut total = 0u64;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TEMP) {
                remove_if_abandoned(&entry.path(), name);
                continue;
            }
            if name.parse::<Sha256Digest>().is_err() {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(meta) if meta.is_file() => meta,
                // Evicted by another process meanwhile.
                _ => continue,
            };
            total += meta.len();
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            chunks.push((used, entry.path(), meta.len()));
        }
        chunks.sort();
        let mut evicted = Evicted::default();
        for (_, path, len) in chunks {
            if total <= self.budget {
                break;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    evicted.chunks += 1;
                    evicted.bytes += len;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
            total -= len;
            if let Some(name) = path.file_name() {
                let _ = fs::remove_file(self.dir.join(LOCKS).join(name));
            }
        }
        evicted.left = total;
        Ok(evicted)
    }
}

/// Removes a chunk's temporary whose writer (the pid it ends with) is gone:
/// a process killed while it wrote.
fn remove_if_abandoned(path: &Path, name: &str) {
    let writer = name
        .rsplit('-')
        .next()
        .and_then(|pid| pid.parse::<u32>().ok());
    if !writer.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_down_to_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 2048).unwrap();
        let chunks: Vec<_> = (0u8..4).map(|n| vec![n; 1024]).collect();
        let digests: Vec<_> = chunks.iter().map(|c| Sha256Digest::of(c)).collect();
        for (n, (chunk, digest)) in chunks.iter().zip(&digests).enumerate() {
            cache.insert(digest, chunk).unwrap();
            let file = File::options()
                .write(true)
                .open(cache.chunk_path(digest))
                .unwrap();
            let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000 + n as u64);
            file.set_modified(at).unwrap();
        }
        // Using the oldest makes it the newest.
        drop(cache.open_chunk(&digests[0]).unwrap().unwrap());
        let evicted = cache.evict().unwrap();
        assert_eq!(
            evicted,
            Evicted {
                chunks: 2,
                bytes: 2048,
                left: 2048
            }
        );
        let kept: Vec<bool> = digests
            .iter()
            .map(|d| cache.open_chunk(d).unwrap().is_some())
            .collect();
        assert_eq!(kept, [true, false, false, true]);
        // Within its budget now: a second pass removes nothing.
        assert_eq!(
            cache.evict().unwrap(),
            Evicted {
                chunks: 0,
                bytes: 0,
                left: 2048
            }
        );
    }

    #[test]
    fn an_open_chunk_stays_readable_when_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 0).unwrap();
        let digest = Sha256Digest::of(b"chunk");
        cache.insert(&digest, b"chunk").unwrap();
        let mut open = cache.open_chunk(&digest).unwrap().unwrap();
        assert_eq!(cache.evict().unwrap().chunks, 1);
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut open, &mut bytes).unwrap();
        assert_eq!(bytes, b"chunk");
        assert!(cache.open_chunk(&digest).unwrap().is_none());
    }

    #[test]
    fn a_killed_writers_temporary_is_swept_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChunkCache::open(dir.path(), 1 << 20).unwrap();
        let digest = Sha256Digest::of(b"x");
        let dead = dir.path().join(format!("{TEMP}{digest}-{}", i32::MAX));
        let live = dir
            .path()
            .join(format!("{TEMP}{digest}-{}", std::process::id()));
        fs::write(&dead, b"partial").unwrap();
        fs::write(&live, b"partial").unwrap();
        cache.evict().unwrap();
        assert!(!dead.exists() && live.exists());
    }
}
