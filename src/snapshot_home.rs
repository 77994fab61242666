//! Where snaprun keeps snapshots and chunks unless told otherwise: private
//! homes of the user's ([`snap::private_dir`]), since a snapshot holds a
//! process's whole memory.

use std::path::PathBuf;

use snap::private_dir::{HomeKind, PrivateDirError, user_home};

/// `snaprun` under `$XDG_RUNTIME_DIR` (a per-user tmpfs) if set, else
/// under `$XDG_CACHE_HOME` or `~/.cache`, else `$TMPDIR/snaprun-UID`:
/// the first that can be made, owner-only (0700). An existing one that is
/// not the user's, or is a link, is refused.
pub fn snapshot_home() -> Result<PathBuf, PrivateDirError> {
    user_home("snaprun", HomeKind::Runtime)
}

/// Where snaprun keeps the chunks of a snapshot store (`--store`) unless
/// told otherwise: `snaprun/chunks` under `$XDG_CACHE_HOME` or `~/.cache`,
/// on disk, since a chunk cache may hold gigabytes; else under
/// `$TMPDIR/snaprun-UID`. Owner-only, as the snapshot home.
pub fn chunk_cache_home() -> Result<PathBuf, PrivateDirError> {
    Ok(user_home("snaprun", HomeKind::Disk)?.join("chunks"))
}
