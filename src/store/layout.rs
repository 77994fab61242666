//! What a store holds for one snapshot: `snapshots/KEY/manifest.json`, the
//! snapshot's own `manifest.snap` and `manifest.sig` byte for byte, and its
//! payload as one image cut into content-addressed chunks.
//!
//! The image is the payload files laid end to end, each at a page-aligned
//! offset, as Lambda flattens a container image before chunking it. A file
//! of a chunk or more starts on a chunk boundary, so its chunks are the
//! same whatever the smaller files before it hold (deduplication survives
//! them); smaller files share chunks, so a CRIU image's dozens of small
//! files cost a few requests, not one each. Gaps are zeros.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use snap::Sha256Digest;
use snap::snapshot::{FileEntry, MANIFEST_FILE, OpenError};

/// The image is cut into chunks of this many bytes (the last may be
/// shorter): Lambda's chunk size, page-aligned.
pub const CHUNK_SIZE: u64 = 512 * 1024;

/// Files start at multiples of this in the image.
pub(super) const PAGE: u64 = 4096;

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
    /// The chunk size the image was cut with.
    pub chunk_size: u64,
    /// The snapshot's `manifest.snap`, in base64.
    pub manifest: String,
    /// Its `manifest.sig`, in base64, if it was signed.
    pub signature: Option<String>,
    /// Every payload file in the snapshot's manifest, and where it lies in
    /// the image.
    pub files: Vec<StoredFile>,
    /// The sha256 of each of the image's chunks in order, as lowercase hex;
    /// `null` for a chunk of zeros, which is recorded and not stored.
    pub chunks: Vec<Option<String>>,
}

/// A snapshot's `manifest.snap` and `manifest.sig`, byte for byte, as a
/// store manifest carries them.
#[derive(Debug)]
pub struct Carried {
    /// `manifest.snap`.
    pub manifest: Vec<u8>,
    /// `manifest.sig`, if it was signed.
    pub signature: Option<Vec<u8>>,
}

/// One payload file's place in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFile {
    /// Its path in `payload/`.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where it starts in the image.
    pub offset: u64,
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
    /// The snapshot manifest it carries does not decode, or does not open
    /// with this machine's keys.
    #[error("the snapshot manifest it carries is refused")]
    Snapshot(#[source] Box<OpenError>),
    /// Its files are not the ones the snapshot manifest it carries lists.
    #[error(
        "its files are not the snapshot manifest's: it lists {}, where the snapshot manifest lists {}",
        listed.as_deref().unwrap_or("no more"),
        recorded.as_deref().unwrap_or("no more")
    )]
    OtherFiles {
        /// The first file that differs, as this manifest lists it.
        listed: Option<String>,
        /// That file as the snapshot manifest lists it.
        recorded: Option<String>,
    },
    /// A field does not hold what it must.
    #[error("{what}")]
    Field {
        /// What is wrong, naming the field.
        what: String,
    },
}

/// A piece of a chunk that belongs to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Index into [`StoreManifest::files`].
    pub file: usize,
    /// Where the piece goes in that file.
    pub file_offset: u64,
    /// Where it starts in the chunk.
    pub chunk_offset: u64,
    /// Its length.
    pub len: u64,
}

/// Lays `files` (path, size) out in an image: each at the next page
/// boundary, or the next chunk boundary for a file of a chunk or more.
/// Returns the files placed and the image's length.
pub(super) fn lay_out(files: &[(String, u64)]) -> (Vec<StoredFile>, u64) {
    let mut end = 0u64;
    let mut placed = Vec::with_capacity(files.len());
    for (path, size) in files {
        let align = if *size >= CHUNK_SIZE {
            CHUNK_SIZE
        } else {
            PAGE
        };
        let offset = end.next_multiple_of(align);
        placed.push(StoredFile {
            path: path.clone(),
            size: *size,
            offset,
        });
        end = offset + size;
    }
    (placed, end)
}

impl StoreManifest {
    /// Parses and checks a `manifest.json`: the format, the chunk size,
    /// every path (relative, inside `payload/`, unique), every file's place
    /// (page-aligned, in order, not overlapping), and the chunk count
    /// against the image's length.
    pub fn parse(bytes: &[u8]) -> Result<Self, LayoutError> {
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
            || !manifest.chunk_size.is_multiple_of(PAGE)
            || manifest.chunk_size > 64 << 20
        {
            return Err(field(format!(
                "chunk_size {} is not a multiple of 4096 up to 64 MiB",
                manifest.chunk_size
            )));
        }
        manifest.snapshot_manifest()?;
        manifest.snapshot_signature()?;
        let mut seen = std::collections::HashSet::new();
        let mut end = 0u64;
        for file in &manifest.files {
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
            if file.offset % PAGE != 0 || file.offset < end {
                return Err(field(format!(
                    "{} at offset {} is not page-aligned after the file before it",
                    file.path, file.offset
                )));
            }
            end = file.offset.checked_add(file.size).ok_or_else(|| {
                field(format!("{} at offset {} overflows", file.path, file.offset))
            })?;
        }
        let expected = end.div_ceil(manifest.chunk_size);
        if manifest.chunks.len() as u64 != expected {
            return Err(field(format!(
                "{} chunks listed for an image of {end} bytes; {expected} expected",
                manifest.chunks.len()
            )));
        }
        for (n, chunk) in manifest.chunks.iter().enumerate() {
            if let Some(hex) = chunk {
                hex.parse::<Sha256Digest>()
                    .map_err(|err| field(format!("chunk {n}: {err}")))?;
            }
        }
        Ok(manifest)
    }

    /// The snapshot's own manifest file and signature that this one
    /// carries, once that manifest is found to list the same files (path
    /// and size, in order) and to open with this machine's keys (signed
    /// with the configured signing key, encrypted with the configured
    /// encryption key or not at all). This is checked before anything is
    /// fetched; `dir` names the snapshot in messages. Installing the
    /// pulled snapshot checks it all again, and every file's checksum.
    pub fn carried(&self, dir: &std::path::Path) -> Result<Carried, LayoutError> {
        let bytes = self.snapshot_manifest()?;
        let manifest = snap::snapshot::decode_manifest(&dir.join(MANIFEST_FILE), &bytes)
            .map_err(|e| LayoutError::Snapshot(Box::new(e)))?;
        self.check_files(&manifest.files)?;
        let signature = self.snapshot_signature()?;
        snap::Snapshot::check_keys(dir, &bytes, &manifest, signature.as_deref())
            .map_err(|e| LayoutError::Snapshot(Box::new(e)))?;
        Ok(Carried {
            manifest: bytes,
            signature,
        })
    }

    /// Checks that this manifest's files are `recorded`, path for path
    /// and size for size.
    fn check_files(&self, recorded: &[FileEntry]) -> Result<(), LayoutError> {
        let name = |(path, size): (&str, u64)| format!("{path} of {size} bytes");
        for n in 0..self.files.len().max(recorded.len()) {
            let listed = self.files.get(n).map(|f| (f.path.as_str(), f.size));
            let found = recorded.get(n).map(|f| (f.path.as_str(), f.size));
            if listed != found {
                return Err(LayoutError::OtherFiles {
                    listed: listed.map(name),
                    recorded: found.map(name),
                });
            }
        }
        Ok(())
    }

    /// The image's length.
    pub fn image_len(&self) -> u64 {
        self.files.last().map_or(0, |f| f.offset + f.size)
    }

    /// Chunk `n`'s sha256, or `None` for zeros.
    pub fn digest(&self, n: usize) -> Option<Sha256Digest> {
        self.chunks
            .get(n)
            .and_then(|c| c.as_ref())
            .and_then(|hex| hex.parse().ok())
    }

    /// Chunk `n`'s length.
    pub fn chunk_len(&self, n: usize) -> u64 {
        let start = n as u64 * self.chunk_size;
        self.chunk_size.min(self.image_len().saturating_sub(start))
    }

    /// The pieces of files that chunk `n` holds, in order.
    pub fn pieces(&self, n: usize) -> Vec<Piece> {
        pieces(&self.files, self.chunk_size, n, self.chunk_len(n))
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
    /// are these bytes, and whose image is laid out and cut so.
    pub fn new(
        manifest: &[u8],
        signature: Option<&[u8]>,
        files: Vec<StoredFile>,
        chunks: Vec<Option<String>>,
    ) -> Self {
        Self {
            format: FORMAT,
            chunk_size: CHUNK_SIZE,
            manifest: BASE64.encode(manifest),
            signature: signature.map(|sig| BASE64.encode(sig)),
            files,
            chunks,
        }
    }
}

/// The pieces of `files` that chunk `n` (of `len` bytes) of their image holds.
pub(super) fn pieces(files: &[StoredFile], chunk_size: u64, n: usize, len: u64) -> Vec<Piece> {
    let start = n as u64 * chunk_size;
    let end = start + len;
    // Files are in image order: find the first that ends past the start.
    let first = files.partition_point(|f| f.offset + f.size <= start);
    files[first..]
        .iter()
        .enumerate()
        .take_while(|(_, f)| f.offset < end)
        .filter(|(_, f)| f.size > 0)
        .map(|(i, f)| {
            let from = f.offset.max(start);
            let to = (f.offset + f.size).min(end);
            Piece {
                file: first + i,
                file_offset: from - f.offset,
                chunk_offset: from - start,
                len: to - from,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoreManifest {
        let (files, len) = lay_out(&[
            ("core-1.img".into(), 100),
            ("pages-1.img".into(), CHUNK_SIZE + 10),
            ("tiny.img".into(), 5),
        ]);
        let digest = Sha256Digest::of(b"x").to_string();
        let chunks = (0..len.div_ceil(CHUNK_SIZE))
            .map(|n| (n != 2).then(|| digest.clone()))
            .collect();
        StoreManifest::new(b"SNAPMFST", None, files, chunks)
    }

    #[test]
    fn large_files_start_on_chunk_boundaries_and_small_ones_share_chunks() {
        let m = sample();
        let offsets: Vec<u64> = m.files.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, CHUNK_SIZE, 2 * CHUNK_SIZE + 4096]);
        assert_eq!(m.chunks.len(), 3);
        // Chunk 0: the small file, then zeros up to the large one.
        assert_eq!(
            m.pieces(0),
            [Piece {
                file: 0,
                file_offset: 0,
                chunk_offset: 0,
                len: 100
            }]
        );
        // Chunk 2: the large file's tail and the tiny file, page-aligned.
        assert_eq!(
            m.pieces(2),
            [
                Piece {
                    file: 1,
                    file_offset: CHUNK_SIZE,
                    chunk_offset: 0,
                    len: 10
                },
                Piece {
                    file: 2,
                    file_offset: 0,
                    chunk_offset: 4096,
                    len: 5
                },
            ]
        );
        assert_eq!(m.chunk_len(2), 4096 + 5);
    }

    #[test]
    fn the_files_must_be_the_snapshot_manifests_path_for_path_and_size_for_size() {
        let m = sample();
        let entry = |path: &str, size| FileEntry {
            path: path.into(),
            size,
            sha256: Sha256Digest::of(b""),
        };
        let recorded = vec![
            entry("core-1.img", 100),
            entry("pages-1.img", CHUNK_SIZE + 10),
            entry("tiny.img", 5),
        ];
        m.check_files(&recorded).unwrap();
        type Edit<'a> = Box<dyn Fn(&mut Vec<FileEntry>) + 'a>;
        let grown = format!(
            "it lists pages-1.img of {} bytes, where the snapshot manifest lists pages-1.img of {} bytes",
            CHUNK_SIZE + 10,
            CHUNK_SIZE + 11
        );
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|r| r[1].size += 1), &grown),
            (
                Box::new(|r| r[2].path = "tinier.img".into()),
                "where the snapshot manifest lists tinier.img of 5 bytes",
            ),
            (
                Box::new(|r| {
                    r.pop();
                }),
                "it lists tiny.img of 5 bytes, where the snapshot manifest lists no more",
            ),
            (
                Box::new(|r| r.push(entry("zzz.img", 1))),
                "it lists no more, where the snapshot manifest lists zzz.img of 1 bytes",
            ),
        ];
        for (edit, why) in cases {
            let mut changed = recorded.clone();
            edit(&mut changed);
            let err = m.check_files(&changed).unwrap_err();
            assert!(err.to_string().contains(why), "{err} lacks {why:?}");
        }
    }

    #[test]
    fn round_trips() {
        let bytes = serde_json::to_vec(&sample()).unwrap();
        assert_eq!(StoreManifest::parse(&bytes).unwrap(), sample());
    }

    #[test]
    fn refuses_what_would_write_outside_the_payload_or_misplace_a_file() {
        type Edit = Box<dyn Fn(&mut StoreManifest)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|m| m.files[0].path = "../../etc/passwd".into()),
                "inside payload/",
            ),
            (
                Box::new(|m| m.files[0].path = "/etc/passwd".into()),
                "inside payload/",
            ),
            (
                Box::new(|m| m.files[2].path = m.files[0].path.clone()),
                "unique",
            ),
            (
                Box::new(|m| m.files[1].offset = 0),
                "after the file before it",
            ),
            (Box::new(|m| m.files[1].offset += 1), "page-aligned"),
            (
                Box::new(|m| {
                    m.files[2].offset = u64::MAX - 4095;
                    m.files[2].size = 8192;
                }),
                "overflows",
            ),
            (Box::new(|m| m.files[2].size += CHUNK_SIZE), "chunks listed"),
            (
                Box::new(|m| m.chunks[0] = Some("zz".into())),
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
