//! Directories only this user may enter, and the per-user homes built on
//! them: where snaprun keeps snapshots and chunks, snapjs its bytecode and
//! CRIU its logs.
//!
//! A predictable path in a world-writable directory (`/tmp/snaprun`) lets
//! another local user create it first: then they can read what is put
//! there, or plant what is read back (a snapshot, a bytecode file, a link
//! a log is written through). So every such directory is made 0700, and
//! an existing one is used only if it is a real directory (not a link)
//! that this user owns and no one else may enter.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a private directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// It, or a parent, could not be made.
    #[error("cannot create {}", path.display())]
    Create {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
    /// It is a symbolic link: whoever made the link chooses where it leads.
    #[error(
        "{} is a symbolic link, not a directory: remove it (someone may have planted it)",
        path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Something other than a directory is in its place.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Another user owns it, so they decide what is in it.
    #[error(
        "{} belongs to uid {owner}, not to this user (uid {me}): remove it, or choose another place",
        path.display()
    )]
    NotOurs {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// Ours, but others may enter (or write) it, and it is not ours to
    /// close.
    #[error(
        "{} has mode {mode:o}, open to others; chmod 700 it to use it",
        path.display()
    )]
    Open {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Ours and left open, and closing it failed.
    #[error("cannot close {} to others", path.display())]
    Close {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
}

impl PrivateDirError {
    /// Whether the directory could not be made at all (a read-only or
    /// unwritable parent), as opposed to being found in a state that no one
    /// should trust: only the first makes falling back to another place
    /// safe and sensible.
    pub fn is_unmakeable(&self) -> bool {
        matches!(self, Self::Create { .. })
    }
}

/// What to do with a directory of ours that others may enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenOpen {
    /// Close it (chmod 700): a directory snap made, left open by an older
    /// version.
    Close,
    /// Refuse it: a directory the user chose, whose mode is theirs to set.
    Refuse,
    /// Refuse it only if group or others may write it: a directory the
    /// user chose for what is not secret (logs), which others may read but
    /// never fill.
    RefuseWritable,
}

/// Makes `dir` (and its missing parents) with `dir` itself owner-only, or
/// checks that an existing `dir` is a directory of this user's that no
/// one else may enter.
pub fn ensure(dir: &Path, when_open: WhenOpen) -> Result<(), PrivateDirError> {
    let create = |cause| PrivateDirError::Create {
        path: dir.to_path_buf(),
        cause,
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(create)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        // A umask cannot widen 0700; nothing else may have touched it yet.
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(create(err)),
    }
    check(dir, when_open)
}

/// Checks that an existing `dir` is a real directory of this user's that
/// no one else may enter.
pub fn check(dir: &Path, when_open: WhenOpen) -> Result<(), PrivateDirError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|cause| PrivateDirError::Create {
        path: dir.to_path_buf(),
        cause,
    })?;
    if meta.file_type().is_symlink() {
        return Err(PrivateDirError::Symlink {
            path: dir.to_path_buf(),
        });
    }
    if !meta.is_dir() {
        return Err(PrivateDirError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(PrivateDirError::NotOurs {
            path: dir.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.mode() & 0o7777;
    let lax = match when_open {
        WhenOpen::RefuseWritable => 0o022,
        WhenOpen::Close | WhenOpen::Refuse => 0o077,
    };
    if mode & lax != 0 {
        match when_open {
            WhenOpen::Refuse | WhenOpen::RefuseWritable => {
                return Err(PrivateDirError::Open {
                    path: dir.to_path_buf(),
                    mode,
                });
            }
            WhenOpen::Close => {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
                    |cause| PrivateDirError::Close {
                        path: dir.to_path_buf(),
                        cause,
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// Where a per-user home may go, most preferred first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeKind {
    /// Memory first: `$XDG_RUNTIME_DIR/NAME` (a per-user tmpfs), then as
    /// [`HomeKind::Disk`].
    Runtime,
    /// Disk: `$XDG_CACHE_HOME/NAME`, or `~/.cache/NAME`, then
    /// `$TMPDIR/NAME-UID`.
    Disk,
}

/// The private home `name` of this user, made if missing: the first
/// place of [`HomeKind`]'s list that can be made. A place that cannot be
/// made (a service account whose `HOME` is read-only) is passed over with
/// one warning; one that exists but cannot be trusted (another user's, a
/// link) is an error, never passed over silently.
pub fn user_home(name: &str, kind: HomeKind) -> Result<PathBuf, PrivateDirError> {
    let mut places = Vec::new();
    if kind == HomeKind::Runtime {
        if let Some(runtime) =
            std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty() && Path::new(d).is_dir())
        {
            places.push(PathBuf::from(runtime).join(name));
        }
    }
    if let Some(cache) = user_cache() {
        places.push(cache.join(name));
    }
    let last = std::env::temp_dir().join(format!("{name}-{}", nix::unistd::geteuid()));
    for place in places {
        match ensure(&place, WhenOpen::Close) {
            Ok(()) => return Ok(place),
            Err(err) if err.is_unmakeable() => {
                tracing::warn!("{}; using {} instead", crate::chain(&err), last.display())
            }
            Err(err) => return Err(err),
        }
    }
    ensure(&last, WhenOpen::Close)?;
    Ok(last)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_missing_directory_is_made_owner_only_with_its_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/home");
        ensure(&dir, WhenOpen::Refuse).unwrap();
        assert_eq!(mode(&dir), 0o700);
        // A second call finds it and accepts it.
        ensure(&dir, WhenOpen::Refuse).unwrap();
    }

    #[test]
    fn an_open_directory_of_ours_is_closed_or_refused_as_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure(&dir, WhenOpen::Refuse).unwrap_err();
        assert!(
            matches!(err, PrivateDirError::Open { mode: 0o755, .. }),
            "{err:?}"
        );
        assert_eq!(mode(&dir), 0o755, "refusing changes nothing");
        // Readable by others is fine where only writes matter.
        ensure(&dir, WhenOpen::RefuseWritable).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
        let err = ensure(&dir, WhenOpen::RefuseWritable).unwrap_err();
        assert!(
            matches!(err, PrivateDirError::Open { mode: 0o775, .. }),
            "{err:?}"
        );
        ensure(&dir, WhenOpen::Close).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_link_or_a_file_in_its_place_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = ensure(&link, WhenOpen::Close).unwrap_err();
        assert!(matches!(err, PrivateDirError::Symlink { .. }), "{err:?}");
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = ensure(&file, WhenOpen::Close).unwrap_err();
        assert!(
            matches!(err, PrivateDirError::NotADirectory { .. }),
            "{err:?}"
        );
        assert!(!err.is_unmakeable());
    }

    #[test]
    fn a_directory_that_cannot_be_made_says_so_and_may_be_passed_over() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = ensure(&file.join("home"), WhenOpen::Close).unwrap_err();
        assert!(err.is_unmakeable(), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("cannot create {}", file.join("home").display())
        );
    }
}
