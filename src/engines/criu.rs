//! SnapStart with the CRIU engine: run init once in a sandbox, checkpoint
//! the tree at its snapshot point, and start every instance by restoring it.
//! The relay ([`crate::relay`]) keeps the bootstrap's pending Runtime API
//! request alive across the snapshot.

use std::io::pipe;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use snap::criu::{CheckpointOptions, CriuEngine, PreparedRestore, RestoreOptions};
use snap::lambda::ErrorType;
use snap::sandbox::SandboxCommand;
use snap::snapshot::Identity;
use snap::{Engine, OsError, Snapshot};
use tokio::net::unix::pipe as tokio_pipe;

use super::{SnapshotPlan, lock};
use crate::instance::{Instance, Start};
use crate::readiness::wait_ready;
use crate::relay::outside::Mux;
use crate::relay::{PROTOCOL_VERSION, RUNTIME_API_ADDR};
use crate::report;
use crate::runtime::{BootstrapState, RuntimeApi, SnapStart};
use crate::start_error::StartError;

/// Annotation: the relay stream id and raw bytes of the pending request.
const PENDING: &str = "snaprun.pending-request";
/// Annotation: the relay protocol version in the snapshot.
const RELAY: &str = "snaprun.relay-protocol";
/// Annotation: what may repeat in every restored instance, found when the
/// snapshot was made ([`crate::reseed::Coverage`]), said again on reuse.
const RESEED_WARNING: &str = "snaprun.reseed-warning";
/// Annotation: how many processes held the reseeding preload at the
/// snapshot point (u32, little-endian); each restore must find them all.
const RESEED_MARKED: &str = "snaprun.reseed-marked";

/// Snapshots with at least this many bytes of memory pages restore lazily
/// under [`LazyPages::Auto`]. A lazy restore starts a daemon (about 6 ms)
/// and cannot use a worker prepared ahead (about 8 ms), so it pays off only
/// where copying costs more. Measured here (`snaprun bench --runs 10`, two
/// rounds): rust-data-heavy's 40.7 MiB restored in 42-45 ms lazily against
/// 57-61 ms copied; node-s3's 20.8 MiB in 88-89 ms lazily against 81-87 ms
/// copied.
pub const LAZY_PAYS_OFF: u64 = 32 << 20;

/// When a CRIU restore loads the tree's memory lazily, through a
/// `criu lazy-pages` daemon per restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LazyPages {
    /// For snapshots with 32 MiB of memory pages or more, where userfaultfd
    /// is available and memory is not mapped ([`MapPages`]).
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// When a CRIU restore maps the tree's memory from the snapshot's page
/// images instead of copying it ([`snap::criu::RestoreOptions::map_pages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MapPages {
    /// Whenever the installed CRIU can and the restore is not lazy.
    Auto,
    /// Always: refused at start by a CRIU without the patch.
    On,
    /// Never.
    Off,
}

/// How the restores of one snapshot load its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pages {
    /// Copied before the tree runs: CRIU's own way.
    Copied,
    /// Mapped from the page images, copied only where written.
    Mapped,
    /// Copied at first touch by a lazy-pages daemon.
    Lazy,
}

impl Pages {
    /// Decides for `snapshot` from the plan's flags; says which on stderr
    /// unless it was asked for outright.
    fn decide(plan: &SnapshotPlan, engine: &CriuEngine, snapshot: &Snapshot) -> Self {
        let bytes = CriuEngine::page_bytes(snapshot);
        let mib = bytes as f64 / f64::from(1 << 20);
        match (plan.lazy_pages, plan.map_pages) {
            (LazyPages::On, _) => return Self::Lazy,
            (_, MapPages::On) => return Self::Mapped,
            (LazyPages::Off, MapPages::Off) => return Self::Copied,
            (_, MapPages::Auto) if engine.maps_pages() => {
                eprintln!(
                    "snaprun: mapping memory from the snapshot's images ({mib:.1} MiB of pages)"
                );
                return Self::Mapped;
            }
            (LazyPages::Off, MapPages::Auto) => return Self::Copied,
            (LazyPages::Auto, _) => {}
        }
        let threshold = LAZY_PAYS_OFF >> 20;
        if bytes < LAZY_PAYS_OFF {
            eprintln!(
                "snaprun: restoring memory eagerly ({mib:.1} MiB of pages, under {threshold} MiB)"
            );
            return Self::Copied;
        }
        match snap::criu::check_lazy_pages() {
            Ok(()) => {
                eprintln!(
                    "snaprun: restoring memory lazily ({mib:.1} MiB of pages, {threshold} MiB or more)"
                );
                Self::Lazy
            }
            Err(err) => {
                eprintln!(
                    "snaprun: restoring memory eagerly ({mib:.1} MiB of pages, but {})",
                    snap::chain(&err)
                );
                Self::Copied
            }
        }
    }
}

/// The identity a CRIU snapshot of `plan` has: the function's
/// ([`crate::function::FunctionSpec::identity`]), with the relay and the
/// forwarded addresses that live inside the snapshot.
fn identity(plan: &SnapshotPlan) -> Result<Identity, StartError> {
    let spec = &plan.spec;
    let mut engine = Vec::new();
    if !plan.forwards.is_empty() {
        // Several forwards are one setting, in the order given.
        let forwards: Vec<String> = plan.forwards.iter().map(ToString::to_string).collect();
        engine.push(("snaprun.forward".to_owned(), forwards.join(",")));
    }
    // The relay in the snapshot is this very binary, and CRIU restores it
    // only if the file is unchanged: a rebuilt or upgraded snaprun makes a
    // new snapshot instead of failing every restore.
    engine.push(("snaprun.relay".into(), relay_stamp()));
    // The preload is part of every Node process in the snapshot, which
    // CRIU reopens by path at each restore.
    engine.push((
        "snaprun.reseed".into(),
        plan.reseed
            .as_ref()
            .map_or_else(|| "off".into(), |p| p.preload().display().to_string()),
    ));
    spec.identity(engine).map_err(|cause| StartError::Identity {
        bootstrap: spec.bootstrap.display().to_string(),
        cause,
    })
}

/// Set to a snaprun binary to run it as the relay inside snapshots, for
/// programs that use this library without being snaprun (benches).
pub const RELAY_ENV: &str = "SNAPRUN_RELAY";

/// The snaprun binary that runs as the relay: `$SNAPRUN_RELAY`, or this
/// executable.
fn relay_exe() -> std::io::Result<std::path::PathBuf> {
    match std::env::var_os(RELAY_ENV) {
        Some(path) if !path.is_empty() => Ok(path.into()),
        _ => std::env::current_exe(),
    }
}

/// Names the relay binary by size and modification time.
fn relay_stamp() -> String {
    use std::os::unix::fs::MetadataExt;
    match relay_exe().and_then(std::fs::metadata) {
        Ok(meta) => format!(
            "{} bytes, modified {}.{:09}",
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        ),
        // Unknown: every run makes a new snapshot rather than risk one
        // that cannot be restored.
        Err(err) => format!(
            "unknown ({err}) at {:?}",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)
        ),
    }
}

/// A CRIU snapshot of a function's sandboxed tree, ready to restore from.
#[derive(Debug)]
pub struct CriuSnapshot {
    engine: CriuEngine,
    snapshot: Snapshot,
    /// How restores load memory.
    pages: Pages,
    /// The next restore, prepared ahead.
    spare: Arc<Mutex<Option<Spare>>>,
    pending: (u32, Vec<u8>),
    plan: Arc<SnapshotPlan>,
}

impl CriuSnapshot {
    /// Uses the valid snapshot for `plan` in its directory, or runs init and
    /// makes one.
    pub async fn find_or_make(
        engine: CriuEngine,
        plan: Arc<SnapshotPlan>,
    ) -> Result<Self, StartError> {
        let identity = identity(&plan)?;
        let expect = CriuEngine::requirements(Some(&identity));
        if let Some(snapshot) = plan.existing_or_pulled(&expect).await {
            match pending_of(&snapshot).filter(|_| CriuEngine::state(&snapshot).is_ok()) {
                Some(pending) => {
                    plan.say_reused();
                    if let Some(warning) = snapshot.manifest().annotation(RESEED_WARNING) {
                        tracing::warn!("{}", String::from_utf8_lossy(warning));
                    }
                    return Ok(Self {
                        spare: Arc::default(),
                        pages: Pages::decide(&plan, &engine, &snapshot),
                        engine,
                        snapshot,
                        pending,
                        plan,
                    });
                }
                None => eprintln!(
                    "snaprun: {} was made by another snaprun version; making a new snapshot",
                    plan.dir.display()
                ),
            }
        }
        let (made, pending) = make(&engine, &plan, identity.clone()).await?;
        let snapshot = plan.share(made, &expect).await;
        // The store's snapshot, if another machine committed first, holds
        // its own pending request.
        let pending = pending_of(&snapshot).unwrap_or(pending);
        Ok(Self {
            spare: Arc::default(),
            pages: Pages::decide(&plan, &engine, &snapshot),
            engine,
            snapshot,
            pending,
            plan,
        })
    }

    /// Prepares the next restore in the background, so that its CRIU worker
    /// (whose start costs several milliseconds) is waiting when asked. Every
    /// eager restore does this itself as it starts.
    pub fn prepare_next(&self) {
        if self.pages == Pages::Lazy {
            return;
        }
        let (engine, snapshot, pages) = (self.engine.clone(), self.snapshot.clone(), self.pages);
        let slot = Arc::clone(&self.spare);
        tokio::task::spawn_blocking(move || {
            if lock(&slot).is_some() {
                return;
            }
            match Spare::prepare(&engine, &snapshot, pages) {
                // A concurrent restore may have filled the slot meanwhile;
                // the extra spare is dropped (its worker killed).
                Ok(spare) => {
                    lock(&slot).get_or_insert(spare);
                }
                Err(err) => tracing::debug!(%err, "cannot prepare the next restore ahead"),
            }
        });
    }

    /// Whether a worker is kept ready: `None` where restores keep none
    /// (lazy ones).
    pub fn spare_ready(&self) -> Option<bool> {
        (self.pages != Pages::Lazy).then(|| lock(&self.spare).is_some())
    }

    /// Restores one instance and waits until it is ready for an event:
    /// the pending request is answered, after-restore hooks run, and the
    /// bootstrap asks for its next event.
    pub async fn restore(&self) -> Result<Instance, StartError> {
        self.restore_with(true).await
    }

    /// Restores one instance as [`Self::restore`] does, but with nothing
    /// prepared ahead, as the first request after an idle period meets it:
    /// its CRIU worker starts now, and the worker kept ready, if any, is
    /// left as it is, for the next [`Self::restore`]. No next restore is
    /// prepared meanwhile.
    pub async fn restore_on_demand(&self) -> Result<Instance, StartError> {
        self.restore_with(false).await
    }

    /// A worker prepared now, for a restore that cannot wait for one kept
    /// ready.
    async fn prepare_now(&self) -> Result<Spare, StartError> {
        let (engine, snapshot, pages) = (self.engine.clone(), self.snapshot.clone(), self.pages);
        tokio::task::spawn_blocking(move || Spare::prepare(&engine, &snapshot, pages)).await?
    }

    /// Restores the tree with `spare`'s worker, stopping it past the
    /// restore's limit (a restore can hang inside CRIU when a task it
    /// restores is killed midway); the tree, with the pipes to its relay.
    async fn run(
        &self,
        spare: Spare,
    ) -> Result<(snap::criu::RestoredTree, (OwnedFd, OwnedFd), OwnedFd), StartError> {
        let Spare {
            prepared,
            ours,
            logs,
        } = spare;
        let stopper = prepared.stopper();
        let limit = self.plan.restore_timeout;
        let mut restoring = tokio::task::spawn_blocking(move || prepared.restore());
        match tokio::time::timeout(limit, &mut restoring).await {
            Ok(restored) => Ok((restored??, ours, logs)),
            Err(_) => {
                stopper.stop();
                // It may have finished just as it was stopped.
                if let Ok(tree) = restoring.await? {
                    let _ = tree.into_root().kill();
                }
                tracing::debug!("the CRIU restore was stopped at its limit");
                Err(StartError::Timeout {
                    limit,
                    error_type: ErrorType::RestoreHookUserTimeout,
                })
            }
        }
    }

    /// A restore, from the worker kept ready if `ready` and there is one.
    async fn restore_with(&self, ready: bool) -> Result<Instance, StartError> {
        let started = Instant::now();
        let taken = ready.then(|| lock(&self.spare).take()).flatten();
        let taken = taken.and_then(|mut spare| {
            let waiting = spare.prepared.is_waiting();
            if !waiting {
                tracing::info!("the CRIU worker kept ready has died; starting another");
            }
            waiting.then_some(spare)
        });
        let from_kept = taken.is_some();
        let spare = match taken {
            Some(spare) => spare,
            None => self.prepare_now().await?,
        };
        // Not for lazy restores: a spare's lazy-pages daemon would wait for
        // its restore forever if snaprun died first (an idle worker sees its
        // socket close and exits).
        if ready {
            self.prepare_next();
        }
        let (restored, ours, logs) = match self.run(spare).await {
            // The worker kept ready died after it was checked, before it
            // was asked: it did nothing, so a fresh one restores.
            Err(StartError::CriuRestore(err)) if from_kept && err.worker_was_gone() => {
                tracing::info!(err = %snap::chain(&err), "the CRIU worker kept ready had died; restoring with another");
                self.run(self.prepare_now().await?).await?
            }
            other => other?,
        };
        let mut root = restored.into_root();
        let api = Arc::new(RuntimeApi::new(
            self.plan.spec.config.clone(),
            SnapStart::Restored,
        ));
        let mux = match Mux::start(ours.0, ours.1, Arc::clone(&api), self.plan.forwards.clone()) {
            Ok(mux) => mux,
            Err(cause) => {
                let _ = root.kill();
                return Err(StartError::Relay(cause));
            }
        };
        forward_logs(logs);
        // Every Node process reseeds before the bootstrap's pending request
        // is answered, so the first event finds none with copied state.
        if let Some(preload) = &self.plan.reseed {
            let reseeded = crate::reseed::after_restore(
                &api,
                root.pid(),
                preload,
                marked_of(&self.snapshot),
                self.plan.restore_timeout,
            )
            .await;
            if let Err(err) = reseeded {
                let _ = root.kill();
                return Err(err);
            }
        }
        mux.replay(self.pending.0, self.pending.1.clone());
        let ready = wait_ready(
            &api,
            mux.exited(),
            self.plan.restore_timeout,
            BootstrapState::Ready,
            ErrorType::RestoreHookUserTimeout,
        )
        .await;
        if let Err(err) = ready {
            let _ = root.kill();
            return Err(err);
        }
        Ok(Instance::sandboxed(
            api,
            root,
            mux,
            Start::Restored {
                restore: started.elapsed(),
            },
        ))
    }
}

/// Runs init in a sandbox up to its snapshot point and checkpoints it.
async fn make(
    engine: &CriuEngine,
    plan: &SnapshotPlan,
    identity: Identity,
) -> Result<(Snapshot, (u32, Vec<u8>)), StartError> {
    let started = Instant::now();
    let spec = &plan.spec;
    let pipes = ControlPipes::new()?;
    let exe = relay_exe().map_err(OsError::during("find snaprun itself"))?;
    let mut args: Vec<String> = vec!["relay".into(), "--listen".into(), RUNTIME_API_ADDR.into()];
    for forward in &plan.forwards {
        args.extend(["--forward".into(), forward.to_string()]);
    }
    args.push("--".into());
    args.push(spec.bootstrap.display().to_string());
    args.extend(spec.args.iter().cloned());
    let [stdin, stdout, stderr] = pipes.theirs;
    let mut env = spec.environment(RUNTIME_API_ADDR, "snap-start");
    if let Some(preload) = &plan.reseed {
        preload.add_to(&mut env);
    }
    let mut root = SandboxCommand::new(exe)
        .args(args)
        .env_clear_and_set(env)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()?;
    let api = Arc::new(RuntimeApi::new(
        spec.config.clone(),
        SnapStart::Snapshotting,
    ));
    let mux = Mux::start(
        pipes.ours.0,
        pipes.ours.1,
        Arc::clone(&api),
        plan.forwards.clone(),
    )
    .map_err(StartError::Relay)?;
    forward_logs(pipes.logs);
    let reached = wait_ready(
        &api,
        mux.exited(),
        spec.init_timeout,
        BootstrapState::AwaitingRestore,
        ErrorType::InitTimeout,
    )
    .await;
    if let Err(err) = reached {
        let _ = root.kill();
        report::init(started.elapsed(), Some(&err.to_error_body()));
        return Err(err);
    }
    let init = started.elapsed();
    let Some(pending) = mux.pending_request() else {
        let _ = root.kill();
        return Err(StartError::NoPendingRequest);
    };
    // The bootstrap, the relay's child: were it saved dead (killed during
    // the dump, a zombie), every restore would fail.
    let Some(bootstrap) =
        crate::procfs::first_child(root.pid()).and_then(crate::procfs::innermost_pid)
    else {
        let _ = root.kill();
        return Err(StartError::Init(crate::runtime::ErrorBody::new(
            ErrorType::ExitError,
            "the bootstrap exited during init, before the snapshot",
        )));
    };
    let mut annotation = pending.0.to_le_bytes().to_vec();
    annotation.extend_from_slice(&pending.1);
    let mut annotations = vec![
        (PENDING.into(), annotation),
        (RELAY.into(), PROTOCOL_VERSION.to_le_bytes().to_vec()),
    ];
    let coverage = crate::reseed::Coverage::of(root.pid(), plan.reseed.as_deref());
    let marked = u32::try_from(coverage.reseeded).unwrap_or(u32::MAX);
    annotations.push((RESEED_MARKED.into(), marked.to_le_bytes().to_vec()));
    if let Some(warning) = coverage.warning() {
        tracing::warn!("{warning}");
        annotations.push((RESEED_WARNING.into(), warning.into_bytes()));
    }
    let options = CheckpointOptions {
        leave_running: false,
        identity: Some(identity),
        annotations,
        essential: vec![bootstrap],
    };
    let (engine, dir, pid) = (engine.clone(), plan.dir.clone(), root.pid());
    let checkpointed =
        tokio::task::spawn_blocking(move || engine.checkpoint(&pid, &dir, &options)).await;
    // CRIU killed the tree (or failed); either way it is done with.
    let _ = root.kill();
    let snapshot = checkpointed??;
    report::init(init, None);
    eprintln!(
        "snaprun: snapshot written to {} in {:.1} ms after init",
        plan.dir.display(),
        (started.elapsed() - init).as_secs_f64() * 1000.0
    );
    Ok((snapshot, pending))
}

/// How many processes held the reseeding preload when `snapshot` was made
/// (0 if it does not say).
fn marked_of(snapshot: &Snapshot) -> usize {
    snapshot
        .manifest()
        .annotation(RESEED_MARKED)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, |bytes| u32::from_le_bytes(bytes) as usize)
}

/// The pending request recorded in a snapshot, if it is one this build of
/// the relay protocol can answer.
fn pending_of(snapshot: &Snapshot) -> Option<(u32, Vec<u8>)> {
    let manifest = snapshot.manifest();
    if manifest.annotation(RELAY)? != PROTOCOL_VERSION.to_le_bytes() {
        return None;
    }
    let pending = manifest.annotation(PENDING)?;
    let id = u32::from_le_bytes(pending.get(..4)?.try_into().ok()?);
    Some((id, pending[4..].to_vec()))
}

/// A restore prepared ahead, with our ends of the relay's pipes.
#[derive(Debug)]
struct Spare {
    prepared: PreparedRestore,
    ours: (OwnedFd, OwnedFd),
    logs: OwnedFd,
}

impl Spare {
    fn prepare(engine: &CriuEngine, snapshot: &Snapshot, pages: Pages) -> Result<Self, StartError> {
        let pipes = ControlPipes::new()?;
        let options = RestoreOptions {
            stdio: pipes.theirs.map(Some),
            lazy_pages: pages == Pages::Lazy,
            map_pages: pages == Pages::Mapped,
            ..RestoreOptions::default()
        };
        Ok(Self {
            prepared: engine.prepare_restore(snapshot, options)?,
            ours: pipes.ours,
            logs: pipes.logs,
        })
    }
}

/// The relay's three pipes: control in, control out, logs.
struct ControlPipes {
    /// The relay's stdin, stdout and stderr.
    theirs: [OwnedFd; 3],
    /// Our write end of its stdin, our read end of its stdout.
    ours: (OwnedFd, OwnedFd),
    /// Our read end of its stderr.
    logs: OwnedFd,
}

impl ControlPipes {
    fn new() -> Result<Self, StartError> {
        let make = || pipe().map_err(OsError::during("make the relay's pipes"));
        let (in_r, in_w) = make()?;
        let (out_r, out_w) = make()?;
        let (log_r, log_w) = make()?;
        Ok(Self {
            theirs: [in_r.into(), out_w.into(), log_w.into()],
            ours: (in_w.into(), out_r.into()),
            logs: log_r.into(),
        })
    }
}

/// Copies an instance's output to our stderr, where function logs go.
fn forward_logs(logs: OwnedFd) {
    tokio::spawn(async move {
        let Ok(mut logs) = tokio_pipe::Receiver::from_owned_fd(logs) else {
            return;
        };
        let _ = tokio::io::copy(&mut logs, &mut tokio::io::stderr()).await;
    });
}
