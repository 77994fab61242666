//! Restore against init, to the first response, per demo function and
//! engine: a cold start (the process, its init and the first invocation)
//! against a restore from the snapshot taken after init (the restore, the
//! after-restore hooks and the first invocation), from a spare and on
//! demand (`snaprun::bench::Prepared`), as `snaprun bench` measures them. The demos must be built (scripts/test.sh builds them);
//! the CRIU engine needs root and CRIU, and is left out, with the reason,
//! without them.
//!
//! `cargo bench --bench restore_vs_init` (about 2 minutes here); the quick
//! subset, about 30 s: `cargo bench --bench restore_vs_init -- rust-heavy-init/restore`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use snap::criu::CriuEngine;
use snaprun::bench::Prepared;
use snaprun::engines::{LazyPages, MapPages, Restorer, SnapshotEngine, SnapshotPlan};
use snaprun::function::FunctionSpec;
use snaprun::runtime::FunctionConfig;
use snaprun::snapshot_lock::SnapshotLock;

/// A demo: its name, bootstrap (relative to the checkout), whether it links
/// the native engine, and its event.
const DEMOS: [(&str, &str, bool, &str); 3] = [
    (
        "rust-hello",
        "demo-functions/rust-hello/target/release/bootstrap",
        false,
        "{}",
    ),
    (
        "rust-heavy-init",
        "demo-functions/rust-heavy-init/target/x86_64-unknown-linux-gnu/release/bootstrap",
        true,
        "{\"nth\":1000}",
    ),
    (
        "rust-data-heavy",
        "demo-functions/rust-data-heavy/target/release/bootstrap",
        false,
        "{}",
    ),
];

fn spec(name: &str, bootstrap: PathBuf) -> FunctionSpec {
    FunctionSpec {
        bootstrap,
        args: Vec::new(),
        env: Vec::new(),
        config: FunctionConfig {
            name: name.into(),
            memory_mb: 128,
            handler: "bootstrap".into(),
            timeout: Duration::from_secs(30),
        },
        init_timeout: Duration::from_secs(130),
    }
}

fn plan(spec: &FunctionSpec, dir: &Path) -> SnapshotPlan {
    SnapshotPlan {
        spec: spec.clone(),
        dir: dir.to_owned(),
        lock: Arc::new(SnapshotLock::acquire(dir).expect("lock the snapshot directory")),
        fresh: true,
        forwards: Vec::new(),
        lazy_pages: LazyPages::Auto,
        map_pages: MapPages::Auto,
        restore_timeout: Duration::from_secs(10),
        reseed: None,
        store: None,
    }
}

/// The snapshot engines that run here for a demo, each with its snapshot
/// made.
fn restorers(
    runtime: &tokio::runtime::Runtime,
    spec: &FunctionSpec,
    native: bool,
    tmp: &Path,
) -> Vec<(&'static str, Arc<Restorer>)> {
    let mut engines = Vec::new();
    match CriuEngine::locate() {
        Ok(criu) if nix::unistd::geteuid().is_root() => {
            engines.push(SnapshotEngine::Criu(criu, plan(spec, &tmp.join("criu"))))
        }
        Ok(_) => eprintln!("{}: leaving out criu (it needs root)", spec.config.name),
        Err(err) => eprintln!("{}: leaving out criu ({err})", spec.config.name),
    }
    if native && snap::NATIVE_SUPPORTED {
        engines.push(SnapshotEngine::Native(plan(spec, &tmp.join("native"))));
    }
    engines
        .into_iter()
        .map(|engine| {
            let name = engine.name();
            let restorer = runtime.block_on(engine.prepare()).unwrap();
            restorer.prepare_next();
            (name, Arc::new(restorer))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    // SAFETY: set before this program starts any thread; the CRIU engine
    // runs snaprun itself as the relay in its snapshots, and this bench is
    // not snaprun.
    unsafe {
        std::env::set_var(
            snaprun::engines::criu::RELAY_ENV,
            env!("CARGO_BIN_EXE_snaprun"),
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Restores started ahead are spawned on it from outside `block_on`.
    let _entered = runtime.enter();
    let tmp = tempfile::tempdir().unwrap();
    for (name, bootstrap, native, event) in DEMOS {
        let bootstrap = root.join(bootstrap);
        if !bootstrap.is_file() {
            eprintln!(
                "{name}: leaving it out: {} is not built (scripts/test.sh builds the demos)",
                bootstrap.display()
            );
            continue;
        }
        let spec = spec(name, bootstrap);
        let payload = Bytes::from_static(event.as_bytes());
        let restorers = restorers(&runtime, &spec, native, &tmp.path().join(name));
        let mut group = c.benchmark_group(name);
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        group.bench_function("cold", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        runtime
                            .block_on(snaprun::bench::cold_start(&spec, &payload))
                            .unwrap()
                            .took
                    })
                    .sum()
            });
        });
        for (engine, restorer) in &restorers {
            for (way, label) in [
                (Prepared::Spare, "spare"),
                (Prepared::OnDemand, "on-demand"),
            ] {
                group.bench_function(format!("restore/{engine}/{label}"), |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| {
                                runtime
                                    .block_on(snaprun::bench::restore_start(
                                        restorer, way, &spec, &payload,
                                    ))
                                    .unwrap()
                                    .took
                            })
                            .sum()
                    });
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
