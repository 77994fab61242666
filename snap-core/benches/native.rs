//! Native engine restore-to-ready time for processes with 10 MB, 100 MB and
//! 1 GB of heap. A restore maps the image lazily, so it should barely grow
//! with the heap. `cargo bench -p snap-core --bench native`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const PROBE: &str = env!("CARGO_BIN_EXE_snap-native-probe");

/// Starts the probe as a restore, with the fixed layout already set (as
/// snaprun does), and waits until it reports ready and exits.
fn restore(dir: &Path) -> Duration {
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

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("native/restore-to-ready");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for (label, entries) in [
        ("10MB", 120_000u64),
        ("100MB", 1_200_000),
        ("1GB", 12_000_000),
    ] {
        let dir = tmp.path().join(label);
        let out = Command::new(PROBE)
            .arg(&dir)
            .arg(entries.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let image = std::fs::metadata(dir.join("payload/memory.img"))
            .unwrap()
            .len();
        // Past the verification cache's 100 ms rule, as a snapshot restored
        // in production would be.
        std::thread::sleep(Duration::from_millis(200));
        restore(&dir);
        let mut samples = Vec::new();
        group.bench_with_input(BenchmarkId::from_parameter(label), &dir, |b, dir| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let took = restore(dir);
                        samples.push(took);
                        took
                    })
                    .sum()
            });
        });
        samples.sort();
        println!(
            "native/restore-to-ready/{label}: image {:.0} MB, median {:?} over {} restores",
            image as f64 / 1e6,
            samples[samples.len() / 2],
            samples.len()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
