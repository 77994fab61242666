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
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::key_file::{self, KeyError};
use super::{CreateError, OpenError};

/// The variable that names the signing key's file.
pub const SIGNING_KEY_ENV: &str = "SNAP_SIGNING_KEY";

/// The signature's file, beside `manifest.snap`.
pub const SIGNATURE_FILE: &str = "manifest.sig";

/// The configured signing key, if any.
pub(super) fn key() -> Result<Option<Vec<u8>>, KeyError> {
    key_file::read(SIGNING_KEY_ENV, "signing")
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

/// Checks the signature of `manifest` in `dir` against the configured key,
/// and returns the signature; anything passes, unsigned, when no key is
/// configured.
pub(super) fn verify(dir: &Path, manifest: &[u8]) -> Result<Option<Vec<u8>>, OpenError> {
    let Some(key) = key().map_err(OpenError::SigningKey)? else {
        return Ok(None);
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
        .map_err(|_| OpenError::BadSignature { path })?;
    Ok(Some(tag))
}
