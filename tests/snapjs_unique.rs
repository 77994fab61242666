//! snapjs's random sources after a native restore: 8 instances restored
//! from one snapshot share no value from Math.random, crypto.randomUUID,
//! crypto.getRandomValues, crypto.randomBytes, crypto.randomInt or
//! crypto.subtle.generateKey, and with the reseeding turned off
//! (SNAPJS_RESEED=0) the same test shows the duplicates it prevents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{RunningFunction, snapjs, snapjs_fixtures};

const INSTANCES: u64 = 8;

/// One answer per restored instance (each busy long enough that all 8 are
/// needed), drawn right after its restore.
fn draws(reseed: bool) -> Vec<serde_json::Value> {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let snapjs = snapjs();
    let root = snapjs_fixtures();
    let concurrency = INSTANCES.to_string();
    let mut args = vec![
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--concurrency",
        &concurrency,
        "--handler",
        "basic.handler",
    ];
    if !reseed {
        args.extend(["--env", "SNAPJS_RESEED=0"]);
    }
    args.extend(["--", snapjs.to_str().unwrap(), root.to_str().unwrap()]);
    let run = RunningFunction::start(&args);
    let answers = run.invoke_concurrently(INSTANCES, 1, |_| {
        r#"{"sleep_ms": 1500, "random": true}"#.to_owned()
    });
    let values: Vec<serde_json::Value> = answers.into_iter().map(|(_, v)| v).collect();
    let pids: HashSet<u64> = values.iter().map(|v| v["pid"].as_u64().unwrap()).collect();
    assert_eq!(
        pids.len() as u64,
        INSTANCES,
        "one answer per instance: {values:#?}"
    );
    for v in &values {
        assert_eq!(v["invocations"], 1, "each instance's first invocation: {v}");
        assert!(!v["random"].is_null(), "{v}");
    }
    values
}

fn distinct(values: &[serde_json::Value], source: &str) -> usize {
    values
        .iter()
        .map(|v| v["random"][source].to_string())
        .collect::<HashSet<_>>()
        .len()
}

const RESEEDED: [&str; 5] = ["math", "uuid", "values", "bytes", "int"];

#[test]
fn restored_instances_share_no_random_value_and_do_without_reseeding() {
    let reseeded = draws(true);
    for source in RESEEDED.iter().chain(&["key", "keyPair"]) {
        assert_eq!(
            distinct(&reseeded, source) as u64,
            INSTANCES,
            "{source} repeats across restored instances: {reseeded:#?}"
        );
    }

    let unseeded = draws(false);
    for source in RESEEDED {
        assert_eq!(
            distinct(&unseeded, source),
            1,
            "without reseeding every instance replays the snapshot's {source}: {unseeded:#?}"
        );
    }
    // Key generation goes through OpenSSL, whose DRBGs reseed on a pid
    // change by themselves (every restore is a new process).
    assert_eq!(distinct(&unseeded, "key") as u64, INSTANCES);
    assert_eq!(distinct(&unseeded, "keyPair") as u64, INSTANCES);
}
