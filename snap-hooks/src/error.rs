//! What can go wrong: registering a hook, and running a phase.

use std::fmt;
use std::time::Duration;

use snap::lambda::ErrorType;

/// An error a hook returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The two phases around a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the snapshot is taken.
    BeforeCheckpoint,
    /// After a restore (or after the checkpoint, in the process that took it).
    AfterRestore,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BeforeCheckpoint => "before-checkpoint",
            Self::AfterRestore => "after-restore",
        })
    }
}

/// Why a hook could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// A hook tried to register another while its phase runs. (Other
    /// threads are not refused: they wait for the phase to end.)
    #[error("hook {name:?} cannot be registered from inside a running {phase} hook")]
    DuringPhase {
        /// The hook being registered.
        name: String,
        /// The phase that is running.
        phase: Phase,
    },
    /// The hook has no action for either phase.
    #[error("hook {0:?} has neither a before-checkpoint nor an after-restore action")]
    Empty(String),
}

/// How one hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// It returned an error.
    #[error("{phase} hook {name:?} failed: {source}")]
    Failed {
        /// The hook.
        name: String,
        /// Its phase.
        phase: Phase,
        /// What it returned.
        source: BoxError,
    },
    /// It ran past its timeout and was abandoned.
    #[error("{phase} hook {name:?} did not finish within {timeout:?}")]
    TimedOut {
        /// The hook.
        name: String,
        /// Its phase.
        phase: Phase,
        /// Its timeout.
        timeout: Duration,
    },
    /// It panicked.
    #[error("{phase} hook {name:?} panicked: {message}")]
    Panicked {
        /// The hook.
        name: String,
        /// Its phase.
        phase: Phase,
        /// The panic's message.
        message: String,
    },
}

impl HookError {
    /// The failing hook's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Failed { name, .. }
            | Self::TimedOut { name, .. }
            | Self::Panicked { name, .. } => name,
        }
    }

    /// The phase it failed in.
    pub fn phase(&self) -> Phase {
        match self {
            Self::Failed { phase, .. }
            | Self::TimedOut { phase, .. }
            | Self::Panicked { phase, .. } => *phase,
        }
    }

    /// The `errorType` a Lambda runtime reports this failure under:
    /// `Runtime.BeforeSnapshotError`, `Runtime.AfterRestoreError`, or
    /// `Runtime.RestoreHookUserTimeout` for an after-restore hook that
    /// timed out.
    pub fn error_type(&self) -> ErrorType {
        match (self.phase(), self) {
            (Phase::BeforeCheckpoint, _) => ErrorType::BeforeSnapshotError,
            (Phase::AfterRestore, Self::TimedOut { .. }) => ErrorType::RestoreHookUserTimeout,
            (Phase::AfterRestore, _) => ErrorType::AfterRestoreError,
        }
    }
}

/// Why a phase failed. The first failing hook stops the phase.
#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    /// A before-checkpoint hook failed. The after-restore actions of the
    /// hooks whose before-checkpoint action had completed were run, so the
    /// process keeps working; no snapshot may be taken.
    #[error("{failure}{}", undo_note(.undo))]
    BeforeCheckpoint {
        /// The hook that failed.
        failure: HookError,
        /// A failure while undoing, if one happened.
        undo: Option<HookError>,
    },
    /// An after-restore hook failed: the instance must not serve.
    #[error("{0}")]
    AfterRestore(HookError),
    /// The hooks could not be run at all.
    #[error("cannot run the {phase} hooks")]
    Runner {
        /// The phase.
        phase: Phase,
        /// The cause.
        #[source]
        cause: std::io::Error,
    },
}

fn undo_note(undo: &Option<HookError>) -> String {
    match undo {
        Some(e) => format!(" (and undoing it failed too: {e})"),
        None => String::new(),
    }
}

impl PhaseError {
    /// The hook failure behind this error, if it was one.
    pub fn hook(&self) -> Option<&HookError> {
        match self {
            Self::BeforeCheckpoint { failure, .. } | Self::AfterRestore(failure) => Some(failure),
            Self::Runner { .. } => None,
        }
    }

    /// The `errorType` a Lambda runtime reports this failure under.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::BeforeCheckpoint { failure, .. } | Self::AfterRestore(failure) => {
                failure.error_type()
            }
            Self::Runner {
                phase: Phase::BeforeCheckpoint,
                ..
            } => ErrorType::BeforeSnapshotError,
            Self::Runner { .. } => ErrorType::AfterRestoreError,
        }
    }
}
