//! The seam between [`checkpoint`](crate::checkpoint()) and hook libraries
//! (`snap-hooks`): one process-wide [`Lifecycle`] that `checkpoint` calls
//! before it takes the snapshot and after it returns, on either side.
//!
//! `snap` itself knows nothing of hooks; a library installs itself here once.

use std::sync::OnceLock;

use crate::resumed::{RestoreContext, ResumeKind};

/// An error from a hook library.
pub type HookFailure = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a hook library does around a checkpoint.
pub trait Lifecycle: Send + Sync {
    /// Runs before the snapshot is taken. An error aborts the checkpoint,
    /// and the library must have undone its own partial work (for example
    /// by running the after-hooks of the hooks that completed).
    fn before_checkpoint(&self) -> Result<(), HookFailure>;

    /// Runs after [`checkpoint`](crate::checkpoint()), on every side:
    /// `restored` is the restoring invocation's context when `kind` is
    /// [`ResumeKind::Restored`], and `None` otherwise.
    fn after_checkpoint(
        &self,
        kind: ResumeKind,
        restored: Option<&RestoreContext>,
    ) -> Result<(), HookFailure>;
}

static LIFECYCLE: OnceLock<&'static dyn Lifecycle> = OnceLock::new();

/// Installs the process's lifecycle. Only the first call takes effect;
/// returns whether this one did.
pub fn set_lifecycle(lifecycle: &'static dyn Lifecycle) -> bool {
    LIFECYCLE.set(lifecycle).is_ok()
}

/// The installed lifecycle, if any.
pub(crate) fn current() -> Option<&'static dyn Lifecycle> {
    LIFECYCLE.get().copied()
}
