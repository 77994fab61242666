//! `snaprun pull`: fetch a snapshot from a store into a directory.

use std::path::PathBuf;

use anyhow::Context;

use super::store_args::StoreArgs;

/// Pull a snapshot from an S3-compatible store into a directory.
///
/// Chunks come from this machine's chunk cache when it holds them, and
/// otherwise from the store, 16 at a time, the recorded working set first;
/// each is checked against its sha256 before it is cached or written, and
/// one that does not match is fetched once more, then refused. The result
/// is then opened and checked as any snapshot is. DIR may be absent, empty
/// or an older snapshot, which is replaced.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot's key, as `snaprun push` printed it.
    #[arg(value_name = "KEY")]
    key: String,
    /// Where to write the snapshot.
    #[arg(value_name = "DIR")]
    snapshot_dir: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.key.parse::<snap::Sha256Digest>().is_ok(),
        "{:?} is not a snapshot key: `snaprun push` prints one, 64 hex digits",
        args.key
    );
    let store = args.store.require("pull")?;
    // Not while a snaprun restores from it.
    let _lock = snaprun::snapshot_lock::SnapshotLock::acquire(&args.snapshot_dir)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let pulled = runtime.block_on(store.pull(&args.key, &args.snapshot_dir));
    store.clear_progress();
    let (snapshot, stats) =
        pulled?.with_context(|| format!("{} has no snapshot {}", store.url(), args.key))?;
    eprintln!("snaprun: pulled: {}", stats.summary());
    super::output::print(&format!("{}\n", snapshot.dir().display()))
}
