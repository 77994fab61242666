//! Connects the global registry to `snap::checkpoint`.

use crate::registry::Registry;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use snap::native::{HookFailure, Lifecycle, Resumption};

    use crate::registry::Registry;
    use crate::resume::{Resume, ResumeKind};

    struct Connected(&'static Registry);

    impl Lifecycle for Connected {
        fn before_checkpoint(&self) -> Result<(), HookFailure> {
            self.0.run_before_checkpoint().map(drop).map_err(Into::into)
        }

        fn after_checkpoint(&self, how: Resumption<'_>) -> Result<(), HookFailure> {
            let resume = match how {
                Resumption::Restored(context) => Resume {
                    kind: ResumeKind::Restored,
                    generation: context.generation,
                    env: context.env.clone(),
                    snapshot: Some(context.snapshot.clone()),
                },
                Resumption::Checkpointed => Resume::carried_on(ResumeKind::Checkpointed),
                Resumption::Aborted => Resume::carried_on(ResumeKind::Aborted),
            };
            self.0
                .run_after_restore(resume)
                .map(drop)
                .map_err(Into::into)
        }
    }

    pub(super) fn connect(registry: &'static Registry) {
        let connected: &'static Connected = Box::leak(Box::new(Connected(registry)));
        snap::native::set_lifecycle(connected);
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) fn connect(registry: &'static Registry) {
    imp::connect(registry);
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub(crate) fn connect(_registry: &'static Registry) {}
