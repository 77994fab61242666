//! `@snap/hooks` (snap-hooks/js) under `snaprun run --engine criu`: restored
//! Node instances share no randomness (and do without the built-ins, which
//! proves the test can fail), a client rebuilt after restore reaches a server
//! that restarted in between, and hook order, failures and timeouts end in
//! the Runtime API error types the node-s3 runtime posts.
//!
//! The function is `tests/fixtures/node-hooks`, run by the node-s3 demo's
//! runtime (`LAMBDA_TASK_ROOT` points at the fixture).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use common::{Moto, RunningFunction, criu_engine, json};
use serde_json::Value;

const SOURCES: &[&str] = &[
    "randomBytes",
    "randomFillSync",
    "getRandomValues",
    "webcryptoGetRandomValues",
    "globalCryptoGetRandomValues",
    "randomUUID",
    "webcryptoRandomUUID",
    "mathRandom",
    "randomInt",
    "x25519PublicKey",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The demo's bootstrap and the fixture directory, or `None` to skip. Fails
/// instead when `SNAP_REQUIRE_CRIU=1` (scripts/test.sh), and when CRIU is
/// unusable.
fn prerequisites() -> Option<(PathBuf, PathBuf)> {
    criu_engine()?;
    let demo = root().join("demo-functions/node-s3");
    let fixture = root().join("tests/fixtures/node-hooks");
    let engine = root().join("snap-hooks/js/native/build/snap_getrandom_engine.so");
    let problem = if !demo.join("node_modules/@snap/hooks").exists() {
        format!("{} has no node_modules: run `npm ci` there", demo.display())
    } else if !fixture.join("node_modules/@snap/hooks").exists() {
        format!(
            "{} has no node_modules: run `npm ci` there",
            fixture.display()
        )
    } else if !engine.is_file() {
        format!(
            "{} is not built: run snap-hooks/js/native/build.sh",
            engine.display()
        )
    } else {
        return Some((demo.join("bootstrap"), fixture));
    };
    if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") {
        panic!("{problem}");
    }
    eprintln!("SKIPPED: {problem} (scripts/test.sh prepares it)");
    None
}

/// `snaprun run --engine criu` of the fixture with `env` (`K=V`) added.
fn start_fixture(snapshot: &Path, concurrency: usize, env: &[&str]) -> Option<RunningFunction> {
    let (bootstrap, fixture) = prerequisites()?;
    let task_root = format!("LAMBDA_TASK_ROOT={}", fixture.display());
    let concurrency = concurrency.to_string();
    let mut args = vec![
        "--concurrency",
        &concurrency,
        "--handler",
        "index.handler",
        "--env",
        &task_root,
    ];
    for kv in env {
        args.extend(["--env", kv]);
    }
    Some(RunningFunction::with_snapshot(
        "criu", snapshot, &args, &bootstrap,
    ))
}

/// One sample per instance, by instance.
fn samples_of_eight_instances(run: &RunningFunction) -> BTreeMap<String, Value> {
    run.answers_of_eight_instances()
        .into_iter()
        .map(|(instance, answer)| (instance, answer["sample"].clone()))
        .collect()
}

/// For each source, how many distinct values the instances reported.
fn distinct_per_source(samples: &BTreeMap<String, Value>) -> BTreeMap<&'static str, usize> {
    SOURCES
        .iter()
        .map(|&source| {
            let values: HashSet<String> = samples
                .values()
                .map(|s| {
                    let v = s[source]
                        .as_str()
                        .unwrap_or_else(|| panic!("{source}: {s}"));
                    assert!(!v.is_empty(), "{source}: {s}");
                    v.to_owned()
                })
                .collect();
            (source, values.len())
        })
        .collect()
}

#[test]
fn eight_restored_instances_share_no_random_value() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(run) = start_fixture(&tmp.path().join("snap"), 8, &[]) else {
        return;
    };
    let samples = samples_of_eight_instances(&run);
    let distinct = distinct_per_source(&samples);
    assert!(
        distinct.values().all(|&n| n == 8),
        "every source distinct in all 8 instances: {distinct:#?}\n{samples:#?}"
    );
    // No value repeats across sources and instances either (16 random bytes).
    let all: Vec<String> = samples
        .values()
        .flat_map(|s| SOURCES.iter().map(move |k| s[*k].to_string()))
        .collect();
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    let logs = run.logs();
    assert!(
        logs.iter().any(|l| l.contains(
            "after-restore hooks [snap.openssl-rand, snap.crypto-caches, snap.math-random, order-b, order-a, order-c]"
        )),
        "the built-ins ran first, by name: {logs:#?}"
    );
}

#[test]
fn without_the_built_ins_restored_instances_repeat_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(run) = start_fixture(&tmp.path().join("snap"), 8, &["SNAP_HOOKS_BUILTINS=0"]) else {
        return;
    };
    let samples = samples_of_eight_instances(&run);
    let distinct = distinct_per_source(&samples);
    // This is what the built-ins fix: every source repeats across copies.
    assert!(
        distinct.values().all(|&n| n < 8),
        "every source has duplicates without the built-ins: {distinct:#?}"
    );
    let logs = run.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("after-restore hooks [order-b, order-a, order-c]")),
        "{logs:#?}"
    );
}

#[test]
fn hooks_run_by_priority_then_fifo_after_restore_and_in_reverse_before_the_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(run) = start_fixture(&tmp.path().join("snap"), 1, &[]) else {
        return;
    };
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
    assert_eq!(
        json(&body)["events"],
        serde_json::json!([
            "before:order-c",
            "before:order-a",
            "before:order-b",
            "after:order-b",
            "after:order-a",
            "after:order-c"
        ])
    );
    let logs = run.logs();
    assert!(
        logs.iter().any(|l| l.contains(
            "before-checkpoint hooks [order-c, order-a, order-b, snap.keep-alive-sockets, snap.openssl-rand]"
        )),
        "{logs:#?}"
    );
}

/// Starts the fixture with `FIXTURE_HOOKS=mode`, invokes it once and returns
/// the error it answered with, whether a snapshot exists, and the logs once
/// snaprun has printed the failure.
fn failing(mode: &str) -> Option<(Value, bool, Vec<String>)> {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let env = format!("FIXTURE_HOOKS={mode}");
    let run = start_fixture(&snapshot, 1, &[&env])?;
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, true), "{mode}: {body}");
    let printed = if mode.ends_with("-before") {
        "snaprun: init failed: "
    } else {
        "snaprun: restore failed: "
    };
    let logs = run.wait_for_log(printed, 1);
    Some((json(&body), snapshot.exists(), logs))
}

#[test]
fn a_failing_before_checkpoint_hook_undoes_the_completed_ones_and_posts_before_snapshot_error() {
    let Some((error, snapshot_exists, logs)) = failing("fail-before") else {
        return;
    };
    assert_eq!(error["errorType"], "Runtime.BeforeSnapshotError", "{error}");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.contains(
            "beforeCheckpoint hook \"fixture-fails-before\" failed: before-checkpoint failure requested"
        ),
        "{message}"
    );
    assert!(!snapshot_exists, "no snapshot after a failed before-hook");
    // order-c and order-a completed before it (order-b did not run); their
    // after-restore hooks ran, in after-restore order.
    let position = |needle: &str| logs.iter().position(|l| l.contains(needle));
    let (a, c) = (
        position("fixture: after_restore order-a").expect("order-a undone"),
        position("fixture: after_restore order-c").expect("order-c undone"),
    );
    assert!(a < c, "{logs:#?}");
    assert!(position("fixture: before_checkpoint order-b").is_none());
    assert!(position("fixture: after_restore order-b").is_none());
    assert!(
        logs.iter().any(|l| l.starts_with("INIT_REPORT")
            && l.contains("Status: error")
            && l.contains("Error Type: Runtime.BeforeSnapshotError")),
        "{logs:#?}"
    );
}

#[test]
fn a_hanging_before_checkpoint_hook_times_out_as_before_snapshot_error() {
    let Some((error, snapshot_exists, _)) = failing("hang-before") else {
        return;
    };
    assert_eq!(error["errorType"], "Runtime.BeforeSnapshotError", "{error}");
    assert!(
        error["errorMessage"].as_str().unwrap().contains(
            "beforeCheckpoint hook \"fixture-hangs-before\" timed out: did not finish within 300 ms"
        ),
        "{error}"
    );
    assert!(!snapshot_exists);
}

#[test]
fn a_failing_after_restore_hook_discards_the_instance_with_after_restore_error() {
    let Some((error, _, logs)) = failing("fail-after") else {
        return;
    };
    assert_eq!(error["errorType"], "Runtime.AfterRestoreError", "{error}");
    assert!(
        error["errorMessage"].as_str().unwrap().contains(
            "afterRestore hook \"fixture-fails-after\" failed: after-restore failure requested"
        ),
        "{error}"
    );
    assert!(
        logs.iter().any(|l| l.contains(
            "snaprun: restore failed: Runtime.AfterRestoreError: afterRestore hook \"fixture-fails-after\""
        )),
        "{logs:#?}"
    );
}

#[test]
fn a_hanging_after_restore_hook_times_out_as_restore_hook_user_timeout() {
    let Some((error, _, logs)) = failing("hang-after") else {
        return;
    };
    assert_eq!(
        error["errorType"], "Runtime.RestoreHookUserTimeout",
        "{error}"
    );
    assert!(
        error["errorMessage"].as_str().unwrap().contains(
            "afterRestore hook \"fixture-hangs-after\" timed out: did not finish within 300 ms"
        ),
        "the hook's own timeout, not snaprun's restore limit: {error}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("snaprun: restore failed: Runtime.RestoreHookUserTimeout")),
        "{logs:#?}"
    );
}

// ---------------------------------------------------------------------------
// Reconnection: the node-s3 demo against a moto_server that restarts between
// the checkpoint and the restore.

const TEXT: &str = "hello from a restarted S3-compatible server\n";

#[test]
fn node_s3_reaches_a_server_that_restarted_between_checkpoint_and_restore() {
    let Some((bootstrap, _)) = prerequisites() else {
        return;
    };
    let moto = Moto::start(TEXT);
    let port = moto.port;
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let endpoint = format!("S3_ENDPOINT=http://127.0.0.1:{port}");
    let forward = format!("127.0.0.1:{port}");
    let args = [
        "--engine",
        "criu",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--forward",
        &forward,
        "--env",
        &endpoint,
        "--env",
        "AWS_ACCESS_KEY_ID=test",
        "--env",
        "AWS_SECRET_ACCESS_KEY=test",
        // Init talks to the server for real, so the client holds a
        // keep-alive connection to it at snapshot time, and the SDK does not
        // retry: a stale connection would fail the first request.
        "--env",
        "NODE_S3_PRIME=network",
        "--env",
        "AWS_MAX_ATTEMPTS=1",
        "--",
        bootstrap.to_str().unwrap(),
    ];
    {
        let run = RunningFunction::start(&args);
        run.wait_for_log("snapshot written to", 1);
    }
    drop(moto);
    let _moto = Moto::start_on(port, TEXT);
    let run = RunningFunction::start(&args);
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
    let v = json(&body);
    assert_eq!(v["body"], TEXT, "{body}");
    assert_eq!(
        v["hooks"],
        serde_json::json!(["before_checkpoint", "after_restore"])
    );
    let logs = run.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("restoring from the snapshot in")),
        "restored, not a new init: {logs:#?}"
    );
}
