//! snapjs (the QuickJS runtime in snap-js/) under the real snaprun: the
//! Lambda contract, the native snapshot point, hooks, and every bad input
//! giving one clear error on the Runtime API and in the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    RunningFunction, json, snapjs_fixtures, snapjs_function, snapjs_restored, tiny_http_server,
};

/// `snaprun run EXTRA --handler HANDLER -- snapjs tests/fixtures/snapjs`.
fn start(extra: &[&str], handler: &str) -> RunningFunction {
    snapjs_function(&snapjs_fixtures(), extra, handler)
}

/// The same, snapshotted (engine native) into a directory under `tmp`.
fn start_snapshotted(tmp: &tempfile::TempDir, handler: &str) -> RunningFunction {
    snapjs_restored(&snapjs_fixtures(), tmp, handler)
}

fn assert_success_paths(run: &RunningFunction) -> serde_json::Value {
    let server = tiny_http_server("hello from the test server");
    let payload = format!(r#"{{"sleep_ms": 30, "fetch": "http://{server}/x"}}"#);
    let (status, failed, body) = run.invoke(payload.as_bytes());
    assert_eq!((status, failed), (200, false), "{body}");
    let v = json(&body);
    assert_eq!(
        v["globals"],
        serde_json::json!([
            "crypto",
            "TextEncoder",
            "URL",
            "setTimeout",
            "fetch",
            "Buffer",
            "console",
            "process"
        ])
    );
    assert!(
        v["slept"].as_u64().unwrap() >= 30,
        "the timer waited: {body}"
    );
    assert_eq!(v["fetched"]["status"], 200, "{body}");
    assert_eq!(v["fetched"]["text"], "hello from the test server");
    let ctx = &v["context"];
    assert_eq!(ctx["awsRequestId"].as_str().unwrap().len(), 36, "{body}");
    assert!(
        ctx["invokedFunctionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:lambda:")
    );
    assert_eq!(ctx["functionName"], "function");
    let remaining = ctx["remaining"].as_u64().unwrap();
    assert!(remaining > 0 && remaining <= 30_000, "{body}");
    assert!(ctx["deadline"].as_f64().unwrap() > 1.7e12, "{body}");
    v
}

#[test]
fn restored_instances_serve_with_hooks_in_order_and_auto_picks_native() {
    let tmp = tempfile::tempdir().unwrap();
    let run = start_snapshotted(&tmp, "basic.handler");
    let v = assert_success_paths(&run);
    // Before the snapshot in reverse (LIFO), after the restore by priority
    // then FIFO: @snap/hooks's rules.
    assert_eq!(
        v["hookLog"],
        serde_json::json!([
            "before:second",
            "before:first",
            "after:second",
            "after:first"
        ])
    );
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
    assert_eq!(
        json(&body)["invocations"],
        2,
        "the same warm instance: {body}"
    );
    let logs = run.wait_for_log("REPORT RequestId:", 2);
    assert!(
        logs.iter().any(|l| l.contains("Restore Duration:")),
        "{logs:#?}"
    );

    // Without --engine, auto notices that snapjs links snap.
    let snapshot = tmp.path().join("auto");
    let run = start(
        &["--snapshot-dir", snapshot.to_str().unwrap()],
        "basic.handler",
    );
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
    let logs = run.logs();
    assert!(
        logs.iter().any(|l| l.contains("engine auto: using native")),
        "{logs:#?}"
    );
}

#[test]
fn cold_instances_serve_without_hooks() {
    let run = start(&["--engine", "none"], "basic.handler");
    let v = assert_success_paths(&run);
    assert_eq!(
        v["hookLog"],
        serde_json::json!([]),
        "hooks run only around a snapshot"
    );
}

#[test]
fn commonjs_handlers_with_callbacks_and_nested_exports() {
    let run = start(&["--engine", "none"], "commonjs.nested.handler");
    let (status, failed, body) = run.invoke(br#"{"n": 7}"#);
    assert_eq!((status, failed), (200, false), "{body}");
    let v = json(&body);
    assert_eq!(v["cjs"], true, "{body}");
    assert_eq!(v["path"], "a/b");
    assert_eq!(v["echo"]["n"], 7);
    let message = run.invoke_failing(br#"{"throw_in_timer": true}"#, "ReferenceError");
    assert!(message.contains("undefinedFunction"), "{message}");
}

/// Asserts that `needle` appears in the log with the error type.
fn assert_logged(run: &RunningFunction, error_type: &str, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let logs = run.logs();
        if logs
            .iter()
            .any(|l| l.contains(error_type) && l.contains(needle))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{error_type} / {needle:?} not logged: {logs:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn init_failures_are_one_clear_error_each() {
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "missing.handler",
            &[],
            "Runtime.ImportModuleError",
            "Cannot find module 'missing'",
        ),
        (
            "basic.nothere",
            &[],
            "Runtime.HandlerNotFound",
            "basic.nothere is undefined or not exported",
        ),
        (
            "basic",
            &[],
            "Runtime.MalformedHandlerName",
            "expected module.export",
        ),
        (
            "init-syntax.handler",
            &[],
            "Runtime.UserCodeSyntaxError",
            "SyntaxError",
        ),
        (
            "init-throw.handler",
            &[],
            // As AWS's Node runtime client: the error's own type.
            "Error",
            "init blew up on purpose",
        ),
        (
            "init-never.handler",
            &[],
            "Runtime.InitError",
            "init never settled",
        ),
        (
            "init-slow.handler",
            &["--init-timeout", "2"],
            "Runtime.InitTimeout",
            "not ready within",
        ),
    ];
    for (handler, extra, error_type, needle) in cases {
        let mut args = vec!["--engine", "none"];
        args.extend_from_slice(extra);
        let run = start(&args, handler);
        let message = run.invoke_failing(b"{}", error_type);
        assert!(message.contains(needle), "{handler}: {message}");
        // snaprun itself reports the timeout (it ends the init): its log line
        // carries the type; snapjs logs its own errors with their message.
        let logged = if *error_type == "Runtime.InitTimeout" {
            "Status: error"
        } else {
            needle
        };
        assert_logged(&run, error_type, logged);
    }
}

#[test]
fn invocation_failures_are_one_clear_error_each_and_the_instance_carries_on() {
    let run = start(&["--engine", "none"], "bad.handler");
    let message = run.invoke_failing(br#"{"mode":"throw-string"}"#, "string");
    assert_eq!(message, "plain string, not an Error");
    let message = run.invoke_failing(br#"{"mode":"throw-error"}"#, "TypeError");
    assert_eq!(message, "a typed failure");
    let message = run.invoke_failing(br#"{"mode":"big"}"#, "Function.ResponseSizeTooLarge");
    assert!(
        message.contains("exceeded maximum allowed payload size"),
        "{message}"
    );
    let message = run.invoke_failing(
        br#"{"mode":"unhandled"}"#,
        "Runtime.UnhandledPromiseRejection",
    );
    assert!(
        message.contains("RangeError: nobody handles this"),
        "{message}"
    );
    for (error_type, needle) in [
        ("string", "plain string"),
        ("Function.ResponseSizeTooLarge", "exceeded"),
        ("Runtime.UnhandledPromiseRejection", "nobody handles this"),
    ] {
        assert_logged(&run, error_type, needle);
    }
    // A network failure is a TypeError, as in browsers (clients retry those).
    let refused = format!(
        r#"{{"mode":"fetch-refused","url":"http://127.0.0.1:{}/"}}"#,
        common::free_port()
    );
    let (status, failed, body) = run.invoke(refused.as_bytes());
    assert_eq!((status, failed), (200, false), "{body}");
    let v = json(&body);
    assert_eq!(
        (v["typeError"].as_bool(), v["message"].as_str()),
        (Some(true), Some("Failed to fetch")),
        "{body}"
    );
    // Still the same process, still serving.
    let (status, failed, body) = run.invoke(br#"{"mode":"ok"}"#);
    assert_eq!((status, failed), (200, false), "{body}");
    assert_eq!(json(&body)["ok"], true);
    assert!(
        !run.logs().iter().any(|l| l.contains("panicked")),
        "{:#?}",
        run.logs()
    );
}

#[test]
fn hook_failures_are_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let start_with = |name: &str, env: &str| {
        let dir = tmp.path().join(name);
        start(
            &["--snapshot-dir", dir.to_str().unwrap(), "--env", env],
            "hooks-fail.handler",
        )
    };
    let run = start_with("before", "SNAPJS_FIXTURE_FAIL=before");
    let message = run.invoke_failing(b"{}", "Runtime.BeforeSnapshotError");
    assert!(
        message.contains("beforeCheckpoint hook \"flaky\" failed: before failed on request"),
        "{message}"
    );
    assert!(!tmp.path().join("before").join("manifest.snap").exists());
    drop(run);

    let run = start_with("after", "SNAPJS_FIXTURE_FAIL=after");
    let message = run.invoke_failing(b"{}", "Runtime.AfterRestoreError");
    assert!(
        message.contains("afterRestore hook \"flaky\" failed: after failed on request"),
        "{message}"
    );
    assert!(
        tmp.path().join("after").exists(),
        "the snapshot itself is fine"
    );
}

#[test]
fn timers_armed_at_the_snapshot_point_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let run = start_snapshotted(&tmp, "armed-timer.handler");
    let message = run.invoke_failing(b"{}", "Runtime.BeforeSnapshotError");
    assert!(message.contains("setInterval(tick, 1000)"), "{message}");
    // Without a snapshot the same function is fine.
    let run = start(&["--engine", "none"], "armed-timer.handler");
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
}

/// The number after `name ` in `line` (`name 0.123`).
fn figure(line: &str, name: &str) -> f64 {
    let at = line
        .find(&format!("{name} "))
        .unwrap_or_else(|| panic!("no {name:?} in {line}"));
    let rest = &line[at + name.len() + 1..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{name:?} in {line}: {e}"))
}

#[test]
fn a_restored_first_invocation_reports_its_stages_when_asked_and_only_then() {
    const LINE: &str = "snapjs: first invocation (ms): ";
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let native = [
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
    ];
    let timed: Vec<&str> = native
        .iter()
        .copied()
        .chain(["--env", "SNAP_RESTORE_TIMING=1"])
        .collect();
    let run = start(&timed, "basic.handler");
    run.invoke_ok(b"{}");
    run.invoke_ok(b"{}");
    let logs = run.wait_for_log("REPORT RequestId:", 2);
    let lines: Vec<&String> = logs.iter().filter(|l| l.contains(LINE)).collect();
    assert_eq!(lines.len(), 1, "the first invocation only: {logs:#?}");
    let line = lines[0];
    assert!(
        logs.iter()
            .any(|l| l.contains("snap: restore timing (ms):")),
        "snap-core's stages up to the jump come with it: {logs:#?}"
    );
    let stages = ["after-restore", "next-event", "handler", "response"];
    let mut sum = 0.0;
    for stage in stages {
        let ms = figure(line, stage);
        assert!(ms > 0.0, "{stage} took time: {line}");
        sum += ms;
    }
    let total = figure(line, "total");
    assert!(
        (total - sum).abs() < 0.01,
        "the stages add up to {total}: {line}"
    );
    assert!(figure(line, "faults minor") > 0.0, "{line}");
    figure(line, "major");
    let (_, faults) = line.split_once("; faults ").unwrap();
    for stage in stages {
        figure(faults, stage);
    }
    // An invocation is a next and a response on one kept-alive connection.
    assert!(
        line.ends_with("; runtime-api requests 2 connections 1"),
        "{line}"
    );
    drop(run);

    // Restored without the variable, and cold with it: no line.
    let run = start(&native, "basic.handler");
    run.invoke_ok(b"{}");
    let logs = run.wait_for_log("REPORT RequestId:", 1);
    assert!(
        logs.iter().any(|l| l.contains("Restore Duration:")),
        "{logs:#?}"
    );
    assert!(!logs.iter().any(|l| l.contains(LINE)), "{logs:#?}");
    drop(run);
    let run = start(
        &["--engine", "none", "--env", "SNAP_RESTORE_TIMING=1"],
        "basic.handler",
    );
    run.invoke_ok(b"{}");
    let logs = run.wait_for_log("REPORT RequestId:", 1);
    assert!(!logs.iter().any(|l| l.contains(LINE)), "{logs:#?}");
}
