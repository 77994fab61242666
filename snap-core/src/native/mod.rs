//! The native engine: a program that links `snap` checkpoints itself, with no
//! root, no capability and no external program, and a restore maps the saved
//! memory `MAP_PRIVATE` straight from the snapshot file, so pages load on
//! first touch and restored instances share unmodified pages.
//!
//! ```no_run
//! # fn build_expensive_index() {}
//! // First thing in main: a fixed layout, and a restore if one is asked for.
//! snap::native::init();
//! let index = build_expensive_index();
//! let options = snap::native::CheckpointOptions::new("/tmp/my.snap");
//! match snap::native::checkpoint(&options).expect("checkpoint") {
//!     snap::native::Resumed::Checkpointed(_) => println!("snapshot written"),
//!     snap::native::Resumed::Restored(ctx) => println!("restored, generation {}", ctx.generation),
//! }
//! ```
//!
//! How it works, and what it takes:
//! - Every snap-linked program runs with `ADDR_NO_RANDOMIZE` (unprivileged;
//!   [`init`] re-execs once to set it), so a fresh exec of the same binary
//!   has its code, libraries, TLS, stack and heap at the same addresses as
//!   the process that checkpointed.
//! - [`checkpoint`] saves the calling thread's registers and then, while the
//!   caller is suspended inside the call, writes every private writable
//!   mapping page-aligned into `payload/memory.img`.
//! - A restore is `exec` of the same binary with `SNAP_RESTORE_FROM=DIR`.
//!   [`init`] validates the snapshot, reopens files, reinstalls signal
//!   dispositions, then, on a stack of its own, maps the image over the
//!   process's writable memory, fixes glibc's thread id and the TLS base,
//!   and jumps back into `checkpoint`, which returns a second time.
//!
//! Limits, enforced with errors: one thread; no descriptor it cannot reopen
//! by path (sockets, pipes, epoll, ...) unless a [`FdPolicy`] says to close or
//! ignore it; the same binary (sha256), libraries, kernel (vDSO) and
//! architecture (x86_64) at restore. See `docs/engines.md`.

mod checkpoint;
mod criu_self;
mod fds;
mod lifecycle;
mod maps;
mod restore;
mod snapstart;
mod state;
mod sys;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

pub use checkpoint::{CheckpointError, checkpoint};
pub use criu_self::{CriuSelfError, checkpoint_with_criu, restore_with_criu};
pub use fds::{FdAction, FdKind, FdPolicy, Offender};
pub use lifecycle::{HookFailure, Lifecycle, Resumption, set_lifecycle};
pub use restore::{RESTORE_FAILED, RestoreError, init, set_fixed_layout, try_init};
pub use snapstart::{INIT_ERROR_ENV, MARKER, Point, SNAPSHOT_ENV, snapshot_point, supports_native};

/// The engine name recorded in manifests.
pub const NAME: &str = "native";

/// The variable that asks [`init`] to restore: the snapshot directory.
pub const RESTORE_ENV: &str = "SNAP_RESTORE_FROM";

/// How many restores this process's memory has been through.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many times this process's memory has been restored: 0 in a process
/// that never was, 1 after the first restore, and so on. Libraries can poll
/// it to notice a restore (and reseed, reconnect, ...).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// How to checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointOptions {
    /// Where the snapshot goes.
    pub dir: PathBuf,
    /// What to do with descriptors that cannot be restored (native engine).
    pub fds: FdPolicy,
    /// Which engine takes the checkpoint.
    pub engine: SelfEngine,
}

/// The engine behind [`checkpoint`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SelfEngine {
    /// In-process, unprivileged, lazily restored (the default).
    #[default]
    Native,
    /// CRIU, through a helper outside the process's tree: for programs the
    /// native engine refuses (several threads, live sockets). Needs root.
    Criu,
}

impl CheckpointOptions {
    /// Checkpoint into `dir` with the native engine, refusing any descriptor
    /// that cannot be restored.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fds: FdPolicy::default(),
            engine: SelfEngine::Native,
        }
    }

    /// The same, with `engine`.
    pub fn with_engine(mut self, engine: SelfEngine) -> Self {
        self.engine = engine;
        self
    }
}

/// Which side of [`checkpoint`] this is.
#[derive(Debug)]
pub enum Resumed {
    /// The process that wrote the snapshot.
    Checkpointed(Box<crate::Snapshot>),
    /// A process restored from it.
    Restored(RestoreContext),
}

/// What the restoring invocation brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreContext {
    /// The restoring process's arguments (argv[0] first).
    pub args: Vec<String>,
    /// Its environment; it has also replaced this process's environment.
    pub env: Vec<(String, String)>,
    /// [`generation`] after this restore.
    pub generation: u64,
    /// The snapshot it came from.
    pub snapshot: PathBuf,
}
