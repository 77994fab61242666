//! The working set, REAP-style: the chunks of a snapshot's payload that its
//! first invocation after a restore touched, recorded once and stored with
//! the snapshot, so that a machine with an empty cache fetches them first.
//!
//! The pages come from the snapshot's own working-set record
//! (`snap::native::working_set_image_pages`), which snaprun keeps after the
//! first restored response: the instance's page map is read once, for both.

use std::collections::{BTreeSet, HashSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};
use snap::Sha256Digest;

use super::layout::StoreManifest;
use super::{SnapshotStore, StoreError};

use super::layout::PAGE;

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

/// What a restored instance touched of one payload file: byte ranges of
/// the file as the snapshot holds it (sealed, if it is encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// The file's path in the payload directory.
    pub file: String,
    /// Its byte ranges touched, in any order.
    pub ranges: Vec<Range<u64>>,
    /// Pages of its plaintext touched, for the record.
    pub pages: u64,
}

impl Touched {
    /// `pages` (indexes in its plaintext) of payload file `file`, as the
    /// snapshot holds that file: pages, or the sealed chunks that hold
    /// them when it is `encrypted`, with adjacent ranges merged.
    pub fn pages_of(file: &str, pages: &[u64], encrypted: bool) -> Self {
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for page in pages {
            let plain = page * PAGE..(page + 1) * PAGE;
            let range = match encrypted {
                true => snap::snapshot::sealed_range(plain.start, plain.end),
                false => plain,
            };
            match ranges.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => ranges.push(range),
            }
        }
        Self {
            file: file.to_owned(),
            ranges,
            pages: pages.len() as u64,
        }
    }
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

    /// Records as snapshot `key`'s working set the chunks holding what
    /// `touched` lists, unless one is recorded already (then `None`).
    /// Returns the number of chunks and of pages touched.
    pub async fn record_working_set(
        &self,
        key: &str,
        touched: &[Touched],
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
        for touched in touched {
            let Some(file) = manifest.files.iter().find(|f| f.path == touched.file) else {
                continue;
            };
            pages_touched += touched.pages;
            pages_mapped += file.size.div_ceil(PAGE);
            for range in &touched.ranges {
                let end = range.end.min(file.size);
                if range.start >= end {
                    continue;
                }
                let first = (file.offset + range.start) / manifest.chunk_size;
                let last = (file.offset + end - 1) / manifest.chunk_size;
                for index in first..=last {
                    if let Some(digest) = manifest.digest(index as usize) {
                        chunks.insert(digest.to_string());
                    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_become_byte_ranges_of_the_file_as_the_snapshot_holds_it() {
        // Plain: page by page, adjacent pages merged.
        let plain = Touched::pages_of("memory.img", &[0, 1, 2, 5], false);
        assert_eq!(plain.file, "memory.img");
        assert_eq!(plain.ranges, vec![0..3 * 4096, 5 * 4096..6 * 4096]);
        assert_eq!(plain.pages, 4);
        // Encrypted: the sealed 64 KiB chunks holding them, one for pages
        // 0-15, the next from page 16.
        let sealed = Touched::pages_of("memory.img", &[0, 1, 15, 16], true);
        assert_eq!(
            sealed.ranges,
            vec![snap::snapshot::sealed_range(0, 32 * 4096)]
        );
        let apart = Touched::pages_of("memory.img", &[0, 40], true);
        assert_eq!(
            apart.ranges,
            vec![
                snap::snapshot::sealed_range(0, 4096),
                snap::snapshot::sealed_range(40 * 4096, 41 * 4096)
            ]
        );
        assert_eq!(apart.pages, 2);
    }
}
