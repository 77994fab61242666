//! What a manifest records.

use bincode::{Decode, Encode};

use super::{Host, Identity};
use crate::Sha256Digest;

/// Everything a snapshot says about itself. The format version and magic live
/// in the header around it (see [`super::codec`]).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Manifest {
    /// Name of the engine that wrote the payload, such as `"criu"`.
    pub engine: String,
    /// When the snapshot was sealed, in milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// What was snapshotted.
    pub identity: Identity,
    /// Where it was snapshotted.
    pub host: Host,
    /// Every payload file, sorted by path.
    pub files: Vec<FileEntry>,
    /// Names of files the engine itself may write into the payload while
    /// restoring (CRIU's `stats-restore`). They are never read as input, so
    /// validation ignores them.
    pub scratch: Vec<String>,
    /// Engine-private state, encoded and decoded by the engine.
    pub engine_state: Vec<u8>,
    /// Data the snapshot's user keeps with it (for `snaprun run`, the request
    /// the bootstrap was blocked in), by name.
    pub annotations: Vec<(String, Vec<u8>)>,
}

impl Manifest {
    /// The annotation called `name`.
    pub fn annotation(&self, name: &str) -> Option<&[u8]> {
        self.annotations
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// One payload file.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct FileEntry {
    /// Path relative to the payload directory, `/`-separated, never absolute
    /// and never containing `..`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents.
    pub sha256: Sha256Digest,
}

impl FileEntry {
    /// Whether `path` is a plain relative path that stays inside the payload.
    pub(crate) fn is_contained(path: &str) -> bool {
        !path.is_empty()
            && !path.starts_with('/')
            && path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
    }
}

#[cfg(test)]
mod tests {
    use super::FileEntry;

    #[test]
    fn containment() {
        assert!(FileEntry::is_contained("pages-1.img"));
        assert!(FileEntry::is_contained("a/b.img"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/"] {
            assert!(!FileEntry::is_contained(bad), "{bad:?} accepted");
        }
    }
}
