//! Opening a snapshot: every check happens here, before an engine reads a
//! byte of the payload.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::owned::{open_owned, trusted_owner};
use super::{
    Host, Identity, MANIFEST_FILE, Manifest, OpenError, PAYLOAD_DIR, TEMP_MARK, codec, verified,
};
use crate::Sha256Digest;
use crate::snapshot::FileEntry;

/// How far a snapshot may travel between hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostRule {
    /// No check (inspecting a snapshot).
    #[default]
    Any,
    /// The CPU architecture must match (CRIU adapts to another kernel).
    SameArch,
    /// Architecture and kernel release must match (the native engine relies
    /// on the exact vDSO).
    SameKernel,
}

/// What the caller expects of a snapshot beyond its integrity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect<'a> {
    /// The engine that must have written it.
    pub engine: Option<&'a str>,
    /// What it must be a snapshot of.
    pub identity: Option<&'a Identity>,
    /// How far it may have travelled.
    pub host: HostRule,
}

/// A snapshot whose every file matched its manifest when it was opened.
#[derive(Debug, Clone)]
pub struct Snapshot {
    dir: PathBuf,
    manifest: Manifest,
    /// The decrypted copy of an encrypted payload, which engines read.
    plaintext: Option<PathBuf>,
    /// SHA-256 of `manifest.snap`'s bytes, which records about the
    /// snapshot kept beside it name (`working-set.snap`).
    pub(super) manifest_sha256: Sha256Digest,
}

impl Snapshot {
    /// Opens and fully validates the snapshot in `dir`: the manifest's magic,
    /// version, size bound and checksum, then the size and SHA-256 of every
    /// payload file, then `expect`.
    pub fn open(dir: &Path, expect: &Expect<'_>) -> Result<Self, OpenError> {
        // Plaintext of snapshots gone or replaced since does not linger.
        super::encryption::sweep();
        let meta = fs::symlink_metadata(dir).map_err(|cause| match cause.kind() {
            io::ErrorKind::NotFound => OpenError::NotFound {
                path: dir.to_path_buf(),
            },
            _ => OpenError::io("stat", dir, cause),
        })?;
        if meta.file_type().is_symlink() {
            return Err(OpenError::Symlink {
                path: dir.to_path_buf(),
            });
        }
        if !meta.is_dir() {
            return Err(OpenError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        if is_temporary(dir) {
            return Err(OpenError::Unfinished {
                path: dir.to_path_buf(),
            });
        }
        trusted_owner(dir, &meta)?;
        owner_only_writes(dir, &meta)?;
        let payload = dir.join(super::PAYLOAD_DIR);
        if let Ok(meta) = fs::symlink_metadata(&payload) {
            if meta.file_type().is_symlink() {
                return Err(OpenError::Symlink { path: payload });
            }
            trusted_owner(&payload, &meta)?;
            owner_only_writes(&payload, &meta)?;
        }
        let (manifest, bytes) = codec::read(&dir.join(MANIFEST_FILE))?;
        let mut snapshot = Self {
            dir: dir.to_path_buf(),
            manifest: Self::check(dir, manifest, &bytes)?,
            plaintext: None,
            manifest_sha256: Sha256Digest::of(&bytes),
        };
        snapshot.require(expect)?;
        snapshot.plaintext = super::encryption::plaintext(
            dir,
            &bytes,
            snapshot.manifest.annotation(super::ENCRYPTED_ANNOTATION),
            &snapshot.manifest.files,
        )?;
        Ok(snapshot)
    }

    /// Checks the snapshot in `dir` whose manifest file holds `bytes`
    /// (decoded: `manifest`) as [`Self::open`] does, `expect` aside: the
    /// signature, then the size and SHA-256 of every payload file. `dir`
    /// may be a writer's temporary, for a snapshot received whole from
    /// elsewhere.
    pub(super) fn check(
        dir: &Path,
        manifest: Manifest,
        bytes: &[u8],
    ) -> Result<Manifest, OpenError> {
        // Authenticated before anything it lists is trusted.
        let signature = super::signature::verify(dir, bytes)?;
        // A record of a verification counts only under the same signature.
        let under = signature.map_or_else(
            || verified::UNSIGNED.to_owned(),
            |tag| Sha256Digest::of(&tag).to_string(),
        );
        let snapshot = Self {
            dir: dir.to_path_buf(),
            manifest,
            plaintext: None,
            manifest_sha256: Sha256Digest::of(bytes),
        };
        snapshot.verify_payload(&under)?;
        Ok(snapshot.manifest)
    }

    /// Checks that this machine's keys open a snapshot received from
    /// elsewhere, before its payload is fetched: `signature`, its
    /// `manifest.sig`, under the configured signing key, and the
    /// encryption key that its manifest file (`bytes`, decoded:
    /// `manifest`) records. `dir` names where it came from.
    /// [`Self::open`] checks the same again.
    pub fn check_keys(
        dir: &Path,
        bytes: &[u8],
        manifest: &Manifest,
        signature: Option<&[u8]>,
    ) -> Result<(), OpenError> {
        super::signature::verify_received(dir, bytes, signature)?;
        super::encryption::key_for(dir, manifest.annotation(super::ENCRYPTED_ANNOTATION))?;
        Ok(())
    }

    /// A snapshot that [`super::SnapshotWriter`] has just hashed and sealed,
    /// or received and checked (`bytes` is its manifest file); one sealed
    /// with `key` is decrypted for engines to read.
    pub(super) fn sealed(
        dir: PathBuf,
        manifest: Manifest,
        bytes: &[u8],
        key: Option<&super::encryption::Key>,
    ) -> Result<Self, super::CreateError> {
        // The copy of the snapshot this one replaced, if any, goes.
        super::encryption::sweep();
        let plaintext = key
            .map(|key| super::encryption::decrypted_copy(key, &dir, bytes, &manifest.files))
            .transpose()
            .map_err(|e| super::CreateError::Decrypt(Box::new(e)))?;
        Ok(Self {
            dir,
            manifest,
            plaintext,
            manifest_sha256: Sha256Digest::of(bytes),
        })
    }

    /// Checks `expect` against an already validated snapshot.
    pub fn require(&self, expect: &Expect<'_>) -> Result<(), OpenError> {
        if let Some(engine) = expect.engine {
            if self.manifest.engine != engine {
                return Err(OpenError::EngineMismatch {
                    found: self.manifest.engine.clone(),
                    expected: engine.to_owned(),
                });
            }
        }
        if let Some(identity) = expect.identity {
            self.manifest.identity.require(identity)?;
        }
        let here = Host::current();
        let recorded = &self.manifest.host;
        if expect.host != HostRule::Any && recorded.arch != here.arch {
            return Err(OpenError::HostMismatch {
                field: "architecture",
                found: recorded.arch.clone(),
                current: here.arch,
            });
        }
        if expect.host == HostRule::SameKernel && recorded.kernel_release != here.kernel_release {
            return Err(OpenError::HostMismatch {
                field: "kernel release",
                found: recorded.kernel_release.clone(),
                current: here.kernel_release,
            });
        }
        Ok(())
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory holding the engine's files: for an encrypted snapshot,
    /// their decrypted copy (see `SNAP_ENCRYPT_KEY`).
    pub fn payload_dir(&self) -> PathBuf {
        self.plaintext
            .clone()
            .unwrap_or_else(|| self.dir.join(PAYLOAD_DIR))
    }

    /// Whether the payload is encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.plaintext.is_some()
    }

    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn verify_payload(&self, under: &str) -> Result<(), OpenError> {
        // As stored: ciphertext, for an encrypted snapshot.
        let payload = self.dir.join(PAYLOAD_DIR);
        let mut listed = BTreeSet::new();
        for entry in &self.manifest.files {
            if !FileEntry::is_contained(&entry.path) || !listed.insert(entry.path.as_str()) {
                return Err(OpenError::ManifestCorrupt {
                    path: self.dir.join(MANIFEST_FILE),
                    reason: format!(
                        "payload entry {:?} is not a unique relative path",
                        entry.path
                    ),
                });
            }
            verify_file(&payload.join(&entry.path), entry, under)?;
        }
        let scratch: BTreeSet<&str> = self.manifest.scratch.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        list_files(&payload, &payload, &mut found)?;
        for rel in found {
            if !listed.contains(rel.as_str()) && !scratch.contains(rel.as_str()) {
                return Err(OpenError::UnlistedFile {
                    path: payload.join(rel),
                });
            }
        }
        Ok(())
    }
}

fn verify_file(path: &Path, entry: &FileEntry, under: &str) -> Result<(), OpenError> {
    let meta = fs::symlink_metadata(path).map_err(|cause| match cause.kind() {
        io::ErrorKind::NotFound => OpenError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => OpenError::io("stat", path, cause),
    })?;
    if meta.file_type().is_symlink() {
        return Err(OpenError::Symlink {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_file() {
        return Err(OpenError::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    trusted_owner(path, &meta)?;
    let size_error = |found: u64| {
        if found < entry.size {
            OpenError::Truncated {
                path: path.to_path_buf(),
                expected: entry.size,
                found,
            }
        } else {
            OpenError::Overlong {
                path: path.to_path_buf(),
                expected: entry.size,
                found,
            }
        }
    };
    if meta.len() != entry.size {
        return Err(size_error(meta.len()));
    }
    if verified::is_verified(&meta, &entry.sha256, under) {
        return Ok(());
    }
    let file = open_owned(path)?;
    let (sha256, len) =
        Sha256Digest::of_reader(file).map_err(|cause| OpenError::io("read", path, cause))?;
    if len != entry.size {
        return Err(size_error(len));
    }
    if sha256 != entry.sha256 {
        return Err(OpenError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: entry.sha256,
            found: sha256,
        });
    }
    verified::remember(&meta, &entry.sha256, under);
    Ok(())
}

/// Collects the `/`-joined paths of all non-directory entries below `dir`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), OpenError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        // No payload directory: every listed file was already reported missing,
        // so an absent directory only means an empty payload.
        Err(e) if e.kind() == io::ErrorKind::NotFound && dir == root => return Ok(()),
        Err(cause) => return Err(OpenError::io("read directory", dir, cause)),
    };
    for entry in entries {
        let entry = entry.map_err(|cause| OpenError::io("read directory", dir, cause))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|cause| OpenError::io("stat", &path, cause))?;
        if kind.is_dir() {
            let meta =
                fs::symlink_metadata(&path).map_err(|cause| OpenError::io("stat", &path, cause))?;
            trusted_owner(&path, &meta)?;
            owner_only_writes(&path, &meta)?;
            list_files(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Whether `dir` is named like a temporary that [`super::SnapshotWriter`]
/// builds a snapshot in.
pub(crate) fn is_temporary(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(TEMP_MARK))
}

/// Refuses a directory that its group or others may write.
fn owner_only_writes(dir: &Path, meta: &fs::Metadata) -> Result<(), OpenError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(OpenError::WritableByOthers {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::snapshot::{Seal, SnapshotWriter};

    /// Seals an empty-payload snapshot, then rewrites its manifest with `edit`.
    fn rewritten(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
        let writer = SnapshotWriter::create(dir).unwrap();
        fs::write(writer.payload_dir().join("a.img"), b"a").unwrap();
        let identity = Identity::of_command(Path::new("/bin/sh"), &[], []).unwrap();
        let sealed = writer
            .commit(Seal {
                engine: "test".into(),
                identity,
                scratch: vec![],
                engine_state: vec![],
                annotations: vec![],
            })
            .unwrap();
        let mut manifest = sealed.manifest().clone();
        edit(&mut manifest);
        fs::write(dir.join(MANIFEST_FILE), codec::encode(&manifest).unwrap()).unwrap();
    }

    #[test]
    fn host_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        rewritten(&dir, |m| m.host.kernel_release = "2.6.32-ancient".into());
        let any = Snapshot::open(&dir, &Expect::default()).unwrap();
        any.require(&Expect {
            host: HostRule::SameArch,
            ..Expect::default()
        })
        .unwrap();
        let err = any
            .require(&Expect {
                host: HostRule::SameKernel,
                ..Expect::default()
            })
            .unwrap_err();
        assert!(
            matches!(&err, OpenError::HostMismatch { field: "kernel release", found, .. } if found == "2.6.32-ancient"),
            "{err}"
        );

        rewritten(&dir, |m| m.host.arch = "riscv128".into());
        let err = Snapshot::open(
            &dir,
            &Expect {
                host: HostRule::SameArch,
                ..Expect::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::HostMismatch {
                    field: "architecture",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn entries_must_stay_inside_the_payload_and_be_unique() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        rewritten(&dir, |m| m.files[0].path = "../manifest.snap".into());
        let err = Snapshot::open(&dir, &Expect::default()).unwrap_err();
        assert!(matches!(err, OpenError::ManifestCorrupt { .. }), "{err}");

        rewritten(&dir, |m| {
            let again = m.files[0].clone();
            m.files.push(again);
        });
        let err = Snapshot::open(&dir, &Expect::default()).unwrap_err();
        assert!(matches!(err, OpenError::ManifestCorrupt { .. }), "{err}");
    }

    #[test]
    fn a_checksummed_body_that_does_not_decode_is_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(MANIFEST_FILE);
        let body = [0xffu8; 40];
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&crate::snapshot::MAGIC);
        bytes.extend_from_slice(&crate::snapshot::FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&Sha256Digest::of(&body).0);
        bytes.extend_from_slice(&body);
        let err = codec::decode(&path, &bytes).unwrap_err();
        assert!(matches!(err, OpenError::ManifestCorrupt { .. }), "{err}");
    }
}
