//! Where snaprun keeps snapshots unless told otherwise: a directory only
//! the user can enter, since a snapshot holds a process's whole memory.
//! A predictable path in a world-writable directory (`/tmp/snaprun`) would
//! let another user read it, or create it first and plant a snapshot.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `snaprun` under `$XDG_RUNTIME_DIR` (a per-user tmpfs) if set, else
/// under `$XDG_CACHE_HOME` or `~/.cache`, else `$TMPDIR/snaprun-UID`;
/// created owner-only (0700) if missing. An existing one that is not
/// the user's, or that others may enter, is refused.
pub fn snapshot_home() -> io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty() && Path::new(d).is_dir())
        .map(PathBuf::from)
        .or_else(user_cache);
    let home = match base {
        Some(base) => base.join("snaprun"),
        None => std::env::temp_dir().join(format!("snaprun-{}", nix::unistd::geteuid())),
    };
    private(&home)?;
    Ok(home)
}

/// Where snaprun keeps the chunks of a snapshot store (`--store`) unless
/// told otherwise: `snaprun/chunks` under `$XDG_CACHE_HOME` or `~/.cache`,
/// on disk, since a chunk cache may hold gigabytes; else `chunks` in the
/// snapshot home. Owner-only, as the snapshot home.
pub fn chunk_cache_home() -> io::Result<PathBuf> {
    let Some(base) = user_cache() else {
        return Ok(snapshot_home()?.join("chunks"));
    };
    let home = base.join("snaprun");
    private(&home)?;
    Ok(home.join("chunks"))
}

/// The user's cache directory: `$XDG_CACHE_HOME`, else `~/.cache`.
fn user_cache() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })
}

/// Creates `dir` (and its parents) with `dir` itself owner-only, or checks
/// that an existing `dir` is the user's and closed to others.
fn private(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    let meta = std::fs::metadata(dir)?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(io::Error::other(format!(
            "{} belongs to uid {}, not to this user (uid {me}); remove it or give --snapshot-dir",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        // Ours, but left open by an older snaprun: close it.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
