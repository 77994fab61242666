//! One snaprun at a time per snapshot directory.
//!
//! A snaprun that makes a snapshot replaces the directory's contents, and
//! one that restores from it reads them for as long as it runs: two at once
//! would restore one snapshot's images with the other's manifest. So every
//! `run`, `bench` or `demo` holds an exclusive lock on `DIR.lock`, a file
//! beside the directory (inside, it would go with each replacement), for as
//! long as it uses the directory. A second one is refused at start, with
//! the holder's pid. The file stays, empty of meaning once unlocked, like
//! the directory it guards.
//!
//! The lock sits beside a directory the user chose, whose parent others
//! may be able to write: so it is opened without following a link
//! (`O_NOFOLLOW`), and a file that is not this user's own regular file,
//! with one name, is refused before anything is written to it. A link
//! planted there never leads snaprun to truncate what it points at.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// Holds a snapshot directory's lock while alive.
#[derive(Debug)]
pub struct SnapshotLock {
    _file: Flock<File>,
}

/// Why a snapshot directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{} is in use by another snaprun{}: one at a time per snapshot directory; stop that one, or give this one another --snapshot-dir",
        dir.display(),
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Busy {
        /// The snapshot directory.
        dir: PathBuf,
        /// The holder's pid, as it wrote it.
        holder: Option<u32>,
    },
    /// Something other than this user's own file is at the lock's path.
    #[error(
        "{} is {what}: refusing to lock through it (someone may have planted it); remove it",
        path.display()
    )]
    Planted {
        /// The lock file.
        path: PathBuf,
        /// What was found there.
        what: String,
    },
    /// The lock file could not be made or locked.
    #[error("cannot lock {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
}

impl SnapshotLock {
    /// Locks `dir` (which need not exist yet), or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = lock_path(dir);
        let io = |cause| LockError::Io {
            path: path.clone(),
            cause,
        };
        // Made when missing; when it is something else than a directory,
        // opening the file below says so (ENOTDIR).
        if let Some(parent) = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && !p.exists())
        {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|cause| match cause.raw_os_error() {
                Some(libc::ELOOP) => LockError::Planted {
                    path: path.clone(),
                    what: "a symbolic link".into(),
                },
                _ => io(cause),
            })?;
        refuse_planted(&file, &path)?;
        let mut locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Busy {
                    dir: dir.to_path_buf(),
                    holder: text.trim().parse().ok(),
                });
            }
            Err((_, errno)) => return Err(io(errno.into())),
        };
        locked.set_len(0).map_err(io)?;
        locked.rewind().map_err(io)?;
        writeln!(locked, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: locked })
    }
}

/// Refuses a lock file that is not this user's own regular file with one
/// name: another user's file, a hard link to some other file, a FIFO.
fn refuse_planted(file: &File, path: &Path) -> Result<(), LockError> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().map_err(|cause| LockError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let me = nix::unistd::geteuid().as_raw();
    let what = if !meta.is_file() {
        "not a regular file".to_owned()
    } else if meta.uid() != me {
        format!("owned by uid {}, not by this user (uid {me})", meta.uid())
    } else if meta.nlink() != 1 {
        format!("a file with {} names (a hard link)", meta.nlink())
    } else {
        return Ok(());
    };
    Err(LockError::Planted {
        path: path.to_path_buf(),
        what,
    })
}

/// `DIR.lock`, beside `dir`.
fn lock_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    dir.with_file_name(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/snap");
        let first = SnapshotLock::acquire(&dir).unwrap();
        assert!(tmp.path().join("nested/snap.lock").is_file());
        // flock locks belong to the open file, so a second open in this
        // process conflicts as another process's would.
        let err = SnapshotLock::acquire(&dir).unwrap_err();
        assert!(
            matches!(&err, LockError::Busy { holder: Some(pid), .. } if *pid == std::process::id()),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{} is in use by another snaprun (pid {}): one at a time per snapshot directory; stop that one, or give this one another --snapshot-dir",
                dir.display(),
                std::process::id()
            )
        );
        drop(first);
        SnapshotLock::acquire(&dir).unwrap();
    }

    #[test]
    fn a_link_at_the_lock_path_is_refused_and_its_target_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let sentinel = tmp.path().join("sentinel");
        std::fs::write(&sentinel, b"precious").unwrap();
        let dir = tmp.path().join("snap");
        std::os::unix::fs::symlink(&sentinel, tmp.path().join("snap.lock")).unwrap();
        let err = SnapshotLock::acquire(&dir).unwrap_err();
        assert!(
            matches!(&err, LockError::Planted { what, .. } if what == "a symbolic link"),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("refusing to lock through it"),
            "{err}"
        );
        assert_eq!(std::fs::read(&sentinel).unwrap(), b"precious");

        // A hard link to another file is refused too, and not truncated.
        std::fs::remove_file(tmp.path().join("snap.lock")).unwrap();
        std::fs::hard_link(&sentinel, tmp.path().join("snap.lock")).unwrap();
        let err = SnapshotLock::acquire(&dir).unwrap_err();
        assert!(
            matches!(&err, LockError::Planted { what, .. } if what.contains("2 names")),
            "{err:?}"
        );
        assert_eq!(std::fs::read(&sentinel).unwrap(), b"precious");

        // A FIFO neither blocks the open nor is taken for a lock.
        std::fs::remove_file(tmp.path().join("snap.lock")).unwrap();
        nix::unistd::mkfifo(
            &tmp.path().join("snap.lock"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let err = SnapshotLock::acquire(&dir).unwrap_err();
        assert!(
            matches!(&err, LockError::Planted { what, .. } if what == "not a regular file"),
            "{err:?}"
        );
    }

    #[test]
    fn a_directory_whose_parent_is_a_file_cannot_be_locked_and_says_where() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("file"), b"").unwrap();
        let err = SnapshotLock::acquire(&tmp.path().join("file/snap")).unwrap_err();
        let LockError::Io { cause, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(cause.raw_os_error(), Some(libc::ENOTDIR), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot lock {}",
                tmp.path().join("file/snap.lock").display()
            )
        );
    }
}
