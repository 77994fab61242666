//! Lazy restores: a `criu lazy-pages` daemon per restore hands the restored
//! tree its private anonymous memory as it touches it (through userfaultfd),
//! so the tree runs before its memory has been copied.
//!
//! The daemon listens on `lazy-pages.socket` in the restore's work
//! directory; `criu restore` with `lazy_pages` set connects there and sends
//! it one userfaultfd per task. Once the restore is finished the daemon
//! copies the pages nobody asked for in the background, then exits. Each
//! restore gets a daemon of its own, so restores side by side never share
//! one.
//!
//! Until the daemon has copied everything, the tree's memory depends on it:
//! a daemon that dies early would leave the tree reading zeros where its
//! pages should be. So a daemon that fails takes the tree down with it.

use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::log::WorkDir;
use super::{log_level, sys};

/// The daemon's log, beside the restore's in the work directory.
pub(super) const LOG_NAME: &str = "lazy-pages.log";

/// How long the daemon may take to listen before the restore gives up.
const READY_LIMIT: Duration = Duration::from_secs(10);

/// Why a lazy restore could not start.
#[derive(Debug, thiserror::Error)]
pub enum LazyPagesError {
    /// The kernel refuses userfaultfd to this process.
    #[error(
        "lazy restores need userfaultfd, which this kernel refuses here; restore without lazy pages (drop --lazy-pages), or run as root on a kernel with CONFIG_USERFAULTFD"
    )]
    Unavailable(#[source] io::Error),
    /// The daemon could not be started.
    #[error("cannot start `criu lazy-pages`")]
    Spawn(#[source] io::Error),
    /// The daemon exited or stalled before it listened.
    #[error("`criu lazy-pages` {0}")]
    NotReady(String),
    /// The daemon died while CRIU restored with it, so the restore was
    /// stopped.
    #[error("`criu lazy-pages` died during the restore")]
    Died,
}

/// Checks that this process may use userfaultfd, which every lazy restore
/// needs, so that a caller can refuse lazy restores up front with a clear
/// error instead of failing at the first restore.
pub fn check_lazy_pages() -> Result<(), LazyPagesError> {
    sys::userfaultfd_probe().map_err(LazyPagesError::Unavailable)
}

/// A running `criu lazy-pages` daemon for one restore, watched from a
/// thread of its own until it exits.
///
/// A daemon that fails before its tree has every page takes down whatever
/// depends on it: the CRIU worker still restoring (CRIU, failing a lazy
/// restore after it has seized the tree, waits forever for a root that
/// itself waits for a traced child) and the restored tree (whose missing
/// pages would read as zeros).
#[derive(Debug)]
pub(super) struct LazyPagesDaemon {
    watch: Arc<Mutex<Watch>>,
    /// The daemon, to stop if the restore fails.
    daemon: OwnedFd,
    /// The restore is done and the daemon serves its tree.
    serving: bool,
}

/// What the watcher kills if the daemon fails, and the work directory it
/// keeps for the daemon's log.
#[derive(Debug, Default)]
struct Watch {
    /// The CRIU worker, while the restore is under way.
    worker: Option<OwnedFd>,
    /// The restored tree's root (pid and pidfd), once the restore is done.
    root: Option<(i32, OwnedFd)>,
    /// The restore's work directory, once the restore is done.
    work: Option<WorkDir>,
    /// The daemon has exited; whatever arrives now is on its own.
    done: bool,
    /// It failed.
    failed: bool,
}

impl LazyPagesDaemon {
    /// Starts a daemon that serves the images in `images` and listens in
    /// `work`, and waits until it listens.
    ///
    /// The daemon is forked by the thread that then watches it, and gets
    /// SIGKILL when that thread exits ([`sys::die_with_spawning_thread`]):
    /// the thread lives exactly as long as the daemon does, unless this
    /// process dies, and then the daemon goes with it instead of serving
    /// nobody.
    pub(super) fn start(binary: &Path, images: &Path, work: &Path) -> Result<Self, LazyPagesError> {
        check_lazy_pages()?;
        let (status_r, status_w) = io::pipe().map_err(LazyPagesError::Spawn)?;
        // `--status-fd 1`: the daemon writes one byte to its stdout once it
        // listens, then closes it.
        let mut command = Command::new(binary);
        command
            .arg("lazy-pages")
            .arg("--images-dir")
            .arg(images)
            .arg("--work-dir")
            .arg(work)
            .args(["--log-file", LOG_NAME])
            .arg(format!("-v{}", log_level()))
            .args(["--status-fd", "1"])
            .stdin(Stdio::null())
            .stdout(status_w)
            .stderr(Stdio::null());
        sys::die_with_spawning_thread(&mut command);
        let watch = Arc::new(Mutex::new(Watch::default()));
        let watched = Arc::clone(&watch);
        let (started_tx, started) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("criu-lazy-pages".into())
            .spawn(move || {
                let spawned = command.spawn();
                // The command holds the status pipe's write end: the
                // daemon's exit must close the last one.
                drop(command);
                let daemon = match spawned {
                    Ok(daemon) => daemon,
                    Err(cause) => {
                        let _ = started_tx.send(Err(cause));
                        return;
                    }
                };
                // Opened while the daemon is surely our unreaped child.
                let pidfd = i32::try_from(daemon.id())
                    .map_err(io::Error::other)
                    .and_then(sys::pidfd_open);
                let watching = pidfd.is_ok();
                let _ = started_tx.send(pidfd);
                if !watching {
                    let mut daemon = daemon;
                    let _ = daemon.kill();
                    let _ = daemon.wait();
                    return;
                }
                watch_daemon(daemon, &watched);
            })
            .map_err(LazyPagesError::Spawn)?;
        let pidfd = started
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the lazy-pages thread ended early")))
            .map_err(LazyPagesError::Spawn)?;
        if let Err(why) = wait_ready(status_r.into()) {
            // Its watcher reaps it.
            let _ = sys::pidfd_kill(pidfd.as_fd());
            return Err(LazyPagesError::NotReady(why));
        }
        Ok(Self {
            watch,
            daemon: pidfd,
            serving: false,
        })
    }

    /// The CRIU worker that restores with this daemon: killed if the daemon
    /// fails before the restore is done.
    pub(super) fn restoring_with(&self, worker: u32) {
        let Ok(pid) = i32::try_from(worker) else {
            return;
        };
        let mut watch = lock(&self.watch);
        match sys::pidfd_open(pid) {
            Ok(fd) if watch.failed => {
                let _ = sys::pidfd_kill(fd.as_fd());
            }
            Ok(fd) => watch.worker = Some(fd),
            Err(err) => tracing::warn!(%err, worker, "cannot watch the CRIU worker"),
        }
    }

    /// Whether the daemon has failed.
    pub(super) fn failed(&self) -> bool {
        lock(&self.watch).failed
    }

    /// Leaves the daemon serving the tree rooted at `root`. The work
    /// directory lives as long as the daemon: it is removed if the daemon
    /// finishes cleanly and kept if it fails, in which case the tree is
    /// killed, its memory incomplete.
    pub(super) fn serve(mut self, root: i32, work: WorkDir) {
        self.serving = true;
        let mut watch = lock(&self.watch);
        watch.worker = None;
        // Opened now, while the root is surely our unreaped child, so the
        // kill can never reach a process that reused its pid.
        match sys::pidfd_open(root) {
            Ok(fd) if watch.failed => {
                let _ = sys::pidfd_kill(fd.as_fd());
            }
            Ok(fd) => watch.root = Some((root, fd)),
            Err(err) => tracing::warn!(%err, root, "cannot watch the restored tree"),
        }
        if watch.done {
            if watch.failed {
                report_failure(root, work);
            }
        } else {
            watch.work = Some(work);
        }
    }
}

impl Drop for LazyPagesDaemon {
    fn drop(&mut self) {
        if !self.serving {
            // The restore failed: nobody needs the daemon. Its watcher reaps it.
            let _ = sys::pidfd_kill(self.daemon.as_fd());
        }
    }
}

/// Reaps the daemon; if it failed, kills what depends on it.
fn watch_daemon(mut daemon: Child, watch: &Mutex<Watch>) {
    let status = daemon.wait();
    let failed = !matches!(&status, Ok(s) if s.success());
    let mut watch = lock(watch);
    watch.done = true;
    watch.failed = failed;
    if !failed {
        return;
    }
    tracing::debug!(?status, "criu lazy-pages failed");
    if let Some(worker) = watch.worker.take() {
        let _ = sys::pidfd_kill(worker.as_fd());
    }
    let root = watch.root.take().map(|(pid, fd)| {
        let _ = sys::pidfd_kill(fd.as_fd());
        pid
    });
    if let (Some(root), Some(work)) = (root, watch.work.take()) {
        report_failure(root, work);
    }
}

fn report_failure(root: i32, work: WorkDir) {
    let (log, _) = work.keep_log(LOG_NAME);
    tracing::error!(
        root,
        log = %log.display(),
        "criu lazy-pages failed before the restored tree had all its memory; the tree is killed"
    );
}

fn lock(watch: &Mutex<Watch>) -> std::sync::MutexGuard<'_, Watch> {
    // The watch holds plain data: a panic while it was held leaves nothing
    // half-updated that matters more than killing what must be killed.
    watch
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits for the daemon's ready byte on `status`.
fn wait_ready(status: OwnedFd) -> Result<(), String> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let limit = PollTimeout::try_from(READY_LIMIT).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(status.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, limit) {
            Ok(0) => {
                return Err(format!("did not listen within {} s", READY_LIMIT.as_secs()));
            }
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("cannot be waited for ({e})")),
        }
    }
    let mut byte = [0u8; 1];
    match std::fs::File::from(status).read(&mut byte) {
        Ok(1) => Ok(()),
        Ok(_) => Err("exited before it listened".into()),
        Err(e) => Err(format!("cannot be read from ({e})")),
    }
}
