//! CRIU engine timings for a Node 20 process that has loaded
//! `@aws-sdk/client-s3`: checkpoint, and restore up to the restored copy's
//! first answer. Needs root, CRIU 4.2+ and `npm ci` in tests/fixtures/node-sdk.
//!
//! `cargo bench --bench criu`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Write, pipe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use snap::Engine;
use snap::criu::{CheckpointOptions, CriuEngine, RestoreOptions};
use snap::sandbox::SandboxCommand;

fn fixture() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node-sdk");
    dir.join("node_modules/@aws-sdk/client-s3")
        .is_dir()
        .then_some(dir)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn node_sdk(c: &mut Criterion) {
    let engine = match CriuEngine::locate() {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("criu bench skipped: {err}");
            return;
        }
    };
    let Some(fixture) = fixture() else {
        eprintln!("criu bench skipped: run `npm ci` in tests/fixtures/node-sdk");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();

    // The process under test: Node with the SDK loaded, answering on stdio.
    let (stdin_r, mut stdin_w) = pipe().unwrap();
    let (stdout_r, stdout_w) = pipe().unwrap();
    let mut tree = SandboxCommand::new("node")
        .args([fixture.join("answer.js")])
        .stdin(stdin_r)
        .stdout(stdout_w)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(stdout_r).lines();
    lines.next().unwrap().unwrap(); // ready
    writeln!(stdin_w, "warm").unwrap();
    lines.next().unwrap().unwrap();

    let mut group = c.benchmark_group("criu/node-aws-sdk");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));

    let mut dumps = Vec::new();
    let mut n = 0;
    group.bench_function("checkpoint (leave running)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let dest = tmp.path().join(format!("dump-{n}"));
                let options = CheckpointOptions {
                    leave_running: true,
                    ..Default::default()
                };
                let started = Instant::now();
                engine.checkpoint(&tree.pid(), &dest, &options).unwrap();
                let took = started.elapsed();
                dumps.push(took);
                total += took;
                std::fs::remove_dir_all(&dest).unwrap();
            }
            total
        });
    });

    let snapshot = engine
        .checkpoint(
            &tree.pid(),
            &tmp.path().join("snap"),
            &CheckpointOptions::default(),
        )
        .unwrap();
    tree.wait().unwrap();
    let image_bytes: u64 = snapshot.manifest().files.iter().map(|f| f.size).sum();

    let mut criu_only = Vec::new();
    let mut to_answer = Vec::new();
    group.bench_function("restore to first answer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (stdin_r, mut stdin_w) = pipe().unwrap();
                let (stdout_r, stdout_w) = pipe().unwrap();
                let mut options = RestoreOptions::default();
                options.stdio[0] = Some(stdin_r.into());
                options.stdio[1] = Some(stdout_w.into());
                let started = Instant::now();
                let mut copy = engine.restore(&snapshot, options).unwrap();
                writeln!(stdin_w, "ping").unwrap();
                let mut answer = String::new();
                BufReader::new(stdout_r).read_line(&mut answer).unwrap();
                let took = started.elapsed();
                assert!(answer.contains("\"echo\":\"ping\""), "{answer}");
                criu_only.push(copy.restore_duration());
                to_answer.push(took);
                total += took;
                copy.kill().unwrap();
            }
            total
        });
    });
    group.finish();

    println!(
        "criu/node-aws-sdk: image {:.1} MB; median checkpoint {:?}; median restore {:?} \
         (CRIU call) / {:?} (to first answer); {} restores",
        image_bytes as f64 / 1e6,
        median(dumps),
        median(criu_only.clone()),
        median(to_answer),
        criu_only.len(),
    );
}

criterion_group!(benches, node_sdk);
criterion_main!(benches);
