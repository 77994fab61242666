//! The self-checkpoint API: a program checkpoints itself with
//! [`checkpoint`], which returns twice, like fork: [`Resumed::Checkpointed`]
//! in the process that wrote the snapshot, [`Resumed::Restored`] in every
//! process restored from it. [`init`], first thing in `main`, is what
//! restores.
//!
//! ```no_run
//! # fn build_expensive_index() {}
//! // First thing in main: a fixed layout, and a restore if one is asked for.
//! snap::init();
//! let index = build_expensive_index();
//! let options = snap::CheckpointOptions::new("/tmp/my.snap");
//! match snap::checkpoint(&options).expect("checkpoint") {
//!     snap::Resumed::Checkpointed(_) => println!("snapshot written"),
//!     snap::Resumed::Restored(ctx) => println!("restored, generation {}", ctx.generation),
//! }
//! ```
//!
//! This module has no architecture gate. It dispatches to an engine:
//! [`SelfEngine::Native`] (the in-process engine in [`crate::native`],
//! x86_64 Linux; elsewhere [`CheckpointError::Unsupported`]) or
//! [`SelfEngine::Criu`] (a CRIU dump through a helper,
//! [`crate::criu::checkpoint_self`]; needs root). Hooks installed through
//! [`crate::set_lifecycle`] run around either.

mod error;

use std::path::{Path, PathBuf};

pub use error::{CheckpointError, InitError};

use crate::fd_policy::FdPolicy;
use crate::lifecycle;
use crate::resumed::{RESTORE_ENV, RESTORE_FAILED, ResumeKind, Resumed};

/// Whether the native engine runs on this build's architecture (x86_64
/// Linux). Where it does not, [`checkpoint`] with [`SelfEngine::Native`]
/// and a restore through [`init`] fail with "not supported on this
/// architecture", and callers such as `snaprun --engine auto` use CRIU.
pub const NATIVE_SUPPORTED: bool = cfg!(all(target_os = "linux", target_arch = "x86_64"));

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
    /// In-process, unprivileged, lazily restored (the default). x86_64
    /// Linux only.
    #[default]
    Native,
    /// CRIU, through a helper outside the process's tree: for programs the
    /// native engine refuses (several threads, live sockets) and for other
    /// architectures. Needs root.
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

/// Checkpoints the calling process into `options.dir`. Returns
/// [`Resumed::Checkpointed`] here, and [`Resumed::Restored`] in every process
/// later restored from the snapshot.
///
/// When a hook library has installed a [`Lifecycle`](crate::Lifecycle)
/// (`snap-hooks` does), its before-checkpoint hooks run first, and a failure
/// there returns [`CheckpointError::BeforeHooks`] with no snapshot taken; its
/// after hooks run on whichever side this call returns.
pub fn checkpoint(options: &CheckpointOptions) -> Result<Resumed, CheckpointError> {
    let Some(hooks) = lifecycle::current() else {
        return take(options);
    };
    hooks
        .before_checkpoint()
        .map_err(CheckpointError::BeforeHooks)?;
    let taken = take(options);
    let after = match &taken {
        Ok(Resumed::Checkpointed(_)) => hooks.after_checkpoint(ResumeKind::Checkpointed, None),
        Ok(Resumed::Restored(context)) => {
            hooks.after_checkpoint(ResumeKind::Restored, Some(context))
        }
        Err(_) => hooks.after_checkpoint(ResumeKind::Aborted, None),
    };
    match (after, taken) {
        (Ok(()), taken) => taken,
        (Err(hook), Ok(_)) => Err(CheckpointError::AfterHooks(hook)),
        (Err(hook), Err(engine)) => {
            tracing::error!(%hook, "an after-checkpoint hook failed after the checkpoint failed");
            Err(engine)
        }
    }
}

/// Takes the checkpoint with the chosen engine, hooks aside.
fn take(options: &CheckpointOptions) -> Result<Resumed, CheckpointError> {
    match options.engine {
        SelfEngine::Criu => Ok(crate::criu::checkpoint_self(&options.dir)?),
        SelfEngine::Native => native(&options.dir, &options.fds),
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn native(dir: &Path, fds: &FdPolicy) -> Result<Resumed, CheckpointError> {
    Ok(crate::native::dump(dir, fds)?)
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn native(_dir: &Path, _fds: &FdPolicy) -> Result<Resumed, CheckpointError> {
    Err(CheckpointError::Unsupported {
        arch: std::env::consts::ARCH,
    })
}

/// The early entry point: call it first thing in `main`.
///
/// - In a CRIU dump helper started by [`checkpoint`], it runs the helper
///   and exits.
/// - Where the native engine runs, it makes the process run with a fixed
///   layout (re-exec'ing once if needed) and, when `SNAP_RESTORE_FROM`
///   names a snapshot, restores it, in which case it does not return: the
///   program continues inside `checkpoint`.
///
/// A failed restore prints the reason (with its causes) and exits with
/// status [`RESTORE_FAILED`]. A restore started ahead and called off at its
/// gate ([`crate::RESTORE_GATE_ENV`]) exits the same way without a word,
/// from inside the restorer, under [`try_init`] too.
pub fn init() {
    if let Err(err) = try_init() {
        eprintln!("snap: restore failed: {}", crate::os_error::chain(&err));
        std::process::exit(RESTORE_FAILED);
    }
}

/// [`init`], returning the error instead of exiting.
pub fn try_init() -> Result<(), InitError> {
    crate::criu::run_dump_helper_if_asked();
    let asked = std::env::var_os(RESTORE_ENV).filter(|dir| !dir.is_empty());
    restore_if_asked(asked.as_deref().map(Path::new))
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn restore_if_asked(dir: Option<&Path>) -> Result<(), InitError> {
    crate::layout::ensure_fixed()?;
    match dir {
        Some(dir) => Ok(crate::native::restore_from(dir)?),
        None => Ok(()),
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn restore_if_asked(dir: Option<&Path>) -> Result<(), InitError> {
    match dir {
        Some(dir) => Err(InitError::Unsupported {
            dir: dir.display().to_string(),
            arch: std::env::consts::ARCH,
        }),
        None => Ok(()),
    }
}
