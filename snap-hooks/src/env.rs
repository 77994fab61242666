//! Noticing a changed environment after a restore, such as new credentials.
//!
//! The native engine replaces the process's environment with the restoring
//! invocation's before any hook runs ([`crate::Resume::env`] holds it).
//! [`on_change`] tells you which of the variables you care about changed,
//! so you can rebuild what was built from them.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{BoxError, RegisterError};
use crate::hook::Hook;
use crate::registry::{Registry, global};

/// The variables AWS SDKs read credentials from.
pub const AWS_CREDENTIALS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_REGION",
];

/// One variable that differs after a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its name.
    pub name: String,
    /// Its value at the checkpoint.
    pub before: Option<String>,
    /// Its value now.
    pub after: Option<String>,
}

/// After every restore, calls `f` with the variables among `vars` whose
/// values differ from the checkpoint's (not at all if none does).
pub fn on_change<F, E>(name: impl Into<String>, vars: &[&str], f: F) -> Result<(), RegisterError>
where
    F: Fn(&[Change]) -> Result<(), E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    on_change_in(global(), name, vars, f)
}

/// The same, in `registry`.
pub fn on_change_in<F, E>(
    registry: &Registry,
    name: impl Into<String>,
    vars: &[&str],
    f: F,
) -> Result<(), RegisterError>
where
    F: Fn(&[Change]) -> Result<(), E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    let vars: Arc<Vec<String>> = Arc::new(vars.iter().map(|v| (*v).to_owned()).collect());
    let seen = Arc::new(Mutex::new(read(&vars)));
    let (vars_before, seen_before) = (Arc::clone(&vars), Arc::clone(&seen));
    registry.register(
        Hook::new(name)
            .before_checkpoint(move || -> Result<(), BoxError> {
                *seen_before.lock().unwrap_or_else(PoisonError::into_inner) = read(&vars_before);
                Ok(())
            })
            .after_restore(move || -> Result<(), BoxError> {
                let now = read(&vars);
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                let changes: Vec<Change> = vars
                    .iter()
                    .zip(seen.iter().zip(&now))
                    .filter(|(_, (was, is))| was != is)
                    .map(|(name, (was, is))| Change {
                        name: name.clone(),
                        before: was.clone(),
                        after: is.clone(),
                    })
                    .collect();
                *seen = now;
                drop(seen);
                if changes.is_empty() {
                    return Ok(());
                }
                f(&changes).map_err(Into::into)
            }),
    )
}

fn read(vars: &[String]) -> Vec<Option<String>> {
    vars.iter().map(|v| std::env::var(v).ok()).collect()
}
