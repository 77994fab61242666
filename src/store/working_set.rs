//! The working set, REAP-style: the chunks of a snapshot's payload that its
//! first invocation after a restore touched, recorded once and stored with
//! the snapshot, so that a machine with an empty cache fetches them first.
//!
//! A restored native instance maps its memory image from the snapshot
//! directory; the pages it touched are the ones present in its page tables,
//! which `/proc/PID/pagemap` tells (bit 63) to the same user without any
//! privilege.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use snap::Sha256Digest;

use super::layout::StoreManifest;
use super::{SnapshotStore, StoreError};

const PAGE: u64 = 4096;
const PRESENT: u64 = 1 << 63;

/// Chunks to fetch first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingSet {
    digests: HashSet<Sha256Digest>,
}

/// `snapshots/KEY/working-set.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    /// The chunks' sha256, as lowercase hex.
    chunks: Vec<String>,
    /// Pages the restore and first invocation touched, for the record.
    pages_touched: u64,
    /// Pages of the files mapped.
    pages_mapped: u64,
}

impl WorkingSet {
    /// Whether `digest` is in the set.
    pub fn contains(&self, digest: &Sha256Digest) -> bool {
        self.digests.contains(digest)
    }
}

/// Pages of a snapshot's payload files that process `pid` has touched:
/// for each file under `payload` it maps, the set of page indexes present.
pub fn touched_pages(pid: u32, payload: &Path) -> io::Result<Vec<(String, BTreeSet<u64>)>> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let pagemap = File::open(format!("/proc/{pid}/pagemap"))?;
    let mut touched: Vec<(String, BTreeSet<u64>)> = Vec::new();
    for line in maps.lines() {
        // start-end perms offset dev inode path
        let mut fields = line.split_whitespace();
        let (Some(range), Some(_perms), Some(offset), Some(_dev), Some(_inode)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let path: String = fields.collect::<Vec<_>>().join(" ");
        let Ok(rel) = Path::new(&path).strip_prefix(payload) else {
            continue;
        };
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(offset)) = (
            u64::from_str_radix(start, 16),
            u64::from_str_radix(end, 16),
            u64::from_str_radix(offset, 16),
        ) else {
            continue;
        };
        let pages = (end - start) / PAGE;
        let mut entries = vec![0u8; (pages * 8) as usize];
        pagemap.read_exact_at(&mut entries, start / PAGE * 8)?;
        let rel = rel.to_string_lossy().into_owned();
        let at = match touched.iter().position(|(name, _)| *name == rel) {
            Some(at) => at,
            None => {
                touched.push((rel, BTreeSet::new()));
                touched.len() - 1
            }
        };
        let set = &mut touched[at].1;
        for (n, entry) in entries.chunks_exact(8).enumerate() {
            let entry = u64::from_le_bytes(entry.try_into().unwrap_or_default());
            if entry & PRESENT != 0 {
                set.insert(offset / PAGE + n as u64);
            }
        }
    }
    Ok(touched)
}

impl SnapshotStore {
    /// The working set recorded for snapshot `key`, or an empty one if none
    /// was recorded or it cannot be read (it only orders fetches).
    pub async fn working_set(&self, key: &str) -> WorkingSet {
        let bytes = match self
            .get(
                &super::working_set_key(key),
                super::layout::MAX_MANIFEST_BYTES as u64,
                "a working set lists no more chunks than a manifest",
            )
            .await
        {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return WorkingSet::default(),
            Err(err) => {
                tracing::debug!(err = %snap::chain(&err), "no working set");
                return WorkingSet::default();
            }
        };
        let Ok(stored) = serde_json::from_slice::<Stored>(&bytes) else {
            tracing::warn!(key, "the stored working set is not readable; ignored");
            return WorkingSet::default();
        };
        WorkingSet {
            digests: stored
                .chunks
                .iter()
                .filter_map(|hex| hex.parse().ok())
                .collect(),
        }
    }

    /// Records as snapshot `key`'s working set the chunks holding the
    /// pages that `touched` lists, unless one is recorded already (then
    /// `None`). Returns the number of chunks and of pages touched.
    pub async fn record_working_set(
        &self,
        key: &str,
        touched: &[(String, BTreeSet<u64>)],
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let manifest_key = super::manifest_key(key);
        let Some(bytes) = self.get_manifest(&manifest_key).await? else {
            return Ok(None);
        };
        let manifest = StoreManifest::parse(&bytes).map_err(|cause| StoreError::BadManifest {
            key: self.url.key(&manifest_key),
            store: self.url.to_string(),
            cause,
        })?;
        let mut chunks = BTreeSet::new();
        let mut pages_touched = 0;
        let mut pages_mapped = 0;
        for (rel, pages) in touched {
            let Some(file) = manifest.files.iter().find(|f| f.path == *rel) else {
                continue;
            };
            pages_touched += pages.len() as u64;
            pages_mapped += file.size.div_ceil(PAGE);
            for page in pages {
                let index = ((file.offset + page * PAGE) / manifest.chunk_size) as usize;
                if let Some(digest) = manifest.digest(index) {
                    chunks.insert(digest.to_string());
                }
            }
        }
        let count = chunks.len() as u64;
        let stored = Stored {
            chunks: chunks.into_iter().collect(),
            pages_touched,
            pages_mapped,
        };
        let body = serde_json::to_vec(&stored).unwrap_or_default();
        let put = self.put(&super::working_set_key(key), body, true).await?;
        Ok((put == super::Put::Written).then_some((count, pages_touched)))
    }
}
