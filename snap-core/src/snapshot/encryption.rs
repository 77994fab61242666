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
//! ```text
//! /dev/shm/snap-plain-UID/            0700, this user's ($SNAP_PLAIN_CACHE)
//! ├── PLACE-DIGEST/                   a copy: PLACE names the directory
//! │   ├── source                      (sha256 of its absolute path), DIGEST
//! │   └── payload/...                 its manifest.snap (sha256); `source`
//! │                                   is that absolute path
//! └── .PLACE-DIGEST.PID.NONCE/        a copy being written, flock-ed
//! ```
//!
//! Plaintext does not outlive its snapshot: every open and commit sweeps
//! the cache ([`sweep`]) and removes each copy whose `source` no longer
//! holds a manifest with its DIGEST (the snapshot was replaced, or
//! removed).
//!
//! Each file is ChaCha20-Poly1305 in the STREAM construction (chunks of
//! 64 KiB, a 7-byte random nonce prefix per file, the last chunk marked),
//! with the file's path in the payload as associated data: a chunk that is
//! changed, dropped, reordered, or moved to another file does not decrypt.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{self, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hmac::{Hmac, Mac};
use nix::fcntl::{Flock, FlockArg};
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

/// Where plaintext bytes `start..end` (`start < end`) of a payload file lie
/// once it is encrypted: the whole chunks holding them, tags included,
/// which is what must be read to decrypt them. The end may pass the end of
/// a last, shorter chunk.
pub fn sealed_range(start: u64, end: u64) -> std::ops::Range<u64> {
    let head = (MAGIC.len() + NONCE) as u64;
    let (chunk, sealed) = (CHUNK as u64, (CHUNK + TAG) as u64);
    let first = start / chunk;
    let last = end.saturating_sub(1).max(start) / chunk;
    head + first * sealed..head + (last + 1) * sealed
}

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

/// The cache's root, `SNAP_PLAIN_CACHE` or `/dev/shm/snap-plain-UID`.
fn cache_path() -> PathBuf {
    std::env::var_os(PLAIN_CACHE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let uid = nix::unistd::geteuid().as_raw();
            PathBuf::from(format!("/dev/shm/snap-plain-{uid}"))
        })
}

/// Checks that `root` is a directory of this user's that no one else may
/// enter.
fn check_private(root: &Path) -> Result<(), OpenError> {
    let refused = |reason: String| OpenError::PlainCache {
        path: root.to_path_buf(),
        reason,
    };
    let meta = fs::symlink_metadata(root).map_err(|e| refused(e.to_string()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(refused(format!(
            "it must be a directory of uid {me} that no one else may enter (found uid {}, mode {:o})",
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// The cache's root, made if missing: only this user may enter it.
fn cache_root() -> Result<PathBuf, OpenError> {
    let root = cache_path();
    match fs::create_dir(&root) {
        Ok(()) => fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).map_err(|e| {
            OpenError::PlainCache {
                path: root.clone(),
                reason: format!("cannot make it private: {e}"),
            }
        })?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(OpenError::PlainCache {
                path: root.clone(),
                reason: format!("cannot create it: {e}"),
            });
        }
    }
    check_private(&root)?;
    Ok(root)
}

/// In each copy, the file that names the snapshot directory it was
/// decrypted from (its absolute path, as bytes).
const SOURCE_FILE: &str = "source";

/// In each copy, the decrypted payload.
const COPY_PAYLOAD: &str = "payload";

/// A temporary left by an open that died is removed once it is this old
/// and no open holds its lock.
const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// Removes every decrypted copy whose snapshot is gone from its directory
/// or was replaced there: a copy is named after its directory and the
/// digest of its manifest, and records its directory, so it is current
/// exactly while that directory holds that manifest. Copies with no
/// record (an older snaprun's) go too, and temporaries that an open which
/// died left behind. A cache that is missing, or not private, is left
/// alone. Called on every open and commit of a snapshot, encrypted or not.
pub(super) fn sweep() {
    let root = cache_path();
    if check_private(&root).is_ok() {
        sweep_in(&root);
    }
}

/// [`sweep`] in the cache at `root`.
fn sweep_in(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let stale = if name.starts_with('.') {
            abandoned(&path)
        } else {
            is_stale(&path, &name)
        };
        if stale {
            match fs::remove_dir_all(&path) {
                Ok(()) => {
                    tracing::debug!(copy = %path.display(), "removed a decrypted copy whose snapshot is gone")
                }
                Err(err) => {
                    tracing::warn!(copy = %path.display(), %err, "cannot remove a stale decrypted copy")
                }
            }
        }
    }
}

/// Whether the copy `copy`, named `PLACE-DIGEST`, is no longer what its
/// directory holds: the directory, or its manifest, is gone, or the
/// manifest there now has another digest. A directory that cannot be
/// read for another reason keeps its copy.
fn is_stale(copy: &Path, name: &str) -> bool {
    let Some((_, digest)) = name.rsplit_once('-') else {
        return true;
    };
    let Ok(source) = fs::read(copy.join(SOURCE_FILE)) else {
        return true;
    };
    let manifest = PathBuf::from(std::ffi::OsString::from_vec(source)).join(super::MANIFEST_FILE);
    let mut bytes = Vec::new();
    let limit = (super::codec::MAX_MANIFEST_BODY as u64) + 4096;
    match File::open(&manifest).and_then(|file| file.take(limit).read_to_end(&mut bytes)) {
        Ok(_) => !Sha256Digest::of(&bytes).to_string().starts_with(digest),
        Err(err) => matches!(
            err.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ),
    }
}

/// Whether the temporary `temp` was left by an open that died: it has
/// not changed for [`ABANDONED_AFTER`], and no open holds its lock.
fn abandoned(temp: &Path) -> bool {
    let old = fs::symlink_metadata(temp)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age > ABANDONED_AFTER);
    old && File::open(temp)
        .ok()
        .and_then(|dir| Flock::lock(dir, FlockArg::LockExclusiveNonblock).ok())
        .is_some()
}

/// The snapshot's decrypted payload in the cache, keyed by its directory
/// and its manifest. Copies of snapshots that are gone or replaced are
/// swept when a snapshot is opened or committed ([`sweep`]).
pub(super) fn decrypted_copy(
    key: &Key,
    dir: &Path,
    manifest_bytes: &[u8],
    files: &[FileEntry],
) -> Result<PathBuf, OpenError> {
    let root = cache_root()?;
    let source = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let place =
        Sha256Digest::of(source.as_os_str().as_encoded_bytes()).to_string()[..16].to_owned();
    let name = format!(
        "{place}-{}",
        &Sha256Digest::of(manifest_bytes).to_string()[..32]
    );
    let entry = root.join(&name);
    if entry.join(COPY_PAYLOAD).is_dir() {
        return Ok(entry.join(COPY_PAYLOAD));
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
    // Held while the copy is written, so that a sweep leaves it alone.
    let _writing = File::open(&temp)
        .and_then(|dir| {
            Flock::lock(dir, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| e.into())
        })
        .map_err(|e| cache_error(&temp, e))?;
    let written = write_copy(key, dir, &source, &temp, files);
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = fs::remove_dir_all(&temp);
            return Err(err);
        }
    };
    if let Err(e) = fs::rename(&temp, &entry) {
        let _ = fs::remove_dir_all(&temp);
        // Another open made the same copy first.
        if !entry.join(COPY_PAYLOAD).is_dir() {
            return Err(cache_error(&entry, e));
        }
    }
    tracing::info!(
        dir = %dir.display(),
        copy = %entry.display(),
        mib = bytes as f64 / f64::from(1 << 20),
        "decrypted the snapshot"
    );
    Ok(entry.join(COPY_PAYLOAD))
}

/// Writes into `temp` the record of `source`, the snapshot directory
/// `dir` made absolute, and the decrypted payload; returns its bytes.
fn write_copy(
    key: &Key,
    dir: &Path,
    source: &Path,
    temp: &Path,
    files: &[FileEntry],
) -> Result<u64, OpenError> {
    let cache_error =
        |path: &Path, e: io::Error| OpenError::io("write the decrypted copy", path, e);
    let record = temp.join(SOURCE_FILE);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&record)
        .and_then(|mut file| file.write_all(source.as_os_str().as_bytes()))
        .map_err(|e| cache_error(&record, e))?;
    let started = Instant::now();
    let plain = temp.join(COPY_PAYLOAD);
    let payload = dir.join(super::PAYLOAD_DIR);
    let mut bytes = 0;
    for file in files {
        let to = plain.join(&file.path);
        if let Some(parent) = to.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| cache_error(parent, e))?;
        }
        let from = payload.join(&file.path);
        decrypt_file(key, &file.path, &from, &to).map_err(|failure| match failure {
            Unsealed::Io(e) => cache_error(&to, e),
            Unsealed::Forged => OpenError::Undecryptable { path: from },
        })?;
        bytes += file.size;
    }
    // A snapshot with no payload file still has its (empty) payload.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&plain)
        .map_err(|e| cache_error(&plain, e))?;
    tracing::debug!(elapsed = ?started.elapsed(), "decrypted the payload");
    Ok(bytes)
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
    fn a_plaintext_range_maps_to_the_sealed_chunks_that_hold_it() {
        let head = (MAGIC.len() + NONCE) as u64;
        let (chunk, stride) = (CHUNK as u64, (CHUNK + TAG) as u64);
        // A page inside the first chunk, the last page of it, the first of
        // the second, and a range across three chunks.
        assert_eq!(sealed_range(0, 4096), head..head + stride);
        assert_eq!(sealed_range(chunk - 4096, chunk), head..head + stride);
        assert_eq!(
            sealed_range(chunk, chunk + 4096),
            head + stride..head + 2 * stride
        );
        assert_eq!(
            sealed_range(chunk - 1, 2 * chunk + 1),
            head..head + 3 * stride
        );
        // A sealed file's whole plaintext: from just past the header to
        // the file's end, or less than a chunk past it.
        let content = vec![7u8; 2 * CHUNK + 100];
        let (_tmp, path) = sealed(&key(1), "memory.img", &content);
        let len = fs::read(&path).unwrap().len() as u64;
        let whole = sealed_range(0, content.len() as u64);
        assert_eq!(whole.start, head);
        assert!(
            whole.end >= len && whole.end - len < stride,
            "{whole:?} of {len}"
        );
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

    /// A copy in `root` named after `source` holding `manifest`, whose
    /// `source` file names `source` (none if `recorded` is false).
    fn planted_copy(root: &Path, source: &Path, manifest: &[u8], recorded: bool) -> PathBuf {
        let name = format!(
            "{}-{}",
            &Sha256Digest::of(source.as_os_str().as_bytes()).to_string()[..16],
            &Sha256Digest::of(manifest).to_string()[..32]
        );
        let copy = root.join(name);
        fs::create_dir_all(copy.join(COPY_PAYLOAD)).unwrap();
        fs::write(copy.join(COPY_PAYLOAD).join("memory.img"), b"plain").unwrap();
        if recorded {
            fs::write(copy.join(SOURCE_FILE), source.as_os_str().as_bytes()).unwrap();
        }
        copy
    }

    /// A snapshot directory holding `manifest`.
    fn snapshot_dir(at: &Path, manifest: &[u8]) -> PathBuf {
        fs::create_dir_all(at).unwrap();
        fs::write(at.join(super::super::MANIFEST_FILE), manifest).unwrap();
        at.to_path_buf()
    }

    /// Makes `path`'s modification time an hour ago.
    fn age(path: &Path) {
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        File::open(path).unwrap().set_modified(hour_ago).unwrap();
    }

    #[test]
    fn a_sweep_removes_the_copies_of_snapshots_gone_or_replaced_and_only_those() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("plain");
        fs::create_dir(&root).unwrap();
        let current = snapshot_dir(&tmp.path().join("current"), b"m1");
        let kept = planted_copy(&root, &current, b"m1", true);
        let replaced = planted_copy(&root, &current, b"m0", true);
        let removed = planted_copy(&root, &tmp.path().join("removed"), b"m1", true);
        let no_record = planted_copy(&root, &tmp.path().join("old"), b"m1", false);
        // Temporaries: one an open is writing (locked), one it just made,
        // one an open that died left an hour ago.
        let writing = root.join(".a.1.1");
        let young = root.join(".b.1.1");
        let dead = root.join(".c.1.1");
        for temp in [&writing, &young, &dead] {
            fs::create_dir(temp).unwrap();
        }
        age(&writing);
        age(&dead);
        let _lock = Flock::lock(File::open(&writing).unwrap(), FlockArg::LockExclusive).unwrap();

        sweep_in(&root);
        for (path, stays) in [
            (&kept, true),
            (&writing, true),
            (&young, true),
            (&replaced, false),
            (&removed, false),
            (&no_record, false),
            (&dead, false),
        ] {
            assert_eq!(path.exists(), stays, "{}", path.display());
        }
        // Its directory replaced by a file: gone too.
        fs::remove_dir_all(&current).unwrap();
        fs::write(&current, b"").unwrap();
        sweep_in(&root);
        assert!(!kept.exists());
    }
}
