//! Restoring a snapshot into a new, running copy of the tree.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;
use rust_criu::rust_criu_protobuf::rpc::{Criu_network_lock_method, Criu_opts, Criu_req_type};

use super::lazy_pages::{self, LazyPagesDaemon, LazyPagesError};
use super::log::{self, LOG_NAME, WorkDir};
use super::tree::{CriuState, StdioEnd};
use super::{CriuEngine, RpcError, log_level, rpc, sys};
use crate::Engine;
use crate::process::TreeRoot;
use crate::snapshot::{OpenError, Snapshot};

/// How to set up one restored copy.
#[derive(Debug, Default)]
pub struct RestoreOptions {
    /// Replacements for the root's stdin, stdout and stderr. Each slot that
    /// was a pipe or socket to the outside at checkpoint time takes the
    /// descriptor given here, or `/dev/null` if none is.
    pub stdio: [Option<OwnedFd>; 3],
    /// More outside resources to hand in, by CRIU key (`pipe:[ino]`): the
    /// restored tree gets each descriptor in place of that resource.
    pub inherit: Vec<(OwnedFd, String)>,
    /// Restore private anonymous memory lazily: the tree starts before its
    /// memory is copied, a `criu lazy-pages` daemon of this restore's own
    /// hands it each page at first touch and copies the rest in the
    /// background. Needs userfaultfd ([`super::check_lazy_pages`]).
    pub lazy_pages: bool,
    /// Map private anonymous memory from the page images (`MAP_PRIVATE`)
    /// instead of copying it: the tree starts without its memory copied,
    /// copies restored from one snapshot share the pages they only read,
    /// and a page is copied when written. Needs a CRIU built with snap's
    /// patch ([`CriuEngine::maps_pages`]); excludes `lazy_pages`. Mapped
    /// memory reads back the snapshot's bytes, not zeros, after
    /// `MADV_DONTNEED`.
    pub map_pages: bool,
}

/// Why a restore failed. The snapshot is untouched.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The snapshot is not one this engine can restore here.
    #[error(transparent)]
    Snapshot(#[from] OpenError),
    /// The tree did not own its PID namespace and its pid is taken, so CRIU
    /// could not give it back.
    #[error(
        "pid {pid} is in use: this snapshot shares the host PID namespace, so it restores only while its pids are free (start the process with `snaprun spawn` to restore it many times)"
    )]
    PidInUse {
        /// The pid.
        pid: i32,
    },
    /// A stdio replacement could not be prepared.
    #[error("cannot prepare stdio for the restored tree")]
    Stdio(#[source] io::Error),
    /// `map_pages` was asked of a CRIU without the patch.
    #[error(
        "{} cannot map restored memory from the page images: it was built without snap's map_pages patch (scripts/install-criu.sh applies it)",
        binary.display()
    )]
    MapPagesUnsupported {
        /// The CRIU binary.
        binary: PathBuf,
    },
    /// Both `map_pages` and `lazy_pages` were asked.
    #[error("a restore either maps its memory or loads it lazily, not both")]
    MappedAndLazy,
    /// CRIU's work directory could not be prepared.
    #[error("cannot prepare a work directory for CRIU")]
    WorkDir(#[source] io::Error),
    /// The lazy-pages daemon could not be started, or died mid-restore.
    #[error("cannot restore {} lazily: {cause}; log {}: {}", snapshot.display(), log.display(), log::one_line(log_tail))]
    LazyPages {
        /// The snapshot directory.
        snapshot: PathBuf,
        /// Why.
        #[source]
        cause: LazyPagesError,
        /// The daemon's log, kept for inspection.
        log: PathBuf,
        /// Its last error lines.
        log_tail: Vec<String>,
    },
    /// The CRIU worker could not be started.
    #[error("cannot start a CRIU worker to restore with")]
    Worker(#[source] RpcError),
    /// CRIU failed; its log is kept.
    #[error("criu restore of {} failed: {cause}; log {}: {}", snapshot.display(), log.display(), log::one_line(log_tail))]
    Criu {
        /// The snapshot directory.
        snapshot: PathBuf,
        /// What CRIU said.
        cause: RpcError,
        /// CRIU's log, kept for inspection.
        log: PathBuf,
        /// Its last error lines.
        log_tail: Vec<String>,
    },
    /// CRIU reported success without a pid.
    #[error("criu restored {} but reported no pid", snapshot.display())]
    NoPid {
        /// The snapshot directory.
        snapshot: PathBuf,
    },
}

impl RestoreError {
    /// Whether the worker had exited before it was sent the request, so
    /// nothing was restored and another worker may try.
    pub fn worker_was_gone(&self) -> bool {
        matches!(
            self,
            Self::Criu {
                cause: RpcError::Gone(_),
                ..
            }
        )
    }
}

/// A restored copy of the tree. Its root is a child of the restoring process.
///
/// Dropping the handle kills the copy and reaps its root, unless it was let
/// go of with [`RestoredTree::detach`].
#[derive(Debug)]
pub struct RestoredTree {
    root: TreeRoot,
    elapsed: Duration,
}

impl RestoredTree {
    /// The root's pid as the restoring process sees it.
    pub fn pid(&self) -> i32 {
        self.root.pid()
    }

    /// How long CRIU took, from request to answer.
    pub fn restore_duration(&self) -> Duration {
        self.elapsed
    }

    /// Kills the copy (SIGKILL to its root, the PID 1 of its namespace when
    /// the snapshot owns one) and reaps the root.
    pub fn kill(&mut self) -> io::Result<()> {
        self.root.kill()
    }

    /// Waits for the root to exit.
    pub fn wait(&mut self) -> io::Result<WaitStatus> {
        self.root.wait()
    }

    /// The root, to be kept and killed by the caller.
    pub fn into_root(self) -> TreeRoot {
        self.root
    }

    /// Lets the copy run on after the handle is gone (`snaprun restore`):
    /// it is neither killed nor reaped. Returns the root's pid.
    pub fn detach(self) -> i32 {
        self.root.detach()
    }
}

impl CriuEngine {
    /// The engine state recorded in a CRIU snapshot.
    pub fn state(snapshot: &Snapshot) -> Result<CriuState, OpenError> {
        snapshot.require(&Self::requirements(None))?;
        CriuState::decode(&snapshot.manifest().engine_state).map_err(|reason| {
            OpenError::ManifestCorrupt {
                path: snapshot.dir().join(crate::snapshot::MANIFEST_FILE),
                reason: format!("CRIU state: {reason}"),
            }
        })
    }

    /// How many bytes of memory pages the snapshot's images hold: what a
    /// full restore copies before the tree runs, and what a lazy restore
    /// defers ([`RestoreOptions::lazy_pages`]).
    pub fn page_bytes(snapshot: &Snapshot) -> u64 {
        snapshot
            .manifest()
            .files
            .iter()
            .filter(|file| {
                file.path
                    .strip_prefix("pages-")
                    .is_some_and(|rest| rest.ends_with(".img"))
            })
            .map(|file| file.size)
            .sum()
    }

    pub(super) fn restore_tree(
        &self,
        snapshot: &Snapshot,
        options: RestoreOptions,
    ) -> Result<RestoredTree, RestoreError> {
        self.prepare_restore(snapshot, options)?.restore()
    }

    /// Does everything a restore of `snapshot` needs before CRIU is asked:
    /// starts the CRIU worker (and, for a lazy restore, its lazy-pages
    /// daemon) with the restore's descriptors in place. Starting them costs
    /// several milliseconds, which a caller that prepares its next restore
    /// ahead of time takes off the restore's path.
    pub fn prepare_restore(
        &self,
        snapshot: &Snapshot,
        options: RestoreOptions,
    ) -> Result<PreparedRestore, RestoreError> {
        if options.map_pages && options.lazy_pages {
            return Err(RestoreError::MappedAndLazy);
        }
        if options.map_pages && !self.maps_pages() {
            return Err(RestoreError::MapPagesUnsupported {
                binary: self.binary.clone(),
            });
        }
        let state = Self::state(snapshot)?;
        let mut stdio = replacements(&state, options.stdio)?;
        stdio.extend(options.inherit);
        let payload = snapshot.payload_dir();
        let images: OwnedFd = File::open(&payload)
            .map_err(|e| OpenError::io("open", &payload, e))?
            .into();
        let work = WorkDir::create("restore").map_err(RestoreError::WorkDir)?;
        let work_fd = work.open().map_err(RestoreError::WorkDir)?;
        let pager = match options.lazy_pages {
            false => None,
            true => match LazyPagesDaemon::start(&self.binary, &payload, work.path()) {
                Ok(pager) => Some(pager),
                Err(cause) => {
                    let (log, log_tail) = work.keep_log(lazy_pages::LOG_NAME);
                    return Err(RestoreError::LazyPages {
                        snapshot: snapshot.dir().to_path_buf(),
                        cause,
                        log,
                        log_tail,
                    });
                }
            },
        };
        let fds: Vec<BorrowedFd<'_>> = stdio.iter().map(|(fd, _)| fd.as_fd()).collect();
        let worker = rpc::Worker::spawn(
            &self.binary,
            Criu_req_type::RESTORE,
            &fds,
            rpc::Restoring {
                map_pages: options.map_pages,
                own_group: state.session_leader,
            },
        )
        .map_err(RestoreError::Worker)?;
        if let Some(pager) = &pager {
            pager.restoring_with(worker.pid());
        }
        Ok(PreparedRestore {
            snapshot: snapshot.clone(),
            state,
            stdio,
            images,
            work,
            work_fd,
            pager,
            worker,
        })
    }
}

/// A restore made ready by [`CriuEngine::prepare_restore`]: its CRIU worker
/// waits for the request. Dropped unused, the worker (and any lazy-pages
/// daemon) is killed and the work directory removed.
#[derive(Debug)]
pub struct PreparedRestore {
    snapshot: Snapshot,
    state: CriuState,
    /// The descriptors the worker inherited, with their CRIU keys; kept open
    /// until CRIU has installed them.
    stdio: Vec<(OwnedFd, String)>,
    images: OwnedFd,
    work: WorkDir,
    work_fd: OwnedFd,
    pager: Option<LazyPagesDaemon>,
    worker: rpc::Worker,
}

/// Stops a restore under way from another thread: kills its CRIU worker,
/// so that [`PreparedRestore::restore`] fails, and kills the tasks the
/// worker had forked. For a restore that hangs, such as one whose task was
/// killed while CRIU restored it.
#[derive(Debug, Clone)]
pub struct RestoreStopper(Arc<OwnedFd>);

impl RestoreStopper {
    /// Kills the restore's CRIU worker; nothing if it has exited already.
    pub fn stop(&self) {
        let _ = sys::pidfd_kill(self.0.as_fd());
    }
}

impl PreparedRestore {
    /// What stops this restore from another thread.
    pub fn stopper(&self) -> RestoreStopper {
        RestoreStopper(self.worker.pidfd())
    }

    /// Whether its CRIU worker still waits for the request. A worker that
    /// died while it waited (killed, or out of memory) would fail the
    /// restore at once: prepare another instead.
    pub fn is_waiting(&mut self) -> bool {
        self.worker.is_waiting()
    }

    /// Asks CRIU to restore and waits for the restored tree.
    pub fn restore(self) -> Result<RestoredTree, RestoreError> {
        let Self {
            snapshot,
            state,
            stdio,
            images,
            work,
            work_fd,
            pager,
            worker,
        } = self;
        if !state.owns_pid_ns && Path::new(&format!("/proc/{}", state.root_pid)).exists() {
            return Err(RestoreError::PidInUse {
                pid: state.root_pid,
            });
        }
        let keys: Vec<String> = stdio.iter().map(|(_, key)| key.clone()).collect();

        let mut opts = Criu_opts::new();
        opts.set_images_dir_fd(images.as_raw_fd());
        opts.set_work_dir_fd(work_fd.as_raw_fd());
        opts.set_log_file(LOG_NAME.into());
        opts.set_log_level(log_level());
        opts.set_rst_sibling(true);
        opts.set_tcp_established(true);
        opts.set_shell_job(!state.session_leader);
        opts.set_lazy_pages(pager.is_some());
        if state.stdio.iter().any(StdioEnd::is_socket) {
            opts.set_ext_unix_sk(true);
        }
        if state.owns_net_ns {
            opts.set_network_lock(Criu_network_lock_method::SKIP);
        }
        let fresh_loopback = state.owns_net_ns && state.net_loopback_only;
        if fresh_loopback {
            // An empty namespace plus `lo` up is all the tree had: skip CRIU's
            // replay of links and routes (which execs `ip` several times).
            opts.set_empty_ns(libc::CLONE_NEWNET as u32);
            opts.set_notify_scripts(true);
        }
        let mut on_notify = |script: &str, pid: i32| {
            if fresh_loopback && script == "setup-namespaces" {
                return sys::loopback_up_in(pid)
                    .map_err(|e| format!("bringing up loopback for pid {pid}: {e}"));
            }
            Ok(())
        };

        // The tasks a worker forks hold its end of the socket, then the
        // restore's stdio pipes: a worker that dies midway leaves them
        // waiting for it forever, and they are found by these.
        let tree_files: Vec<(&str, u64)> = stdio
            .iter()
            .filter_map(|(fd, _)| sys::pipe_or_socket(fd.as_fd()))
            .chain(worker.their_end())
            .collect();
        let started = Instant::now();
        let result = worker.call(Some(opts), &keys, &mut on_notify);
        drop(stdio);
        if let Err(RpcError::Vanished(_)) = &result {
            rpc::kill_holders(&tree_files);
        }
        let reply = match result {
            Ok(reply) => reply,
            Err(_) if pager.as_ref().is_some_and(LazyPagesDaemon::failed) => {
                let (log, log_tail) = work.keep_log(lazy_pages::LOG_NAME);
                return Err(RestoreError::LazyPages {
                    snapshot: snapshot.dir().to_path_buf(),
                    cause: LazyPagesError::Died,
                    log,
                    log_tail,
                });
            }
            Err(cause) => {
                let (log, log_tail) = work.keep_for_error();
                tracing::debug!(snapshot = %snapshot.dir().display(), log = %log.display(), %cause, "criu restore failed");
                return Err(RestoreError::Criu {
                    snapshot: snapshot.dir().to_path_buf(),
                    cause,
                    log,
                    log_tail,
                });
            }
        };
        let elapsed = started.elapsed();
        let pid = reply.response.restore.pid();
        if pid <= 0 {
            return Err(RestoreError::NoPid {
                snapshot: snapshot.dir().to_path_buf(),
            });
        }
        tracing::debug!(pid, ?elapsed, notifications = ?reply.notifications, "restored");
        if let Some(pager) = pager {
            pager.serve(pid, work);
        }
        Ok(RestoredTree {
            root: TreeRoot::new(pid),
            elapsed,
        })
    }
}

/// Pairs each externally connected stdio slot with its replacement.
fn replacements(
    state: &CriuState,
    given: [Option<OwnedFd>; 3],
) -> Result<Vec<(OwnedFd, String)>, RestoreError> {
    let mut out = Vec::new();
    for (end, fd) in state.stdio.iter().zip(given) {
        let StdioEnd::External { key } = end else {
            continue;
        };
        // stdout and stderr often share one pipe: CRIU wants each key once.
        if out.iter().any(|(_, k): &(OwnedFd, String)| k == key) {
            continue;
        }
        let fd = match fd {
            Some(fd) => fd,
            None => File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(RestoreError::Stdio)?
                .into(),
        };
        out.push((fd, key.clone()));
    }
    Ok(out)
}
