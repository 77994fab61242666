//! The native engine, x86_64 Linux only: a program that links `snap`
//! checkpoints itself, with no root, no capability and no external program,
//! and a restore maps the saved memory `MAP_PRIVATE` straight from the
//! snapshot file, so pages load on first touch and restored instances share
//! unmodified pages.
//!
//! Programs do not call this module: they call
//! [`checkpoint`](crate::checkpoint()) and [`init`](crate::init()), which
//! dispatch here (and report the engine unsupported on other
//! architectures).
//!
//! How it works, and what it takes:
//! - Every snap-linked program runs with `ADDR_NO_RANDOMIZE` (unprivileged;
//!   [`init`](crate::init()) re-execs once to set it), so a fresh exec of
//!   the same binary has its code, libraries, TLS, stack and heap at the
//!   same addresses as the process that checkpointed.
//! - [`dump`] saves the calling thread's registers and then, while the
//!   caller is suspended inside the call, writes every private writable
//!   mapping page-aligned into `payload/memory.img`.
//! - A restore is `exec` of the same binary with `SNAP_RESTORE_FROM=DIR`.
//!   [`restore_from`] validates the snapshot, reopens files, reinstalls
//!   signal dispositions, then, on a stack of its own, maps the image over
//!   the process's writable memory, fixes glibc's thread id and the TLS
//!   base, and jumps back into the dump, which returns a second time
//!   ([`handoff`] says how the two returns are told apart).
//! - A restore can be started ahead of need and wait, fully prepared, at a
//!   gate on its standard input ([`RESTORE_GATE_ENV`](crate::RESTORE_GATE_ENV)), so that only the
//!   jump remains when an instance is wanted: the image is mapped and the
//!   recorded [`working_set`] faulted in before the gate.
//!
//! Limits, enforced with errors: one thread; no descriptor it cannot reopen
//! by path (sockets, pipes, epoll, ...) unless an
//! [`FdPolicy`](crate::FdPolicy) says to close or ignore it; the same binary
//! (sha256), libraries, kernel (vDSO) and architecture at restore. See
//! `docs/engines.md`.

mod dump;
mod error;
mod fds;
mod gate;
mod handoff;
mod maps;
mod restore;
mod state;
mod sys;
mod timing;
mod working_set;

pub(crate) use dump::dump;
pub use error::{DumpError, RestoreError};
pub use fds::Offender;
pub(crate) use restore::restore_from;
pub use timing::RESTORE_TIMING_ENV;
pub use working_set::{
    SettingError as WorkingSetSettingError, Summary as WorkingSetSummary, WORKING_SET_ENV,
    check as check_working_set, image_pages as working_set_image_pages,
    record as record_working_set, setting as working_set_setting,
};

/// The memory image in a native snapshot's payload directory.
pub const IMAGE_FILE: &str = "memory.img";

/// The engine name recorded in manifests.
pub const NAME: &str = crate::engine::NATIVE;

/// Entry points for the fuzz targets in `fuzz/`: the engine's readers of
/// untrusted bytes, reachable without a process to restore into. Not an API.
#[doc(hidden)]
pub mod fuzz {
    /// Decodes a native engine state as a manifest carries it, returning
    /// the number of saved regions it lists.
    pub fn decode_state(bytes: &[u8]) -> Result<usize, String> {
        super::state::NativeState::decode(bytes).map(|state| state.regions.len())
    }

    /// Parses a memory map in `/proc/PID/maps` text and classifies each
    /// mapping as a checkpoint would, returning the total length mapped.
    pub fn parse_maps(text: &str) -> std::io::Result<u64> {
        let maps = super::maps::parse(text)?;
        Ok(maps
            .iter()
            .filter(|m| m.treatment() == super::maps::Treatment::Save)
            .map(super::maps::Mapping::len)
            .fold(0, u64::saturating_add))
    }
}
