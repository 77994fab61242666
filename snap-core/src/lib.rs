//! `snap`: snapshots of running processes, restored many times over.
//!
//! The crate has four parts:
//!
//! - [`snapshot`]: the on-disk format. A snapshot is a directory holding a
//!   versioned, checksummed manifest and the payload an engine wrote. Opening
//!   one validates every byte before an engine may read it.
//! - [`engine`]: what every engine has in common, and [`criu`], the engine
//!   that drives CRIU to checkpoint whole process trees.
//! - [`sandbox`]: starting a process tree "snapshot-ready", in PID and network
//!   namespaces of its own, so that one snapshot can be restored many times
//!   side by side.
//! - [`native`]: the in-process engine behind [`checkpoint`], which returns
//!   twice: [`Resumed::Checkpointed`] in the process that wrote the snapshot,
//!   [`Resumed::Restored`] in every process restored from it.

#![warn(missing_docs)]

pub mod criu;
mod digest;
pub mod engine;
pub mod lambda_api;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod native;
pub mod process;
pub mod sandbox;
pub mod snapshot;

pub use digest::Sha256Digest;
pub use engine::Engine;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub use native::{CheckpointOptions, RestoreContext, Resumed, checkpoint, generation};
pub use snapshot::{Host, Identity, Manifest, Snapshot, SnapshotWriter};
