//! The flags that name a snapshot store and this machine's chunk cache,
//! shared by `run`, `bench`, `checkpoint`, `push` and `pull`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use snaprun::store::{ChunkCache, SnapshotStore, StoreUrl};

/// Where snapshots are shared between machines.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StoreArgs {
    /// Share snapshots through this S3-compatible store. With no valid
    /// local snapshot, the store's snapshot of the same function is pulled
    /// instead of running init; a snapshot made here is pushed. The
    /// endpoint, region and credentials come from AWS_ENDPOINT_URL,
    /// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    /// AWS_SESSION_TOKEN.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub(crate) store: Option<StoreUrl>,
    /// This machine's cache of the store's chunks [default:
    /// ~/.cache/snaprun/chunks, or under $XDG_CACHE_HOME].
    #[arg(long, value_name = "DIR")]
    chunk_cache: Option<PathBuf>,
    /// The chunk cache's budget in MiB: past it, the least recently used
    /// chunks are evicted.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    cache_mib: u64,
}

impl StoreArgs {
    /// The store, if `--store` was given.
    pub(crate) fn connect(&self) -> anyhow::Result<Option<Arc<SnapshotStore>>> {
        Ok(self.open()?.map(Arc::new))
    }

    fn open(&self) -> anyhow::Result<Option<SnapshotStore>> {
        let Some(url) = &self.store else {
            return Ok(None);
        };
        let dir = match &self.chunk_cache {
            Some(dir) => dir.clone(),
            None => snaprun::snapshot_home::chunk_cache_home()
                .context("the default chunk cache (give --chunk-cache instead)")?,
        };
        let cache = ChunkCache::open(&dir, self.cache_mib.saturating_mul(1 << 20))
            .with_context(|| format!("cannot open the chunk cache {}", dir.display()))?;
        Ok(Some(SnapshotStore::connect(url.clone(), cache)?))
    }

    /// The store, which this command needs, with a progress bar on stderr
    /// (hidden, by indicatif, when stderr is not a terminal).
    pub(crate) fn require(&self, command: &str) -> anyhow::Result<Arc<SnapshotStore>> {
        let store = self
            .open()?
            .with_context(|| format!("snaprun {command} needs --store s3://BUCKET/PREFIX"))?;
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{command} chunks"));
        Ok(Arc::new(store.with_progress(bar)))
    }
}
