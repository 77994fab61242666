//! `snap`: snapshots of running processes, restored many times over.
//!
//! The crate has three layers:
//!
//! - [`snapshot`]: the on-disk format. A snapshot is a directory holding a
//!   versioned, checksummed manifest and the payload an engine wrote. Opening
//!   one validates every byte before an engine may read it.
//! - [`engine`]: what every engine has in common, and [`criu`], the engine
//!   that drives CRIU to checkpoint whole process trees.
//! - [`sandbox`]: starting a process tree "snapshot-ready", in PID and network
//!   namespaces of its own, so that one snapshot can be restored many times
//!   side by side.

#![warn(missing_docs)]

pub mod criu;
mod digest;
pub mod engine;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod native;
pub mod process;
pub mod sandbox;
pub mod snapshot;

pub use digest::Sha256Digest;
pub use engine::Engine;
pub use snapshot::{Host, Identity, Manifest, Snapshot, SnapshotWriter};
