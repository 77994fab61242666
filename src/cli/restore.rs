//! `snaprun restore`: start running copies of a snapshot.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::thread;

use anyhow::Context;
use snap::criu::{CriuEngine, RestoreOptions, RestoredTree};
use snap::{Engine, Snapshot};

/// Restore running copies of a snapshot and print one pid per line.
///
/// The snapshot is validated once (every file's size and SHA-256), then all
/// copies are restored at the same time. Either every copy starts or none is
/// left running. The copies keep running after snaprun exits. Stdio that was
/// connected to the outside at checkpoint time is /dev/null, or the log files
/// of --output-dir. Needs root.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot to restore.
    #[arg(long, value_name = "DIR")]
    snapshot_dir: PathBuf,
    /// How many copies to start.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    count: u32,
    /// Send copy K's stdout and stderr to DIR/copy-K.log.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let engine = CriuEngine::locate()?;
    let snapshot = Snapshot::open(&args.snapshot_dir, &CriuEngine::requirements(None))
        .context("cannot restore")?;
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let results: Vec<anyhow::Result<RestoredTree>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..args.count)
            .map(|k| {
                let (engine, snapshot, out) = (&engine, &snapshot, args.output_dir.as_deref());
                scope.spawn(move || restore_one(engine, snapshot, k, out))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("restore thread panicked")))
            })
            .collect()
    });
    let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let mut trees: Vec<RestoredTree> = ok.into_iter().filter_map(Result::ok).collect();
    if let Some(Err(err)) = failed.into_iter().next() {
        for tree in &mut trees {
            let _ = tree.kill();
        }
        return Err(err);
    }
    let mut pids = String::new();
    for tree in trees {
        tracing::info!(pid = tree.pid(), duration = ?tree.restore_duration(), "restored");
        // The copies are meant to outlive this command.
        pids.push_str(&format!("{}\n", tree.detach()));
    }
    super::output::print(&pids)
}

fn restore_one(
    engine: &CriuEngine,
    snapshot: &Snapshot,
    k: u32,
    output_dir: Option<&Path>,
) -> anyhow::Result<RestoredTree> {
    let mut options = RestoreOptions::default();
    if let Some(dir) = output_dir {
        let path = dir.join(format!("copy-{k}.log"));
        let log: OwnedFd = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?
            .into();
        options.stdio[2] = Some(log.try_clone().context("dup log fd")?);
        options.stdio[1] = Some(log);
    }
    Ok(engine.restore(snapshot, options)?)
}
