//! `snaprun demo`: the native engine on a function with a heavy init.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use snaprun::engines::{LazyPages, MapPages, SnapshotEngine, SnapshotPlan};
use snaprun::function::FunctionSpec;
use snaprun::runtime::FunctionConfig;
use snaprun::snapshot_lock::SnapshotLock;

/// The demo's bootstrap, relative to the checkout: its `.cargo/config.toml`
/// names the build target, so cargo puts it under the target's triple.
const DEMO_BOOTSTRAP: &str =
    "demo-functions/rust-heavy-init/target/x86_64-unknown-linux-gnu/release/bootstrap";

/// Snapshot a function with a heavy init and compare cold, restored and warm
/// starts.
///
/// Builds demo-functions/rust-heavy-init (a Lambda function on the official
/// lambda_runtime crate whose init indexes every prime below 40 million) and
/// runs it under the native engine, with no root and no CRIU: cold starts,
/// one snapshot, restores (from a spare, prepared ahead and waiting at its
/// gate, and on demand, with nothing prepared) and invocations, side by
/// side. Prints the table.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Runs of each kind.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let root = repo_root()?;
    let manifest = root.join("demo-functions/rust-heavy-init/Cargo.toml");
    eprintln!("snaprun demo: building {}", manifest.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // From the demo's directory, so that its .cargo/config.toml (a static,
    // non-PIE build) applies.
    let status = Command::new(cargo)
        .args(["build", "--release", "--locked", "--quiet"])
        .current_dir(root.join("demo-functions/rust-heavy-init"))
        .status()
        .context("run cargo to build the demo function")?;
    if !status.success() {
        bail!("building {} failed ({status})", manifest.display());
    }
    let bootstrap = root.join(DEMO_BOOTSTRAP);
    let spec = FunctionSpec {
        bootstrap,
        args: Vec::new(),
        env: Vec::new(),
        config: FunctionConfig {
            name: "rust-heavy-init".into(),
            memory_mb: 128,
            handler: "bootstrap".into(),
            timeout: Duration::from_secs(30),
        },
        init_timeout: Duration::from_secs(130),
    };
    let dir = snaprun::snapshot_home::snapshot_home()
        .context("the demo's snapshot directory")?
        .join("demo-rust-heavy-init");
    let engine = SnapshotEngine::Native(SnapshotPlan {
        spec: spec.clone(),
        lock: Arc::new(SnapshotLock::acquire(&dir)?),
        dir,
        fresh: true,
        forwards: Vec::new(),
        lazy_pages: LazyPages::Off,
        map_pages: MapPages::Off,
        restore_timeout: Duration::from_secs(10),
        reseed: None,
        store: None,
    });
    eprintln!(
        "snaprun demo: {} cold starts, {} restores of rust-heavy-init from a spare and {} on demand, alternating, then {} warm invocations",
        args.runs, args.runs, args.runs, args.runs
    );
    super::bench::measure_and_print(
        vec![super::bench::Bench {
            name: None,
            spec,
            engines: vec![Some(engine)],
        }],
        args.runs as usize,
        0,
        &Bytes::from_static(b"{\"nth\":100000}"),
        &super::bench::Output {
            json: args.json,
            chart: None,
        },
    )
}

/// The checkout this snaprun was built from, or the current directory if it
/// holds the demo.
pub(super) fn repo_root() -> anyhow::Result<PathBuf> {
    let built_from = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for candidate in [built_from, std::env::current_dir().unwrap_or_default()] {
        if candidate
            .join("demo-functions/rust-heavy-init/Cargo.toml")
            .is_file()
        {
            return Ok(candidate);
        }
    }
    bail!(
        "cannot find the demo functions (demo-functions/): run snaprun from the snap checkout it was built from"
    )
}
