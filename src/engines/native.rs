//! The native engine under `snaprun run`: the bootstrap links `snap`, makes
//! its own snapshot at its snapshot point ([`snap::lambda::snapshot_point`]),
//! and every instance is a restore of it: an exec of the same binary with
//! `SNAP_RESTORE_FROM`, a fixed layout, and a Runtime API of its own.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use snap::lambda::ErrorType;
use snap::snapshot::Expect;

use super::{SnapshotPlan, lock};
use crate::child::ProcessStart;
use crate::instance::{GroupChild, Instance, Starting};
use crate::report;
use crate::runtime::{ErrorBody, SnapStart};
use crate::start_error::StartError;

/// A native snapshot of a bootstrap, ready to restore from.
#[derive(Debug)]
pub struct NativeSnapshot {
    plan: Arc<SnapshotPlan>,
    /// The next restore, started ahead and waiting at its gate.
    spare: Mutex<Option<Spare>>,
    /// The snapshot restores are made from.
    snapshot: snap::Snapshot,
    /// Whether the snapshot still needs its working set recorded, with
    /// it.
    unrecorded_here: Mutex<bool>,
    /// The snapshot's key in the plan's store, until its working set has
    /// been recorded there.
    unrecorded: Mutex<Option<String>>,
}

impl NativeSnapshot {
    /// Uses the valid snapshot of this bootstrap in the plan's directory, or
    /// runs the bootstrap until it has written one.
    pub async fn find_or_make(plan: Arc<SnapshotPlan>) -> Result<Self, StartError> {
        let spec = &plan.spec;
        let identity = spec.identity([]).map_err(|cause| StartError::Identity {
            bootstrap: spec.bootstrap.display().to_string(),
            cause,
        })?;
        let expect = Expect {
            engine: Some(snap::engine::NATIVE),
            identity: Some(&identity),
            host: snap::engine::NATIVE_HOST_RULE,
        };
        let snapshot = match plan.existing_or_pulled(&expect).await {
            Some(snapshot) => {
                plan.say_reused();
                snapshot
            }
            None => {
                make(&plan).await?;
                let made =
                    snap::Snapshot::open(&plan.dir, &expect).map_err(StartError::Unusable)?;
                plan.share(made, &expect).await
            }
        };
        let unrecorded_here = working_set_wanted(&snapshot);
        let unrecorded = plan.store_key(&expect).map(|(_, key)| key);
        Ok(Self {
            plan,
            spare: Mutex::default(),
            snapshot,
            unrecorded_here: Mutex::new(unrecorded_here),
            unrecorded: Mutex::new(unrecorded),
        })
    }

    /// Records, once, the pages restored instance `pid` has touched by its
    /// first response as the snapshot's working set: beside the snapshot,
    /// unless it has one, for the restores that follow to fault in ahead
    /// (now, so that the next restore started ahead has it); and in the
    /// plan's store, unless the store has one, in the background.
    pub fn record_working_set(&self, pid: u32) {
        if std::mem::take(&mut *lock(&self.unrecorded_here)) {
            match working_set::record(&self.snapshot, pid) {
                Ok(Some(summary)) => tracing::info!(
                    read_pages = summary.read_pages,
                    written_pages = summary.written_pages,
                    runs = summary.runs,
                    "recorded the working set of the first invocation after a restore; restores fault it in ahead"
                ),
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(err = %snap::chain(&err), "cannot record the working set")
                }
            }
        }
        let Some(key) = lock(&self.unrecorded).take() else {
            return;
        };
        let Some(store) = self.plan.store.clone() else {
            return;
        };
        // The record kept beside the snapshot (just now, or before) says
        // which pages of the image; the store holds the image as the
        // snapshot does, sealed if it is encrypted.
        let pages = match working_set::image_pages(&self.snapshot) {
            Ok(Some(pages)) => pages,
            Ok(None) => return,
            Err(err) => {
                tracing::debug!(err = %snap::chain(&err), "no working set for the store");
                return;
            }
        };
        let touched = [crate::store::working_set::Touched::pages_of(
            working_set::IMAGE_FILE,
            &pages,
            self.snapshot.is_encrypted(),
        )];
        tokio::spawn(async move {
            match store.record_working_set(&key, &touched).await {
                Ok(None) => {}
                Ok(Some((chunks, pages))) => tracing::info!(
                    chunks,
                    pages,
                    "recorded the working set of the first invocation after a restore"
                ),
                Err(err) => {
                    tracing::warn!(err = %snap::chain(&err), "cannot record the working set")
                }
            }
        });
    }

    /// Restores one instance and waits until it asks for its first event.
    ///
    /// The process is the one [`Self::prepare_next`] started ahead, if it
    /// did: then it has done everything but map the memory and jump, and the
    /// restore's time counts from the opening of its gate.
    pub async fn restore(&self) -> Result<Instance, StartError> {
        let taken = lock(&self.spare).take();
        match taken {
            Some(spare) => spare.open(&self.plan).await,
            None => self.restore_on_demand().await,
        }
    }

    /// Restores one instance with nothing started ahead, as the first
    /// request after an idle period meets it: the bootstrap is exec'd with
    /// `SNAP_RESTORE_FROM` and no gate, and does its whole restore now. A
    /// spare waiting at its gate is left as it is, for the next
    /// [`Self::restore`]; it shares nothing with this restore but the page
    /// cache.
    pub async fn restore_on_demand(&self) -> Result<Instance, StartError> {
        let extra = [(snap::RESTORE_ENV, OsString::from(&self.plan.dir))];
        Instance::process(&self.plan.spec, &restore_start(&self.plan, &extra)).await
    }

    /// Whether the restore started ahead waits at its gate, prepared:
    /// `None` if there is none, or it cannot be told.
    pub fn spare_ready(&self) -> Option<bool> {
        let pid = lock(&self.spare).as_ref()?.starting.pid()?;
        crate::procfs::reads_stdin(pid)
    }

    /// Starts the next restore ahead, unless one is waiting: the bootstrap
    /// is exec'd with `SNAP_RESTORE_GATE=stdin`, prepares its restore and
    /// waits at the gate. Call it when the machine is quiet (after an
    /// instance's first response), since the start takes a core for a
    /// millisecond or so.
    pub fn prepare_next(&self) {
        let mut spare = lock(&self.spare);
        if spare
            .as_mut()
            .is_some_and(|spare| !spare.starting.has_exited())
        {
            return;
        }
        *spare = match Spare::start(&self.plan) {
            Ok(started) => Some(started),
            Err(err) => {
                tracing::debug!(%err, "cannot start the next restore ahead");
                None
            }
        };
    }
}

/// The native engine's working set where it runs (x86_64 Linux); elsewhere
/// no native snapshot can be made, so there is never one to record.
mod working_set {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    pub(super) use snap::native::{
        IMAGE_FILE, check_working_set as check, record_working_set as record,
        working_set_image_pages as image_pages,
    };

    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    pub(super) const IMAGE_FILE: &str = "memory.img";

    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    pub(super) fn image_pages(
        _: &snap::Snapshot,
    ) -> Result<Option<Vec<u64>>, snap::snapshot::WorkingSetError> {
        Ok(None)
    }

    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    pub(super) fn check(
        _: &snap::Snapshot,
    ) -> Result<Option<Summary>, snap::snapshot::WorkingSetError> {
        Ok(None)
    }

    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    pub(super) fn record(
        _: &snap::Snapshot,
        _: u32,
    ) -> Result<Option<Summary>, snap::snapshot::WorkingSetError> {
        Ok(None)
    }

    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    #[derive(Debug)]
    pub(super) struct Summary {
        pub(super) read_pages: u64,
        pub(super) written_pages: u64,
        pub(super) runs: u64,
    }
}

/// Whether `snapshot` needs its working set recorded: it has none, or one
/// that restores would not use, which is said (once) and removed so that a
/// new one can be kept.
fn working_set_wanted(snapshot: &snap::Snapshot) -> bool {
    match working_set::check(snapshot) {
        Ok(Some(summary)) => {
            tracing::debug!(
                read_pages = summary.read_pages,
                written_pages = summary.written_pages,
                "restores fault in the recorded working set"
            );
            false
        }
        Ok(None) => true,
        Err(err) => {
            tracing::warn!(
                err = %snap::chain(&err),
                "ignoring the snapshot's working set; restores take their faults one by one until a new one is recorded"
            );
            if let Err(err) = snapshot.forget_working_set() {
                tracing::debug!(err = %snap::chain(&err), "cannot remove the working set");
            }
            true
        }
    }
}

/// How a restored instance starts, with `extra` (`SNAP_RESTORE_FROM`, and
/// for one started ahead `SNAP_RESTORE_GATE`) added to the function's
/// environment.
fn restore_start<'a>(plan: &SnapshotPlan, extra: &'a [(&'a str, OsString)]) -> ProcessStart<'a> {
    ProcessStart {
        snapstart: SnapStart::Restored,
        initialization_type: "snap-start",
        extra_env: extra,
        fixed_layout: true,
        limit: Some(plan.restore_timeout),
        timeout_type: ErrorType::RestoreHookUserTimeout,
    }
}

/// A restore started ahead: the bootstrap exec'd with `SNAP_RESTORE_FROM`
/// and `SNAP_RESTORE_GATE=stdin`, prepared up to the restorer's plan and
/// waiting for a byte on its standard input. Dropping it kills it.
#[derive(Debug)]
struct Spare {
    starting: Starting,
    gate: std::io::PipeWriter,
}

impl Spare {
    fn start(plan: &SnapshotPlan) -> Result<Self, StartError> {
        let (gate_in, gate) =
            std::io::pipe().map_err(snap::OsError::during("make a restore gate"))?;
        let extra = [
            (snap::RESTORE_ENV, OsString::from(&plan.dir)),
            (snap::RESTORE_GATE_ENV, OsString::from(snap::GATE_STDIN)),
        ];
        let starting = Starting::spawn(&plan.spec, &restore_start(plan, &extra), gate_in.into())?;
        Ok(Self { starting, gate })
    }

    /// Opens the gate and waits until the restored bootstrap asks for its
    /// first event.
    async fn open(mut self, plan: &SnapshotPlan) -> Result<Instance, StartError> {
        self.starting.restart_clock();
        // A spare that died waiting cannot read it; its exit is then the
        // restore's error, which `ready` reports.
        let _ = self.gate.write_all(b"\n");
        self.starting
            .ready(&plan.spec, &restore_start(plan, &[]))
            .await
    }
}

/// Runs the bootstrap until it checkpoints itself and exits.
async fn make(plan: &SnapshotPlan) -> Result<(), StartError> {
    let spec = &plan.spec;
    let started = Instant::now();
    // Where snapshot_point reports a failed before-checkpoint hook.
    let init_error = InitErrorFile::beside(&plan.dir);
    let mut command = tokio::process::Command::new(&spec.bootstrap);
    command
        .args(&spec.args)
        .env_clear()
        // No Runtime API exists yet: the snapshot is taken before the first call.
        .envs(spec.environment("127.0.0.1:1", "snap-start"))
        .env(snap::lambda::SNAPSHOT_ENV, &plan.dir)
        .env(snap::lambda::INIT_ERROR_ENV, &init_error.0)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    crate::child::configure(&mut command, true);
    let child = command.spawn().map_err(|cause| StartError::Spawn {
        bootstrap: spec.bootstrap.display().to_string(),
        cause,
    })?;
    // Killed with its process group if this is dropped (snaprun stops).
    let mut child = GroupChild::new(child);
    let status = match tokio::time::timeout(spec.init_timeout, child.child.wait()).await {
        Ok(status) => status.map_err(|cause| StartError::Spawn {
            bootstrap: spec.bootstrap.display().to_string(),
            cause,
        })?,
        Err(_) => {
            child.kill().await;
            let err = StartError::Timeout {
                limit: spec.init_timeout,
                error_type: ErrorType::InitTimeout,
            };
            report::init(started.elapsed(), Some(&err.to_error_body()));
            return Err(err);
        }
    };
    if let Some(body) = init_error.read() {
        report::init(started.elapsed(), Some(&body));
        return Err(StartError::Init(body));
    }
    if !status.success() || !plan.dir.join(snap::snapshot::MANIFEST_FILE).is_file() {
        let body = ErrorBody::new(
            ErrorType::ExitError,
            format!(
                "the bootstrap exited ({status}) without writing a native snapshot; does it call snap::lambda::snapshot_point()?"
            ),
        );
        report::init(started.elapsed(), Some(&body));
        return Err(StartError::Init(body));
    }
    report::init(started.elapsed(), None);
    eprintln!("snaprun: native snapshot written to {}", plan.dir.display());
    Ok(())
}

/// A file for the bootstrap's init error, removed when dropped. It sits
/// beside the snapshot directory (`DIR.init-error.json`) rather than in the
/// system temp directory wherever it can: if snaprun is killed before it can
/// remove it, the next snapshot of the same function replaces it, and a
/// snapshot directory in a test's temporary directory takes it along.
struct InitErrorFile(PathBuf);

impl InitErrorFile {
    fn beside(dir: &Path) -> Self {
        let mut name = dir.file_name().unwrap_or_default().to_os_string();
        name.push(".init-error.json");
        let path = dir.with_file_name(name);
        // Left by a snaprun killed mid-snapshot: it is not this run's error.
        let _ = std::fs::remove_file(&path);
        // The bootstrap creates the file, not its directory. Where the
        // directory cannot be (its parent is a file, or read-only), the
        // snapshot will fail too, and its error must still get through: then
        // the file goes in the system temp directory.
        match path.parent().map(std::fs::create_dir_all) {
            Some(Ok(())) => Self(path),
            _ => {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Self(std::env::temp_dir().join(format!(
                    "snaprun-init-error-{}-{n}.json",
                    std::process::id()
                )))
            }
        }
    }

    /// The error the bootstrap wrote, if it wrote one.
    ///
    /// Only a regular file of this user's, reached without a link, counts:
    /// one planted at the path by someone else is not the bootstrap's.
    fn read(&self) -> Option<ErrorBody> {
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let file = std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&self.0)
            .ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() {
            tracing::warn!(path = %self.0.display(), "ignoring an init error file that is not this user's own");
            return None;
        }
        let mut body = Vec::new();
        file.take(crate::runtime::MAX_PAYLOAD as u64)
            .read_to_end(&mut body)
            .ok()?;
        Some(ErrorBody::from_posted(&body, None))
    }
}

impl Drop for InitErrorFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
