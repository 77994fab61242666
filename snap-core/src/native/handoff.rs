//! The hand-off between the two returns of [`sys::save_and_call`]: what the
//! first return (the dump, in the checkpointing process) and the second
//! (the restorer's jump, in a restored process) tell the caller, and the
//! plan area through which a restore reaches the restored side.
//!
//! `save_and_call` returns two machine words. [`Handoff`] is their only
//! reading and writing, so the values live in this file alone.

use super::sys::{Context, Pair};
use super::timing::Stamps;
use crate::resumed::{RequestError, RestoreRequest};

/// What `save_and_call` came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Handoff {
    /// The memory image is written; this is the checkpointing process.
    Dumped,
    /// Writing the memory image failed with `errno`.
    DumpFailed {
        /// The OS error number.
        errno: i32,
    },
    /// This is a restored process; the restorer ran from `plan`.
    Restored {
        /// The plan area, still mapped.
        plan: *const RestorerPlan,
    },
}

const DUMPED: u64 = 0;
const RESTORED: u64 = 1;
const DUMP_FAILED: u64 = 2;

impl Handoff {
    /// The two words `save_and_call` returns for this.
    pub(super) fn to_pair(self) -> Pair {
        match self {
            Self::Dumped => Pair { a: DUMPED, b: 0 },
            Self::DumpFailed { errno } => Pair {
                a: DUMP_FAILED,
                b: errno as u64,
            },
            Self::Restored { plan } => Pair {
                a: RESTORED,
                b: plan as u64,
            },
        }
    }

    /// Reads what `save_and_call` returned. Only this module writes pairs,
    /// so an unknown tag is a bug; it reads as a failed dump.
    pub(super) fn from_pair(pair: Pair) -> Self {
        match pair.a {
            DUMPED => Self::Dumped,
            RESTORED => Self::Restored {
                plan: pair.b as *const RestorerPlan,
            },
            _ => Self::DumpFailed {
                errno: i32::try_from(pair.b).unwrap_or(libc::EIO),
            },
        }
    }
}

/// The most regions a snapshot may have.
pub(super) const MAX_REGIONS: usize = 4096;

/// One region as the restorer maps it.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct RawRegion {
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) prot: u64,
    /// Image offset, or [`GUARD`] for a guard region.
    pub(super) offset: u64,
}

/// [`RawRegion::offset`] of a region recreated empty and inaccessible.
pub(super) const GUARD: u64 = u64::MAX;

/// A run of the working set as the restorer populates it.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct RawRun {
    pub(super) start: u64,
    pub(super) len: u64,
    /// `MADV_POPULATE_READ` or `MADV_POPULATE_WRITE`.
    pub(super) advice: u64,
}

/// Everything the restorer needs, at the start of its own mapping; the
/// encoded [`RestoreRequest`] follows at `request_offset`, the working
/// set's runs at `runs_offset`, the restorer's stack at the end.
#[repr(C)]
pub(super) struct RestorerPlan {
    pub(super) area_len: u64,
    pub(super) image_fd: i64,
    pub(super) brk: u64,
    pub(super) ctx: Context,
    pub(super) tid_addr: u64,
    pub(super) sigmask: u64,
    pub(super) altstack: libc::stack_t,
    pub(super) request_offset: u64,
    pub(super) request_len: u64,
    /// Where the working set's [`RawRun`]s are, and how many.
    pub(super) runs_offset: u64,
    pub(super) runs_count: u64,
    /// Non-zero: wait at the gate (standard input) after populating.
    pub(super) gated: u64,
    /// Where the saved main-thread stack (`[stack]`) starts; 0 if there was
    /// none. Its saved region replaces the exec'd stack, which could grow;
    /// the restorer puts a growable page below it, so the restored stack
    /// can grow past its size at the checkpoint.
    pub(super) stack_start: u64,
    /// The restore's stages so far; the restored side adds the last.
    pub(super) stamps: Stamps,
    pub(super) count: u64,
    pub(super) regions: [RawRegion; MAX_REGIONS],
}

/// Reads the restore request and the stage times out of the plan area and
/// unmaps the area.
///
/// # Safety
/// `plan` is the area the restorer ran from, still mapped, and nothing else
/// refers to it: the restorer's stack was left for the restored one.
pub(super) unsafe fn take_request(
    plan: *const RestorerPlan,
) -> (Result<RestoreRequest, RequestError>, Stamps) {
    // SAFETY: the caller guarantees the area; its header says where the
    // request bytes are.
    let (bytes, len, stamps) = unsafe {
        let p = &*plan;
        let bytes = std::slice::from_raw_parts(
            plan.cast::<u8>().add(p.request_offset as usize),
            p.request_len as usize,
        )
        .to_vec();
        (bytes, p.area_len as usize, p.stamps)
    };
    // SAFETY: nothing refers to the area any more (the caller's contract)
    // and the request is copied out.
    unsafe { libc::munmap(plan as *mut libc::c_void, len) };
    (RestoreRequest::decode(&bytes), stamps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handoff_reads_back_as_itself() {
        let plan = 0x7e00_0000_1000 as *const RestorerPlan;
        for handoff in [
            Handoff::Dumped,
            Handoff::DumpFailed {
                errno: libc::ENOSPC,
            },
            Handoff::Restored { plan },
        ] {
            assert_eq!(Handoff::from_pair(handoff.to_pair()), handoff);
        }
    }
}
