//! Why the native engine refused or failed a dump or a restore.

use super::fds::Offender;
use crate::OsError;
use crate::snapshot::{CreateError, OpenError};

/// Why a native dump was refused or failed. The process keeps running
/// unchanged, and no snapshot is left behind; except for
/// [`DumpError::RestoreRequest`], which only a restored process sees.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The process runs with a randomized layout.
    #[error("address space layout randomization is on: call snap::init() first thing in main")]
    Randomized,
    /// More than one thread.
    #[error("the native engine checkpoints single-threaded processes; this one has {}: {}", threads.len(), threads.iter().map(|(tid, name)| format!("{tid} ({name})")).collect::<Vec<_>>().join(", "))]
    Threads {
        /// Each thread's id and name.
        threads: Vec<(i32, String)>,
    },
    /// Descriptors the engine cannot restore.
    #[error("descriptors the native engine cannot restore (close them first, or set an FdPolicy): {}", offenders.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Descriptors {
        /// Each one, with its kind and target.
        offenders: Vec<Offender>,
    },
    /// A shared mapping, which restores could not each own.
    #[error("shared mapping {start:#x}-{end:#x} {path} cannot be checkpointed")]
    SharedMapping {
        /// Start address.
        start: u64,
        /// End address.
        end: u64,
        /// What it maps.
        path: String,
    },
    /// The memory map kept changing while it was read.
    #[error("the memory map did not settle")]
    Unsettled,
    /// glibc's thread id was not found in the thread descriptor.
    #[error("cannot find the thread id in the thread descriptor")]
    ThreadId,
    /// The engine state does not encode.
    #[error("cannot encode the native engine state")]
    EncodeState(#[source] bincode::error::EncodeError),
    /// Writing the snapshot failed.
    #[error(transparent)]
    Create(#[from] CreateError),
    /// A restored process could not read what its restoring invocation
    /// passed it; it must not serve.
    #[error("a restored process could not read its restore request")]
    RestoreRequest(#[source] crate::resumed::RequestError),
    /// A system call failed.
    #[error(transparent)]
    Os(#[from] OsError),
}

/// Why a native restore could not happen. Nothing of the process was
/// replaced.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The snapshot is invalid or not for this program or host.
    #[error(transparent)]
    Snapshot(#[from] OpenError),
    /// The process's layout differs from the snapshot's.
    #[error("memory layout differs from the snapshot: {0}")]
    LayoutMismatch(String),
    /// The kernel differs (vDSO or TLS placement).
    #[error("kernel differs from the snapshot's: {0}")]
    Kernel(String),
    /// A file the snapshot had open could not be reopened.
    #[error("cannot reopen fd {fd} ({path})")]
    File {
        /// The descriptor.
        fd: i32,
        /// Its path.
        path: String,
        /// The cause.
        #[source]
        cause: std::io::Error,
    },
    /// The restore request does not encode.
    #[error(transparent)]
    Request(#[from] crate::resumed::RequestError),
    /// `SNAP_WORKING_SET` has a value other than `off` or nothing.
    #[error(transparent)]
    WorkingSetSetting(#[from] super::working_set::SettingError),
    /// `SNAP_RESTORE_GATE` has a value other than `stdin`.
    #[error("SNAP_RESTORE_GATE is {value:?}; the only gate is \"stdin\"")]
    Gate {
        /// The value found.
        value: String,
    },
    /// A system call failed.
    #[error(transparent)]
    Os(#[from] OsError),
}
