//! Why [`checkpoint`](super::checkpoint) or [`init`](super::init) failed.

use crate::layout::LayoutError;
use crate::lifecycle::HookFailure;

/// Why a checkpoint was refused or failed. Unless it is
/// [`CheckpointError::AfterHooks`] or an engine's error about the restore
/// request (which only a restored process sees), the process keeps running
/// unchanged and no snapshot is left behind.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The native engine does not run on this architecture.
    #[error(
        "the native engine is not supported on this architecture ({arch}); use SelfEngine::Criu"
    )]
    Unsupported {
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// The native engine refused or failed.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[error(transparent)]
    Native(#[from] crate::native::DumpError),
    /// The CRIU engine failed (with [`SelfEngine::Criu`](super::SelfEngine)).
    #[error(transparent)]
    Criu(#[from] crate::criu::SelfDumpError),
    /// A before-checkpoint hook failed: no snapshot was taken and the
    /// process carries on.
    #[error("a before-checkpoint hook failed, no snapshot was taken")]
    BeforeHooks(#[source] HookFailure),
    /// An after-restore (or after-checkpoint) hook failed. In a restored
    /// process this means the instance must not serve.
    #[error("an after-restore hook failed")]
    AfterHooks(#[source] HookFailure),
}

/// Why [`init`](super::init) could not prepare this process or restore it.
/// Nothing of the process was replaced.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The address layout could not be fixed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A restore was asked for, but the native engine does not run on this
    /// architecture.
    #[error(
        "cannot restore {dir}: the native engine is not supported on this architecture ({arch})"
    )]
    Unsupported {
        /// The snapshot asked for.
        dir: String,
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// The native restore failed.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[error(transparent)]
    Restore(#[from] crate::native::RestoreError),
}
