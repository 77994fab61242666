//! An async init under the native engine (the `tokio` cargo feature): the
//! init runs on a runtime of its own that is shut down before the snapshot
//! point, and the function's runtime is built after it.
//!
//! The native engine snapshots one thread with no sockets open
//! ([`crate::lambda::snapshot_point`]), and a tokio runtime has worker
//! threads, a blocking pool and an I/O driver. So an async init (an AWS SDK
//! config loaded with `.await`, a client warmed with a first request) cannot
//! run on the runtime that later serves invocations. [`run`] is that
//! split, in place of `#[tokio::main]`:
//!
//! ```no_run
//! # async fn load_config() -> String { String::new() }
//! # async fn serve(_: String) -> Result<(), std::io::Error> { Ok(()) }
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     snap::init();
//!     snap::tokio::run(
//!         tokio::runtime::Builder::new_multi_thread(),
//!         load_config(),
//!         |config, _point| serve(config),
//!     )??;
//!     Ok(())
//! }
//! ```
//!
//! What init returns crosses the snapshot, so it must hold no socket,
//! thread or runtime handle: drop clients whose connections are pooled
//! before init returns, or hold them in `snap_hooks::Rebuild`.

use std::future::Future;

use crate::CheckpointError;
use crate::lambda::{Point, snapshot_point};

mod self_pipe;
mod sys;

pub use self_pipe::{SelfPipe, SelfPipeError};

/// Why [`run`] could not start the function.
#[derive(Debug, thiserror::Error)]
pub enum TokioError {
    /// A runtime could not be built (`stage` says which).
    #[error("cannot build the {stage} tokio runtime")]
    Runtime {
        /// `init` or `function`.
        stage: &'static str,
        /// The builder's error.
        #[source]
        cause: std::io::Error,
    },
    /// The snapshot point refused or failed (threads or sockets still
    /// alive after init, a hook failure).
    #[error("the snapshot point after the async init failed")]
    SnapshotPoint(#[source] CheckpointError),
    /// tokio's signal self-pipe could not be set aside for the snapshot
    /// point, or put back after it.
    #[error(transparent)]
    SelfPipe(#[from] SelfPipeError),
}

/// Runs `init` to completion on a current-thread runtime, shuts that
/// runtime down (its blocking threads joined, its driver closed), reaches
/// [`snapshot_point`] with tokio's signal self-pipe set aside
/// ([`SelfPipe`]), then builds `function`'s runtime and runs `main` on it
/// with what init made and the point reached.
///
/// Under `snaprun run --engine native` making a snapshot, the process
/// exits at the snapshot point, as [`snapshot_point`] says. A restored
/// process starts at the snapshot point: `init` never runs again, and
/// `main` gets [`Point::Restored`].
pub fn run<I, M, F>(
    mut function: ::tokio::runtime::Builder,
    init: I,
    main: M,
) -> Result<F::Output, TokioError>
where
    I: Future,
    M: FnOnce(I::Output, Point) -> F,
    F: Future,
{
    let made = {
        let runtime = ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|cause| TokioError::Runtime {
                stage: "init",
                cause,
            })?;
        let made = runtime.block_on(init);
        // Dropping a runtime stops its tasks, joins its blocking threads
        // and closes its driver's descriptors.
        drop(runtime);
        made
    };
    let parked = SelfPipe::park()?;
    let point = snapshot_point();
    parked.unpark()?;
    let point = point.map_err(TokioError::SnapshotPoint)?;
    let runtime = function
        .enable_all()
        .build()
        .map_err(|cause| TokioError::Runtime {
            stage: "function",
            cause,
        })?;
    Ok(runtime.block_on(main(made, point)))
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use ::tokio::runtime::{Builder, Handle, RuntimeFlavor};

    use super::*;

    /// One [`run`] at a time: each sets the process's one self-pipe aside.
    fn alone() -> MutexGuard<'static, ()> {
        static ONE: Mutex<()> = Mutex::new(());
        ONE.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[test]
    fn a_signal_reaches_the_functions_runtime_through_the_self_pipe_put_back() {
        let _alone = alone();
        let received = run(
            Builder::new_current_thread(),
            // The init runtime makes tokio's self-pipe (the signal feature is
            // on in these tests); the snapshot point sets it aside.
            async {},
            |(), _| async {
                use ::tokio::signal::unix::{SignalKind, signal};
                let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
                // SAFETY: raise sends SIGUSR1 to this thread, which tokio's
                // handler (registered just above) catches.
                assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
                ::tokio::time::timeout(std::time::Duration::from_secs(10), usr1.recv())
                    .await
                    .is_ok()
            },
        )
        .unwrap();
        assert!(received, "SIGUSR1 never reached the function's runtime");
    }

    #[test]
    fn init_runs_on_its_own_runtime_and_main_on_the_one_asked_for() {
        let _alone = alone();
        // No snapshot is being made here (SNAP_NATIVE_SNAPSHOT unset), so
        // the point is a cold start's.
        let (init, cold, main) = run(
            Builder::new_multi_thread(),
            async { Handle::current().runtime_flavor() },
            |init, point| async move {
                (
                    init,
                    matches!(point, Point::Cold),
                    Handle::current().runtime_flavor(),
                )
            },
        )
        .unwrap();
        assert_eq!(init, RuntimeFlavor::CurrentThread);
        assert!(cold);
        assert_eq!(main, RuntimeFlavor::MultiThread);
    }

    #[test]
    fn a_task_init_left_behind_does_not_outlive_its_runtime() {
        let _alone = alone();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let answer = run(
            Builder::new_current_thread(),
            async move {
                // Never finishes; holds the sender until its runtime drops it.
                ::tokio::spawn(async move {
                    let _tx = tx;
                    std::future::pending::<()>().await;
                });
                7
            },
            |made, _| async move { made * 6 },
        )
        .unwrap();
        assert_eq!(answer, 42);
        // The task was dropped with the init runtime, and its sender with it.
        assert_eq!(rx.recv(), Err(std::sync::mpsc::RecvError));
    }
}
