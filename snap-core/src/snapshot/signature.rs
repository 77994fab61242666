//! Authenticated manifests. With a signing key configured
//! (`SNAP_SIGNING_KEY`, the path of a file of at least 32 bytes), a writer
//! seals `manifest.snap` with an HMAC-SHA256 of its bytes in
//! `manifest.sig`, and `open` refuses a snapshot without one
//! ([`OpenError::Unsigned`]) or with one the key did not make
//! ([`OpenError::BadSignature`]). The manifest holds every payload file's
//! sha256, so the signature covers the payload too. Without a key,
//! signatures are neither written nor checked.

use std::fs;
use std::io::{self, Read};
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
/// The most of `manifest.sig` ever read: more than any tag, so that a
/// longer file still fails the check.
const MAX_TAG_LEN: u64 = 1024;

pub(super) fn verify(dir: &Path, manifest: &[u8]) -> Result<Option<Vec<u8>>, OpenError> {
    let Some(key) = key().map_err(OpenError::SigningKey)? else {
        return Ok(None);
    };
    let path = dir.join(SIGNATURE_FILE);
    let tag = match super::owned::open_owned(&path) {
        Ok(file) => {
            // A tag is 32 bytes: anything longer is not one, and is not
            // read past a bound.
            let mut tag = Vec::new();
            file.take(MAX_TAG_LEN)
                .read_to_end(&mut tag)
                .map_err(|cause| OpenError::io("read", &path, cause))?;
            Some(tag)
        }
        Err(OpenError::Io { cause, .. }) if cause.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    check(&key, dir, manifest, tag.as_deref())?;
    Ok(tag)
}

/// Checks `signature`, the `manifest.sig` that came with `manifest` (the
/// manifest file's bytes) from elsewhere, against the configured key;
/// `dir` names where they came from. Anything passes when no key is
/// configured.
pub(super) fn verify_received(
    dir: &Path,
    manifest: &[u8],
    signature: Option<&[u8]>,
) -> Result<(), OpenError> {
    match key().map_err(OpenError::SigningKey)? {
        Some(key) => check(&key, dir, manifest, signature),
        None => Ok(()),
    }
}

/// Checks `tag`, the signature of the snapshot in `dir`, over `manifest`.
fn check(key: &[u8], dir: &Path, manifest: &[u8], tag: Option<&[u8]>) -> Result<(), OpenError> {
    let Some(tag) = tag else {
        return Err(OpenError::Unsigned {
            dir: dir.to_path_buf(),
        });
    };
    mac(key, manifest)
        .verify_slice(tag)
        .map_err(|_| OpenError::BadSignature {
            path: dir.join(SIGNATURE_FILE),
        })
}
