//! CRIU's own log: where it goes and what an error quotes from it.

use std::fs::{self, File};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};

use crate::private_dir::{self, HomeKind, WhenOpen};

/// The name CRIU writes its log to inside the work directory.
pub(super) const LOG_NAME: &str = "criu.log";

/// How many lines of the log an error quotes.
const TAIL_LINES: usize = 6;

/// A per-operation directory for CRIU's log, outside the snapshot (several
/// restores of one snapshot run at once and must not share a log). It is
/// removed after success and kept after failure, for the error to point at.
#[derive(Debug)]
pub(super) struct WorkDir {
    path: PathBuf,
    keep: bool,
    /// A lock on the directory, held while it is in use, so that
    /// [`sweep`] leaves it alone. A pid would not do: snaprun in another
    /// PID namespace sharing the temp directory cannot see the owner's.
    _owner: Flock<File>,
}

impl WorkDir {
    /// Creates `$SNAP_LOG_DIR/OP-PID-NONCE` (default: the user's private
    /// home `snap-criu`, see [`crate::private_dir::user_home`]). The root
    /// must be this user's own directory, not a link, that no one else may
    /// write: CRIU runs as root and writes its log by name in there, so a
    /// directory another user could fill would let them choose what root
    /// writes to.
    pub(super) fn create(op: &str) -> io::Result<Self> {
        let root = match std::env::var_os("SNAP_LOG_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                private_dir::ensure(&dir, WhenOpen::RefuseWritable).map_err(io::Error::other)?;
                dir
            }
            None => {
                private_dir::user_home("snap-criu", HomeKind::Disk).map_err(io::Error::other)?
            }
        };
        Self::create_in(&root, op)
    }

    /// Creates `ROOT/OP-PID-NONCE`, sweeping `root` first.
    fn create_in(root: &Path, op: &str) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        sweep(root);
        loop {
            let nonce = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let path = root.join(format!("{op}-{}-{nonce:x}", std::process::id()));
            fs::create_dir(&path)?;
            // A sweep may take the new, empty directory before it is locked;
            // then it is gone (or going), and another is made.
            let Ok(dir) = File::open(&path) else {
                continue;
            };
            let Ok(owner) = Flock::lock(dir, FlockArg::LockExclusiveNonblock) else {
                continue;
            };
            let ours = fs::metadata(&path).is_ok_and(|named| {
                owner
                    .metadata()
                    .is_ok_and(|locked| (locked.dev(), locked.ino()) == (named.dev(), named.ino()))
            });
            if ours {
                return Ok(Self {
                    path,
                    keep: false,
                    _owner: owner,
                });
            }
        }
    }

    /// Its path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// An open descriptor of the directory, for `work_dir_fd`.
    pub(super) fn open(&self) -> io::Result<OwnedFd> {
        File::open(&self.path).map(OwnedFd::from)
    }

    /// Keeps the directory and returns the log's path and its last lines,
    /// the error lines preferred.
    pub(super) fn keep_for_error(self) -> (PathBuf, Vec<String>) {
        self.keep_log(LOG_NAME)
    }

    /// Keeps the directory and returns the path of the log `name` in it and
    /// its last lines, the error lines preferred.
    pub(super) fn keep_log(mut self, name: &str) -> (PathBuf, Vec<String>) {
        self.keep = true;
        let log = self.path.join(name);
        let tail = tail(&log);
        (log, tail)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Holds the machine-wide dump lock while alive.
#[derive(Debug)]
pub(super) struct DumpLock(#[allow(dead_code)] Flock<File>);

/// How long a dump waits for another one to finish before it gives up
/// and names the holder. A dump takes well under a second to a few
/// seconds; a minute means the holder is stuck.
pub(super) const DUMP_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Why the dump lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum DumpLockError {
    /// Its directory is not private.
    #[error("the dump lock's directory cannot be used")]
    Dir(#[source] private_dir::PrivateDirError),
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
    /// Another dump held it for longer than [`DUMP_LOCK_WAIT`].
    #[error(
        "another CRIU dump has held {} for {}s{}: it may be stuck; stop it and checkpoint again",
        path.display(),
        waited.as_secs(),
        holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long this dump waited.
        waited: Duration,
        /// Who holds it, as it wrote itself into the file.
        holder: Option<String>,
    },
}

/// The dump lock's directory: `/run/snap-criu` for root (a directory only
/// root may enter, shared by every snaprun on the machine whatever their
/// `TMPDIR`), else the user's private `snap-criu` home. A lock any user
/// could open would let them stall every dump on the machine.
fn dump_lock_dir() -> Result<PathBuf, DumpLockError> {
    if nix::unistd::geteuid().is_root() {
        let dir = PathBuf::from("/run/snap-criu");
        private_dir::ensure(&dir, WhenOpen::Close).map_err(DumpLockError::Dir)?;
        return Ok(dir);
    }
    private_dir::user_home("snap-criu", HomeKind::Runtime).map_err(DumpLockError::Dir)
}

/// Takes the machine-wide lock that serializes CRIU dumps, waiting up to
/// `wait` for the dump that holds it. CRIU's parasite mounts procfs at
/// `proc.crtools` in the dumped task's working directory when the task's
/// /proc belongs to another PID namespace (every sandboxed tree), so two
/// trees with one working directory dumped at once collide (`mkdir`
/// fails with EEXIST).
pub(super) fn dump_lock(wait: Duration) -> Result<DumpLock, DumpLockError> {
    dump_lock_in(&dump_lock_dir()?, wait)
}

fn dump_lock_in(dir: &Path, wait: Duration) -> Result<DumpLock, DumpLockError> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("dump.lock");
    let failed = |cause: io::Error| DumpLockError::Lock {
        path: path.clone(),
        cause,
    };
    let started = Instant::now();
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(failed)?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut locked) => {
                // Who holds it, for a dump that waits too long to say.
                let me = format!(
                    "pid {}, {}",
                    std::process::id(),
                    std::env::current_exe()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
                locked
                    .set_len(0)
                    .and_then(|()| locked.rewind())
                    .and_then(|_| locked.write_all(me.as_bytes()))
                    .map_err(failed)?;
                return Ok(DumpLock(locked));
            }
            Err((mut back, nix::errno::Errno::EWOULDBLOCK)) => {
                if started.elapsed() >= wait {
                    let mut holder = String::new();
                    let _ = back
                        .rewind()
                        .and_then(|_| (&mut back).take(256).read_to_string(&mut holder));
                    let holder = holder.trim();
                    return Err(DumpLockError::Busy {
                        path,
                        waited: started.elapsed(),
                        holder: (!holder.is_empty()).then(|| holder.to_owned()),
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
                file = back;
            }
            Err((_, errno)) => return Err(failed(errno.into())),
        }
    }
}

/// How many failed operations' work directories, with their logs, are
/// kept: the newest, so that a function failing in a loop does not fill the
/// temp directory.
const KEPT_FAILURES: usize = 32;

/// Removes the work directories no process holds locked: those left empty
/// by processes killed before CRIU wrote anything, and failures' logs
/// beyond the newest [`KEPT_FAILURES`].
fn sweep(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let mut failures = Vec::new();
    for entry in entries.flatten() {
        let Ok(dir) = File::open(entry.path()) else {
            continue;
        };
        let Ok(unowned) = Flock::lock(dir, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        // Fails, as wanted, when the directory is not empty.
        if fs::remove_dir(entry.path()).is_err() {
            let modified = unowned.metadata().and_then(|m| m.modified()).ok();
            failures.push((modified, entry.path()));
        }
    }
    if failures.len() > KEPT_FAILURES {
        failures.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        for (_, old) in &failures[KEPT_FAILURES..] {
            let _ = fs::remove_dir_all(old);
        }
    }
}

/// The last error lines of `log`, or its last lines if none says "Error".
fn tail(log: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(log) else {
        return vec![format!("(no log at {})", log.display())];
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("Error") && !harmless(l))
        .collect();
    let chosen = if errors.is_empty() { &lines } else { &errors };
    chosen[chosen.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| l.trim().to_owned())
        .collect()
}

/// Whether a CRIU error line says nothing about why an operation failed:
/// CRIU cannot raise its own RLIMIT_NOFILE without CAP_SYS_RESOURCE, logs
/// it as an error on every run, and goes on. Being CRIU's first error, it
/// is also what CRIU's answer names as the failure, whatever failed.
pub(super) fn harmless(line: &str) -> bool {
    line.contains("rlimit: Can't setup RLIMIT_NOFILE for self")
}

/// Formats a log tail for a one-line error message.
pub(super) fn one_line(tail: &[String]) -> String {
    tail.join(" | ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sweep_removes_only_empty_directories_that_no_one_holds() {
        let root = tempfile::tempdir().unwrap();
        // In use, as by a snaprun in another PID namespace: its pid means
        // nothing here, its lock does.
        let in_use = WorkDir::create_in(root.path(), "restore").unwrap();
        let abandoned = root.path().join("restore-1-0");
        fs::create_dir(&abandoned).unwrap();
        let failed = root.path().join("dump-1-1");
        fs::create_dir(&failed).unwrap();
        fs::write(failed.join(LOG_NAME), "Error (criu/cr-dump.c:1): x\n").unwrap();
        let next = WorkDir::create_in(root.path(), "restore").unwrap();
        assert!(in_use.path().is_dir(), "a directory in use was swept");
        assert!(!abandoned.exists(), "an abandoned empty directory was kept");
        assert!(failed.join(LOG_NAME).is_file(), "a failure's log was swept");
        let in_use_path = in_use.path().to_owned();
        drop(in_use);
        assert!(!in_use_path.exists(), "a finished directory was kept");
        drop(next);
    }

    #[test]
    fn only_the_newest_failures_keep_their_logs() {
        let root = tempfile::tempdir().unwrap();
        let failed = |n: usize| root.path().join(format!("restore-1-{n:x}"));
        let epoch = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        for n in 0..KEPT_FAILURES + 8 {
            fs::create_dir(failed(n)).unwrap();
            fs::write(failed(n).join(LOG_NAME), "Error (criu/cr-restore.c:1): x\n").unwrap();
            let when = epoch + std::time::Duration::from_secs(n as u64);
            File::open(failed(n)).unwrap().set_modified(when).unwrap();
        }
        drop(WorkDir::create_in(root.path(), "dump").unwrap());
        for n in 0..8 {
            assert!(!failed(n).exists(), "an old failure's log was kept: {n}");
        }
        for n in 8..KEPT_FAILURES + 8 {
            assert!(
                failed(n).join(LOG_NAME).is_file(),
                "a recent failure's log was swept: {n}"
            );
        }
    }

    #[test]
    fn the_tail_leads_with_the_errors_that_explain_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("criu.log");
        fs::write(
            &log,
            "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n\
             (00.001) restoring\n\
             Error (criu/cr-restore.c:1401): Can't fork for 5187: File exists\n\
             Error (criu/cr-restore.c:2331): Restoring FAILED.\n",
        )
        .unwrap();
        assert_eq!(
            tail(&log),
            [
                "Error (criu/cr-restore.c:1401): Can't fork for 5187: File exists",
                "Error (criu/cr-restore.c:2331): Restoring FAILED."
            ]
        );
        assert!(harmless(
            "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted"
        ));
        assert!(!harmless(
            "Error (criu/cr-restore.c:1401): Can't fork for 5187: File exists"
        ));
    }

    #[test]
    fn a_held_dump_lock_times_out_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = dump_lock_in(dir.path(), Duration::ZERO).unwrap();
        let err = dump_lock_in(dir.path(), Duration::from_millis(30)).unwrap_err();
        let DumpLockError::Busy { holder, waited, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(*waited >= Duration::from_millis(30), "{waited:?}");
        let holder = holder.as_deref().unwrap();
        assert!(
            holder.starts_with(&format!("pid {}, ", std::process::id())),
            "{holder}"
        );
        assert!(err.to_string().contains("it may be stuck"), "{err}");
        drop(held);
        dump_lock_in(dir.path(), Duration::ZERO).unwrap();
    }

    #[test]
    fn a_link_at_the_dump_lock_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let sentinel = dir.path().join("sentinel");
        fs::write(&sentinel, b"precious").unwrap();
        std::os::unix::fs::symlink(&sentinel, dir.path().join("dump.lock")).unwrap();
        let err = dump_lock_in(dir.path(), Duration::ZERO).unwrap_err();
        assert!(
            matches!(&err, DumpLockError::Lock { cause, .. } if cause.raw_os_error() == Some(libc::ELOOP)),
            "{err:?}"
        );
        assert_eq!(fs::read(&sentinel).unwrap(), b"precious");
    }
}
