//! The working set of a native snapshot: the pages its first invocation
//! after a restore touched, recorded once from a restored instance and kept
//! with the snapshot (`working-set.snap`, see
//! [`Snapshot::working_set`](crate::Snapshot::working_set)), so that later
//! restores fault them in ahead of need.
//!
//! A page is either *read*, present but still the image's or the file's own
//! (shared through the page cache between every instance), or *written*,
//! present and private to the instance (copied on write). Both are read
//! from `/proc/PID/pagemap`, which tells the same user without privilege
//! whether a page is present (bit 63) and whether it is a file page (bit
//! 61): a page of a private file mapping that was written is anonymous.
//!
//! The record covers the memory a restore maps from the image and the
//! read-only file mappings (code, read-only data) the restoring process
//! must already have at the same place. Pages of memory made after the
//! restore (a grown heap, new mappings) are not in it: they do not exist
//! until the invocation makes them.
//!
//! A restore puts the record's runs in its plan; the restorer populates
//! them (`MADV_POPULATE_WRITE` for written runs, `MADV_POPULATE_READ` for
//! read ones) right after mapping the image, before the gate of a restore
//! started ahead, so the first invocation takes no fault on them. A
//! restore on demand populates the written runs only (see `restore.rs`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use bincode::{Decode, Encode};

use super::state::NativeState;
use crate::snapshot::{Snapshot, WorkingSetError};

/// Set to `off` in the restoring environment to restore without the
/// recorded working set, taking the first invocation's faults one by one
/// (to measure what it saves, or to rule it out). Unset or empty, restores
/// use it; any other value is refused ([`wanted`]).
pub const WORKING_SET_ENV: &str = "SNAP_WORKING_SET";

/// [`WORKING_SET_ENV`] has a value it does not take.
#[derive(Debug, thiserror::Error)]
#[error(
    "SNAP_WORKING_SET is {value:?}; it takes \"off\", or nothing to use the recorded working set"
)]
pub struct SettingError {
    /// The value found.
    pub value: String,
}

/// Whether a restore with [`WORKING_SET_ENV`] set to `value` (or unset)
/// faults in the recorded working set; an error for a value it does not
/// take, so that a misspelt `off` does not pass for the default.
pub fn setting(value: Option<&std::ffi::OsStr>) -> Result<bool, SettingError> {
    match value {
        None => Ok(true),
        Some(value) if value.is_empty() => Ok(true),
        Some(value) if value == "off" => Ok(false),
        Some(value) => Err(SettingError {
            value: value.to_string_lossy().into_owned(),
        }),
    }
}

/// [`setting`] for this process's environment.
pub(super) fn wanted() -> Result<bool, SettingError> {
    setting(std::env::var_os(WORKING_SET_ENV).as_deref())
}

const PAGE: u64 = 4096;
const PRESENT: u64 = 1 << 63;
const FILE_PAGE: u64 = 1 << 61;
/// The most runs a record may hold: far more than any working set seen,
/// and it bounds the restorer's plan.
pub(super) const MAX_RUNS: usize = 1 << 16;

/// Consecutive pages of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub(super) struct Run {
    /// First page's address.
    pub(super) start: u64,
    /// Pages in the run.
    pub(super) pages: u32,
    /// Written (private to the instance) rather than only read.
    pub(super) write: bool,
}

impl Run {
    fn end(&self) -> u64 {
        self.start + u64::from(self.pages) * PAGE
    }
}

/// A snapshot's working set, as runs of pages in address order.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WorkingSet {
    pub(super) runs: Vec<Run>,
}

/// What a recorded working set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Pages the first invocation only read.
    pub read_pages: u64,
    /// Pages it wrote.
    pub written_pages: u64,
    /// Runs of consecutive pages of one kind (a system call each at
    /// restore).
    pub runs: u64,
}

impl WorkingSet {
    fn encode(&self) -> Vec<u8> {
        bincode::encode_to_vec(self, bincode::config::standard()).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let config = bincode::config::standard()
            .with_limit::<{ crate::snapshot::MAX_WORKING_SET_BODY as usize }>();
        match bincode::decode_from_slice::<Self, _>(bytes, config) {
            Ok((set, used)) if used == bytes.len() => Ok(set),
            Ok(_) => Err("trailing bytes after the runs".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The pages of the memory image of `state` that the runs cover, in
    /// order ([`image_pages`]).
    fn image_pages(&self, state: &NativeState) -> Vec<u64> {
        let mut pages = Vec::new();
        let imaged = || {
            state
                .regions
                .iter()
                .filter_map(|r| Some((r, r.image_offset?)))
        };
        for run in &self.runs {
            for (region, offset) in imaged() {
                let (start, end) = (run.start.max(region.start), run.end().min(region.end));
                if start < end {
                    let first = (offset + (start - region.start)) / PAGE;
                    pages.extend(first..first + (end - start) / PAGE);
                }
            }
        }
        pages.sort_unstable();
        pages.dedup();
        pages
    }

    fn summary(&self) -> Summary {
        let (mut read_pages, mut written_pages) = (0, 0);
        for run in &self.runs {
            if run.write {
                written_pages += u64::from(run.pages);
            } else {
                read_pages += u64::from(run.pages);
            }
        }
        Summary {
            read_pages,
            written_pages,
            runs: self.runs.len() as u64,
        }
    }

    /// Checks that every run lies, in order and without overlap, inside
    /// memory a restore of `state` maps: a region restored from the image
    /// (a written run only in a writable one), or a read-only file mapping
    /// the restoring process has at the same place (read runs only). What
    /// this accepts, the restorer populates without further checks.
    pub(super) fn check(&self, state: &NativeState) -> Result<(), String> {
        if self.runs.len() > MAX_RUNS {
            return Err(format!("{} runs, at most {MAX_RUNS}", self.runs.len()));
        }
        let mut last_end = 0;
        for run in &self.runs {
            let fits = run.pages > 0
                && run.start.is_multiple_of(PAGE)
                && run.start >= last_end
                && run.start.checked_add(u64::from(run.pages) * PAGE).is_some();
            if !fits {
                return Err(format!(
                    "run {:#x} of {} pages is empty, unaligned or out of order",
                    run.start, run.pages
                ));
            }
            let (start, end) = (run.start, run.end());
            let in_image = state.regions.iter().any(|r| {
                r.image_offset.is_some()
                    && r.start <= start
                    && end <= r.end
                    && (!run.write || r.prot & 2 != 0)
            });
            let in_file = !run.write
                && state
                    .expected
                    .iter()
                    .any(|m| m.start <= start && end <= m.end);
            if !in_image && !in_file {
                return Err(format!(
                    "{} run {start:#x}-{end:#x} is outside the memory a restore maps{}",
                    if run.write { "written" } else { "read" },
                    if run.write { " writable" } else { "" }
                ));
            }
            last_end = end;
        }
        Ok(())
    }
}

/// The working set recorded for `snapshot` whose engine state is `state`,
/// checked against it; `None` if none was recorded.
pub(super) fn load(
    snapshot: &Snapshot,
    state: &NativeState,
) -> Result<Option<WorkingSet>, WorkingSetError> {
    let Some(body) = snapshot.working_set()? else {
        return Ok(None);
    };
    let mismatch = |reason: String| WorkingSetError::Mismatch {
        path: snapshot.working_set_path(),
        reason,
    };
    let set = WorkingSet::decode(&body).map_err(mismatch)?;
    set.check(state).map_err(mismatch)?;
    Ok(Some(set))
}

fn state_of(snapshot: &Snapshot) -> Result<NativeState, WorkingSetError> {
    NativeState::decode(&snapshot.manifest().engine_state).map_err(|reason| {
        WorkingSetError::Mismatch {
            path: snapshot.working_set_path(),
            reason: format!("the snapshot's native state: {reason}"),
        }
    })
}

/// Checks the working set kept with native `snapshot`: what it holds, or
/// `None` if it has none; an error says why a restore will not use it.
pub fn check(snapshot: &Snapshot) -> Result<Option<Summary>, WorkingSetError> {
    let state = state_of(snapshot)?;
    Ok(load(snapshot, &state)?.map(|set| set.summary()))
}

/// The pages of native `snapshot`'s memory image ([`super::IMAGE_FILE`], by
/// page index in its plaintext) that its recorded working set holds, in
/// order; `None` if it has no record. Code and data of the binary's own
/// files are not in the image, and so not here. What a store fetches
/// first, found without reading the instance's page map again.
pub fn image_pages(snapshot: &Snapshot) -> Result<Option<Vec<u64>>, WorkingSetError> {
    let state = state_of(snapshot)?;
    Ok(load(snapshot, &state)?.map(|set| set.image_pages(&state)))
}

/// Records, as native `snapshot`'s working set, the pages that process
/// `pid`, restored from it, has touched so far (call it once the first
/// invocation is answered, while the instance waits for the next), unless
/// the snapshot has one (then `None`).
pub fn record(snapshot: &Snapshot, pid: u32) -> Result<Option<Summary>, WorkingSetError> {
    let state = state_of(snapshot)?;
    let pagemap_path = format!("/proc/{pid}/pagemap");
    let io = |cause: io::Error| WorkingSetError::Io {
        op: "read the restored instance's page map for",
        path: pagemap_path.clone().into(),
        cause,
    };
    let pagemap = File::open(&pagemap_path).map_err(io)?;
    let mut ranges: Vec<(u64, u64, bool)> = state
        .regions
        .iter()
        .filter(|r| r.image_offset.is_some())
        .map(|r| (r.start, r.end, r.prot & 2 != 0))
        .chain(state.expected.iter().map(|m| (m.start, m.end, false)))
        .collect();
    ranges.sort_unstable();
    let mut set = WorkingSet { runs: Vec::new() };
    for (start, end, writable) in ranges {
        let pages = (end - start) / PAGE;
        let mut entries = vec![0u8; (pages * 8) as usize];
        pagemap
            .read_exact_at(&mut entries, start / PAGE * 8)
            .map_err(io)?;
        for (n, entry) in entries.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(entry);
            let entry = u64::from_le_bytes(word);
            if entry & PRESENT == 0 {
                continue;
            }
            let write = writable && entry & FILE_PAGE == 0;
            let at = start + n as u64 * PAGE;
            // A run stays inside one mapping, which is what a restore
            // checks it against.
            match set.runs.last_mut() {
                Some(run)
                    if run.write == write
                        && run.end() == at
                        && run.start >= start
                        && run.pages < u32::MAX =>
                {
                    run.pages += 1;
                }
                _ => set.runs.push(Run {
                    start: at,
                    pages: 1,
                    write,
                }),
            }
        }
    }
    set.check(&state)
        .map_err(|reason| WorkingSetError::Mismatch {
            path: snapshot.working_set_path(),
            reason: format!("the pages process {pid} touched: {reason}"),
        })?;
    let summary = set.summary();
    Ok(snapshot.keep_working_set(&set.encode())?.then_some(summary))
}

#[cfg(test)]
mod tests {
    use super::super::state::{Expected, Region};
    use super::*;

    #[test]
    fn the_setting_takes_off_or_nothing_and_names_any_other_value() {
        assert!(setting(None).unwrap());
        assert!(setting(Some("".as_ref())).unwrap());
        assert!(!setting(Some("off".as_ref())).unwrap());
        for bad in ["OFF", "of", "0", "no", "on", " off"] {
            let err = setting(Some(bad.as_ref())).unwrap_err();
            assert_eq!(err.value, bad);
            assert!(
                err.to_string()
                    .starts_with(&format!("SNAP_WORKING_SET is {bad:?};")),
                "{err}"
            );
        }
    }

    fn state() -> NativeState {
        NativeState::of_memory(
            vec![
                Region {
                    start: 0x10000,
                    end: 0x20000,
                    prot: 3,
                    image_offset: Some(0),
                    name: "[heap]".into(),
                },
                Region {
                    start: 0x20000,
                    end: 0x21000,
                    prot: 1,
                    image_offset: Some(0x10000),
                    name: "relro".into(),
                },
                Region {
                    start: 0x30000,
                    end: 0x31000,
                    prot: 0,
                    image_offset: None,
                    name: "guard".into(),
                },
            ],
            vec![Expected {
                start: 0x40000,
                end: 0x50000,
                path: "/bin/x".into(),
                offset: 0,
                inode: 1,
            }],
        )
    }

    fn run(start: u64, pages: u32, write: bool) -> Run {
        Run {
            start,
            pages,
            write,
        }
    }

    #[test]
    fn runs_inside_the_mapped_memory_are_accepted_and_round_trip() {
        let set = WorkingSet {
            runs: vec![
                run(0x10000, 2, true),
                run(0x12000, 1, false),
                run(0x20000, 1, false),
                run(0x40000, 16, false),
            ],
        };
        set.check(&state()).unwrap();
        assert_eq!(WorkingSet::decode(&set.encode()).unwrap(), set);
        assert_eq!(
            set.summary(),
            Summary {
                read_pages: 18,
                written_pages: 2,
                runs: 4
            }
        );
    }

    #[test]
    fn the_image_pages_are_the_runs_inside_regions_restored_from_the_image() {
        // [heap] is pages 0..16 of the image, relro page 16; the binary's
        // own file mapping is not in the image.
        let set = WorkingSet {
            runs: vec![
                run(0x10000, 2, true),
                run(0x12000, 1, false),
                run(0x1f000, 1, false),
                run(0x20000, 1, false),
                run(0x40000, 16, false),
            ],
        };
        assert_eq!(set.image_pages(&state()), vec![0, 1, 2, 15, 16]);
        assert_eq!(
            WorkingSet { runs: vec![] }.image_pages(&state()),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn runs_a_restore_does_not_map_are_refused_with_the_reason() {
        for (runs, wanted) in [
            (
                vec![run(0x30000, 1, false)],
                "outside the memory a restore maps",
            ),
            (
                vec![run(0x1f000, 2, false)],
                "outside the memory a restore maps",
            ),
            (
                vec![run(0x20000, 1, true)],
                "outside the memory a restore maps writable",
            ),
            (
                vec![run(0x40000, 1, true)],
                "outside the memory a restore maps writable",
            ),
            (
                vec![run(0x10000, 0, false)],
                "empty, unaligned or out of order",
            ),
            (
                vec![run(0x10001, 1, false)],
                "empty, unaligned or out of order",
            ),
            (
                vec![run(0x12000, 1, false), run(0x10000, 1, false)],
                "empty, unaligned or out of order",
            ),
            (
                vec![run(0x10000, 2, false), run(0x11000, 1, true)],
                "empty, unaligned or out of order",
            ),
            (
                vec![run(!0xfff, 2, false)],
                "empty, unaligned or out of order",
            ),
        ] {
            let err = WorkingSet { runs }.check(&state()).unwrap_err();
            assert!(err.contains(wanted), "{err}");
        }
        let too_many = WorkingSet {
            runs: vec![run(0x10000, 1, false); MAX_RUNS + 1],
        };
        assert!(too_many.check(&state()).unwrap_err().contains("at most"));
    }

    #[test]
    fn bytes_that_are_not_runs_are_refused() {
        assert!(WorkingSet::decode(&[0xff; 9]).is_err());
        let mut bytes = WorkingSet { runs: vec![] }.encode();
        bytes.push(0);
        assert!(WorkingSet::decode(&bytes).unwrap_err().contains("trailing"));
    }
}
