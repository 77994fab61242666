//! Errors from creating and opening snapshots.

use std::io;
use std::path::{Path, PathBuf};

use crate::Sha256Digest;

/// Why a directory is not a snapshot that may be restored.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory does not exist.
    #[error("{}: no such snapshot directory", path.display())]
    NotFound {
        /// The directory asked for.
        path: PathBuf,
    },
    /// The path is not a directory.
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path asked for.
        path: PathBuf,
    },
    /// A signing key is configured and the snapshot has no signature.
    #[error(
        "{}: unsigned, and a signing key is configured (SNAP_SIGNING_KEY): make it again with the key",
        dir.display()
    )]
    Unsigned {
        /// The snapshot directory.
        dir: PathBuf,
    },
    /// The signature is not the configured key's over this manifest: the
    /// manifest was changed, or another key made it.
    #[error(
        "{}: the signature does not match: the manifest was changed after signing, or another key signed it",
        path.display()
    )]
    BadSignature {
        /// The signature file.
        path: PathBuf,
    },
    /// The configured signing key cannot be used.
    #[error(transparent)]
    SigningKey(super::key_file::KeyError),
    /// The configured encryption key cannot be used.
    #[error(transparent)]
    EncryptionKey(super::key_file::KeyError),
    /// The snapshot is encrypted and no key is configured.
    #[error(
        "{}: the snapshot is encrypted; give its key (--encrypt-key FILE or SNAP_ENCRYPT_KEY=FILE)",
        dir.display()
    )]
    Encrypted {
        /// The snapshot directory.
        dir: PathBuf,
    },
    /// An encryption key is configured and the snapshot is not encrypted.
    #[error(
        "{}: not encrypted, and an encryption key is configured: only snapshots sealed with it are opened (make a new snapshot)",
        dir.display()
    )]
    NotEncrypted {
        /// The snapshot directory.
        dir: PathBuf,
    },
    /// The snapshot was encrypted with another key.
    #[error(
        "{}: encrypted with another key than the one configured (--encrypt-key / SNAP_ENCRYPT_KEY)",
        dir.display()
    )]
    WrongEncryptionKey {
        /// The snapshot directory.
        dir: PathBuf,
    },
    /// A payload file does not decrypt with the key its manifest names: it
    /// was changed, cut, or moved from another file, and the manifest with it.
    #[error("{}: does not decrypt: changed, cut or moved since it was sealed", path.display())]
    Undecryptable {
        /// The file.
        path: PathBuf,
    },
    /// The cache of decrypted snapshots is not private to this user.
    #[error("cache of decrypted snapshots {} (SNAP_PLAIN_CACHE): {reason}", path.display())]
    PlainCache {
        /// The cache directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Others than its owner may write the directory (or its payload), so
    /// someone else could have planted or changed what it holds.
    #[error(
        "{}: others can write it (mode {mode:o}); a snapshot directory must be writable by its owner only (chmod go-w, or make a new snapshot)",
        path.display()
    )]
    WritableByOthers {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A symbolic link stands where the snapshot has a file or directory:
    /// whoever made the link chooses what it leads to.
    #[error(
        "{}: a symbolic link, where a snapshot holds a real file or directory; give the snapshot's own path",
        path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Another user (not root) owns part of the snapshot, so they decide
    /// what it holds.
    #[error(
        "{}: owned by uid {owner}, not by this user (uid {me}) or root; a snapshot is trusted only from its own user (make a new one)",
        path.display()
    )]
    OwnedByOther {
        /// The file or directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// The directory is a temporary left by an interrupted checkpoint.
    #[error("{}: an unfinished snapshot left by an interrupted checkpoint", path.display())]
    Unfinished {
        /// The temporary directory.
        path: PathBuf,
    },
    /// The directory has no manifest: it is empty or holds something else.
    #[error("{}: not a snapshot: it has no {}", dir.display(), super::MANIFEST_FILE)]
    MissingManifest {
        /// The directory.
        dir: PathBuf,
    },
    /// A file the manifest lists is gone.
    #[error("{}: missing from the snapshot", path.display())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// A file is shorter than recorded.
    #[error("{}: truncated: {found} bytes, expected {expected}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Recorded size.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A file is longer than recorded.
    #[error("{}: {found} bytes, expected {expected}: data was appended", path.display())]
    Overlong {
        /// The file.
        path: PathBuf,
        /// Recorded size.
        expected: u64,
        /// Size on disk.
        found: u64,
    },
    /// A file's contents differ from what was recorded.
    #[error("{}: checksum mismatch: contents hash to {found}, recorded {expected}", path.display())]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Recorded digest.
        expected: Sha256Digest,
        /// Digest of the contents on disk.
        found: Sha256Digest,
    },
    /// The manifest does not start with the snap magic: a foreign file.
    #[error("{}: not a snap manifest (foreign file; first bytes {found:02x?})", path.display())]
    BadMagic {
        /// The manifest path.
        path: PathBuf,
        /// The first eight bytes found.
        found: [u8; 8],
    },
    /// The manifest has a format version this build cannot read.
    #[error("{}: unsupported snapshot format version {found}; this build reads version {supported}", path.display())]
    UnsupportedVersion {
        /// The manifest path.
        path: PathBuf,
        /// Version found in the header.
        found: u32,
        /// Version this build supports.
        supported: u32,
    },
    /// The manifest header claims a body over the size bound.
    #[error("{}: manifest body of {len} bytes exceeds the limit of {limit}", path.display())]
    ManifestTooLarge {
        /// The manifest path.
        path: PathBuf,
        /// Claimed body length.
        len: u64,
        /// The bound.
        limit: u64,
    },
    /// The manifest passed its checksum but does not decode or is invalid.
    #[error("{}: invalid manifest: {reason}", path.display())]
    ManifestCorrupt {
        /// The manifest path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The payload holds a file the manifest does not list.
    #[error("{}: not listed in the manifest", path.display())]
    UnlistedFile {
        /// The extra file.
        path: PathBuf,
    },
    /// A payload entry is a link, device or other non-regular file.
    #[error("{}: not a regular file", path.display())]
    NotARegularFile {
        /// The entry.
        path: PathBuf,
    },
    /// The snapshot was written by another engine.
    #[error("snapshot was made by the {found:?} engine, not {expected:?}")]
    EngineMismatch {
        /// Engine named in the manifest.
        found: String,
        /// Engine asked for.
        expected: String,
    },
    /// The snapshot is of something else than what is being run.
    #[error("snapshot is of something else: its {field} is {found}, expected {expected}")]
    IdentityMismatch {
        /// Which identity field differs.
        field: &'static str,
        /// Value recorded in the snapshot.
        found: String,
        /// Value of what is being run.
        expected: String,
    },
    /// The snapshot was taken on a host this engine cannot restore it on.
    #[error(
        "snapshot was taken with {field} {found:?}, this host has {current:?}, and the engine cannot cross that"
    )]
    HostMismatch {
        /// `kernel release` or `architecture`.
        field: &'static str,
        /// Value recorded in the snapshot.
        found: String,
        /// Value on this host.
        current: String,
    },
    /// A system call failed.
    #[error("{op} {}", path.display())]
    Io {
        /// The operation.
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The cause.
        #[source]
        cause: io::Error,
    },
}

impl OpenError {
    pub(crate) fn io(op: &'static str, path: &Path, cause: io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The destination exists and is not a snapshot or an empty directory, so
    /// replacing it could destroy data.
    #[error("{}: exists and is neither a snapshot nor empty; refusing to replace it", path.display())]
    DestinationOccupied {
        /// The destination.
        path: PathBuf,
    },
    /// The configured signing key cannot be used.
    #[error(transparent)]
    SigningKey(super::key_file::KeyError),
    /// The configured encryption key cannot be used.
    #[error(transparent)]
    EncryptionKey(super::key_file::KeyError),
    /// A snapshot received whole from elsewhere does not match its
    /// manifest or its signature; nothing was replaced.
    #[error("the received snapshot does not check out; nothing was replaced")]
    Received(#[source] Box<OpenError>),
    /// The snapshot was written, and its decrypted copy could not be made.
    #[error("the snapshot was written, and cannot be decrypted for use")]
    Decrypt(#[source] Box<OpenError>),
    /// The destination has no parent directory to build the temporary in.
    #[error("{}: a snapshot needs a named directory inside a parent", path.display())]
    NoParent {
        /// The destination.
        path: PathBuf,
    },
    /// The engine left something other than a regular file in the payload.
    #[error("{}: the payload may only hold regular files and directories", path.display())]
    UnsupportedEntry {
        /// The entry.
        path: PathBuf,
    },
    /// The manifest would be over the size bound.
    #[error("manifest of {len} bytes exceeds the limit of {limit}")]
    ManifestTooLarge {
        /// Encoded body length.
        len: usize,
        /// The bound.
        limit: u32,
    },
    /// A system call failed.
    #[error("{op} {}", path.display())]
    Io {
        /// The operation.
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The cause.
        #[source]
        cause: io::Error,
    },
}

impl CreateError {
    pub(crate) fn io(op: &'static str, path: &Path, cause: io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            cause,
        }
    }
}
