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
        match bincode::decode_from_slice::<Self, _>(bytes, config) {
            Ok((state, used)) if used == bytes.len() => Ok(state),
            Ok(_) => Err("trailing bytes after the native state".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}
