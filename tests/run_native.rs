//! `snaprun run --engine native` with the rust-heavy-init demo: the bootstrap
//! links snap, snapshots itself at its snapshot point, and every instance is
//! a lazy restore. No root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{RunningFunction, json, run_snaprun, rust_heavy_init, rust_hello};

#[test]
fn restored_native_instances_serve_traffic() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    // --engine auto would time cold starts against restores (run_auto.rs).
    let run = RunningFunction::start(&[
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--concurrency",
        "2",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    for i in 1..=50u64 {
        let (status, failed, body) = run.invoke(format!("{{\"nth\":{i}}}").as_bytes());
        assert_eq!((status, failed), (200, false), "{body}");
        let v = json(&body);
        assert_eq!(v["generation"], 1, "a restored instance: {body}");
        assert_eq!(v["primes"], 2_433_654);
        if i == 5 {
            assert_eq!(v["nth_prime"], 11);
        }
    }
    let answers = run.invoke_concurrently(4, 25, |_| "{\"nth\":100000}".to_owned());
    assert!(answers.iter().all(|(_, v)| v["nth_prime"] == 1_299_709));
    let pids: HashSet<u64> = answers
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "both instances served: {pids:?}");
    // snap-hooks' built-in renewed the id drawn at init in each restore.
    let ids: HashSet<&str> = answers
        .iter()
        .map(|(_, v)| v["instance_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "one instance id per restored instance: {ids:?}"
    );
    let logs = run.wait_for_log("REPORT RequestId:", 150);
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("INIT_REPORT")).count(),
        1,
        "{logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("native snapshot written"))
            .count(),
        1
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("\tRestore Duration: "))
            .count(),
        2,
        "{logs:#?}"
    );
}

#[test]
fn native_is_refused_for_a_bootstrap_that_does_not_link_snap() {
    let bootstrap = rust_hello();
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--engine",
        "native",
        "--listen",
        "127.0.0.1:0",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("does not link snap's native engine"),
        "{stderr}"
    );
}

#[test]
fn bench_with_the_native_engine() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "native",
        "--runs",
        "3",
        "--json",
        "--snapshot-dir",
        tmp.path().join("snap").to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let v = json(&stdout);
    assert_eq!(v["engine"], "native");
    assert!(v["restore_ms"]["median"].as_f64().unwrap() > 0.0);
    assert!(v["cold_over_restore"].as_f64().is_some());
}

#[test]
fn hook_failures_reach_snaprun_with_their_runtime_error_types() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let start = |dir: &str, knob: &str| {
        RunningFunction::with_snapshot(
            "native",
            &tmp.path().join(dir),
            &["--env", knob],
            &bootstrap,
        )
    };

    // Before the snapshot: no snapshot, Runtime.BeforeSnapshotError.
    let run = start("before", "RUST_HEAVY_INIT_FAIL_BEFORE_SNAPSHOT=1");
    let message = run.invoke_failing(b"{\"nth\":1}", "Runtime.BeforeSnapshotError");
    assert!(
        message.contains("before-checkpoint hook \"flush-index\" failed: failed on request"),
        "{message}"
    );
    assert!(!tmp.path().join("before").exists());
    // The error came through a file beside the snapshot directory (never in
    // the system temp directory), gone once snaprun has read it.
    assert!(!tmp.path().join("before.init-error.json").exists());
    drop(run);

    // After the restore: the instance is discarded, Runtime.AfterRestoreError.
    let run = start("after", "RUST_HEAVY_INIT_FAIL_AFTER_RESTORE=1");
    let message = run.invoke_failing(b"{\"nth\":1}", "Runtime.AfterRestoreError");
    assert!(
        message.contains("after-restore hook \"reopen-index\" failed: failed on request"),
        "{message}"
    );
    assert!(
        tmp.path().join("after").exists(),
        "the snapshot itself is fine"
    );
}

#[test]
fn a_snapshot_that_cannot_be_written_fails_init_with_its_cause() {
    let tmp = tempfile::tempdir().unwrap();
    // The snapshot directory's parent is a regular file.
    let file = tmp.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let run = RunningFunction::with_snapshot("native", &file.join("snap"), &[], &rust_heavy_init());
    let message = run.invoke_failing(b"{\"nth\":1}", "Runtime.InitError");
    assert!(
        message.contains("cannot make the native snapshot") && message.contains("Not a directory"),
        "the cause leads, not a guess: {message}"
    );
}
