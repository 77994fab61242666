//! `snaprun push`: put a snapshot directory into a store.

use std::path::PathBuf;

use anyhow::Context;
use snap::Snapshot;
use snap::snapshot::Expect;

use super::store_args::StoreArgs;

/// Push a snapshot into an S3-compatible store, for other machines to pull.
///
/// Its payload files are cut into 512 KiB chunks, stored zstd-compressed
/// under the sha256 of their bytes: a chunk the store holds already is not
/// uploaded again, and chunks of zeros are recorded, not stored. The
/// snapshot's manifest is written last, and only if the store has none for
/// the same function (bootstrap, arguments, configuration, engine and
/// host), unless --replace. Prints the snapshot's key.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot directory.
    #[arg(value_name = "DIR")]
    snapshot_dir: PathBuf,
    /// Replace the store's snapshot of the same function, if it has one.
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    store: StoreArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let store = args.store.require("push")?;
    let snapshot = Snapshot::open(&args.snapshot_dir, &Expect::default())
        .with_context(|| format!("{} is not a valid snapshot", args.snapshot_dir.display()))?;
    let key = snaprun::store::key_of(snapshot.manifest());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let pushed = runtime.block_on(store.push(&snapshot, &key, args.replace));
    store.clear_progress();
    let pushed = pushed?;
    if pushed.committed {
        eprintln!("snaprun: pushed: {}", pushed.stats.summary());
    } else {
        eprintln!(
            "snaprun: {} already holds a snapshot of this function, which was kept (--replace replaces it); chunks: {}",
            store.url(),
            pushed.stats.summary()
        );
    }
    super::output::print(&format!("{key}\n"))
}
