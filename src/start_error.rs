//! Why an instance could not be made ready, whichever engine started it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use snap::OsError;
use snap::lambda::ErrorType;

use crate::runtime::ErrorBody;

/// Why an instance could not be made ready. Each engine's own error keeps
/// its type here, as this error's source.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The bootstrap could not be started at all.
    #[error("cannot start bootstrap {bootstrap}")]
    Spawn {
        /// The bootstrap.
        bootstrap: String,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// The bootstrap could not be read to identify the snapshot.
    #[error("bootstrap {bootstrap}")]
    Identity {
        /// The bootstrap.
        bootstrap: String,
        /// Why.
        #[source]
        cause: std::io::Error,
    },
    /// The Runtime API could not listen.
    #[error("cannot listen for the Runtime API")]
    Listen(#[source] std::io::Error),
    /// Init failed: the runtime posted `init/error` or exited.
    #[error("init failed: {}: {}", .0.error_type, .0.message)]
    Init(ErrorBody),
    /// An after-restore hook failed: the runtime posted `restore/error`.
    #[error("restore failed: {}: {}", .0.error_type, .0.message)]
    Restore(ErrorBody),
    /// Init or restore did not finish in time.
    #[error("{error_type}: not ready within {:.1} s", limit.as_secs_f64())]
    Timeout {
        /// The limit.
        limit: Duration,
        /// `Runtime.InitTimeout` or `Runtime.RestoreHookUserTimeout`.
        error_type: ErrorType,
    },
    /// The snapshot the bootstrap wrote is not usable.
    #[error("the bootstrap's snapshot is not usable")]
    Unusable(#[source] snap::snapshot::OpenError),
    /// The sandbox for init could not be started.
    #[error(transparent)]
    Sandbox(#[from] snap::sandbox::SpawnError),
    /// CRIU could not checkpoint the initialized tree.
    #[error(transparent)]
    Checkpoint(#[from] snap::criu::CheckpointError),
    /// CRIU could not restore the snapshot.
    #[error(transparent)]
    CriuRestore(#[from] snap::criu::RestoreError),
    /// The relay inside the sandbox could not be attached to.
    #[error("cannot attach to the relay")]
    Relay(#[source] std::io::Error),
    /// At the snapshot point the bootstrap was not blocked in exactly one
    /// Runtime API request, so no restore could answer it.
    #[error("the bootstrap is not blocked in exactly one Runtime API request")]
    NoPendingRequest,
    /// A blocking snapshot task panicked or was cancelled.
    #[error("a snapshot task did not finish")]
    Task(#[from] tokio::task::JoinError),
    /// A system call failed.
    #[error(transparent)]
    Os(#[from] OsError),
    /// Making a snapshot filled its filesystem. The cause says so only deep
    /// in CRIU's log or in the bootstrap's own message.
    #[error(
        "no space left to make the snapshot in {} ({}): free space there, or give --snapshot-dir on a larger filesystem",
        dir.display(),
        free.map_or_else(|| "free space unknown".to_owned(), |bytes| format!("{:.1} MiB free", bytes as f64 / (1u64 << 20) as f64))
    )]
    NoSpace {
        /// The snapshot directory.
        dir: PathBuf,
        /// Bytes available to this user on its filesystem, if known.
        free: Option<u64>,
        /// The failure as the engine reported it.
        #[source]
        cause: Box<StartError>,
    },
}

impl StartError {
    /// The error an invoker sees for this failure.
    pub fn to_error_body(&self) -> ErrorBody {
        match self {
            Self::Init(body) | Self::Restore(body) => body.clone(),
            Self::Timeout { error_type, .. } => ErrorBody::new(*error_type, self.to_string()),
            Self::NoSpace { cause, .. } => {
                ErrorBody::new(cause.to_error_body().error_type, snap::chain(self))
            }
            other => ErrorBody::new(ErrorType::Unknown, snap::chain(other)),
        }
    }

    /// This failure to make a snapshot in `dir`, led by [`Self::NoSpace`]
    /// when it comes from a full filesystem. The sign is ENOSPC's text
    /// anywhere in the chain, since the engines pass it on as text: from
    /// CRIU's log, or from a native bootstrap's init error.
    pub fn making_snapshot_in(self, dir: &Path) -> Self {
        if matches!(self, Self::NoSpace { .. })
            || !snap::chain(&self).contains(nix::errno::Errno::ENOSPC.desc())
        {
            return self;
        }
        // The snapshot is written beside `dir`, then renamed into place.
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        let free = nix::sys::statvfs::statvfs(parent.unwrap_or(Path::new(".")))
            .ok()
            .map(|fs| fs.blocks_available() * fs.fragment_size());
        Self::NoSpace {
            dir: dir.to_owned(),
            free,
            cause: Box::new(self),
        }
    }
}
