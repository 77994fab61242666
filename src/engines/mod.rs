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
use std::time::{Duration, Instant};

use snap::Snapshot;
use snap::criu::CriuEngine;
use snap::snapshot::{Expect, Host, OpenError};

use crate::function::FunctionSpec;
use crate::instance::Instance;
use crate::snapshot_lock::SnapshotLock;
use crate::start_error::StartError;
use crate::store::{PullStats, SnapshotStore, snapshot_key};

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
    /// The preload that reseeds the function's Node processes after each
    /// restore (CRIU only: the native engine restores no Node); None when
    /// reseeding is off.
    pub reseed: Option<Arc<crate::reseed::NodePreload>>,
    /// Where snapshots are shared with other machines (`--store`): pulled
    /// from when there is no valid local one, pushed to when one is made.
    pub store: Option<Arc<SnapshotStore>>,
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

    /// The key of the snapshot `expect` describes in the plan's store, if
    /// it has one.
    pub(crate) fn store_key(&self, expect: &Expect<'_>) -> Option<(&SnapshotStore, String)> {
        let store = self.store.as_deref()?;
        let key = snapshot_key(
            expect.engine?,
            expect.identity?,
            expect.host,
            &Host::current(),
        );
        Some((store, key))
    }

    /// The valid local snapshot that meets `expect`, or else the store's,
    /// pulled into the plan's directory; says on stderr which, and why
    /// there is none. `--fresh` takes neither.
    pub(crate) async fn existing_or_pulled(&self, expect: &Expect<'_>) -> Option<Snapshot> {
        if let Some(snapshot) = self.existing(expect) {
            return Some(snapshot);
        }
        if self.fresh {
            return None;
        }
        let (store, key) = self.store_key(expect)?;
        let started = Instant::now();
        match pull_and_open(store, &key, &self.dir, expect).await {
            Ok(Some((snapshot, stats))) => {
                eprintln!(
                    "snaprun: pulled the snapshot from {} in {:.1} ms: {}",
                    store.url(),
                    started.elapsed().as_secs_f64() * 1e3,
                    stats.summary()
                );
                Some(snapshot)
            }
            Ok(None) => {
                eprintln!(
                    "snaprun: running init: {} has no snapshot of this function yet",
                    store.url()
                );
                None
            }
            Err(err) => {
                eprintln!(
                    "snaprun: running init: the snapshot in {} cannot be used here: {}",
                    store.url(),
                    snap::chain(&err)
                );
                None
            }
        }
    }

    /// Pushes the snapshot just made to the plan's store, if it has one.
    /// If another machine committed a snapshot of the same function first,
    /// that one is pulled and used instead, so that every machine serves
    /// the same snapshot.
    pub(crate) async fn share(&self, made: Snapshot, expect: &Expect<'_>) -> Snapshot {
        let Some((store, key)) = self.store_key(expect) else {
            return made;
        };
        match store.push(&made, &key, self.fresh).await {
            Ok(pushed) if pushed.committed => {
                eprintln!(
                    "snaprun: pushed the snapshot to {} as {key}: {}",
                    store.url(),
                    pushed.stats.summary()
                );
                made
            }
            Ok(_) => match self.take_stored(store, &key, expect).await {
                Ok(theirs) => {
                    eprintln!(
                        "snaprun: {} holds a snapshot of this function committed first by another machine; using it",
                        store.url()
                    );
                    theirs
                }
                Err(err) => {
                    eprintln!(
                        "snaprun: {} holds another snapshot of this function, which cannot be used here; keeping this machine's: {}",
                        store.url(),
                        snap::chain(&err)
                    );
                    made
                }
            },
            Err(err) => {
                eprintln!(
                    "snaprun: the snapshot serves from here only: {}",
                    snap::chain(&err)
                );
                made
            }
        }
    }

    /// Pulls the store's snapshot `key` beside the plan's directory and,
    /// only if it opens as `expect` asks, puts it in the directory's place.
    async fn take_stored(
        &self,
        store: &SnapshotStore,
        key: &str,
        expect: &Expect<'_>,
    ) -> Result<Snapshot, TakeError> {
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        let beside = self.dir.with_file_name(format!(".{name}.from-store"));
        let pulled = match pull_and_open(store, key, &beside, expect).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(TakeError::Gone),
            Err(err) => Err(err),
        };
        if let Err(err) = pulled {
            let _ = std::fs::remove_dir_all(&beside);
            return Err(err);
        }
        // The plan's lock is held: no one else swaps this directory. An
        // exchange, so that a failure leaves this machine's in place.
        let (at, flags) = (
            nix::fcntl::AT_FDCWD,
            nix::fcntl::RenameFlags::RENAME_EXCHANGE,
        );
        let exchanged = nix::fcntl::renameat2(at, &beside, at, &self.dir, flags);
        let _ = std::fs::remove_dir_all(&beside);
        exchanged.map_err(|cause| TakeError::Move {
            dir: self.dir.clone(),
            cause,
        })?;
        Snapshot::open(&self.dir, expect).map_err(TakeError::Open)
    }

    /// Says on stderr that the snapshot in the plan's directory is reused.
    pub(crate) fn say_reused(&self) {
        eprintln!(
            "snaprun: restoring from the snapshot in {}",
            self.dir.display()
        );
    }
}

/// Pulls the store's snapshot `key` into `dir` and opens it as `expect`
/// asks: the snapshot and the pull's figures, or `None` if the store has
/// no snapshot `key`.
async fn pull_and_open(
    store: &SnapshotStore,
    key: &str,
    dir: &std::path::Path,
    expect: &Expect<'_>,
) -> Result<Option<(Snapshot, PullStats)>, TakeError> {
    let Some((snapshot, stats)) = store.pull(key, dir).await.map_err(TakeError::Pull)? else {
        return Ok(None);
    };
    snapshot.require(expect).map_err(TakeError::Open)?;
    Ok(Some((snapshot, stats)))
}

/// Why the store's snapshot cannot be used here.
#[derive(Debug, thiserror::Error)]
enum TakeError {
    /// It was removed from the store meanwhile.
    #[error("it is gone from the store")]
    Gone,
    /// It could not be pulled.
    #[error(transparent)]
    Pull(crate::store::StoreError),
    /// It does not open here.
    #[error("it does not open")]
    Open(#[source] OpenError),
    /// It could not be moved into place.
    #[error("cannot move it into {}", dir.display())]
    Move {
        /// The snapshot directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        cause: nix::Error,
    },
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
    /// Restores one instance, ready for its first event, from the restore
    /// [`Self::prepare_next`] started ahead where there is one ("from a
    /// spare"), else as [`Self::restore_on_demand`] does.
    pub async fn restore(&self) -> Result<Instance, StartError> {
        match self {
            Self::Criu(snapshot) => snapshot.restore().await,
            Self::Native(snapshot) => snapshot.restore().await,
        }
    }

    /// Restores one instance with nothing prepared ahead ("on demand"), as
    /// the first request after an idle period meets it: a native bootstrap
    /// exec'd without a gate, a CRIU restore that starts its own worker.
    /// What [`Self::prepare_next`] started ahead is left for the next
    /// [`Self::restore`] and does none of this restore's work.
    pub async fn restore_on_demand(&self) -> Result<Instance, StartError> {
        match self {
            Self::Criu(snapshot) => snapshot.restore_on_demand().await,
            Self::Native(snapshot) => snapshot.restore_on_demand().await,
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

    /// Whether the restore [`Self::prepare_next`] started is prepared and
    /// waiting: `Some(false)` while it is still being prepared, `None` where
    /// there is none or it cannot be told.
    pub fn spare_ready(&self) -> Option<bool> {
        match self {
            Self::Criu(snapshot) => snapshot.spare_ready(),
            Self::Native(snapshot) => snapshot.spare_ready(),
        }
    }

    /// Instance `pid`, restored, has answered its first invocation: (native)
    /// the pages it touched are recorded as the snapshot's working set,
    /// once, beside it and in the plan's store, and the next restore is
    /// started ahead.
    pub fn first_response(&self, pid: Option<u32>) {
        // Recorded first, so that the restore started ahead next has it.
        if let (Self::Native(snapshot), Some(pid)) = (self, pid) {
            snapshot.record_working_set(pid);
        }
        self.prepare_next();
    }
}

/// Locks `mutex`, whose data stays consistent even if a holder panicked.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
