//! Uniqueness under the CRIU engine: eight instances restored from one
//! snapshot of rust-hello each read every random source the function has
//! (`{"random":true}`). With snap-hooks, no value repeats across instances;
//! without it (`RUST_HELLO_NO_HOOKS=1`) the same test finds the duplicates,
//! which shows the test can fail.
//!
//! rust-hello runs on a current-thread Tokio runtime and draws from
//! `rand::rng()` during init, so the handler's thread RNG is the one whose
//! state is in the snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::{RunningFunction, criu_engine, rust_hello};
use serde_json::Value;

const INSTANCES: usize = 8;

fn start(snapshot: &Path, extra: &[&str]) -> RunningFunction {
    let concurrency = INSTANCES.to_string();
    let mut args = vec!["--concurrency", &concurrency];
    args.extend_from_slice(extra);
    RunningFunction::with_snapshot("criu", snapshot, &args, &rust_hello())
}

/// The first answer of each of the eight restored instances to
/// `{"random":true}`, keyed by the instance's `serving_nonce` (drawn from the
/// kernel at its first invocation, so it names the instance with or without
/// hooks).
///
/// Each round sends eight invocations at once, each held for a while, so
/// every ready instance takes one; an instance still restoring during a
/// round gets its first invocation in the next one.
fn first_answers(run: &RunningFunction) -> (Vec<Value>, Vec<String>) {
    let mut first: HashMap<String, Value> = HashMap::new();
    let mut sent = 0;
    for _round in 0..4 {
        let answers = run.invoke_concurrently(INSTANCES as u64, 1, |_| {
            r#"{"random":true,"sleep_ms":1500}"#.to_owned()
        });
        sent += answers.len();
        for (_, v) in answers {
            if v["invocations"] == 1 {
                let id = v["serving_nonce"].as_str().unwrap().to_owned();
                assert!(
                    first.insert(id.clone(), v).is_none(),
                    "two first invocations in one instance ({id})"
                );
            }
        }
        if first.len() == INSTANCES {
            break;
        }
    }
    assert_eq!(
        first.len(),
        INSTANCES,
        "eight instances, each answering its first invocation"
    );

    let logs = run.wait_for_log("REPORT RequestId:", sent);
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("INIT_REPORT")).count(),
        1,
        "one init: {logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("snapshot written to"))
            .count(),
        1,
        "one snapshot: {logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("\tRestore Duration: "))
            .count(),
        INSTANCES,
        "eight restored starts: {logs:#?}"
    );
    let answers: Vec<Value> = first.into_values().collect();
    let init_nonces: HashSet<&Value> = answers.iter().map(|v| &v["init_nonce"]).collect();
    assert_eq!(init_nonces.len(), 1, "all restored from one snapshot");
    (answers, logs)
}

/// `random[key]` of every answer, as text.
fn values(answers: &[Value], key: &str) -> Vec<String> {
    answers
        .iter()
        .map(|v| {
            let value = &v["random"][key];
            assert!(!value.is_null(), "no random.{key} in {v}");
            value.to_string()
        })
        .collect()
}

/// Every f64 that every answer drew.
fn floats(answers: &[Value]) -> Vec<String> {
    answers
        .iter()
        .flat_map(|v| {
            let drawn = v["random"]["rand_f64"].as_array().unwrap().clone();
            assert_eq!(drawn.len(), 3, "{v}");
            drawn.into_iter().map(|f| f.to_string())
        })
        .collect()
}

fn distinct(values: &[String]) -> usize {
    values.iter().collect::<HashSet<_>>().len()
}

fn show(answers: &[Value]) {
    for v in answers {
        eprintln!("{}", v["random"]);
    }
}

#[test]
fn with_snap_hooks_eight_restored_instances_share_no_random_value() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = start(&tmp.path().join("snap"), &[]);
    let (answers, _) = first_answers(&run);
    show(&answers);
    for v in &answers {
        assert_eq!(v["random"]["hooks"], true, "{v}");
        assert_eq!(
            v["hooks"],
            serde_json::json!(["init", "before_snapshot", "after_restore"]),
            "{v}"
        );
    }

    for key in [
        "rand_bytes",
        "instance_id",
        "uuid",
        "snap_hooks_hash",
        "rand_f64",
    ] {
        let seen = values(&answers, key);
        assert_eq!(
            distinct(&seen),
            INSTANCES,
            "random.{key} repeats: {seen:#?}"
        );
    }
    let drawn = floats(&answers);
    assert_eq!(
        distinct(&drawn),
        3 * INSTANCES,
        "a rand::random::<f64>() repeats: {drawn:#?}"
    );

    // The documented limit: std's RandomState keys are a thread-local drawn
    // once per thread and then counted up, and the handler's thread existed
    // at the snapshot, so every instance's std::collections::hash_map::
    // RandomState::new() starts from the same keys. Nothing outside std can
    // reach them; snap_hooks::RandomState is the fix. If this starts to
    // fail, std (or snap-hooks) fixed it: update docs/hooks.md.
    let std_hashes = values(&answers, "std_hash");
    assert!(
        distinct(&std_hashes) < INSTANCES,
        "std's RandomState no longer repeats across restored instances: {std_hashes:#?}"
    );
}

#[test]
fn without_snap_hooks_the_same_test_finds_the_duplicates() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = start(
        &tmp.path().join("snap"),
        &["--env", "RUST_HELLO_NO_HOOKS=1"],
    );
    let (answers, logs) = first_answers(&run);
    show(&answers);
    assert!(
        logs.iter()
            .any(|l| l.contains("RUST_HELLO_NO_HOOKS=1, running without snap-hooks")),
        "{logs:#?}"
    );
    for v in &answers {
        assert_eq!(v["random"]["hooks"], false, "{v}");
        assert_eq!(v["hooks"], serde_json::json!(["init"]), "no hooks ran: {v}");
        assert!(v["random"]["snap_hooks_hash"].is_null(), "{v}");
    }

    // The thread RNG continues the stream in the snapshot, and the id
    // drawn during init is the same everywhere.
    for key in ["rand_bytes", "rand_f64", "instance_id"] {
        let seen = values(&answers, key);
        let n = distinct(&seen);
        eprintln!("without hooks: random.{key}: {n} distinct of {INSTANCES}");
        assert!(n < INSTANCES, "random.{key} shows no duplicates: {seen:#?}");
    }
    let std_hashes = values(&answers, "std_hash");
    assert!(distinct(&std_hashes) < INSTANCES, "{std_hashes:#?}");
    // uuid's v4 reads the kernel for every UUID, so it stays unique even
    // here.
    let uuids = values(&answers, "uuid");
    assert_eq!(distinct(&uuids), INSTANCES, "{uuids:#?}");
}

#[test]
fn snap_hooks_timeouts_reach_the_runtime_api_with_their_types() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();

    // A hook past its snap-hooks timeout (well inside snaprun's limits): the
    // adapter posts the error itself, with the hook's name and its type.
    let hang = |dir: &Path, hook: &str| {
        let knob = format!("RUST_HELLO_HANG={hook}");
        RunningFunction::with_snapshot(
            "criu",
            dir,
            &["--env", &knob, "--env", "RUST_HELLO_HOOK_TIMEOUT_MS=300"],
            &rust_hello(),
        )
    };

    // Before the snapshot: init/error, and no snapshot.
    let dir = tmp.path().join("before");
    let run = hang(&dir, "before_snapshot");
    let message = run.invoke_failing(b"{}", "Runtime.BeforeSnapshotError");
    assert!(
        message.contains("rust-hello.before-snapshot") && message.contains("did not finish"),
        "{message}"
    );
    assert!(!dir.exists(), "no snapshot after init/error");
    drop(run);

    // After the restore: restore/error with Runtime.RestoreHookUserTimeout.
    let run = hang(&tmp.path().join("after"), "after_restore");
    let message = run.invoke_failing(b"{}", "Runtime.RestoreHookUserTimeout");
    assert!(
        message.contains("rust-hello.after-restore") && message.contains("did not finish"),
        "{message}"
    );
}
