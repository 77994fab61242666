//! The manifest file's framing.
//!
//! ```text
//! offset  size  field
//!      0     8  magic, b"SNAPMFST"
//!      8     4  format version, u32 little-endian
//!     12     4  body length in bytes, u32 little-endian, at most MAX_MANIFEST_BODY
//!     16    32  SHA-256 of the body
//!     48     n  body: the Manifest, bincode standard configuration
//! ```
//!
//! The header is checked field by field before the body is hashed, and the
//! body is hashed before it is decoded, so a hostile file is rejected before
//! it can make the decoder allocate.

use std::io::{self, Read};
use std::path::Path;

use super::{Manifest, OpenError};
use crate::Sha256Digest;

/// The first eight bytes of every manifest.
pub const MAGIC: [u8; 8] = *b"SNAPMFST";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest manifest body accepted, in bytes.
pub const MAX_MANIFEST_BODY: u32 = 1 << 20;

const HEADER_LEN: usize = 48;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ MAX_MANIFEST_BODY as usize }>()
}

/// Encodes `manifest` with its header, or returns the body length if it is
/// over [`MAX_MANIFEST_BODY`].
pub(crate) fn encode(manifest: &Manifest) -> Result<Vec<u8>, usize> {
    let body =
        bincode::encode_to_vec(manifest, bincode::config::standard()).map_err(|_| usize::MAX)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|len| *len <= MAX_MANIFEST_BODY)
        .ok_or(body.len())?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&Sha256Digest::of(&body).0);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads and decodes the manifest at `path`, reading at most one byte more
/// than the largest valid manifest; returns it with the file's bytes.
pub(crate) fn read(path: &Path) -> Result<(Manifest, Vec<u8>), OpenError> {
    let file = super::owned::open_owned(path).map_err(|err| match err {
        OpenError::Io { cause, .. } if cause.kind() == io::ErrorKind::NotFound => {
            OpenError::MissingManifest {
                dir: path.parent().unwrap_or(path).to_path_buf(),
            }
        }
        other => other,
    })?;
    let limit = (HEADER_LEN + MAX_MANIFEST_BODY as usize + 1) as u64;
    // Sized from the file, so the manifest comes in one read (every native
    // restore opens it) instead of reads of 32 bytes and up.
    let size = file.metadata().map_or(0, |m| m.len()).saturating_add(1);
    let mut bytes = Vec::with_capacity(size.min(limit) as usize);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|cause| OpenError::io("read", path, cause))?;
    let manifest = decode(path, &bytes)?;
    Ok((manifest, bytes))
}

/// Decodes a whole manifest file; `path` only names it in errors. Public,
/// hidden, for the fuzz targets in `fuzz/`.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Manifest, OpenError> {
    let path = path.to_path_buf();
    let truncated = |expected: usize| OpenError::Truncated {
        path: path.clone(),
        expected: expected as u64,
        found: bytes.len() as u64,
    };
    let header = bytes.get(..HEADER_LEN).ok_or_else(|| {
        // Too short even for a header: a foreign file unless it starts right.
        if bytes.len() >= MAGIC.len() && bytes[..MAGIC.len()] != MAGIC {
            bad_magic(&path, bytes)
        } else {
            truncated(HEADER_LEN)
        }
    })?;
    if header[..8] != MAGIC {
        return Err(bad_magic(&path, bytes));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != FORMAT_VERSION {
        return Err(OpenError::UnsupportedVersion {
            path,
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if len > MAX_MANIFEST_BODY {
        return Err(OpenError::ManifestTooLarge {
            path,
            len: u64::from(len),
            limit: u64::from(MAX_MANIFEST_BODY),
        });
    }
    let total = HEADER_LEN + len as usize;
    if bytes.len() < total {
        return Err(truncated(total));
    }
    if bytes.len() > total {
        return Err(OpenError::Overlong {
            path,
            expected: total as u64,
            found: bytes.len() as u64,
        });
    }
    let body = &bytes[HEADER_LEN..];
    let mut expected = [0u8; 32];
    expected.copy_from_slice(&header[16..48]);
    let found = Sha256Digest::of(body);
    if found.0 != expected {
        return Err(OpenError::ChecksumMismatch {
            path,
            expected: Sha256Digest(expected),
            found,
        });
    }
    let (manifest, used) =
        bincode::decode_from_slice::<Manifest, _>(body, config()).map_err(|err| {
            OpenError::ManifestCorrupt {
                path: path.clone(),
                reason: err.to_string(),
            }
        })?;
    if used != body.len() {
        return Err(OpenError::ManifestCorrupt {
            path,
            reason: format!("{} bytes left over after the manifest", body.len() - used),
        });
    }
    Ok(manifest)
}

fn bad_magic(path: &Path, bytes: &[u8]) -> OpenError {
    let mut found = [0u8; 8];
    let n = bytes.len().min(8);
    found[..n].copy_from_slice(&bytes[..n]);
    OpenError::BadMagic {
        path: path.to_path_buf(),
        found,
    }
}
