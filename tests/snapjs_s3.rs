//! The js-s3 demo (`@aws-sdk/client-s3`, bundled by esbuild) under snapjs
//! against moto: restored from a native snapshot and cold, 100 sequential
//! invocations and 200 concurrent ones on 4 instances, none lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{Moto, RunningFunction, json, snapjs, snapjs_bundle};

const TEXT: &str = "hello from moto, read by snapjs\n";

fn serve_and_count(engine: &str) {
    let Some(bundle) = snapjs_bundle("js-s3") else {
        return;
    };
    let moto = Moto::start(TEXT);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let snapjs = snapjs();
    let env = moto.function_env();
    let mut args = vec![
        "--engine",
        engine,
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--concurrency",
        "4",
        "--handler",
        "index.handler",
    ];
    args.extend(env.iter().map(String::as_str));
    args.extend(["--", snapjs.to_str().unwrap(), bundle.to_str().unwrap()]);
    let run = RunningFunction::start(&args);
    let mut request_ids = HashSet::new();
    for _ in 0..100 {
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "{body}");
        let v = json(&body);
        assert_eq!(v["body"], TEXT, "{body}");
        assert!(request_ids.insert(v["requestId"].as_str().unwrap().to_owned()));
    }
    let answers = run.invoke_concurrently(4, 50, |_| "{}".to_owned());
    assert_eq!(answers.len(), 200);
    for (_, v) in &answers {
        assert_eq!(v["body"], TEXT, "{v}");
        assert!(request_ids.insert(v["requestId"].as_str().unwrap().to_owned()));
    }
    assert_eq!(request_ids.len(), 300, "every invocation answered once");
    let logs = run.wait_for_log("REPORT RequestId:", 300);
    if engine == "native" {
        // Warmed at init, then restored: the hooks ran on both sides.
        let (_, v) = &answers[0];
        assert_eq!(
            v["hooks"],
            serde_json::json!(["before_checkpoint", "after_restore"])
        );
        assert!(
            logs.iter().any(|l| l.contains("Restore Duration:")),
            "{logs:#?}"
        );
    }
}

#[test]
fn js_s3_restored_serves_300_invocations_against_moto() {
    serve_and_count("native");
}

#[test]
fn js_s3_cold_serves_300_invocations_against_moto() {
    serve_and_count("none");
}
