//! Running the hooks in a `lambda_runtime` function, so functions the CRIU
//! engine snapshots (any process, no `snap::checkpoint` call) get them too.
//!
//! ```no_run
//! # async fn handler(_: lambda_runtime::LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, lambda_runtime::Error> { todo!() }
//! # async fn f() -> Result<(), lambda_runtime::Error> {
//! lambda_runtime::Runtime::new(lambda_runtime::service_fn(handler))
//!     .register_snapstart_resource(snap_hooks::lambda::resource())
//!     .run()
//!     .await
//! # }
//! ```
//!
//! `lambda_runtime` reports a failing resource with an `errorType` made from
//! a Rust type name. This adapter posts the failure first, with the type the
//! Runtime API defines (`Runtime.BeforeSnapshotError`,
//! `Runtime.AfterRestoreError`, `Runtime.RestoreHookUserTimeout`); the
//! crate's own report that follows is refused by a conforming server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lambda_runtime::{BoxFuture, Error, SnapStartResource};

use crate::error::PhaseError;
use crate::registry::{Registry, global};
use crate::resume::Resume;

/// The [`SnapStartResource`] that runs a registry's hooks. Register it
/// first, so `lambda_runtime` runs it last before the snapshot and first
/// after the restore.
#[derive(Debug)]
pub struct Hooks {
    registry: &'static Registry,
    restores: AtomicU64,
}

/// The resource for the global registry.
pub fn resource() -> Arc<Hooks> {
    Arc::new(Hooks {
        registry: global(),
        restores: AtomicU64::new(0),
    })
}

impl SnapStartResource for Hooks {
    fn before_snapshot(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            match self.registry.run_before_checkpoint_async().await {
                Ok(ran) => {
                    tracing::info!(hooks = ?ran.hooks, "before-checkpoint hooks done");
                    Ok(())
                }
                Err(e) => Err(report("init/error", e).await),
            }
        })
    }

    fn after_restore(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            #[cfg(feature = "rand")]
            crate::reseed_runtime_workers(std::time::Duration::from_millis(500)).await;
            let generation = self.restores.fetch_add(1, Ordering::AcqRel) + 1;
            match self
                .registry
                .run_after_restore_async(Resume::restored(generation))
                .await
            {
                Ok(ran) => {
                    tracing::info!(hooks = ?ran.hooks, "after-restore hooks done");
                    Ok(())
                }
                Err(e) => Err(report("restore/error", e).await),
            }
        })
    }
}

/// Posts `error` to the Runtime API's `endpoint` with its proper type.
async fn report(endpoint: &'static str, error: PhaseError) -> Error {
    let error_type = error.error_type();
    let message = snap::chain(&error);
    let posted = tokio::task::spawn_blocking(move || {
        snap::lambda::post_error(endpoint, error_type, &message)
    })
    .await;
    match posted {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %snap::chain(&e), "cannot post /runtime/{endpoint}"),
        Err(e) => tracing::error!(%e, "cannot post /runtime/{endpoint}"),
    }
    Box::new(error)
}
