//! The node-s3 demo (Node 20, `@aws-sdk/client-s3`) under `snaprun run
//! --engine none`, reading a real object from a real S3-compatible server
//! (`moto_server`) on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{Moto, RunningFunction};
use serde_json::Value;

const TEXT: &str = "hello from a real S3-compatible server\n";

fn prerequisites() -> Option<PathBuf> {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-functions/node-s3");
    let missing = if !demo.join("node_modules/@aws-sdk/client-s3").is_dir() {
        Some(format!(
            "{} has no node_modules: run `npm ci` there",
            demo.display()
        ))
    } else {
        common::moto_missing()
    };
    match missing {
        None => Some(demo),
        Some(problem) if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") => {
            panic!("{problem}")
        }
        Some(problem) => {
            eprintln!("SKIPPED: {problem} (scripts/test.sh installs it)");
            None
        }
    }
}

#[test]
fn node_s3_reads_the_object_sequentially_and_from_four_instances() {
    let Some(demo) = prerequisites() else { return };
    let moto = Moto::start(TEXT);
    let endpoint = format!("S3_ENDPOINT={}", moto.endpoint);
    let bootstrap = demo.join("bootstrap");
    let run = RunningFunction::start(&[
        "--engine",
        "none",
        "--concurrency",
        "4",
        "--init-timeout",
        "60",
        "--env",
        &endpoint,
        "--env",
        "AWS_ACCESS_KEY_ID=test",
        "--env",
        "AWS_SECRET_ACCESS_KEY=test",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    for i in 0..100 {
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "invocation {i}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["body"], TEXT, "{body}");
        assert_eq!(v["bytes"], TEXT.len());
    }
    let answers = run.invoke_concurrently(8, 25, |_| "{\"sleep_ms\":5}".to_owned());
    assert!(answers.iter().all(|(_, v)| v["body"] == TEXT));
    let pids: Vec<u64> = answers
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 200);
    let distinct: std::collections::HashSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 4, "four instances served: {distinct:?}");

    // A missing object is the handler's error, returned to the invoker.
    let (status, failed, body) = run.invoke(b"{\"key\":\"no-such-key.txt\"}");
    assert_eq!((status, failed), (200, true), "{body}");
}

#[test]
fn node_s3_restored_from_a_criu_snapshot_reaches_s3_through_a_forward() {
    let Some(demo) = prerequisites() else { return };
    if common::criu_engine().is_none() {
        return;
    }
    let moto = Moto::start(TEXT);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let endpoint = format!("S3_ENDPOINT={}", moto.endpoint);
    let forward = moto.endpoint.trim_start_matches("http://").to_owned();
    let bootstrap = demo.join("bootstrap");
    let run = RunningFunction::start(&[
        "--engine",
        "criu",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--forward",
        &forward,
        "--concurrency",
        "4",
        "--env",
        &endpoint,
        "--env",
        "AWS_ACCESS_KEY_ID=test",
        "--env",
        "AWS_SECRET_ACCESS_KEY=test",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    for i in 0..100 {
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "invocation {i}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["body"], TEXT, "{body}");
        assert_eq!(
            v["hooks"],
            serde_json::json!(["before_checkpoint", "after_restore"]),
            "{body}"
        );
    }
    let answers: Vec<Value> = run
        .invoke_concurrently(8, 25, |_| "{}".to_owned())
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(answers.len(), 200);
    assert!(answers.iter().all(|v| v["body"] == TEXT));
    let logs = run.logs();
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("snapshot written to"))
            .count(),
        1,
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("\tRestore Duration: ")),
        "{logs:#?}"
    );
}
