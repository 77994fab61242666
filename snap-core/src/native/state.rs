//! What a native snapshot records besides the memory image.

use bincode::{Decode, Encode};

use super::sys::Context;

/// Memory protection bits as stored: 1 read, 2 write, 4 execute.
pub(super) type Prot = u8;

/// A region restored from the memory image, or recreated empty.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct Region {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) prot: Prot,
    /// Offset of its contents in `memory.img`; `None` for a guard region.
    pub(super) image_offset: Option<u64>,
    /// What `/proc/self/maps` called it (`[heap]`, a library path, ...).
    pub(super) name: String,
}

/// A read-only file mapping the restoring process must already have.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct Expected {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) path: String,
    pub(super) offset: u64,
    pub(super) inode: u64,
}

/// A regular file open at checkpoint time, reopened at restore.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct OpenFile {
    pub(super) fd: i32,
    pub(super) path: String,
    pub(super) flags: i32,
    pub(super) offset: u64,
}

/// One installed signal disposition.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct Disposition {
    pub(super) signal: i32,
    pub(super) handler: u64,
    pub(super) flags: i64,
    pub(super) mask: Vec<u8>,
}

/// The engine state kept in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct NativeState {
    pub(super) context: Context,
    pub(super) regions: Vec<Region>,
    pub(super) expected: Vec<Expected>,
    /// `[vdso]` placement and a digest of its contents.
    pub(super) vdso: Option<(u64, u64, [u8; 32])>,
    /// The program break.
    pub(super) brk: u64,
    /// Offset from the TLS base of glibc's copy of the thread id.
    pub(super) tid_offset: u64,
    pub(super) signals: Vec<Disposition>,
    /// Blocked signals, as the kernel's 64-bit mask.
    pub(super) sigmask: u64,
    /// `(ss_sp, ss_size, ss_flags)` of the alternate signal stack.
    pub(super) altstack: (u64, u64, i32),
    pub(super) files: Vec<OpenFile>,
    /// [`crate::generation`] at checkpoint time.
    pub(super) generation: u64,
}

impl NativeState {
    pub(super) fn encode(&self) -> Result<Vec<u8>, bincode::error::EncodeError> {
        bincode::encode_to_vec(self, bincode::config::standard())
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let config = bincode::config::standard().with_limit::<{ 1 << 20 }>();
        let state = match bincode::decode_from_slice::<Self, _>(bytes, config) {
            Ok((state, used)) if used == bytes.len() => state,
            Ok(_) => return Err("trailing bytes after the native state".into()),
            Err(e) => return Err(e.to_string()),
        };
        state.regions.iter().try_for_each(Region::check)?;
        Ok(state)
    }
}

impl Region {
    /// Whether the region is one a dump can have written: whole pages, in
    /// order, and image contents whose end is addressable. A restore
    /// computes lengths and image ranges from these without further checks.
    fn check(&self) -> Result<(), String> {
        const PAGE: u64 = 4096;
        let aligned = |v: u64| v.is_multiple_of(PAGE);
        let len = self.end.checked_sub(self.start).filter(|len| *len > 0);
        let whole_pages = len.is_some() && aligned(self.start) && aligned(self.end);
        let fits = |len: u64| {
            self.image_offset
                .is_none_or(|at| aligned(at) && at.checked_add(len).is_some())
        };
        if whole_pages && len.is_some_and(fits) {
            Ok(())
        } else {
            Err(format!(
                "region {:#x}-{:#x} {} (image offset {:?}) is not whole pages in order",
                self.start, self.end, self.name, self.image_offset
            ))
        }
    }
}

#[cfg(test)]
impl NativeState {
    /// A state with these memory mappings and nothing else, for tests.
    pub(super) fn of_memory(regions: Vec<Region>, expected: Vec<Expected>) -> Self {
        Self {
            context: Context::default(),
            regions,
            expected,
            vdso: None,
            brk: 0,
            tid_offset: 0,
            signals: Vec::new(),
            sigmask: 0,
            altstack: (0, 0, 0),
            files: Vec::new(),
            generation: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(regions: Vec<Region>) -> NativeState {
        NativeState::of_memory(regions, Vec::new())
    }

    fn region(start: u64, end: u64, image_offset: Option<u64>) -> Region {
        Region {
            start,
            end,
            prot: 3,
            image_offset,
            name: "[heap]".into(),
        }
    }

    #[test]
    fn regions_that_a_dump_cannot_write_are_refused() {
        let good = state(vec![
            region(0x1000, 0x3000, Some(0)),
            region(0x3000, 0x4000, None),
        ]);
        let bytes = good.encode().unwrap();
        assert_eq!(NativeState::decode(&bytes).unwrap(), good);
        for bad in [
            region(0x3000, 0x1000, Some(0)),
            region(0x1000, 0x1000, None),
            region(0x1001, 0x2000, None),
            region(0x1000, 0x2000, Some(0x10)),
            region(0x1000, 0x2000, Some(u64::MAX - 0xfff)),
        ] {
            let bytes = state(vec![bad.clone()]).encode().unwrap();
            let err = NativeState::decode(&bytes).unwrap_err();
            assert!(
                err.contains("is not whole pages in order"),
                "{bad:?}: {err}"
            );
        }
    }
}
