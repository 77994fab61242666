//! Connects the global registry to `snap::checkpoint`.

use crate::registry::Registry;

use snap::{HookFailure, Lifecycle, RestoreContext, ResumeKind};

use crate::resume::Resume;

struct Connected(&'static Registry);

impl Lifecycle for Connected {
    fn before_checkpoint(&self) -> Result<(), HookFailure> {
        self.0.run_before_checkpoint().map(drop).map_err(Into::into)
    }

    fn after_checkpoint(
        &self,
        kind: ResumeKind,
        restored: Option<&RestoreContext>,
    ) -> Result<(), HookFailure> {
        let resume = match restored {
            Some(context) => Resume {
                kind,
                generation: context.generation,
                env: context.env.clone(),
                snapshot: Some(context.snapshot.clone()),
            },
            None => Resume::carried_on(kind),
        };
        self.0
            .run_after_restore(resume)
            .map(drop)
            .map_err(Into::into)
    }
}

/// Has [`snap::checkpoint`] run `registry`'s hooks, on every architecture
/// (the CRIU self-checkpoint runs them too).
pub(crate) fn connect(registry: &'static Registry) {
    let connected: &'static Connected = Box::leak(Box::new(Connected(registry)));
    snap::set_lifecycle(connected);
}
