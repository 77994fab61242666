//! Waiting until a bootstrap is ready: blocked in `invocation/next`, or at
//! its snapshot point.

use std::time::Duration;

use snap::lambda::ErrorType;

use crate::runtime::{BootstrapState, ErrorBody, RuntimeApi};
use crate::start_error::StartError;

/// Waits until the bootstrap's state reaches `target` (`Ready`: blocked in
/// `invocation/next`; or the snapshot point), failing on `init/error`,
/// `restore/error`, exit or `limit`.
pub async fn wait_ready(
    api: &RuntimeApi,
    exited: impl std::future::Future<Output = String>,
    limit: Duration,
    target: BootstrapState,
    timeout_type: ErrorType,
) -> Result<BootstrapState, StartError> {
    let mut state = api.state();
    let reached = state.wait_for(|s| {
        matches!(
            s,
            BootstrapState::InitFailed(_) | BootstrapState::RestoreFailed(_)
        ) || *s == target
            || (target == BootstrapState::AwaitingRestore && s.is_snapshot_point())
    });
    let outcome = tokio::select! {
        s = reached => s.map(|s| s.clone()).ok(),
        status = exited => {
            // An init/error or restore/error posted just before exiting wins.
            return Err(match &*api.state().borrow() {
                BootstrapState::InitFailed(body) => StartError::Init(body.clone()),
                BootstrapState::RestoreFailed(body) => StartError::Restore(body.clone()),
                _ => StartError::Init(ErrorBody::new(
                    ErrorType::ExitError,
                    format!(
                        "the bootstrap exited during {} ({status})",
                        if target == BootstrapState::Ready {
                            "init"
                        } else {
                            "init, before the snapshot"
                        }
                    ),
                )),
            });
        }
        () = tokio::time::sleep(limit) => None,
    };
    match outcome {
        Some(BootstrapState::InitFailed(body)) => Err(StartError::Init(body)),
        Some(BootstrapState::RestoreFailed(body)) => Err(StartError::Restore(body)),
        Some(reached) => Ok(reached),
        None => Err(StartError::Timeout {
            limit,
            error_type: timeout_type,
        }),
    }
}
