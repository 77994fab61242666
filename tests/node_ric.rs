//! AWS's own Node runtime client (`aws-lambda-ric` 4.0.2 from npm,
//! unmodified, `tests/fixtures/node-ric`) under `snaprun run --engine
//! criu`: eight restored instances share no random value made in the
//! handler, because snaprun's preload reseeds every Node process after each
//! restore; with `--no-reseed` every source repeats, which proves the test
//! can fail. `check-unique` tells the values made at init from those a
//! frozen generator made after the restore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{RunningFunction, criu_engine};
use serde_json::Value;

/// Every random source the fixture samples, all made in the handler.
const SOURCES: &[&str] = &[
    "randomUUID",
    "randomUUIDNoCache",
    "webcryptoRandomUUID",
    "randomBytes",
    "getRandomValues",
    "randomInt",
    "mathRandom",
];

/// The fixture's bootstrap, or `None` to skip. Fails instead under
/// `SNAP_REQUIRE_CRIU=1` (scripts/test.sh, which runs `npm ci` there and so
/// builds the client's native addon).
fn bootstrap() -> Option<PathBuf> {
    criu_engine()?;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node-ric");
    let addon = fixture.join("node_modules/aws-lambda-ric/rapid-client.node");
    if addon.is_file() {
        return Some(fixture.join("bootstrap"));
    }
    let problem = format!(
        "{} is not built: run `npm ci` in {} (it needs cmake, autoconf, automake, libtool and libcurl4-openssl-dev)",
        addon.display(),
        fixture.display()
    );
    if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") {
        panic!("{problem}");
    }
    eprintln!("SKIPPED: {problem} (scripts/test.sh prepares it)");
    None
}

/// For each source, how many distinct values the instances returned.
fn distinct(answers: &BTreeMap<String, Value>) -> BTreeMap<&'static str, usize> {
    SOURCES
        .iter()
        .map(|&source| {
            let values: BTreeSet<&str> = answers
                .values()
                .map(|a| {
                    a["sample"][source]
                        .as_str()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| panic!("{source}: {a}"))
                })
                .collect();
            (source, values.len())
        })
        .collect()
}

fn run_fixture(snapshot: &Path, extra: &[&str]) -> Option<RunningFunction> {
    let bootstrap = bootstrap()?;
    let mut args = vec!["--concurrency", "8"];
    args.extend_from_slice(extra);
    Some(RunningFunction::with_snapshot(
        "criu", snapshot, &args, &bootstrap,
    ))
}

#[test]
fn eight_restored_instances_of_aws_lambda_ric_share_no_random_value() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(run) = run_fixture(&tmp.path().join("snap"), &[]) else {
        return;
    };
    let answers = run.answers_of_eight_instances();
    let init: BTreeSet<&str> = answers
        .values()
        .map(|a| a["initUuid"].as_str().unwrap())
        .collect();
    assert_eq!(
        init.len(),
        1,
        "the value made at init is the snapshot's, the same in all: {answers:#?}"
    );
    let distinct = distinct(&answers);
    assert!(
        distinct.values().all(|&n| n == 8),
        "every source distinct in all 8 instances: {distinct:#?}\n{answers:#?}"
    );
    let logs = run.logs();
    assert!(
        !logs.iter().any(|l| l.contains("may repeat")),
        "a reseeded Node runtime draws no warning: {logs:#?}"
    );
}

#[test]
fn with_no_reseed_restored_instances_of_aws_lambda_ric_repeat_each_other_and_are_warned_of() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(run) = run_fixture(&tmp.path().join("snap"), &["--no-reseed"]) else {
        return;
    };
    let answers = run.answers_of_eight_instances();
    let distinct = distinct(&answers);
    // What reseeding fixes: every source repeats across the copies.
    assert!(
        distinct.values().all(|&n| n < 8),
        "every source has duplicates without reseeding: {distinct:#?}"
    );
    let logs = run.logs();
    let warned: Vec<_> = logs
        .iter()
        .filter(|l| l.contains("reseeding is off (--no-reseed)"))
        .collect();
    assert_eq!(warned.len(), 1, "warned once, at startup: {logs:#?}");
}

#[test]
fn check_unique_tells_values_made_at_init_from_those_of_a_frozen_generator() {
    let Some(bootstrap) = bootstrap() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check-unique",
            "--engine",
            "criu",
            "--instances",
            "4",
            "--json",
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend(["--", bootstrap.to_str().unwrap()]);
        let (ok, stdout, stderr) = common::run_snaprun(&args);
        (ok, common::json(&stdout), stderr)
    };
    let (ok, report, stderr) = check(&["--no-reseed"]);
    assert!(!ok, "duplicates make check-unique fail: {stderr}");
    let origins: BTreeMap<String, String> = report["duplicated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_owned(),
                d["origin"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        origins.get("$.initUuid").map(String::as_str),
        Some("init"),
        "{report:#}"
    );
    for source in ["randomUUID", "randomBytes", "getRandomValues", "mathRandom"] {
        assert_eq!(
            origins
                .get(&format!("$.sample.{source}"))
                .map(String::as_str),
            Some("frozen-generator"),
            "{source}: {report:#}"
        );
    }
    // Reseeded, only the value made at init is left, and it is told as one.
    let (ok, report, stderr) = check(&[]);
    assert!(!ok, "the init value is still shared: {stderr}");
    let left: Vec<(&str, &str)> = report["duplicated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(left, [("$.initUuid", "init")], "{report:#}");
}

#[test]
fn no_reseed_is_refused_where_no_node_process_is_snapshotted() {
    let heavy = common::rust_heavy_init();
    for (engine, bootstrap) in [("none", "/bin/true"), ("native", heavy.to_str().unwrap())] {
        let (ok, _, stderr) =
            common::run_snaprun(&["run", "--engine", engine, "--no-reseed", "--", bootstrap]);
        let message = format!(
            "--no-reseed is for the CRIU engine, which snapshots Node processes; --engine {engine} reseeds nothing"
        );
        assert!(!ok && stderr.contains(&message), "{engine}: {stderr}");
    }
}
