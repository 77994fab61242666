//! What the after-restore hooks are running for.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

pub use snap::ResumeKind;

/// The context of an after-restore phase, readable from any hook through
/// [`resume()`]: which side of the checkpoint this is ([`ResumeKind`]) and,
/// after a restore, what the restoring invocation brought (from
/// [`snap::RestoreContext`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// Why the phase runs.
    pub kind: ResumeKind,
    /// How many restores this process has been through.
    pub generation: u64,
    /// The restoring invocation's environment, when the engine brings one
    /// (the native engine does, and has already applied it); empty otherwise.
    pub env: Vec<(String, String)>,
    /// The snapshot restored from, when known.
    pub snapshot: Option<PathBuf>,
}

impl Resume {
    /// A restore into generation `generation`, with no new environment.
    pub fn restored(generation: u64) -> Self {
        Self {
            kind: ResumeKind::Restored,
            generation,
            env: Vec::new(),
            snapshot: None,
        }
    }

    /// The process that checkpointed (or failed to) carries on.
    pub fn carried_on(kind: ResumeKind) -> Self {
        Self {
            kind,
            generation: snap::generation(),
            env: Vec::new(),
            snapshot: None,
        }
    }

    /// Whether this is a restored process.
    pub fn is_restore(&self) -> bool {
        self.kind == ResumeKind::Restored
    }
}

static CURRENT: Mutex<Option<Arc<Resume>>> = Mutex::new(None);

/// The context of the latest after-restore phase, or `None` before any.
pub fn resume() -> Option<Arc<Resume>> {
    CURRENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

pub(crate) fn set(resume: Resume) {
    *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(resume));
}
