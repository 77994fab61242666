//! Checkpoint time, snapshot size and restore-to-ready time against heap
//! size (10 MB, 100 MB, 1 GB), per engine: the native engine (no root) and
//! CRIU through `snap::checkpoint`'s CRIU engine (root and CRIU; left out,
//! with the reason, without them). A native restore maps the image lazily,
//! so it should barely grow with the heap; CRIU copies every page.
//!
//! `cargo bench -p snap-core --bench heap` (about 3 minutes here);
//! `cargo bench -p snap-core --bench heap -- native` for the native engine
//! alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use snap::criu::{CriuEngine, RestoreOptions};

const PROBE: &str = env!("CARGO_BIN_EXE_snap-native-probe");

/// The heaps: a label and the probe's map entries (about 85 bytes each).
const HEAPS: [(&str, u64); 3] = [("10MB", 120_000), ("100MB", 1_200_000), ("1GB", 12_000_000)];

#[derive(Clone, Copy, PartialEq)]
enum Engine {
    Native,
    Criu,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Criu => "criu",
        }
    }
}

/// The engines that run here.
fn engines() -> Vec<Engine> {
    let mut engines = vec![Engine::Native];
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    match CriuEngine::locate() {
        Ok(_) if root => engines.push(Engine::Criu),
        Ok(_) => eprintln!("heap: leaving out criu (it needs root)"),
        Err(err) => eprintln!("heap: leaving out criu ({err})"),
    }
    engines
}

/// Runs the probe with a heap of `entries` until it has checkpointed
/// itself into `dir`; returns how long `snap::checkpoint` took, as the
/// probe reports it (`checkpoint_ms`).
fn checkpoint(engine: Engine, dir: &Path, entries: u64) -> Duration {
    let mut cmd = Command::new(PROBE);
    cmd.arg(dir).arg(entries.to_string()).stdin(Stdio::null());
    if engine == Engine::Criu {
        cmd.arg("--criu");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let ms: f64 = line
        .split("\"checkpoint_ms\":")
        .nth(1)
        .and_then(|rest| rest.trim_end().trim_end_matches('}').parse().ok())
        .unwrap_or_else(|| panic!("no checkpoint_ms in {line}"));
    Duration::from_secs_f64(ms / 1000.0)
}

/// Restores `dir` and waits until the restored probe says it is ready.
fn restore(engine: Engine, dir: &Path) -> Duration {
    match engine {
        Engine::Native => {
            let mut cmd = Command::new(PROBE);
            cmd.env("SNAP_RESTORE_FROM", dir)
                .env("SNAP_PROBE_QUICK", "1")
                .stdout(Stdio::null());
            // SAFETY: set_fixed_layout is async-signal-safe.
            unsafe {
                cmd.pre_exec(snap::set_fixed_layout);
            }
            let started = Instant::now();
            let status = cmd.status().unwrap();
            let took = started.elapsed();
            assert!(status.success(), "restore failed");
            took
        }
        Engine::Criu => {
            let (reader, writer) = std::io::pipe().unwrap();
            let mut options = RestoreOptions::default();
            options.stdio[1] = Some(writer.into());
            let started = Instant::now();
            let mut tree = snap::criu::restore_self(
                dir,
                options,
                vec!["probe".into()],
                vec![("SNAP_PROBE_QUICK".into(), "1".into())],
            )
            .unwrap();
            let mut line = String::new();
            BufReader::new(reader).read_line(&mut line).unwrap();
            let took = started.elapsed();
            assert!(line.contains("\"restored\""), "{line}");
            let _ = tree.wait();
            took
        }
    }
}

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("payload"))
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    for engine in engines() {
        let mut group = c.benchmark_group(format!("{}/restore-to-ready", engine.name()));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .measurement_time(Duration::from_secs(5));
        for (label, entries) in HEAPS {
            let dir = tmp.path().join(format!("{}-{label}", engine.name()));
            let checkpointed = checkpoint(engine, &dir, entries);
            let image = size_of(&dir);
            // Past the verification cache's 100 ms rule, as a snapshot
            // restored in production would be.
            std::thread::sleep(Duration::from_millis(200));
            restore(engine, &dir);
            let mut samples = Vec::new();
            group.bench_with_input(BenchmarkId::from_parameter(label), &dir, |b, dir| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let took = restore(engine, dir);
                            samples.push(took);
                            took
                        })
                        .sum()
                });
            });
            println!(
                "{}/{label}: snapshot {:.0} MB, checkpoint {:?}, restore-to-ready median {:?} over {} restores",
                engine.name(),
                image as f64 / 1e6,
                checkpointed,
                median(samples.clone()),
                samples.len()
            );
            std::fs::remove_dir_all(&dir).unwrap();
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
