//! `snaprun check-unique` against a Node function that caches a random token
//! during init, the way a third-party library caches entropy: eight
//! instances restored with CRIU report exactly that token, and the variant
//! that makes it per invocation passes. Bad input ends in one clear line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{criu_engine, json, run_snaprun, snaprun};

/// Longer than init, the snapshot and eight restores take on a slow machine.
const LIMIT: Duration = Duration::from_secs(180);

/// The node-s3 demo's runtime, which runs the fixture's handler.
fn bootstrap() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-functions/node-s3/bootstrap")
}

/// `--handler` and `LAMBDA_TASK_ROOT` that select the fixture.
fn fixture_args() -> [String; 4] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/entropy-fn");
    [
        "--handler".into(),
        "index.handler".into(),
        "--env".into(),
        format!("LAMBDA_TASK_ROOT={}", root.display()),
    ]
}

/// A snaprun process, killed on drop (a failed assertion included). The
/// instances it restored are its children; their relays exit when it does.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `snaprun check-unique --engine criu --snapshot-dir DIR` on the
/// fixture, with EXTRA, and returns (exit code, stdout, stderr), failing after LIMIT.
fn check_unique(snapshot_dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Running(
        snaprun()
            .args(["check-unique", "--engine", "criu", "--snapshot-dir"])
            .arg(snapshot_dir)
            .args(fixture_args())
            .args(extra)
            .arg("--")
            .arg(bootstrap())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start snaprun check-unique"),
    );
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = reader(Box::new(child.0.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.0.stderr.take().unwrap()));
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "check-unique still running after {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.code(),
        stdout.join().unwrap(),
        stderr.join().unwrap(),
    )
}

#[test]
fn a_token_cached_at_init_is_reported_and_nothing_else() {
    if criu_engine().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot");

    let (code, stdout, stderr) = check_unique(&snapshot, &["--json", "--fresh"]);
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    let report = json(&stdout);
    assert_eq!(report["engine"], "criu", "{report}");
    assert_eq!(report["instances"], 8, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    // Eight distinct restored processes answered.
    let pids: BTreeSet<u64> = report["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().expect("a pid"))
        .collect();
    assert_eq!(pids.len(), 8, "{report}");
    // Exactly the cached token: not the constant greeting, not the UUID
    // made per invocation.
    let duplicated = report["duplicated"].as_array().unwrap();
    assert_eq!(duplicated.len(), 1, "{report}");
    let finding = &duplicated[0];
    assert_eq!(finding["path"], "$.cached", "{report}");
    assert_eq!(finding["kind"], "hex", "{report}");
    assert_eq!(finding["whole"], true, "{report}");
    assert_eq!(
        (&finding["same_in"], &finding["of"]),
        (&8.into(), &8.into())
    );
    let token = finding["value"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32, "{report}");
    // Eight fresh UUIDs plus one cached token.
    assert_eq!(report["random_values"], 9, "{report}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("snaprun: error: 1 random-looking value is the same"),
        "{stderr}"
    );

    // The text report, from the same snapshot (reused): one line per finding.
    let (code, stdout, stderr) = check_unique(&snapshot, &["--instances", "4"]);
    assert_eq!(code, Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("restoring from the snapshot in"),
        "the snapshot was not reused: {stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "$.cached: hex {token}: same in 4 of 4 restored instances"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("$.fresh"), "{stdout}");
    assert!(!stdout.contains("greeting"), "{stdout}");

    // A path the user vouches for is not reported.
    let (code, stdout, stderr) = check_unique(&snapshot, &["--ignore", "$.cached"]);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("no random-looking value is shared"),
        "{stdout}"
    );
}

#[test]
fn a_token_made_per_invocation_passes() {
    if criu_engine().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = check_unique(
        &dir.path().join("snapshot"),
        &["--env", "ENTROPY_FN_PER_INVOCATION=1", "--json"],
    );
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let report = json(&stdout);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["duplicated"], serde_json::json!([]), "{report}");
    // Sixteen random values (a token and a UUID per instance), all distinct.
    assert_eq!(report["random_values"], 16, "{report}");
    assert!(!stderr.contains("snaprun: error"), "{stderr}");
}

/// Asserts a failed run whose stderr is one error line containing `needle`.
fn assert_fails_with(args: &[&str], needle: &str) {
    let (ok, stdout, stderr) = run_snaprun(args);
    assert!(!ok, "snaprun {args:?} succeeded: {stdout}");
    let lines: Vec<_> = stderr.lines().collect();
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("snaprun: error: ") && l.contains(needle)),
        "snaprun {args:?}: {needle:?} not the last line of {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn bad_input_is_one_clear_line() {
    let bootstrap = bootstrap();
    let bootstrap = bootstrap.to_str().unwrap();
    assert_fails_with(
        &["check-unique", "--instances", "0", "--", bootstrap],
        "--instances must be between 2 and 256, not 0",
    );
    assert_fails_with(
        &["check-unique", "--instances", "1", "--", bootstrap],
        "--instances must be between 2 and 256, not 1",
    );
    assert_fails_with(
        &["check-unique", "--event", "{not json", "--", bootstrap],
        "--event \"{not json\" is not JSON",
    );
    assert_fails_with(
        &["check-unique", "--ignore", "cached", "--", bootstrap],
        "--ignore \"cached\" is not a path",
    );
    assert_fails_with(
        &["check-unique", "--engine", "none", "--", bootstrap],
        "engine none makes no snapshot",
    );
    assert_fails_with(
        &["check-unique", "--", "/nonexistent/bootstrap"],
        "bootstrap /nonexistent/bootstrap",
    );
}
