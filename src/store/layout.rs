//! What a store holds for one snapshot: `snapshots/KEY/manifest.json`, the
//! snapshot's own `manifest.snap` and `manifest.sig` byte for byte, and
//! each payload file as a list of content-addressed chunks.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use snap::Sha256Digest;

/// Payload files are cut into chunks of this many bytes (the last one of a
/// file may be shorter): Lambda's chunk size, page-aligned.
pub const CHUNK_SIZE: u64 = 512 * 1024;

/// The format of `manifest.json`.
pub(super) const FORMAT: u32 = 1;

/// The largest `manifest.json` read: enough for 100 GiB of payload in
/// 512 KiB chunks.
pub(super) const MAX_MANIFEST_BYTES: usize = 32 << 20;

/// `snapshots/KEY/manifest.json`. Written last: it is the commit, and a
/// store with chunks but no manifest holds no snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreManifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The chunk size every file was cut with.
    pub chunk_size: u64,
    /// The snapshot's `manifest.snap`, in base64.
    pub manifest: String,
    /// Its `manifest.sig`, in base64, if it was signed.
    pub signature: Option<String>,
    /// Every payload file in the snapshot's manifest, in its order.
    pub files: Vec<StoredFile>,
}

/// One payload file, as chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFile {
    /// Its path in `payload/`.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The sha256 of each chunk in order, as lowercase hex; `null` for a
    /// chunk of zeros, which is recorded and not stored.
    pub chunks: Vec<Option<String>>,
}

/// Why a `manifest.json` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// It is not the JSON of a store manifest.
    #[error("it is not a store manifest")]
    Json(#[source] serde_json::Error),
    /// It is of a format this snaprun does not read.
    #[error("it is of format {found}; this snaprun reads format {FORMAT}")]
    Format {
        /// The format it has.
        found: u32,
    },
    /// It is too large to be a manifest.
    #[error("it is {len} bytes, over the limit of {MAX_MANIFEST_BYTES}")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// A field does not hold what it must.
    #[error("{what}")]
    Field {
        /// What is wrong, naming the field.
        what: String,
    },
}

/// One chunk's place: which file, which chunk of it, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// Index into [`StoreManifest::files`].
    pub file: usize,
    /// Byte offset in that file.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// Its sha256, or `None` for zeros.
    pub digest: Option<Sha256Digest>,
}

impl StoreManifest {
    /// Parses and checks a `manifest.json`: the format, the chunk size,
    /// every path (relative, inside `payload/`), and every file's chunk
    /// count against its size.
    pub fn parse(bytes: &[u8]) -> Result<(Self, Vec<ChunkRef>), LayoutError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(LayoutError::TooLarge { len: bytes.len() });
        }
        let manifest: Self = serde_json::from_slice(bytes).map_err(LayoutError::Json)?;
        if manifest.format != FORMAT {
            return Err(LayoutError::Format {
                found: manifest.format,
            });
        }
        let field = |what: String| LayoutError::Field { what };
        if manifest.chunk_size == 0
            || manifest.chunk_size % 4096 != 0
            || manifest.chunk_size > 64 << 20
        {
            return Err(field(format!(
                "chunk_size {} is not a multiple of 4096 up to 64 MiB",
                manifest.chunk_size
            )));
        }
        manifest.snapshot_manifest()?;
        manifest.snapshot_signature()?;
        let mut refs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (index, file) in manifest.files.iter().enumerate() {
            let contained = !file.path.is_empty()
                && !file.path.starts_with('/')
                && file
                    .path
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..");
            if !contained || !seen.insert(file.path.as_str()) {
                return Err(field(format!(
                    "file path {:?} is not a unique path inside payload/",
                    file.path
                )));
            }
            let expected = file.size.div_ceil(manifest.chunk_size);
            if file.chunks.len() as u64 != expected {
                return Err(field(format!(
                    "{} lists {} chunks for {} bytes; {expected} expected",
                    file.path,
                    file.chunks.len(),
                    file.size
                )));
            }
            for (n, chunk) in file.chunks.iter().enumerate() {
                let offset = n as u64 * manifest.chunk_size;
                let digest = match chunk {
                    None => None,
                    Some(hex) => Some(
                        hex.parse::<Sha256Digest>()
                            .map_err(|err| field(format!("{} chunk {n}: {err}", file.path)))?,
                    ),
                };
                refs.push(ChunkRef {
                    file: index,
                    offset,
                    len: manifest.chunk_size.min(file.size - offset),
                    digest,
                });
            }
        }
        Ok((manifest, refs))
    }

    /// The snapshot's `manifest.snap`.
    pub fn snapshot_manifest(&self) -> Result<Vec<u8>, LayoutError> {
        BASE64
            .decode(&self.manifest)
            .map_err(|err| LayoutError::Field {
                what: format!("manifest is not base64: {err}"),
            })
    }

    /// The snapshot's `manifest.sig`, if it was signed.
    pub fn snapshot_signature(&self) -> Result<Option<Vec<u8>>, LayoutError> {
        self.signature
            .as_ref()
            .map(|sig| {
                BASE64.decode(sig).map_err(|err| LayoutError::Field {
                    what: format!("signature is not base64: {err}"),
                })
            })
            .transpose()
    }

    /// The manifest of a snapshot whose `manifest.snap` and `manifest.sig`
    /// are these bytes, and whose files are these.
    pub fn new(manifest: &[u8], signature: Option<&[u8]>, files: Vec<StoredFile>) -> Self {
        Self {
            format: FORMAT,
            chunk_size: CHUNK_SIZE,
            manifest: BASE64.encode(manifest),
            signature: signature.map(|sig| BASE64.encode(sig)),
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoreManifest {
        let digest = Sha256Digest::of(b"x").to_string();
        StoreManifest::new(
            b"SNAPMFST",
            None,
            vec![StoredFile {
                path: "pages-1.img".into(),
                size: CHUNK_SIZE + 10,
                chunks: vec![Some(digest), None],
            }],
        )
    }

    #[test]
    fn round_trips_with_each_chunk_placed() {
        let bytes = serde_json::to_vec(&sample()).unwrap();
        let (parsed, refs) = StoreManifest::parse(&bytes).unwrap();
        assert_eq!(parsed, sample());
        assert_eq!(refs.len(), 2);
        assert_eq!(
            (refs[1].offset, refs[1].len, refs[1].digest),
            (CHUNK_SIZE, 10, None)
        );
    }

    #[test]
    fn refuses_what_would_write_outside_the_payload_or_misplace_a_chunk() {
        let cases: Vec<(Box<dyn Fn(&mut StoreManifest)>, &str)> = vec![
            (
                Box::new(|m| m.files[0].path = "../../etc/passwd".into()),
                "inside payload/",
            ),
            (
                Box::new(|m| m.files[0].path = "/etc/passwd".into()),
                "inside payload/",
            ),
            (Box::new(|m| m.files.push(m.files[0].clone())), "unique"),
            (
                Box::new(|m| m.files[0].size = 10),
                "lists 2 chunks for 10 bytes",
            ),
            (
                Box::new(|m| m.files[0].chunks[0] = Some("zz".into())),
                "not a sha256",
            ),
            (Box::new(|m| m.chunk_size = 1000), "chunk_size"),
            (Box::new(|m| m.format = 9), "format 9"),
            (Box::new(|m| m.manifest = "***".into()), "base64"),
        ];
        for (edit, why) in cases {
            let mut manifest = sample();
            edit(&mut manifest);
            let err = StoreManifest::parse(&serde_json::to_vec(&manifest).unwrap()).unwrap_err();
            assert!(err.to_string().contains(why), "{err} lacks {why:?}");
        }
        let err = StoreManifest::parse(b"{\"format\":1}").unwrap_err();
        assert!(matches!(err, LayoutError::Json(_)), "{err}");
    }
}
