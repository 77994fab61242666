//! Writing a snapshot atomically.
//!
//! The engine writes its payload into a temporary sibling of the destination,
//! named `.NAME.snap-tmp.PID.NONCE`. [`SnapshotWriter::commit`] hashes and
//! fsyncs every file, writes the manifest last, fsyncs the directories and
//! renames the temporary into place (exchanging it with an older snapshot if
//! one is there). A crash at any point leaves at most a temporary, which
//! [`super::Snapshot::open`] refuses by name and the next writer for the same
//! destination removes once its owner is gone.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};

use super::{
    CreateError, FileEntry, Host, Identity, MANIFEST_FILE, MAX_MANIFEST_BODY, Manifest,
    PAYLOAD_DIR, Snapshot, TEMP_MARK, codec,
};
use crate::Sha256Digest;

/// What the engine says about the payload it wrote.
#[derive(Debug, Clone)]
pub struct Seal {
    /// The engine's name.
    pub engine: String,
    /// What was snapshotted.
    pub identity: Identity,
    /// Files the engine may write into the payload at restore time.
    pub scratch: Vec<String>,
    /// Engine-private state.
    pub engine_state: Vec<u8>,
    /// The caller's own data.
    pub annotations: Vec<(String, Vec<u8>)>,
}

/// A snapshot under construction. Dropping it without [`commit`] removes the
/// temporary.
///
/// [`commit`]: SnapshotWriter::commit
#[derive(Debug)]
pub struct SnapshotWriter {
    dest: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl SnapshotWriter {
    /// Starts a snapshot that will appear at `dest`. `dest` may be absent, an
    /// empty directory or an older snapshot (valid or not); anything else is
    /// refused so that no unrelated data is ever replaced.
    pub fn create(dest: &Path) -> Result<Self, CreateError> {
        let name =
            dest.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| CreateError::NoParent {
                    path: dest.to_path_buf(),
                })?;
        let parent = match dest.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => {
                return Err(CreateError::NoParent {
                    path: dest.to_path_buf(),
                });
            }
        };
        check_replaceable(dest)?;
        fs::create_dir_all(parent).map_err(|e| CreateError::io("create directory", parent, e))?;
        remove_stale_temporaries(parent, name);

        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let temp = parent.join(format!(
            ".{name}{TEMP_MARK}{}.{nonce:x}",
            std::process::id()
        ));
        // Owner-only: a snapshot holds a process's whole memory.
        private_dir(&temp)?;
        let writer = Self {
            dest: dest.to_path_buf(),
            temp,
            committed: false,
        };
        let payload = writer.payload_dir();
        private_dir(&payload)?;
        Ok(writer)
    }

    /// Where the engine writes its files.
    pub fn payload_dir(&self) -> PathBuf {
        self.temp.join(PAYLOAD_DIR)
    }

    /// The temporary directory the snapshot is built in.
    pub fn temp_dir(&self) -> &Path {
        &self.temp
    }

    /// Seals the payload and moves the snapshot into place.
    pub fn commit(mut self, seal: Seal) -> Result<Snapshot, CreateError> {
        let payload = self.payload_dir();
        let mut annotations = seal.annotations;
        let key = super::encryption::Key::configured().map_err(CreateError::EncryptionKey)?;
        if let Some(key) = &key {
            annotations.retain(|(name, _)| name != super::ENCRYPTED_ANNOTATION);
            annotations.push((super::ENCRYPTED_ANNOTATION.into(), key.id().to_vec()));
        }
        let mut files = Vec::new();
        hash_and_sync(&payload, &payload, key.as_ref(), Some(&mut files))?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            engine: seal.engine,
            created_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            // Secrets are recorded as digests, never as values.
            identity: seal.identity.redacted(),
            host: Host::current(),
            files,
            scratch: seal.scratch,
            engine_state: seal.engine_state,
            annotations,
        };
        let bytes = codec::encode(&manifest).map_err(|len| CreateError::ManifestTooLarge {
            len,
            limit: MAX_MANIFEST_BODY,
        })?;
        write_new(&self.temp.join(MANIFEST_FILE), &bytes)?;
        super::signature::sign(&self.temp, &bytes)?;
        self.install()?;
        Snapshot::sealed(self.dest.clone(), manifest, &bytes, key.as_ref())
    }

    /// Moves into place a snapshot received whole from elsewhere (a store)
    /// and returns it: the caller wrote the payload into
    /// [`Self::payload_dir`], and `manifest` and `signature` are the
    /// original's `manifest.snap` and `manifest.sig`, byte for byte. It is
    /// checked first as [`Snapshot::open`] checks a snapshot (the signature
    /// under the configured key, then every file against the manifest's
    /// checksums), so one that does not match replaces nothing. Check what
    /// it must be with [`Snapshot::require`].
    pub fn commit_received(
        mut self,
        manifest: &[u8],
        signature: Option<&[u8]>,
    ) -> Result<Snapshot, CreateError> {
        let payload = self.payload_dir();
        hash_and_sync(&payload, &payload, None, None)?;
        let manifest_path = self.temp.join(MANIFEST_FILE);
        write_new(&manifest_path, manifest)?;
        if let Some(signature) = signature {
            write_new(&self.temp.join(super::SIGNATURE_FILE), signature)?;
        }
        let received = |cause| CreateError::Received(Box::new(cause));
        let decoded = super::codec::decode(&manifest_path, manifest).map_err(received)?;
        let checked = Snapshot::check(&self.temp, decoded, manifest).map_err(received)?;
        // Whether this machine's key opens it, before it replaces anything.
        let key =
            super::encryption::key_for(&self.temp, checked.annotation(super::ENCRYPTED_ANNOTATION))
                .map_err(received)?;
        self.install()?;
        Snapshot::sealed(self.dest.clone(), checked, manifest, key.as_ref())
    }

    /// Fsyncs the finished temporary and renames it to the destination,
    /// exchanging it with an older snapshot there, which is then removed.
    fn install(&mut self) -> Result<(), CreateError> {
        sync_dir(&self.payload_dir())?;
        sync_dir(&self.temp)?;

        check_replaceable(&self.dest)?;
        let replaced = match renameat2(
            AT_FDCWD,
            &self.temp,
            AT_FDCWD,
            &self.dest,
            RenameFlags::RENAME_EXCHANGE,
        ) {
            Ok(()) => true,
            Err(nix::errno::Errno::ENOENT) => {
                fs::rename(&self.temp, &self.dest)
                    .map_err(|e| CreateError::io("rename", &self.temp, e))?;
                false
            }
            Err(e) => return Err(CreateError::io("rename", &self.temp, e.into())),
        };
        self.committed = true;
        if let Some(parent) = self.dest.parent() {
            sync_dir(if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            })?;
        }
        if replaced {
            // The temporary's name now holds the previous snapshot.
            if let Err(err) = fs::remove_dir_all(&self.temp) {
                tracing::warn!(path = %self.temp.display(), %err, "could not remove the replaced snapshot");
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to a new owner-only file at `path` and fsyncs it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CreateError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CreateError::io("create", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| CreateError::io("write", path, e))
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

/// Refuses a destination that holds anything but nothing or a snapshot.
fn check_replaceable(dest: &Path) -> Result<(), CreateError> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CreateError::io("stat", dest, e)),
        Ok(meta) if meta.is_dir() => {
            let mut entries =
                fs::read_dir(dest).map_err(|e| CreateError::io("read directory", dest, e))?;
            let empty = entries.next().is_none();
            if empty || dest.join(MANIFEST_FILE).is_file() {
                Ok(())
            } else {
                Err(CreateError::DestinationOccupied {
                    path: dest.to_path_buf(),
                })
            }
        }
        Ok(_) => Err(CreateError::DestinationOccupied {
            path: dest.to_path_buf(),
        }),
    }
}

/// Removes temporaries for `name` whose creating process is gone.
fn remove_stale_temporaries(parent: &Path, name: &str) {
    let prefix = format!(".{name}{TEMP_MARK}");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let owner = rest
            .split('.')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok());
        let alive = owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let path = entry.path();
            match fs::remove_dir_all(&path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "removed a stale snapshot temporary")
                }
                Err(err) => {
                    tracing::warn!(path = %path.display(), %err, "could not remove a stale snapshot temporary")
                }
            }
        }
    }
}

/// Makes every file under `dir` owner-only and durable, and with `out`
/// hashes it into `out`; with `key`, each file is encrypted in place before
/// it is hashed, so the manifest's digests are the ciphertext's.
fn hash_and_sync(
    root: &Path,
    dir: &Path,
    key: Option<&super::encryption::Key>,
    mut out: Option<&mut Vec<FileEntry>>,
) -> Result<(), CreateError> {
    // Listed before any file is replaced by its encrypted copy.
    let entries: Vec<_> = fs::read_dir(dir)
        .and_then(Iterator::collect)
        .map_err(|e| CreateError::io("read directory", dir, e))?;
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| CreateError::io("stat", &path, e))?;
        if kind.is_dir() {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
                .map_err(|e| CreateError::io("chmod", &path, e))?;
            hash_and_sync(root, &path, key, out.as_deref_mut())?;
            sync_dir(&path)?;
            continue;
        }
        if !kind.is_file() {
            return Err(CreateError::UnsupportedEntry { path });
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if let Some(key) = key {
            super::encryption::encrypt_file(key, &rel, &path)
                .map_err(|e| CreateError::io("encrypt", &path, e))?;
        }
        let file = File::open(&path).map_err(|e| CreateError::io("open", &path, e))?;
        // Whatever wrote it (CRIU, the native engine), only the owner reads it.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| CreateError::io("chmod", &path, e))?;
        file.sync_all()
            .map_err(|e| CreateError::io("fsync", &path, e))?;
        let Some(out) = out.as_deref_mut() else {
            continue;
        };
        let (sha256, size) =
            Sha256Digest::of_reader(&file).map_err(|e| CreateError::io("read", &path, e))?;
        out.push(FileEntry {
            path: rel,
            size,
            sha256,
        });
    }
    Ok(())
}

/// Creates `dir` readable, writable and searchable by its owner only.
fn private_dir(dir: &Path) -> Result<(), CreateError> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| CreateError::io("create directory", dir, e))
}

fn sync_dir(dir: &Path) -> Result<(), CreateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CreateError::io("fsync", dir, e))
}
