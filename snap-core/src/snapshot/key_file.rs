//! Keys kept in files named by environment variables: the signing key
//! (`SNAP_SIGNING_KEY`) and the encryption key (`SNAP_ENCRYPT_KEY`).

use std::fs;
use std::io;
use std::path::PathBuf;

/// The shortest key accepted, in bytes: HMAC-SHA256's output size, and
/// ChaCha20-Poly1305's key size.
pub const MIN_KEY_LEN: usize = 32;

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
}

/// The key in the file that `var` names, if it names one: `what` says what
/// it is for, in errors.
pub(super) fn read(var: &'static str, what: &'static str) -> Result<Option<Vec<u8>>, KeyError> {
    let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let key = fs::read(&path).map_err(|cause| KeyError::Read {
        what,
        var,
        path: path.clone(),
        cause,
    })?;
    if key.len() < MIN_KEY_LEN {
        return Err(KeyError::TooShort {
            what,
            var,
            path,
            len: key.len(),
        });
    }
    Ok(Some(key))
}
