//! `snaprun checkpoint`: dump a running process tree into a snapshot.

use std::path::PathBuf;

use anyhow::Context;
use snap::Engine;
use snap::criu::{CheckpointOptions, CriuEngine};

/// Checkpoint a running process tree into a snapshot, with CRIU.
///
/// The snapshot is built in a temporary sibling of DIR and renamed into place
/// only once complete, so an interrupted checkpoint never leaves a snapshot
/// that opens. DIR may be absent, empty or an older snapshot, which is
/// replaced. Unless --leave-running is given, the tree is killed after the
/// dump, as CRIU does. Needs root.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The root of the tree to checkpoint (for a tree from `snaprun spawn`,
    /// the pid it printed).
    #[arg(long)]
    pid: i32,
    /// Where to write the snapshot.
    #[arg(long, value_name = "DIR")]
    snapshot_dir: PathBuf,
    /// Keep the tree running after the dump.
    #[arg(long)]
    leave_running: bool,
    /// With --store, the snapshot is also pushed there, and its key printed.
    #[command(flatten)]
    store: super::store_args::StoreArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let engine = CriuEngine::locate()?;
    let store = args.store.connect()?;
    let options = CheckpointOptions {
        leave_running: args.leave_running,
        identity: None,
        annotations: Vec::new(),
        essential: Vec::new(),
    };
    let snapshot = engine
        .checkpoint(&args.pid, &args.snapshot_dir, &options)
        .with_context(|| format!("checkpoint of pid {} failed", args.pid))?;
    let manifest = snapshot.manifest();
    let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
    let mut out = format!(
        "{}: {} files, {} bytes\n",
        snapshot.dir().display(),
        manifest.files.len(),
        bytes
    );
    if let Some(store) = store {
        let key = snaprun::store::key_of(manifest);
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        let pushed = runtime
            .block_on(store.push(&snapshot, &key, true))
            .context("the snapshot was written, and cannot be pushed")?;
        eprintln!(
            "snaprun: pushed to {}: {}",
            store.url(),
            pushed.stats.summary()
        );
        out.push_str(&format!("{key}\n"));
    }
    super::output::print(&out)
}
