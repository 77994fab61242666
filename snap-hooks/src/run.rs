//! Running a phase: each hook in order, each under its timeout; the first
//! failure stops the phase.
//!
//! Sync actions run on Tokio's blocking threads, async ones as tasks, so a
//! hook that hangs is abandoned at its timeout instead of hanging the
//! checkpoint or the restore. Outside a Tokio runtime the blocking entry
//! points bring a current-thread runtime of their own and shut it down
//! before returning, so the process has no extra thread left when the
//! native engine takes its snapshot.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::{HookError, Phase, PhaseError};
use crate::hook::{Action, Hook};
use crate::registry::{InPhase, Registry};
use crate::resume::{self, Resume};

/// What a phase ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    /// The names of the hooks whose action completed, in order.
    pub hooks: Vec<String>,
}

impl Registry {
    /// Runs the before-checkpoint hooks (see [`PhaseError::BeforeCheckpoint`]
    /// for what happens on failure). Blocks; use
    /// [`run_before_checkpoint_async`](Self::run_before_checkpoint_async)
    /// from async code.
    pub fn run_before_checkpoint(&self) -> Result<Ran, PhaseError> {
        block_on(Phase::BeforeCheckpoint, self.run_before_checkpoint_async())
    }

    /// Runs the after-restore hooks with `resume` as [`crate::resume()`].
    /// Blocks; use [`run_after_restore_async`](Self::run_after_restore_async)
    /// from async code.
    pub fn run_after_restore(&self, resume: Resume) -> Result<Ran, PhaseError> {
        block_on(Phase::AfterRestore, self.run_after_restore_async(resume))
    }

    /// Runs the before-checkpoint hooks on the current Tokio runtime.
    pub async fn run_before_checkpoint_async(&self) -> Result<Ran, PhaseError> {
        let Some(running) = self.begin(Phase::BeforeCheckpoint) else {
            return Err(recursive(Phase::BeforeCheckpoint));
        };
        let mut ran = Ran::default();
        let mut passed: Vec<&Arc<Hook>> = Vec::new();
        for hook in &running.hooks {
            if let Some(action) = &hook.before {
                if let Err(failure) = execute(hook, action, Phase::BeforeCheckpoint).await {
                    tracing::error!(%failure, "aborting the checkpoint");
                    let undo = undo(&passed).await;
                    return Err(PhaseError::BeforeCheckpoint { failure, undo });
                }
                ran.hooks.push(hook.name.clone());
            }
            passed.push(hook);
        }
        Ok(ran)
    }

    /// Runs the after-restore hooks on the current Tokio runtime.
    pub async fn run_after_restore_async(&self, resume: Resume) -> Result<Ran, PhaseError> {
        let Some(running) = self.begin(Phase::AfterRestore) else {
            return Err(recursive(Phase::AfterRestore));
        };
        resume::set(resume);
        let mut ran = Ran::default();
        for hook in &running.hooks {
            if let Some(action) = &hook.after {
                execute(hook, action, Phase::AfterRestore)
                    .await
                    .map_err(PhaseError::AfterRestore)?;
                ran.hooks.push(hook.name.clone());
            }
        }
        Ok(ran)
    }
}

fn recursive(phase: Phase) -> PhaseError {
    PhaseError::Runner {
        phase,
        cause: std::io::Error::other("called from inside a running hook"),
    }
}

/// After a failed before-checkpoint phase: the after-restore actions of the
/// hooks already passed, in after-restore order. All of them run; the first
/// failure is returned.
async fn undo(passed: &[&Arc<Hook>]) -> Option<HookError> {
    let mut first = None;
    for hook in passed.iter().rev() {
        if let Some(action) = &hook.after {
            if let Err(e) = execute(hook, action, Phase::AfterRestore).await {
                tracing::error!(%e, "undoing a failed checkpoint");
                first.get_or_insert(e);
            }
        }
    }
    first
}

/// Runs one action under the hook's timeout.
async fn execute(hook: &Hook, action: &Action, phase: Phase) -> Result<(), HookError> {
    let started = std::time::Instant::now();
    let name = hook.name.clone();
    let outcome = match action {
        Action::Inline(f) => {
            let _mark = InPhase::enter(phase);
            std::panic::catch_unwind(AssertUnwindSafe(|| f())).map_err(panic_message)
        }
        Action::Sync(f) => {
            let f = Arc::clone(f);
            let task = tokio::task::spawn_blocking(move || {
                let _mark = InPhase::enter(phase);
                f()
            });
            match tokio::time::timeout(hook.timeout, task).await {
                Ok(joined) => joined.map_err(|e| panic_message(e.into_panic())),
                Err(_) => return Err(timed_out(hook, phase)),
            }
        }
        Action::Async(f) => {
            let task = tokio::spawn(Marked { phase, inner: f() });
            let abort = task.abort_handle();
            match tokio::time::timeout(hook.timeout, task).await {
                Ok(joined) => joined.map_err(|e| panic_message(e.into_panic())),
                Err(_) => {
                    abort.abort();
                    return Err(timed_out(hook, phase));
                }
            }
        }
    };
    let elapsed = started.elapsed();
    match outcome {
        Ok(Ok(())) => {
            tracing::debug!(hook = %name, %phase, ?elapsed, "hook done");
            Ok(())
        }
        Ok(Err(source)) => Err(HookError::Failed {
            name,
            phase,
            source,
        }),
        Err(message) => Err(HookError::Panicked {
            name,
            phase,
            message,
        }),
    }
}

fn timed_out(hook: &Hook, phase: Phase) -> HookError {
    tracing::error!(hook = %hook.name, %phase, timeout = ?hook.timeout, "hook timed out; abandoned");
    HookError::TimedOut {
        name: hook.name.clone(),
        phase,
        timeout: hook.timeout,
    }
}

/// Whether the phase gave up on a hook (it timed out), which may still be
/// running on a blocking thread that shutting down must not wait for.
fn abandoned_a_hook(result: &Result<Ran, PhaseError>) -> bool {
    let timed_out = |e: &HookError| matches!(e, HookError::TimedOut { .. });
    match result {
        Err(PhaseError::BeforeCheckpoint { failure, undo }) => {
            timed_out(failure) || undo.as_ref().is_some_and(timed_out)
        }
        Err(PhaseError::AfterRestore(failure)) => timed_out(failure),
        _ => false,
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

type ActionFuture = Pin<Box<dyn Future<Output = Result<(), crate::error::BoxError>> + Send>>;

/// An async action, marked as inside its phase while it is polled.
struct Marked {
    phase: Phase,
    inner: ActionFuture,
}

impl Future for Marked {
    type Output = Result<(), crate::error::BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let _mark = InPhase::enter(self.phase);
        self.inner.as_mut().poll(cx)
    }
}

/// Runs a phase to completion from blocking code.
fn block_on<F>(phase: Phase, future: F) -> Result<Ran, PhaseError>
where
    F: Future<Output = Result<Ran, PhaseError>> + Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        // A runtime cannot be started inside another: use a thread.
        return std::thread::scope(|scope| {
            scope
                .spawn(|| block_on_here(phase, future))
                .join()
                .unwrap_or_else(|p| {
                    Err(PhaseError::Runner {
                        phase,
                        cause: std::io::Error::other(panic_message(p)),
                    })
                })
        });
    }
    block_on_here(phase, future)
}

fn block_on_here<F>(phase: Phase, future: F) -> Result<Ran, PhaseError>
where
    F: Future<Output = Result<Ran, PhaseError>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|cause| PhaseError::Runner { phase, cause })?;
    let result = runtime.block_on(future);
    if abandoned_a_hook(&result) {
        runtime.shutdown_background();
    } else {
        // Joins the blocking threads, so none is left for the snapshot.
        runtime.shutdown_timeout(Duration::from_secs(5));
    }
    result
}
