//! Every call from snapjs into `snap-core`, in one place, so that a change
//! of snap-core's paths is a change of this file only.
//!
//! - [`init`]: first thing in `main` (fixed layout; restores when asked).
//! - [`take`]: the snapshot point. Under `snaprun` making a native snapshot
//!   it checkpoints and the snapshotting process exits there; a restored
//!   process comes back from it with [`Point::Restored`]; otherwise
//!   [`Point::Cold`].
//! - [`snapshotting`]: whether this run is making a snapshot (then the JS
//!   before-checkpoint hooks run and the timer policy applies).
//! - [`report_init_error`] / [`report_restore_error`]: hook and init failures
//!   with their Runtime API types, where `snaprun` expects them.

use std::io;

/// Set in the restoring environment to print the restore's stages:
/// snap-core's up to the jump, and snapjs's first invocation after it
/// (`crate::first_invocation`).
pub(crate) const RESTORE_TIMING_ENV: &str = snap::native::RESTORE_TIMING_ENV;

/// Which side of the snapshot point this process is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    /// No snapshot was made or restored: a cold start.
    Cold,
    /// Restored from the snapshot; `generation` restores so far.
    Restored { generation: u64 },
}

/// The native engine's own failure at the snapshot point.
#[derive(Debug, thiserror::Error)]
#[error("the native snapshot point failed")]
pub(crate) struct SnapshotPointError(#[source] snap::CheckpointError);

/// First thing in `main`: the fixed layout the native engine needs, and the
/// restore itself when `SNAP_RESTORE_FROM` asks for one.
pub(crate) fn init() {
    snap::init();
}

/// Whether `snaprun` is making a native snapshot of this process.
pub(crate) fn snapshotting() -> bool {
    std::env::var_os(snap::lambda::SNAPSHOT_ENV).is_some_and(|d| !d.is_empty())
}

/// How much stack the process gets to keep after a restore.
const STACK_RESERVE: usize = 4 << 20;

/// The native engine restores the stack as the fixed mapping it was at the
/// snapshot point (it cannot grow on demand afterwards), and the async
/// frames of the invocation loop (hyper's connector, deep in debug builds)
/// need more than init ever touched: fault in [`STACK_RESERVE`] bytes now.
/// Untouched after a restore, those pages cost nothing (they are mapped
/// lazily from the snapshot).
#[inline(never)]
fn reserve_stack() {
    let reserve = [0u8; STACK_RESERVE];
    std::hint::black_box(&reserve);
}

/// The snapshot point: one thread, no sockets, no async runtime alive.
pub(crate) fn take() -> Result<Point, SnapshotPointError> {
    if snapshotting() {
        reserve_stack();
    }
    match snap::lambda::snapshot_point().map_err(SnapshotPointError)? {
        snap::lambda::Point::Cold => Ok(Point::Cold),
        snap::lambda::Point::Restored(ctx) => Ok(Point::Restored {
            generation: ctx.generation,
        }),
    }
}

/// A Runtime API error body, `{"errorMessage", "errorType"}`.
pub(crate) fn error_body(error_type: impl AsRef<str>, message: &str) -> String {
    snap::lambda::error_body(error_type, message)
}

/// Reports an init failure made while a snapshot is being made: there is no
/// Runtime API then, so it goes to the file `snaprun` named.
pub(crate) fn report_snapshot_init_error(body: &str) -> io::Result<()> {
    match std::env::var_os(snap::lambda::INIT_ERROR_ENV) {
        Some(path) => std::fs::write(path, body),
        None => Err(io::Error::other(format!(
            "{} is not set",
            snap::lambda::INIT_ERROR_ENV
        ))),
    }
}

/// Posts an after-restore failure to `/runtime/restore/error`.
pub(crate) fn report_restore_error(
    error_type: &str,
    message: &str,
) -> Result<(), snap::lambda::PostError> {
    snap::lambda::post_error("restore/error", error_type, message)
}
