//! `snap`: snapshots of running processes, restored many times over.
//!
//! The crate's parts, from the bottom up:
//!
//! - [`snapshot`]: the on-disk format. A snapshot is a directory holding a
//!   versioned, checksummed manifest and the payload an engine wrote. Opening
//!   one validates it before an engine may read it.
//! - [`engine`]: what every engine has in common, and [`criu`], the engine
//!   that drives CRIU to checkpoint whole process trees.
//! - [`sandbox`]: starting a process tree "snapshot-ready", in PID and network
//!   namespaces of its own, so that one snapshot can be restored many times
//!   side by side.
//! - [`checkpoint()`]: the self-checkpoint API, which returns twice, like
//!   fork: [`Resumed::Checkpointed`] in the process that wrote the snapshot,
//!   [`Resumed::Restored`] in every process restored from it; [`init`]
//!   restores. It runs the in-process [`native`] engine (x86_64 Linux) or
//!   CRIU ([`SelfEngine::Criu`]), and calls the hooks a library installs
//!   through [`set_lifecycle`].
//! - [`lambda`]: the `errorType`s snap reports and, with the `lambda`
//!   feature, a Lambda bootstrap's snapshot point under `snaprun`;
//!   with the `tokio` feature, [`tokio::run`] for an async init.
//!
//! `docs/architecture.md` draws who calls whom.

#![warn(missing_docs)]

mod checkpoint;
pub mod criu;
mod digest;
pub mod engine;
mod fd_policy;
pub mod lambda;
mod layout;
mod lifecycle;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod native;
mod os_error;
pub mod private_dir;
pub mod process;
mod resumed;
pub mod sandbox;
pub mod snapshot;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use checkpoint::{
    CheckpointError, CheckpointOptions, InitError, NATIVE_SUPPORTED, SelfEngine, checkpoint, init,
    try_init,
};
pub use digest::{NotADigest, Sha256Digest};
pub use engine::Engine;
pub use fd_policy::{FdAction, FdKind, FdPolicy};
pub use layout::{LayoutError, layout_is_fixed, set_fixed_layout};
pub use lifecycle::{HookFailure, Lifecycle, set_lifecycle};
pub use os_error::{OsError, chain};
pub use resumed::{
    GATE_STDIN, RESTORE_ENV, RESTORE_FAILED, RESTORE_GATE_ENV, RequestError, RestoreContext,
    ResumeKind, Resumed, generation,
};
pub use snapshot::{Host, Identity, Manifest, Snapshot, SnapshotWriter};
