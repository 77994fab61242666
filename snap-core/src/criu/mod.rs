//! The CRIU engine: transparent checkpoint and restore of whole process trees
//! by driving CRIU over its RPC protocol.
//!
//! A tree started with [`crate::sandbox::SandboxCommand`] owns its PID and
//! network namespaces, so one snapshot of it restores into any number of
//! copies at once. Each restore hands the copy fresh ends for the stdio pipes
//! or sockets it had to the outside world (CRIU's `inherit_fd`), and the copy
//! becomes a child of the restoring process (`rst_sibling`).

mod checkpoint;
mod lazy_pages;
mod locate;
mod log;
mod map_pages;
mod restore;
mod rpc;
mod self_dump;
mod sys;
mod tree;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use checkpoint::{CheckpointError, CheckpointOptions};
pub use lazy_pages::{LazyPagesError, check_lazy_pages};
pub use locate::{INSTALL_SCRIPT, INSTALLED_PATH, LocateError, MIN_VERSION, Version, locate};
pub use log::DumpLockError;
pub use restore::{PreparedRestore, RestoreError, RestoreOptions, RestoreStopper, RestoredTree};
pub use rpc::RpcError;
pub(crate) use self_dump::run_dump_helper_if_asked;
pub use self_dump::{SelfDumpError, checkpoint_self, restore_self};
pub use tree::{CriuState, StdioEnd, TreeError};

use crate::snapshot::HostRule;

/// The CRIU engine, bound to one CRIU binary.
#[derive(Debug, Clone)]
pub struct CriuEngine {
    binary: PathBuf,
    version: Version,
    /// Whether the binary maps pages, probed at first need.
    maps_pages: Arc<OnceLock<bool>>,
}

impl CriuEngine {
    /// The engine name recorded in manifests.
    pub const NAME: &'static str = crate::engine::CRIU;

    /// Binds to the CRIU that [`locate`] finds.
    pub fn locate() -> Result<Self, LocateError> {
        let (binary, version) = locate()?;
        Ok(Self {
            binary,
            version,
            maps_pages: Arc::default(),
        })
    }

    /// The CRIU binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Its version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether this CRIU can map restored memory from the page images
    /// ([`RestoreOptions::map_pages`]): it was built with the patch
    /// `scripts/install-criu.sh` applies. Asked once, at first need.
    pub fn maps_pages(&self) -> bool {
        *self
            .maps_pages
            .get_or_init(|| map_pages::supported(&self.binary))
    }

    fn rpc_version(&self) -> u32 {
        self.version.major * 10000 + self.version.minor * 100 + self.version.sublevel
    }
}

impl crate::Engine for CriuEngine {
    const NAME: &'static str = CriuEngine::NAME;
    // CRIU adapts a restored process to another kernel's vDSO itself.
    const HOST_RULE: HostRule = crate::engine::CRIU_HOST_RULE;

    type Target = i32;
    type CheckpointOptions = CheckpointOptions;
    type RestoreOptions = RestoreOptions;
    type Restored = RestoredTree;
    type CheckpointError = CheckpointError;
    type RestoreError = RestoreError;

    fn checkpoint(
        &self,
        pid: &i32,
        dest: &Path,
        options: &CheckpointOptions,
    ) -> Result<crate::Snapshot, CheckpointError> {
        self.checkpoint_tree(*pid, dest, options)
    }

    fn restore(
        &self,
        snapshot: &crate::Snapshot,
        options: RestoreOptions,
    ) -> Result<RestoredTree, RestoreError> {
        self.restore_tree(snapshot, options)
    }
}

/// Files CRIU writes into the images directory while restoring.
const SCRATCH: &[&str] = &["stats-restore"];

/// CRIU's log verbosity: `SNAP_CRIU_LOG_LEVEL`, default 2 (errors and warnings).
fn log_level() -> i32 {
    std::env::var("SNAP_CRIU_LOG_LEVEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| (0..=4).contains(v))
        .unwrap_or(2)
}
