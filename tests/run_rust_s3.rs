//! The rust-s3 demo (the AWS SDK for Rust, `aws-sdk-s3`) reading a real
//! object from a real S3-compatible server (`moto_server`) on 127.0.0.1:
//! the plain bootstrap unchanged under `--engine none` and `--engine criu`,
//! and its native variant (`snap::tokio::run`,
//! `snap_hooks::aws::fresh_credentials`) restored by the native engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Moto, RunningFunction};
use serde_json::Value;

const TEXT: &str = "hello from a real S3-compatible server, read by Rust\n";

/// The demo's two bootstraps (plain, native), once moto is there.
fn prerequisites() -> Option<(PathBuf, PathBuf)> {
    let moto = Command::new("moto_server")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if moto.is_err() {
        let problem = "moto_server is not installed (pip install 'moto[server]')";
        if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") {
            panic!("{problem}");
        }
        eprintln!("SKIPPED: {problem} (scripts/test.sh installs it)");
        return None;
    }
    let plain = common::rust_s3();
    let native = plain.with_file_name("bootstrap-native");
    Some((plain, native))
}

/// Invokes `run` `n` times in a row; every answer is the object.
fn reads_the_object(run: &RunningFunction, n: usize) {
    for i in 0..n {
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "invocation {i}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["body"], TEXT, "{body}");
        assert_eq!(v["bytes"], TEXT.len(), "{body}");
    }
}

/// Eight requests at once on two instances, each the object; the pids that
/// served them.
fn reads_it_concurrently(run: &RunningFunction) -> HashSet<u64> {
    let answers = run.invoke_concurrently(8, 4, |_| "{}".to_owned());
    assert_eq!(answers.len(), 32);
    assert!(
        answers.iter().all(|(_, v)| v["body"] == TEXT),
        "{answers:?}"
    );
    answers
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect()
}

/// A missing object is the handler's error, named, returned to the invoker.
fn a_missing_key_is_the_functions_error(run: &RunningFunction) {
    let (status, failed, body) = run.invoke(br#"{"key":"no-such-key.txt"}"#);
    assert_eq!((status, failed), (200, true), "{body}");
    assert!(
        body.contains("s3://snap-demo/no-such-key.txt") && body.contains("NoSuchKey"),
        "{body}"
    );
}

#[test]
fn rust_s3_reads_the_object_cold() {
    let Some((plain, _)) = prerequisites() else {
        return;
    };
    let moto = Moto::start(TEXT);
    let mut args = vec!["--engine".to_owned(), "none".to_owned()];
    args.extend(["--concurrency".to_owned(), "2".to_owned()]);
    args.extend(moto.function_env());
    args.extend(["--".to_owned(), plain.display().to_string()]);
    let run = RunningFunction::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    reads_the_object(&run, 20);
    assert_eq!(reads_it_concurrently(&run).len(), 2);
    a_missing_key_is_the_functions_error(&run);
}

#[test]
fn rust_s3_unchanged_restores_from_a_criu_snapshot() {
    let Some((plain, _)) = prerequisites() else {
        return;
    };
    if common::criu_engine().is_none() {
        return;
    }
    let moto = Moto::start(TEXT);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let forward = moto.endpoint.trim_start_matches("http://").to_owned();
    let mut args: Vec<String> = [
        "--engine",
        "criu",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--forward",
        &forward,
        "--concurrency",
        "2",
    ]
    .map(str::to_owned)
    .into();
    args.extend(moto.function_env());
    args.extend(["--".to_owned(), plain.display().to_string()]);
    let run = RunningFunction::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // The client and its pooled connection to moto, made at init, were
    // checkpointed; each restored instance reads through them. (Each
    // restored instance has the snapshot's pid, in a namespace of its own.)
    reads_the_object(&run, 20);
    reads_it_concurrently(&run);
    a_missing_key_is_the_functions_error(&run);
    let logs = run.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("REPORT RequestId: ") && l.contains("\tRestore Duration: ")),
        "served by restored instances: {logs:#?}"
    );
}

#[test]
fn rust_s3_native_variant_restores_natively() {
    let Some((_, native)) = prerequisites() else {
        return;
    };
    let moto = Moto::start(TEXT);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let mut args: Vec<String> = [
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--concurrency",
        "2",
    ]
    .map(str::to_owned)
    .into();
    args.extend(moto.function_env());
    args.extend(["--".to_owned(), native.display().to_string()]);
    let run = RunningFunction::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    reads_the_object(&run, 20);
    assert_eq!(reads_it_concurrently(&run).len(), 2);
    a_missing_key_is_the_functions_error(&run);
    let logs = run.logs();
    let restored = logs
        .iter()
        .filter(|l| l.contains("REPORT RequestId: ") && l.contains("\tRestore Duration: "))
        .count();
    assert_eq!(restored, 2, "both instances were restored: {logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("snaprun: native snapshot written to")),
        "{logs:#?}"
    );
}
