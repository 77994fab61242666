//! Payloads encrypted at rest. With an encryption key configured
//! (`SNAP_ENCRYPT_KEY`, the path of a file of at least 32 bytes), a writer
//! encrypts every payload file in place before it hashes them, and records
//! the key's id in the manifest. The manifest's digests are of the
//! ciphertext, so a snapshot is checked whole without the key.
//!
//! Engines read plaintext: CRIU reads its images by path, and the native
//! engine maps its memory image. So `open` decrypts a snapshot once per
//! machine into a private cache on tmpfs ([`plaintext`]), and restores read
//! from there; pages mapped from it are shared between instances as they
//! are from the snapshot itself.
//!
//! Each file is ChaCha20-Poly1305 in the STREAM construction (chunks of
//! 64 KiB, a 7-byte random nonce prefix per file, the last chunk marked),
//! with the file's path in the payload as associated data: a chunk that is
//! changed, dropped, reordered, or moved to another file does not decrypt.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{self, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::key_file::{self, KeyError};
use super::{FileEntry, OpenError};
use crate::Sha256Digest;

/// The variable that names the encryption key's file.
pub const ENCRYPT_KEY_ENV: &str = "SNAP_ENCRYPT_KEY";

/// The variable that moves the cache of decrypted snapshots (default
/// `/dev/shm/snap-plain-UID`).
pub const PLAIN_CACHE_ENV: &str = "SNAP_PLAIN_CACHE";

/// The manifest annotation that marks an encrypted payload; its value is
/// the key's id.
pub const ENCRYPTED_ANNOTATION: &str = "snap.encrypted";

/// What every encrypted file starts with.
const MAGIC: &[u8; 8] = b"SNAPENC1";
/// Plaintext bytes per chunk.
const CHUNK: usize = 1 << 16;
/// Poly1305's tag, after each chunk.
const TAG: usize = 16;
/// The STREAM nonce prefix: ChaCha20-Poly1305's 12 bytes less the 32-bit
/// counter and the last-chunk flag.
const NONCE: usize = 7;

/// An encryption key, derived from the key file.
pub(super) struct Key {
    cipher: ChaCha20Poly1305,
    id: [u8; 16],
}

impl Key {
    /// The configured key, if any.
    pub(super) fn configured() -> Result<Option<Self>, KeyError> {
        let Some(material) = key_file::read(ENCRYPT_KEY_ENV, "encryption")? else {
            return Ok(None);
        };
        // The file's bytes are keying material of any length (at least 32):
        // HMAC-SHA256 under it derives the cipher's key and, apart, the id
        // that tells a wrong key from a damaged file.
        let derive = |label: &[u8]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&material)
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
            mac.update(label);
            mac.finalize().into_bytes()
        };
        let key = derive(b"snap payload encryption v1");
        let mut id = [0u8; 16];
        id.copy_from_slice(&derive(b"snap encryption key id v1")[..16]);
        Ok(Some(Self {
            cipher: ChaCha20Poly1305::new(&key),
            id,
        }))
    }

    /// The id recorded in the manifests it encrypts.
    pub(super) fn id(&self) -> &[u8] {
        &self.id
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of `from`.
fn fill(from: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match from.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Calls `each` on `input` in chunks of `size` bytes, saying which is the
/// last (shorter, or empty for empty input): STREAM marks the last chunk,
/// so a stream cut at a chunk boundary is caught.
fn each_chunk<E: From<io::Error>>(
    input: &mut impl Read,
    size: usize,
    mut each: impl FnMut(&[u8], bool) -> Result<(), E>,
) -> Result<(), E> {
    let (mut current, mut next) = (vec![0u8; size], vec![0u8; size]);
    let mut len = fill(input, &mut current)?;
    loop {
        let following = fill(input, &mut next)?;
        each(&current[..len], following == 0)?;
        if following == 0 {
            return Ok(());
        }
        std::mem::swap(&mut current, &mut next);
        len = following;
    }
}

fn sealing_failed() -> io::Error {
    io::Error::other("ChaCha20-Poly1305 refused to seal a chunk")
}

/// Encrypts the file at `path`, whose name in the payload is `name`, in
/// place: into a sibling, then renamed over it.
pub(super) fn encrypt_file(key: &Key, name: &str, path: &Path) -> io::Result<()> {
    let mut input = File::open(path)?;
    let sealed = path.with_extension("snapenc-tmp");
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&sealed)?;
    let mut nonce = [0u8; NONCE];
    OsRng.fill_bytes(&mut nonce);
    out.write_all(MAGIC)?;
    out.write_all(&nonce)?;
    let mut stream = Some(EncryptorBE32::from_aead(
        key.cipher.clone(),
        (&nonce).into(),
    ));
    each_chunk(&mut input, CHUNK, |chunk, last| {
        let payload = Payload {
            msg: chunk,
            aad: name.as_bytes(),
        };
        // After the last chunk there is no stream: `each_chunk` stops.
        let sealed = if last {
            stream
                .take()
                .map_or(Err(aead::Error), |s| s.encrypt_last(payload))
        } else {
            stream
                .as_mut()
                .map_or(Err(aead::Error), |s| s.encrypt_next(payload))
        };
        out.write_all(&sealed.map_err(|_| sealing_failed())?)
    })?;
    out.sync_all()?;
    fs::rename(&sealed, path)
}

/// Why a file did not decrypt.
#[derive(Debug)]
enum Unsealed {
    Io(io::Error),
    /// Not what this key sealed under this name.
    Forged,
}

impl From<io::Error> for Unsealed {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Decrypts `from`, named `name` in the payload, into a new file `to`.
fn decrypt_file(key: &Key, name: &str, from: &Path, to: &Path) -> Result<(), Unsealed> {
    let mut input = File::open(from)?;
    let mut head = [0u8; MAGIC.len() + NONCE];
    if fill(&mut input, &mut head)? != head.len() || &head[..MAGIC.len()] != MAGIC {
        return Err(Unsealed::Forged);
    }
    let nonce: [u8; NONCE] = head[MAGIC.len()..]
        .try_into()
        .map_err(|_| Unsealed::Forged)?;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)?;
    let mut stream = Some(DecryptorBE32::from_aead(
        key.cipher.clone(),
        (&nonce).into(),
    ));
    each_chunk(&mut input, CHUNK + TAG, |chunk, last| {
        let payload = Payload {
            msg: chunk,
            aad: name.as_bytes(),
        };
        // After the last chunk there is no stream: `each_chunk` stops.
        let plain = if last {
            stream
                .take()
                .map_or(Err(aead::Error), |s| s.decrypt_last(payload))
        } else {
            stream
                .as_mut()
                .map_or(Err(aead::Error), |s| s.decrypt_next(payload))
        };
        out.write_all(&plain.map_err(|_| Unsealed::Forged)?)
            .map_err(Unsealed::Io)
    })
}

/// The plaintext of an opened snapshot, if it is encrypted: checks the
/// configured key against the one recorded, then returns the payload's
/// decrypted copy in the cache, making it if this machine has none.
pub(super) fn plaintext(
    dir: &Path,
    manifest_bytes: &[u8],
    recorded: Option<&[u8]>,
    files: &[FileEntry],
) -> Result<Option<PathBuf>, OpenError> {
    match key_for(dir, recorded)? {
        Some(key) => decrypted_copy(&key, dir, manifest_bytes, files).map(Some),
        None => Ok(None),
    }
}

/// The configured key, if the snapshot in `dir` was encrypted with it (the
/// key id `recorded`); `None` for a snapshot that was not encrypted. An
/// error if one of the two has a key and the other none, or another.
pub(super) fn key_for(dir: &Path, recorded: Option<&[u8]>) -> Result<Option<Key>, OpenError> {
    let key = Key::configured().map_err(OpenError::EncryptionKey)?;
    match (key, recorded) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OpenError::Encrypted {
            dir: dir.to_path_buf(),
        }),
        (Some(_), None) => Err(OpenError::NotEncrypted {
            dir: dir.to_path_buf(),
        }),
        (Some(key), Some(id)) if id != key.id() => Err(OpenError::WrongEncryptionKey {
            dir: dir.to_path_buf(),
        }),
        (Some(key), Some(_)) => Ok(Some(key)),
    }
}

/// The cache's root: only this user may enter it.
fn cache_root() -> Result<PathBuf, OpenError> {
    let root = std::env::var_os(PLAIN_CACHE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let uid = nix::unistd::geteuid().as_raw();
            PathBuf::from(format!("/dev/shm/snap-plain-{uid}"))
        });
    let refused = |reason: String| OpenError::PlainCache {
        path: root.clone(),
        reason,
    };
    match fs::create_dir(&root) {
        Ok(()) => fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
            .map_err(|e| refused(format!("cannot make it private: {e}")))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(refused(format!("cannot create it: {e}"))),
    }
    let meta = fs::symlink_metadata(&root).map_err(|e| refused(e.to_string()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(refused(format!(
            "it must be a directory of uid {me} that no one else may enter (found uid {}, mode {:o})",
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(root)
}

/// The snapshot's decrypted payload in the cache, keyed by its directory
/// and its manifest; a copy for an older manifest of the same directory is
/// removed when a new one is made.
pub(super) fn decrypted_copy(
    key: &Key,
    dir: &Path,
    manifest_bytes: &[u8],
    files: &[FileEntry],
) -> Result<PathBuf, OpenError> {
    let root = cache_root()?;
    let place = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let place = Sha256Digest::of(place.as_os_str().as_encoded_bytes()).to_string()[..16].to_owned();
    let name = format!(
        "{place}-{}",
        &Sha256Digest::of(manifest_bytes).to_string()[..32]
    );
    let entry = root.join(&name);
    if entry.is_dir() {
        return Ok(entry);
    }
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let temp = root.join(format!(".{name}.{}.{nonce:x}", std::process::id()));
    let cache_error =
        |path: &Path, e: io::Error| OpenError::io("write the decrypted copy", path, e);
    let private = || {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder
    };
    private().create(&temp).map_err(|e| cache_error(&temp, e))?;
    let started = Instant::now();
    let payload = dir.join(super::PAYLOAD_DIR);
    let mut bytes = 0;
    for file in files {
        let to = temp.join(&file.path);
        if let Some(parent) = to.parent() {
            private()
                .create(parent)
                .map_err(|e| cache_error(parent, e))?;
        }
        let from = payload.join(&file.path);
        match decrypt_file(key, &file.path, &from, &to) {
            Ok(()) => bytes += file.size,
            Err(failure) => {
                let _ = fs::remove_dir_all(&temp);
                return Err(match failure {
                    Unsealed::Io(e) => cache_error(&to, e),
                    Unsealed::Forged => OpenError::Undecryptable { path: from },
                });
            }
        }
    }
    if let Err(e) = fs::rename(&temp, &entry) {
        let _ = fs::remove_dir_all(&temp);
        // Another open made the same copy first.
        if !entry.is_dir() {
            return Err(cache_error(&entry, e));
        }
    }
    tracing::info!(
        dir = %dir.display(),
        copy = %entry.display(),
        mib = bytes as f64 / f64::from(1 << 20),
        elapsed = ?started.elapsed(),
        "decrypted the snapshot"
    );
    if let Ok(entries) = fs::read_dir(&root) {
        let stale = format!("{place}-");
        for old in entries.flatten() {
            let old_name = old.file_name();
            let old_name = old_name.to_string_lossy();
            if old_name.starts_with(&stale) && old_name != name {
                let _ = fs::remove_dir_all(old.path());
            }
        }
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(byte: u8) -> Key {
        Key {
            cipher: ChaCha20Poly1305::new(&[byte; 32].into()),
            id: [byte; 16],
        }
    }

    /// Seals `content` as `name`, returning the sealed bytes.
    fn sealed(key: &Key, name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("file.img");
        fs::write(&path, content).unwrap();
        encrypt_file(key, name, &path).unwrap();
        (tmp, path)
    }

    fn open(key: &Key, name: &str, path: &Path) -> Result<Vec<u8>, Unsealed> {
        let to = path.with_extension("plain");
        let _ = fs::remove_file(&to);
        decrypt_file(key, name, path, &to)?;
        Ok(fs::read(&to).unwrap())
    }

    #[test]
    fn files_of_every_size_come_back_and_never_show_their_bytes() {
        let k = key(1);
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let content: Vec<u8> = (0..len).map(|i| b"secret!"[i % 7]).collect();
            let (_tmp, path) = sealed(&k, "pages-1.img", &content);
            let raw = fs::read(&path).unwrap();
            let chunks = len.div_ceil(CHUNK).max(1);
            assert_eq!(raw.len(), MAGIC.len() + NONCE + len + chunks * TAG, "{len}");
            assert!(
                !raw.windows(7).any(|w| w == b"secret!"),
                "{len}: plaintext shows"
            );
            assert_eq!(open(&k, "pages-1.img", &path).unwrap(), content, "{len}");
        }
    }

    #[test]
    fn a_changed_moved_cut_or_wrongly_keyed_file_does_not_decrypt() {
        let k = key(1);
        let content = vec![7u8; 2 * CHUNK + 5];
        let (_tmp, path) = sealed(&k, "pages-1.img", &content);
        let pristine = fs::read(&path).unwrap();
        let forged = |bytes: &[u8], name: &str, key: &Key| {
            fs::write(&path, bytes).unwrap();
            matches!(open(key, name, &path), Err(Unsealed::Forged))
        };
        let mut flipped = pristine.clone();
        flipped[MAGIC.len() + NONCE + CHUNK + 3] ^= 1;
        assert!(forged(&flipped, "pages-1.img", &k), "a changed byte");
        assert!(forged(&pristine, "pages-2.img", &k), "another file's name");
        assert!(forged(&pristine, "pages-1.img", &key(2)), "another key");
        let whole_chunks = MAGIC.len() + NONCE + 2 * (CHUNK + TAG);
        assert!(
            forged(&pristine[..whole_chunks], "pages-1.img", &k),
            "the last chunk dropped"
        );
        assert!(forged(&pristine[..20], "pages-1.img", &k), "cut short");
        assert!(
            forged(b"not sealed at all", "pages-1.img", &k),
            "never sealed"
        );
        fs::write(&path, &pristine).unwrap();
        assert_eq!(open(&k, "pages-1.img", &path).unwrap(), content);
    }
}
