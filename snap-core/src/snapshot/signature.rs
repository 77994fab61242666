//! Authenticated manifests. With a signing key configured
//! (`SNAP_SIGNING_KEY`, the path of a file of at least 32 bytes), a writer
//! seals `manifest.snap` with an HMAC-SHA256 of its bytes in
//! `manifest.sig`, and `open` refuses a snapshot without one
//! ([`OpenError::Unsigned`]) or with one the key did not make
//! ([`OpenError::BadSignature`]). The manifest holds every payload file's
//! sha256, so the signature covers the payload too. Without a key,
//! signatures are neither written nor checked.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{CreateError, OpenError};

/// The variable that names the signing key's file.
pub const SIGNING_KEY_ENV: &str = "SNAP_SIGNING_KEY";

/// The signature's file, beside `manifest.snap`.
pub const SIGNATURE_FILE: &str = "manifest.sig";

/// The shortest key accepted, in bytes: HMAC-SHA256's output size.
pub const MIN_KEY_LEN: usize = 32;

/// Why the signing key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read the signing key {} (SNAP_SIGNING_KEY)", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
    /// The key is too short to be a key.
    #[error(
        "the signing key {} (SNAP_SIGNING_KEY) has {len} bytes; it needs at least {MIN_KEY_LEN} (head -c 32 /dev/urandom > KEYFILE)",
        path.display()
    )]
    TooShort {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
}

/// The configured signing key, if any.
pub(super) fn key() -> Result<Option<Vec<u8>>, KeyError> {
    let Some(path) = std::env::var_os(SIGNING_KEY_ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let key = fs::read(&path).map_err(|cause| KeyError::Read {
        path: path.clone(),
        cause,
    })?;
    if key.len() < MIN_KEY_LEN {
        return Err(KeyError::TooShort {
            path,
            len: key.len(),
        });
    }
    Ok(Some(key))
}

fn mac(key: &[u8], manifest: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(manifest);
    mac
}

/// Writes the signature of `manifest` (the manifest file's bytes) into
/// `dir`, if a key is configured.
pub(super) fn sign(dir: &Path, manifest: &[u8]) -> Result<(), CreateError> {
    let Some(key) = key().map_err(CreateError::SigningKey)? else {
        return Ok(());
    };
    let tag = mac(&key, manifest).finalize().into_bytes();
    let path = dir.join(SIGNATURE_FILE);
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| CreateError::io("create", &path, e))?;
    file.write_all(&tag)
        .and_then(|()| file.sync_all())
        .map_err(|e| CreateError::io("write", &path, e))
}

/// Checks the signature of `manifest` in `dir` against the configured key;
/// anything passes when no key is configured.
pub(super) fn verify(dir: &Path, manifest: &[u8]) -> Result<(), OpenError> {
    let Some(key) = key().map_err(OpenError::SigningKey)? else {
        return Ok(());
    };
    let path = dir.join(SIGNATURE_FILE);
    let tag = match fs::read(&path) {
        Ok(tag) => tag,
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
            return Err(OpenError::Unsigned {
                dir: dir.to_path_buf(),
            });
        }
        Err(cause) => return Err(OpenError::io("read", &path, cause)),
    };
    mac(&key, manifest)
        .verify_slice(&tag)
        .map_err(|_| OpenError::BadSignature { path })
}
