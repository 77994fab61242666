//! The engines that start instances from a snapshot, behind one interface:
//! [`criu`] snapshots the bootstrap's whole sandboxed tree behind a relay,
//! [`native`] has a bootstrap that links `snap` snapshot itself. Both find
//! a valid snapshot for their [`SnapshotPlan`] or make one, then restore
//! instances from it.

pub mod criu;
pub mod native;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use snap::Snapshot;
use snap::criu::CriuEngine;
use snap::snapshot::{Expect, OpenError};

use crate::function::FunctionSpec;
use crate::instance::Instance;
use crate::snapshot_lock::SnapshotLock;
use crate::start_error::StartError;

pub use criu::{CriuSnapshot, LAZY_PAYS_OFF, LazyPages, MapPages};
pub use native::NativeSnapshot;

/// What to snapshot and where, for either engine.
#[derive(Debug, Clone)]
pub struct SnapshotPlan {
    /// The function.
    pub spec: FunctionSpec,
    /// The snapshot directory.
    pub dir: PathBuf,
    /// The directory's lock, held as long as the plan is in use.
    pub lock: Arc<SnapshotLock>,
    /// Make a new snapshot even if a valid one exists.
    pub fresh: bool,
    /// Host services reachable inside instances at the same address (CRIU
    /// only: native instances share the host's network).
    pub forwards: Vec<SocketAddr>,
    /// When restores load memory lazily, on first touch (CRIU only: native
    /// restores always map memory lazily).
    pub lazy_pages: LazyPages,
    /// When restores map memory from the page images (CRIU only).
    pub map_pages: MapPages,
    /// Limit on a restore plus after-restore hooks.
    pub restore_timeout: Duration,
}

impl SnapshotPlan {
    /// The valid snapshot in the plan's directory that meets `expect`, if
    /// there is one to reuse; says on stderr why an existing one is not.
    pub(crate) fn existing(&self, expect: &Expect<'_>) -> Option<Snapshot> {
        if self.fresh {
            return None;
        }
        match Snapshot::open(&self.dir, expect) {
            Ok(snapshot) => Some(snapshot),
            Err(OpenError::NotFound { .. }) => None,
            Err(err) => {
                eprintln!(
                    "snaprun: making a new snapshot: the existing one is not usable: {}",
                    snap::chain(&err)
                );
                None
            }
        }
    }

    /// Says on stderr that the snapshot in the plan's directory is reused.
    pub(crate) fn say_reused(&self) {
        eprintln!(
            "snaprun: restoring from the snapshot in {}",
            self.dir.display()
        );
    }
}

/// A snapshot engine and what it should snapshot.
#[derive(Debug, Clone)]
pub enum SnapshotEngine {
    /// CRIU: the whole sandboxed tree, behind a relay.
    Criu(CriuEngine, SnapshotPlan),
    /// The bootstrap's own native snapshot.
    Native(SnapshotPlan),
}

impl SnapshotEngine {
    /// The engine's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Criu(..) => snap::engine::CRIU,
            Self::Native(_) => snap::engine::NATIVE,
        }
    }

    /// The function.
    pub fn spec(&self) -> &FunctionSpec {
        match self {
            Self::Criu(_, plan) | Self::Native(plan) => &plan.spec,
        }
    }

    /// Finds a valid snapshot or makes one.
    pub async fn prepare(self) -> Result<Restorer, StartError> {
        let dir = match &self {
            Self::Criu(_, plan) | Self::Native(plan) => plan.dir.clone(),
        };
        let prepared = match self {
            Self::Criu(engine, plan) => CriuSnapshot::find_or_make(engine, Arc::new(plan))
                .await
                .map(|snapshot| Restorer::Criu(Box::new(snapshot))),
            Self::Native(plan) => NativeSnapshot::find_or_make(Arc::new(plan))
                .await
                .map(|snapshot| Restorer::Native(Box::new(snapshot))),
        };
        prepared.map_err(|err| err.making_snapshot_in(&dir))
    }
}

/// A snapshot ready to restore instances from.
#[derive(Debug)]
pub enum Restorer {
    /// A CRIU snapshot.
    Criu(Box<CriuSnapshot>),
    /// A native snapshot.
    Native(Box<NativeSnapshot>),
}

impl Restorer {
    /// Restores one instance, ready for its first event.
    pub async fn restore(&self) -> Result<Instance, StartError> {
        match self {
            Self::Criu(snapshot) => snapshot.restore().await,
            Self::Native(snapshot) => snapshot.restore().await,
        }
    }

    /// Starts the next restore ahead where the engine can (a CRIU worker
    /// ready, or a native restore waiting at its gate), so that less of it
    /// is left when an instance is wanted. Call it when the machine is quiet,
    /// such as after an instance's first response.
    pub fn prepare_next(&self) {
        match self {
            Self::Criu(snapshot) => snapshot.prepare_next(),
            Self::Native(snapshot) => snapshot.prepare_next(),
        }
    }
}
