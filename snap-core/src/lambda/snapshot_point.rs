//! The snapshot point of a Lambda bootstrap that links `snap`: where
//! `snaprun run --engine native` has it checkpoint itself, and the marker
//! that tells `snaprun` it can.

use std::path::PathBuf;

use super::ErrorType;
use super::runtime_api::{error_body, post_error};
use crate::os_error::chain;
use crate::{CheckpointError, CheckpointOptions, RestoreContext, Resumed, checkpoint};

/// Set by `snaprun` while it makes a native snapshot: where to write it.
pub const SNAPSHOT_ENV: &str = "SNAP_NATIVE_SNAPSHOT";

/// Set by `snaprun` with [`SNAPSHOT_ENV`]: the file [`snapshot_point`]
/// writes a before-checkpoint hook failure to (there is no Runtime API to
/// post it to before the snapshot), as a Runtime API error body.
pub const INIT_ERROR_ENV: &str = "SNAP_NATIVE_INIT_ERROR";

/// Bytes every binary that calls [`snapshot_point`] contains, so that
/// `snaprun --engine auto` can tell it may use it.
pub const MARKER: &[u8] = b"snap-native-engine-v1:supported";

/// Only [`snapshot_point`] refers to it, so a program that links `snap`
/// without calling it (through `snap-hooks`, say) carries no marker.
static EMBEDDED_MARKER: [u8; MARKER.len()] = {
    let mut out = [0u8; MARKER.len()];
    let mut i = 0;
    while i < MARKER.len() {
        out[i] = MARKER[i];
        i += 1;
    }
    out
};

/// What [`snapshot_point`] found.
#[derive(Debug)]
pub enum Point {
    /// No snapshot is being made: carry on as a cold start.
    Cold,
    /// This process was restored from the snapshot: carry on, with the
    /// restoring invocation's environment already in place.
    Restored(RestoreContext),
}

/// The snapshot point of a bootstrap. Call it once init is done, before the
/// first Runtime API request and with no threads, sockets or async runtime
/// alive.
///
/// - Under `snaprun run --engine native` making a snapshot
///   (`SNAP_NATIVE_SNAPSHOT` set), it checkpoints into that directory and
///   exits with status 0 once the snapshot is sealed.
/// - In a process restored from it, it returns [`Point::Restored`].
/// - Otherwise it returns [`Point::Cold`] and does nothing.
///
/// Hook failures (see [`crate::Lifecycle`]) reach `snaprun` with the Runtime
/// API's types: a before-checkpoint failure as `Runtime.BeforeSnapshotError`
/// (written to `SNAP_NATIVE_INIT_ERROR`), an after-restore failure in a
/// restored process as `Runtime.AfterRestoreError` (posted to
/// `/runtime/restore/error`). The error is returned as well; the bootstrap
/// should exit.
pub fn snapshot_point() -> Result<Point, CheckpointError> {
    let Some(dir) = std::env::var_os(SNAPSHOT_ENV).filter(|d| !d.is_empty()) else {
        return Ok(Point::Cold);
    };
    // Keep the marker in every binary that calls this.
    std::hint::black_box(&EMBEDDED_MARKER);
    match checkpoint(&CheckpointOptions::new(PathBuf::from(dir))) {
        Ok(Resumed::Checkpointed(_)) => std::process::exit(0),
        Ok(Resumed::Restored(ctx)) => Ok(Point::Restored(ctx)),
        // The process that wrote the snapshot only exits: its own
        // after-hooks do not matter.
        Err(CheckpointError::AfterHooks(_)) if crate::generation() == 0 => std::process::exit(0),
        Err(err @ CheckpointError::BeforeHooks(_)) => {
            write_init_error(ErrorType::BeforeSnapshotError, &chain(&err));
            Err(err)
        }
        Err(err @ CheckpointError::AfterHooks(_)) => {
            let posted = post_error("restore/error", ErrorType::AfterRestoreError, &chain(&err));
            if let Err(e) = posted {
                tracing::error!(error = %chain(&e), "cannot post /runtime/restore/error");
            }
            Err(err)
        }
        // The snapshot could not be made (its directory cannot be written,
        // the process cannot be dumped): snaprun would otherwise see only an
        // exit, with the cause in the function's log.
        Err(err) if crate::generation() == 0 => {
            write_init_error(
                ErrorType::InitError,
                &format!("cannot make the native snapshot: {}", chain(&err)),
            );
            Err(err)
        }
        Err(err) => Err(err),
    }
}

/// Hands snaprun an init error through the file `SNAP_NATIVE_INIT_ERROR`
/// names (there is no Runtime API to post it to before the snapshot).
fn write_init_error(kind: ErrorType, message: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(path) = std::env::var_os(INIT_ERROR_ENV) {
        // A new file, never one found there: the path sits beside a
        // directory others may be able to write, and a link planted at it
        // must not lead this process to overwrite what it points at.
        let written = std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .and_then(|mut file| file.write_all(error_body(kind, message).as_bytes()));
        if let Err(e) = written {
            tracing::error!(%e, "cannot write the init error");
        }
    }
}

/// Whether the executable at `path` links the native engine.
pub fn supports_native(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(MARKER.len()).any(|w| w == MARKER))
}
