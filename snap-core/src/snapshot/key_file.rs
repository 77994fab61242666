//! Keys kept in files named by environment variables: the signing key
//! (`SNAP_SIGNING_KEY`) and the encryption key (`SNAP_ENCRYPT_KEY`).
//!
//! A key file is read with a bound: it must be a regular file (a symlink
//! to one is fine: Kubernetes mounts secrets as links) of at most
//! [`MAX_KEY_LEN`] bytes. It is opened with `O_NONBLOCK`, so that a FIFO
//! named as a key cannot block the open, then checked with `fstat` on the
//! descriptor opened, so that what is checked is what is read, and read
//! through `take(MAX_KEY_LEN + 1)`, so that a file that grows meanwhile is
//! still refused without being read whole.

use std::fs::{self, File, FileType};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::PathBuf;

/// The shortest key accepted, in bytes: HMAC-SHA256's output size, and
/// ChaCha20-Poly1305's key size.
pub const MIN_KEY_LEN: usize = 32;

/// The longest key file read, in bytes: keying material is 32 bytes, and
/// a key written in hex or base64 with a newline is well under this.
pub const MAX_KEY_LEN: usize = 4096;

/// Why a configured key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read the {what} key {} ({var})", path.display())]
    Read {
        /// What the key is for: `signing` or `encryption`.
        what: &'static str,
        /// The variable that names it.
        var: &'static str,
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
    /// The key is too short to be a key.
    #[error(
        "the {what} key {} ({var}) has {len} bytes; it needs at least {MIN_KEY_LEN} (head -c 32 /dev/urandom > KEYFILE)",
        path.display()
    )]
    TooShort {
        /// What the key is for.
        what: &'static str,
        /// The variable that names it.
        var: &'static str,
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The key file is longer than any key.
    #[error(
        "the {what} key {} ({var}) is over the limit of {MAX_KEY_LEN} bytes for a key file; refused unread (head -c 32 /dev/urandom > KEYFILE)",
        path.display()
    )]
    TooLarge {
        /// What the key is for.
        what: &'static str,
        /// The variable that names it.
        var: &'static str,
        /// The key file.
        path: PathBuf,
    },
    /// The key's path names something other than a regular file (a device
    /// such as `/dev/zero`, a FIFO, a directory, a socket).
    #[error(
        "the {what} key {} ({var}) is {kind}, not a regular file; refused unread",
        path.display()
    )]
    NotAFile {
        /// What the key is for.
        what: &'static str,
        /// The variable that names it.
        var: &'static str,
        /// The key file.
        path: PathBuf,
        /// What it is: `a directory`, `a FIFO`, `a character device`...
        kind: &'static str,
    },
}

/// What a file of type `kind` is, in words.
fn kind_of(kind: FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}

/// The key in the file that `var` names, if it names one: `what` says what
/// it is for, in errors.
pub(super) fn read(var: &'static str, what: &'static str) -> Result<Option<Vec<u8>>, KeyError> {
    let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    read_path(PathBuf::from(path), var, what).map(Some)
}

/// The key in the file at `path`, which `var` named.
fn read_path(path: PathBuf, var: &'static str, what: &'static str) -> Result<Vec<u8>, KeyError> {
    let read_error = |path: &PathBuf, cause| KeyError::Read {
        what,
        var,
        path: path.clone(),
        cause,
    };
    // Links are followed; O_NONBLOCK so that a FIFO does not block the
    // open waiting for a writer (it is refused just below).
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
        .map_err(|cause| read_error(&path, cause))?;
    let meta = file.metadata().map_err(|cause| read_error(&path, cause))?;
    if !meta.is_file() {
        return Err(KeyError::NotAFile {
            what,
            var,
            path,
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > MAX_KEY_LEN as u64 {
        return Err(KeyError::TooLarge { what, var, path });
    }
    let key = read_bounded(file).map_err(|cause| read_error(&path, cause))?;
    if key.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLarge { what, var, path });
    }
    if key.len() < MIN_KEY_LEN {
        return Err(KeyError::TooShort {
            what,
            var,
            path,
            len: key.len(),
        });
    }
    Ok(key)
}

/// At most `MAX_KEY_LEN + 1` bytes of `file`: one more than a key may
/// have, to tell a key file that is too long.
fn read_bounded(file: File) -> io::Result<Vec<u8>> {
    let mut key = Vec::with_capacity(MAX_KEY_LEN + 1);
    file.take(MAX_KEY_LEN as u64 + 1).read_to_end(&mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use std::path::Path;

    const VAR: &str = "SNAP_SIGNING_KEY";

    fn read_key(path: &Path) -> Result<Vec<u8>, KeyError> {
        read_path(path.to_path_buf(), VAR, "signing")
    }

    fn refused_as(path: &Path, kind: &str) {
        match read_key(path) {
            Err(err @ KeyError::NotAFile { kind: found, .. }) => {
                assert_eq!(found, kind, "{err}");
                let message = err.to_string();
                assert!(
                    message.contains(&format!("the signing key {} ({VAR})", path.display())),
                    "{message}"
                );
                assert!(
                    message.contains(&format!("is {kind}, not a regular file")),
                    "{message}"
                );
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }

    #[test]
    fn a_key_of_32_bytes_up_to_the_limit_is_read_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("key");
        for len in [MIN_KEY_LEN, MAX_KEY_LEN] {
            fs::write(&key, vec![7u8; len]).unwrap();
            assert_eq!(read_key(&key).unwrap().len(), len);
        }
        // A secret mounted as a link to a file: followed.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&key, &link).unwrap();
        assert_eq!(read_key(&link).unwrap().len(), MAX_KEY_LEN);
    }

    #[test]
    fn a_key_file_over_the_limit_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("big");
        fs::write(&key, vec![7u8; MAX_KEY_LEN + 1]).unwrap();
        match read_key(&key) {
            Err(err @ KeyError::TooLarge { .. }) => {
                let message = err.to_string();
                assert!(
                    message.contains(&key.display().to_string())
                        && message.contains("over the limit of 4096 bytes"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_device_a_fifo_and_a_directory_are_refused_without_being_read() {
        // /dev/zero would be read forever.
        refused_as(Path::new("/dev/zero"), "a character device");
        let tmp = tempfile::tempdir().unwrap();
        refused_as(tmp.path(), "a directory");
        // A FIFO with no writer: a blocking open would wait forever.
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        refused_as(&fifo, "a FIFO");
        // And through a link to it.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        refused_as(&link, "a FIFO");
    }

    #[test]
    fn a_bounded_read_stops_one_byte_past_the_limit() {
        let zero = File::open("/dev/zero").unwrap();
        assert_eq!(read_bounded(zero).unwrap().len(), MAX_KEY_LEN + 1);
    }
}
