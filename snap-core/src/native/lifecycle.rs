//! The seam between [`checkpoint`](super::checkpoint) and hook libraries
//! (`snap-hooks`): one process-wide [`Lifecycle`] that `checkpoint` calls
//! before it takes the snapshot and after it returns, on either side.
//!
//! `snap` itself knows nothing of hooks; a library installs itself here once.

use std::sync::OnceLock;

use super::RestoreContext;

/// An error from a hook library.
pub type HookFailure = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which way [`checkpoint`](super::checkpoint) came back.
#[derive(Debug, Clone, Copy)]
pub enum Resumption<'a> {
    /// In the process that wrote the snapshot, which carries on.
    Checkpointed,
    /// In a process restored from the snapshot.
    Restored(&'a RestoreContext),
    /// The engine failed after the before-checkpoint hooks ran; the process
    /// carries on as it was and no snapshot exists.
    Aborted,
}

/// What a hook library does around a checkpoint.
pub trait Lifecycle: Send + Sync {
    /// Runs before the snapshot is taken. An error aborts the checkpoint,
    /// and the library must have undone its own partial work (for example
    /// by running the after-hooks of the hooks that completed).
    fn before_checkpoint(&self) -> Result<(), HookFailure>;

    /// Runs after [`checkpoint`](super::checkpoint), on every side.
    fn after_checkpoint(&self, how: Resumption<'_>) -> Result<(), HookFailure>;
}

static LIFECYCLE: OnceLock<&'static dyn Lifecycle> = OnceLock::new();

/// Installs the process's lifecycle. Only the first call takes effect;
/// returns whether this one did.
pub fn set_lifecycle(lifecycle: &'static dyn Lifecycle) -> bool {
    LIFECYCLE.set(lifecycle).is_ok()
}

/// The installed lifecycle, if any.
pub(super) fn current() -> Option<&'static dyn Lifecycle> {
    LIFECYCLE.get().copied()
}
