//! The working-set record: what an engine learnt about a snapshot after it
//! was sealed (for the native engine, the pages the first invocation after a
//! restore touched), kept beside the manifest and bound to it.
//!
//! ```text
//! DIR/working-set.snap
//! offset  size  field
//!      0     8  magic, b"SNAPWSET"
//!      8     4  format version, u32 little-endian (1)
//!     12     4  body length in bytes, u32 little-endian, at most MAX_WORKING_SET_BODY
//!     16    32  SHA-256 of manifest.snap's bytes: the snapshot it belongs to
//!     48    32  tag over bytes 0..48 and the body: HMAC-SHA256 under the
//!               signing key (SNAP_SIGNING_KEY) when one is configured,
//!               else SHA-256
//!     80     n  body: the engine's bytes
//! ```
//!
//! The manifest is what the signature covers, so a record that names the
//! manifest's digest and carries a tag under the same key is inside the
//! signature: nobody without the key can make one a signed snapshot
//! accepts, and a record of another snapshot (a stale one, or one copied
//! from elsewhere) names another manifest. The record only speeds restores
//! up, so a reader that finds it wrong says why and goes on without it.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::key_file::KeyError;
use super::{OpenError, Snapshot};
use crate::Sha256Digest;

/// The record's file, beside `manifest.snap`.
pub const WORKING_SET_FILE: &str = "working-set.snap";

/// The first eight bytes of every record.
const MAGIC: [u8; 8] = *b"SNAPWSET";
/// The record format this build writes and reads.
const VERSION: u32 = 1;
/// The largest body accepted, in bytes.
pub const MAX_WORKING_SET_BODY: u32 = 1 << 20;
const HEADER_LEN: usize = 80;
/// Keeps a record's tag apart from every other use of the signing key.
const TAG_LABEL: &[u8] = b"snap working set v1\0";

/// Why a snapshot's working-set record cannot be used or kept.
#[derive(Debug, thiserror::Error)]
pub enum WorkingSetError {
    /// The file could not be opened or read as this user's own, link-free
    /// regular file.
    #[error("{}: cannot read the working set", path.display())]
    Open {
        /// The record's path.
        path: PathBuf,
        /// What went wrong.
        #[source]
        cause: Box<OpenError>,
    },
    /// Reading or writing it failed.
    #[error("{}: cannot {op} the working set", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The record's path.
        path: PathBuf,
        /// The OS error.
        #[source]
        cause: io::Error,
    },
    /// It is not a record of this format.
    #[error("{}: not a working-set record ({reason})", path.display())]
    Malformed {
        /// The record's path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// It belongs to another snapshot: one this directory held before, or
    /// one it was copied from.
    #[error("{}: recorded for another snapshot (manifest {found}, this one is {expected})", path.display())]
    OtherSnapshot {
        /// The record's path.
        path: PathBuf,
        /// The manifest digest it names.
        found: Sha256Digest,
        /// This snapshot's manifest digest.
        expected: Sha256Digest,
    },
    /// Its tag does not match: changed, or made without this signing key.
    #[error("{}: the working set's tag does not match (changed, or not made under this signing key)", path.display())]
    BadTag {
        /// The record's path.
        path: PathBuf,
    },
    /// The signing key could not be read.
    #[error("cannot read the signing key for the working set")]
    SigningKey(#[source] KeyError),
    /// The engine found the body wrong for this snapshot.
    #[error("{}: the working set does not fit the snapshot: {reason}", path.display())]
    Mismatch {
        /// The record's path.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
}

/// The tag of a record whose first 48 bytes are `head`.
fn tag(head: &[u8], body: &[u8]) -> Result<[u8; 32], WorkingSetError> {
    match super::signature::key().map_err(WorkingSetError::SigningKey)? {
        Some(key) => {
            // HMAC takes a key of any length.
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
            mac.update(TAG_LABEL);
            mac.update(head);
            mac.update(body);
            Ok(mac.finalize().into_bytes().into())
        }
        None => {
            let mut hash = Sha256::new();
            hash.update(TAG_LABEL);
            hash.update(head);
            hash.update(body);
            Ok(hash.finalize().into())
        }
    }
}

impl Snapshot {
    /// The record's path.
    pub fn working_set_path(&self) -> PathBuf {
        self.dir().join(WORKING_SET_FILE)
    }

    /// The body of this snapshot's working-set record; `None` if it has
    /// none. A record that is not this user's own link-free regular file,
    /// is malformed or oversized, names another snapshot, or whose tag does
    /// not match is an error that says which.
    pub fn working_set(&self) -> Result<Option<Vec<u8>>, WorkingSetError> {
        let path = self.working_set_path();
        let file = match super::owned::open_owned(&path) {
            Ok(file) => file,
            Err(OpenError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(err) => {
                return Err(WorkingSetError::Open {
                    path,
                    cause: Box::new(err),
                });
            }
        };
        let malformed = |reason: String| WorkingSetError::Malformed {
            path: path.clone(),
            reason,
        };
        let mut bytes = Vec::new();
        file.take(HEADER_LEN as u64 + u64::from(MAX_WORKING_SET_BODY) + 1)
            .read_to_end(&mut bytes)
            .map_err(|cause| WorkingSetError::Io {
                op: "read",
                path: path.clone(),
                cause,
            })?;
        if bytes.len() < HEADER_LEN {
            return Err(malformed(format!(
                "{} bytes, shorter than its header",
                bytes.len()
            )));
        }
        let (header, body) = bytes.split_at(HEADER_LEN);
        if header[..8] != MAGIC {
            return Err(malformed("wrong magic".into()));
        }
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        if word(8) != VERSION {
            return Err(malformed(format!(
                "format version {}, this build reads {VERSION}",
                word(8)
            )));
        }
        let len = word(12);
        if len > MAX_WORKING_SET_BODY {
            return Err(malformed(format!(
                "a body of {len} bytes, at most {MAX_WORKING_SET_BODY}"
            )));
        }
        if body.len() != len as usize {
            return Err(malformed(format!(
                "the header says {len} body bytes, the file has {}",
                body.len()
            )));
        }
        let mut named = [0u8; 32];
        named.copy_from_slice(&header[16..48]);
        let named = Sha256Digest(named);
        if named != self.manifest_sha256 {
            return Err(WorkingSetError::OtherSnapshot {
                path,
                found: named,
                expected: self.manifest_sha256,
            });
        }
        let want = tag(&header[..48], body)?;
        // Constant time: the tag may be an HMAC.
        let differs = want
            .iter()
            .zip(&header[48..80])
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs != 0 {
            return Err(WorkingSetError::BadTag { path });
        }
        Ok(Some(body.to_vec()))
    }

    /// Keeps `body` as this snapshot's working-set record, unless it has
    /// one already (then `false`): written to a new owner-only file and
    /// renamed into place without replacing anything, so a reader sees a
    /// whole record or none.
    pub fn keep_working_set(&self, body: &[u8]) -> Result<bool, WorkingSetError> {
        let path = self.working_set_path();
        let len = u32::try_from(body.len())
            .ok()
            .filter(|len| *len <= MAX_WORKING_SET_BODY)
            .ok_or_else(|| WorkingSetError::Malformed {
                path: path.clone(),
                reason: format!(
                    "a body of {} bytes, at most {MAX_WORKING_SET_BODY}",
                    body.len()
                ),
            })?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&self.manifest_sha256.0);
        let tag = tag(&bytes, body)?;
        bytes.extend_from_slice(&tag);
        bytes.extend_from_slice(body);

        let temp = self.dir().join(format!(
            ".{WORKING_SET_FILE}.{}.{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
            .map_err(|cause| WorkingSetError::Io {
                op: "create",
                path: temp.clone(),
                cause,
            })?;
        if let Err(cause) = file.write_all(&bytes).and_then(|()| file.sync_all()) {
            let _ = fs::remove_file(&temp);
            return Err(WorkingSetError::Io {
                op: "write",
                path: temp,
                cause,
            });
        }
        let renamed = nix::fcntl::renameat2(
            nix::fcntl::AT_FDCWD,
            &temp,
            nix::fcntl::AT_FDCWD,
            &path,
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        );
        if renamed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        match renamed {
            Ok(()) => Ok(true),
            // Another recorder was first: the record is kept once.
            Err(nix::errno::Errno::EEXIST) => Ok(false),
            Err(errno) => Err(WorkingSetError::Io {
                op: "rename into place",
                path,
                cause: errno.into(),
            }),
        }
    }

    /// Removes this snapshot's working-set record, if it has one (a stale
    /// or unreadable one, so that a new one can be kept).
    pub fn forget_working_set(&self) -> Result<(), WorkingSetError> {
        let path = self.working_set_path();
        match fs::remove_file(&path) {
            Err(cause) if cause.kind() != io::ErrorKind::NotFound => Err(WorkingSetError::Io {
                op: "remove",
                path,
                cause,
            }),
            _ => Ok(()),
        }
    }
}
