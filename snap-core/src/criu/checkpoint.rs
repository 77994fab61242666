//! Dumping a process tree into a new snapshot.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rust_criu::rust_criu_protobuf::rpc::{Criu_network_lock_method, Criu_opts, Criu_req_type};

use super::log::{self, LOG_NAME, WorkDir};
use super::{CriuEngine, RpcError, SCRATCH, TreeError, log_level, rpc, tree};
use crate::snapshot::{CreateError, Identity, Seal, Snapshot, SnapshotWriter};

/// How to take a checkpoint.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// Keep the tree running after the dump instead of killing it.
    pub leave_running: bool,
    /// What to record as the snapshot's identity; read from `/proc` if unset.
    pub identity: Option<Identity>,
    /// The caller's data to keep in the manifest.
    pub annotations: Vec<(String, Vec<u8>)>,
    /// Processes of the tree besides its root that must be saved alive,
    /// by the pid the tree's images give them: in the tree's own PID
    /// namespace if it has one (the last of `NSpid` in `/proc/PID/status`).
    /// One that exits during the dump would be saved as a zombie, so
    /// every restore would find it dead; the dump is then refused, as it
    /// is when the root exits. (snaprun names the bootstrap under its
    /// relay.)
    pub essential: Vec<i32>,
}

/// Why a checkpoint failed. No snapshot is left behind in any case.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The tree cannot be dumped as it is.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// Its identity could not be read.
    #[error("cannot read the identity of pid {pid}")]
    Identity {
        /// The process.
        pid: i32,
        /// The cause.
        #[source]
        cause: std::io::Error,
    },
    /// The snapshot could not be written.
    #[error(transparent)]
    Create(#[from] CreateError),
    /// CRIU's work directory could not be prepared.
    #[error("cannot prepare a work directory for CRIU")]
    WorkDir(#[source] std::io::Error),
    /// The machine-wide dump lock could not be taken.
    #[error(transparent)]
    DumpLock(#[from] log::DumpLockError),
    /// The engine state does not encode.
    #[error("cannot encode the CRIU engine state")]
    EncodeState(#[source] bincode::error::EncodeError),
    /// The tree's root exited while CRIU dumped it: its snapshot would
    /// restore it dead. (Another process of the tree that exits is saved
    /// as the zombie it was, which its parent reaps after a restore as it
    /// would have without one.)
    #[error(
        "pid {pid}, the root of the tree, exited while it was dumped: nothing is saved; checkpoint again"
    )]
    ExitedDuringDump {
        /// The root of the tree.
        pid: i32,
    },
    /// A process the caller named essential exited while CRIU dumped the
    /// tree: its snapshot would restore it dead.
    #[error(
        "pid {pid} of the tree (as its images number it) exited while it was dumped: its snapshot would restore it dead; nothing is saved; checkpoint again"
    )]
    EssentialExitedDuringDump {
        /// The process, as the tree's images number it.
        pid: i32,
    },
    /// CRIU failed; its log is kept.
    #[error("criu dump of pid {pid} failed: {cause}; log {}: {}", log.display(), log::one_line(log_tail))]
    Criu {
        /// The root of the tree.
        pid: i32,
        /// What CRIU said.
        cause: RpcError,
        /// CRIU's log, kept for inspection.
        log: PathBuf,
        /// Its last error lines.
        log_tail: Vec<String>,
    },
}

impl CriuEngine {
    pub(super) fn checkpoint_tree(
        &self,
        pid: i32,
        dest: &Path,
        options: &CheckpointOptions,
    ) -> Result<Snapshot, CheckpointError> {
        let state = tree::inspect(pid, self.rpc_version())?;
        let identity = match &options.identity {
            Some(identity) => identity.clone(),
            None => Identity::of_process(pid)
                .map_err(|cause| CheckpointError::Identity { pid, cause })?,
        };
        if !state.owns_pid_ns {
            tracing::warn!(
                pid,
                "the tree shares this PID namespace: its snapshot can be restored only once at a time (start it with `snaprun spawn`)"
            );
        }
        let writer = SnapshotWriter::create(dest)?;
        let payload = writer.payload_dir();
        let images: OwnedFd = File::open(&payload)
            .map_err(|e| CreateError::io("open", &payload, e))?
            .into();
        let work = WorkDir::create("dump").map_err(CheckpointError::WorkDir)?;
        let work_fd = work.open().map_err(CheckpointError::WorkDir)?;

        let mut opts = Criu_opts::new();
        opts.set_pid(pid);
        opts.set_images_dir_fd(images.as_raw_fd());
        opts.set_work_dir_fd(work_fd.as_raw_fd());
        opts.set_log_file(LOG_NAME.into());
        opts.set_log_level(log_level());
        opts.set_leave_running(options.leave_running);
        opts.set_tcp_established(true);
        opts.set_shell_job(!state.session_leader);
        if state.stdio.iter().any(tree::StdioEnd::is_socket) {
            opts.set_ext_unix_sk(true);
        }
        if state.owns_net_ns {
            // Nothing outside can reach a namespace the tree owns, so there
            // is no traffic to lock out (and no iptables to lock it with).
            opts.set_network_lock(Criu_network_lock_method::SKIP);
        }

        let lock = log::dump_lock(log::DUMP_LOCK_WAIT)?;
        let started = Instant::now();
        let dumped = rpc::call(
            &self.binary,
            Criu_req_type::DUMP,
            Some(opts),
            &[],
            &mut |_, _| Ok(()),
        );
        drop(lock);
        match dumped {
            Ok(_) => {}
            Err(cause) => {
                let (log, log_tail) = work.keep_for_error();
                tracing::debug!(pid, log = %log.display(), %cause, "criu dump failed");
                return Err(CheckpointError::Criu {
                    pid,
                    cause,
                    log,
                    log_tail,
                });
            }
        }
        let dumped = started.elapsed();
        drop(work);
        if !state.root_dumped(&payload) {
            return Err(CheckpointError::ExitedDuringDump { pid });
        }
        if let Some(&dead) = options
            .essential
            .iter()
            .find(|&&vpid| !tree::dumped_alive(&payload, vpid))
        {
            return Err(CheckpointError::EssentialExitedDuringDump { pid: dead });
        }
        let snapshot = writer.commit(Seal {
            engine: CriuEngine::NAME.into(),
            identity,
            scratch: SCRATCH.iter().map(|s| (*s).to_owned()).collect(),
            engine_state: state.encode().map_err(CheckpointError::EncodeState)?,
            annotations: options.annotations.clone(),
        })?;
        tracing::info!(pid, dir = %snapshot.dir().display(), ?dumped, total = ?started.elapsed(), "checkpointed");
        Ok(snapshot)
    }
}
