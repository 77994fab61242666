//! Hooks that run before a checkpoint and after every restore, so that
//! instances restored from one snapshot never share random state or dead
//! connections.
//!
//! ```
//! // Before the snapshot: close what must not be copied.
//! snap_hooks::before_checkpoint("flush", || -> Result<(), std::io::Error> { Ok(()) }).unwrap();
//! // After each restore: rebuild what was closed.
//! snap_hooks::after_restore("reopen", || -> Result<(), std::io::Error> { Ok(()) }).unwrap();
//! ```
//!
//! - Order: after a restore, by priority (highest first) and then in
//!   registration order; before a checkpoint, exactly the reverse.
//! - Failure: the first failing hook stops its phase. A failed
//!   before-checkpoint phase runs the after-restore actions of the hooks it
//!   had passed and aborts the checkpoint; a failed after-restore phase
//!   means the instance must not serve.
//! - Every action has a timeout ([`DEFAULT_TIMEOUT`] unless set); one that
//!   runs past it fails and is abandoned.
//! - [`snap::checkpoint`] runs the global registry's hooks once this crate
//!   is in use ([`install`]); the `lambda` feature runs them in a
//!   `lambda_runtime` function ([`lambda`]).
//! - Built in (`docs/hooks.md` lists them): a fresh [`instance_id`], reseeded `rand` thread
//!   RNG, restore-safe [`RandomState`], resolver reload. [`Rebuild`] holds a
//!   client and rebuilds it after a restore.

#![warn(missing_docs)]

#[cfg(feature = "aws-sdk")]
pub mod aws;
mod builtin;
pub mod dns;
pub mod env;
mod error;
mod hook;
#[cfg(feature = "lambda")]
pub mod lambda;
mod lifecycle;
mod rebuild;
mod registry;
mod resume;
mod run;
mod sys;

pub use builtin::{BUILTIN_PRIORITY, RandomState, instance_id};
#[cfg(feature = "rand")]
pub use builtin::{reseed_runtime_workers, reseed_thread_rng};
pub use error::{BoxError, HookError, Phase, PhaseError, RegisterError};
pub use hook::{DEFAULT_TIMEOUT, Hook};
pub use rebuild::Rebuild;
pub use registry::{Registry, global};
pub use resume::{Resume, ResumeKind, resume};
pub use run::Ran;

/// Makes sure the global registry exists, holds the built-ins and is run by
/// [`snap::checkpoint`]. Idempotent; every registration calls it.
pub fn install() {
    let _ = global();
}

pub(crate) fn install_into(registry: &'static Registry) {
    builtin::register(registry);
    lifecycle::connect(registry);
}

/// Registers `hook` in the global registry.
pub fn register(hook: Hook) -> Result<(), RegisterError> {
    global().register(hook)
}

/// Registers a sync before-checkpoint action named `name`.
pub fn before_checkpoint<F, E>(name: impl Into<String>, f: F) -> Result<(), RegisterError>
where
    F: Fn() -> Result<(), E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    register(Hook::new(name).before_checkpoint(f))
}

/// Registers a sync after-restore action named `name`.
pub fn after_restore<F, E>(name: impl Into<String>, f: F) -> Result<(), RegisterError>
where
    F: Fn() -> Result<(), E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    register(Hook::new(name).after_restore(f))
}

/// Registers an async before-checkpoint action named `name`.
pub fn before_checkpoint_async<F, Fut, E>(
    name: impl Into<String>,
    f: F,
) -> Result<(), RegisterError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    register(Hook::new(name).before_checkpoint_async(f))
}

/// Registers an async after-restore action named `name`.
pub fn after_restore_async<F, Fut, E>(name: impl Into<String>, f: F) -> Result<(), RegisterError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    register(Hook::new(name).after_restore_async(f))
}

/// The guide's examples (`docs/hooks.md`), compiled and run as doctests.
#[cfg(all(doctest, feature = "lambda"))]
#[doc = include_str!("../../docs/hooks.md")]
struct Guide;
