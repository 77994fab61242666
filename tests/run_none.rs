//! `snaprun run --engine none` with the rust-hello demo on the official
//! `lambda_runtime` crate: the front door, queueing, crashes, timeouts, init
//! failures and the REPORT lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{RunningFunction, json, run_snaprun, rust_hello};

#[test]
fn a_hundred_sequential_invocations_on_one_instance() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&["--engine", "none", "--", bootstrap.to_str().unwrap()]);
    for i in 0..100 {
        let (status, failed, body) = run.invoke(format!("{{\"i\":{i}}}").as_bytes());
        assert_eq!((status, failed), (200, false), "{body}");
        let v = json(&body);
        assert_eq!(v["echo"]["i"], i);
        assert_eq!(v["invocations"], i + 1, "one warm instance serves them all");
        assert_eq!(v["init_summary"]["primes"], 348_513);
    }
    let logs = run.wait_for_log("REPORT RequestId:", 100);
    assert_eq!(
        logs.iter()
            .filter(|l| l.starts_with("INIT_REPORT Init Duration:"))
            .count(),
        1,
        "{logs:#?}"
    );
    let reports: Vec<_> = logs
        .iter()
        .filter(|l| l.starts_with("REPORT RequestId:"))
        .collect();
    assert_eq!(reports.len(), 100);
    assert_eq!(
        reports
            .iter()
            .filter(|l| l.contains("\tInit Duration: "))
            .count(),
        1
    );
    for report in &reports {
        for field in [
            "\tDuration: ",
            "\tBilled Duration: ",
            "\tMemory Size: 128 MB",
            "\tMax Memory Used: ",
        ] {
            assert!(report.contains(field), "{field:?} missing in {report}");
        }
    }
}

#[test]
fn four_instances_serve_two_hundred_concurrent_requests_with_none_lost() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&[
        "--engine",
        "none",
        "--concurrency",
        "4",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    // All four instances finish init before the traffic starts.
    run.wait_for_log("INIT_REPORT", 4);
    let results = run.invoke_concurrently(8, 25, |n| format!("{{\"n\":{n},\"sleep_ms\":5}}"));
    assert_eq!(results.len(), 200);
    for (n, v) in &results {
        assert_eq!(v["echo"]["n"], *n, "each request gets its own answer");
    }
    let pids: HashSet<u64> = results
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 4, "all four instances served: {pids:?}");
    let total: u64 = pids
        .iter()
        .map(|pid| {
            results
                .iter()
                .filter(|(_, v)| v["pid"] == *pid)
                .map(|(_, v)| v["invocations"].as_u64().unwrap())
                .max()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 200, "no invocation ran twice");
    run.wait_for_log("REPORT RequestId:", 200);
}

#[test]
fn a_crash_mid_invocation_is_an_error_and_a_fresh_instance_takes_over() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&["--engine", "none", "--", bootstrap.to_str().unwrap()]);
    let answer = run.invoke_ok(b"{}");
    let first_pid = answer["pid"].clone();
    let (status, failed, body) = run.invoke(b"{\"crash\":true}");
    assert_eq!((status, failed), (200, true), "{body}");
    let error = json(&body);
    assert_eq!(error["errorType"], "Runtime.ExitError");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exit status: 3"),
        "{body}"
    );
    let (status, failed, body) = run.invoke(b"{\"after\":1}");
    assert_eq!((status, failed), (200, false), "{body}");
    let v = json(&body);
    assert_ne!(v["pid"], first_pid);
    assert_eq!(v["invocations"], 1);
    run.wait_for_log("INIT_REPORT", 2);
}

#[test]
fn an_invocation_over_the_timeout_is_an_error_and_the_next_one_works() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&[
        "--engine",
        "none",
        "--timeout",
        "0.5",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    let (status, failed, body) = run.invoke(b"{\"sleep_ms\":5000}");
    assert_eq!((status, failed), (200, true), "{body}");
    let error = json(&body);
    assert_eq!(error["errorType"], "Sandbox.Timedout");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Task timed out after 0.50 seconds"),
        "{body}"
    );
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
}

#[test]
fn a_handler_error_is_returned_as_the_error_json() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&["--engine", "none", "--", bootstrap.to_str().unwrap()]);
    let (status, failed, body) = run.invoke(b"{\"fail\":true}");
    assert_eq!((status, failed), (200, true), "{body}");
    assert_eq!(json(&body)["errorType"], "RustHello.RequestedFailure");
    let answer = run.invoke_ok(b"{}");
    assert_eq!(
        answer["invocations"], 2,
        "a handler error keeps the instance"
    );
}

#[test]
fn a_failed_init_is_served_to_the_first_invoke_and_retried() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&[
        "--engine",
        "none",
        "--env",
        "RUST_HELLO_INIT_FAIL=1",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, true), "{body}");
    let error = json(&body);
    assert_eq!(error["errorType"], "Runtime.ExitError");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exited during init"),
        "{body}"
    );
    let logs = run.wait_for_log("Status: error", 1);
    assert!(
        logs.iter()
            .any(|l| l.contains("INIT_REPORT") && l.contains("Error Type: Runtime.ExitError")),
        "{logs:#?}"
    );
    // The next invoke tries init again (and fails again the same way: the
    // failure is the bootstrap's, on every start).
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, true), "{body}");
    assert_eq!(json(&body)["errorType"], "Runtime.ExitError", "{body}");
    run.wait_for_log("Status: error", 2);
}

#[test]
fn the_front_door_refuses_oversized_events_and_unknown_paths() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&["--engine", "none", "--", bootstrap.to_str().unwrap()]);
    let big = vec![b' '; snaprun::runtime::MAX_PAYLOAD + 1];
    let (status, _, body) = run.invoke(&big);
    assert_eq!(status, 413, "{body}");
    assert_eq!(json(&body)["errorType"], "RequestEntityTooLargeException");
    let (status, _, _) =
        common::http_post(&run.addr, "/2015-03-31/functions/x/y/invocations", b"{}");
    assert_eq!(status, 404);
    let (status, _, body) = run.invoke(b"{\"still\":\"fine\"}");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_front_door_takes_json_whatever_its_content_type_and_refuses_the_rest() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&["--engine", "none", "--", bootstrap.to_str().unwrap()]);
    let invoke_as = |content_type: &str, payload: &[u8]| {
        common::http_post_with(
            &run.addr,
            "/2015-03-31/functions/function/invocations",
            &format!("Content-Type: {content_type}\r\n"),
            payload,
        )
    };
    // JSON is the event whatever the request calls it: curl's -d says
    // form-urlencoded.
    for (n, content_type) in [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/octet-stream",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, failed, body) = invoke_as(content_type, br#"{"as":[1,"two"]}"#);
        assert_eq!((status, failed), (200, false), "{content_type}: {body}");
        let answer = json(&body);
        assert_eq!(
            answer["echo"],
            serde_json::json!({"as": [1, "two"]}),
            "{body}"
        );
        assert_eq!(answer["invocations"], n + 1, "{body}");
    }
    // An invoke without a payload is the event {}, as in Lambda.
    let answer = run.invoke_ok(b"");
    assert_eq!(answer["echo"], serde_json::json!({}), "{answer}");
    assert_eq!(answer["invocations"], 5, "{answer}");
    // Anything that is not one JSON value is refused at the door, with the
    // parser's reason, and never reaches the function.
    for bad in [
        &b"not json"[..],
        b"{\"a\":1",
        b"{\"a\":1} {\"b\":2}",
        b"  ",
        b"\xff\xfe",
    ] {
        let (status, failed, body) = invoke_as("application/json", bad);
        let shown = String::from_utf8_lossy(bad);
        assert_eq!((status, failed), (400, false), "{shown}: {body}");
        let error = json(&body);
        assert_eq!(
            error["errorType"], "InvalidRequestContentException",
            "{body}"
        );
        let message = error["errorMessage"].as_str().unwrap();
        assert!(
            message.starts_with("Could not parse request body into json: ")
                && message.contains(" at line 1 column ")
                && message.ends_with("the event must be JSON, e.g. -d '{\"key\":\"value\"}'"),
            "{shown}: {message}"
        );
    }
    let answer = run.invoke_ok(b"[]");
    assert_eq!(
        answer["invocations"], 6,
        "refused events never ran: {answer}"
    );
}

#[test]
fn snaprun_invoke_prints_the_answer_and_fails_on_errors_with_their_reason() {
    let bootstrap = rust_hello();
    let run = RunningFunction::start(&["--engine", "none", "--", bootstrap.to_str().unwrap()]);
    let endpoint = format!("http://{}", run.addr);
    let invoke = |event: &str| run_snaprun(&["invoke", "--endpoint", &endpoint, event]);

    let (ok, stdout, stderr) = invoke(r#"{"from":"cli"}"#);
    assert!(ok, "{stderr}");
    let answer = json(&stdout);
    assert_eq!(answer["echo"]["from"], "cli", "{stdout}");
    assert_eq!(answer["invocations"], 1, "{stdout}");

    // A function error: printed, and the exit status says so.
    let (ok, stdout, stderr) = invoke(r#"{"fail":true}"#);
    assert!(!ok);
    assert_eq!(json(&stdout)["errorType"], "RustHello.RequestedFailure");
    assert_eq!(
        stderr.trim(),
        "snaprun: error: the function returned an error"
    );

    // A refusal at the door leads with its type and reason.
    let (ok, _, stderr) = invoke("{not json");
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "snaprun: error: the front door answered 400 InvalidRequestContentException: \
             Could not parse request body into json: key must be a string at line 1 column 2"
        ),
        "{stderr}"
    );

    // The default event is {}.
    let (ok, stdout, stderr) = run_snaprun(&["invoke", "--endpoint", &endpoint]);
    assert!(ok, "{stderr}");
    assert_eq!(json(&stdout)["echo"], serde_json::json!({}), "{stdout}");
    assert_eq!(json(&stdout)["invocations"], 3, "{stdout}");

    let (ok, _, stderr) = run_snaprun(&["invoke", "--endpoint", "https://example.invalid"]);
    assert!(!ok);
    assert!(
        stderr.contains("--endpoint https://example.invalid: only http:// endpoints are supported"),
        "{stderr}"
    );
}

#[test]
fn a_missing_or_unexecutable_bootstrap_is_a_clear_error() {
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--listen",
        "127.0.0.1:0",
        "--",
        "/nonexistent/bootstrap",
    ]);
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bootstrap /nonexistent/bootstrap: No such file"),
        "{stderr}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("bootstrap");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--listen",
        "127.0.0.1:0",
        "--",
        script.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("is not an executable file"), "{stderr}");
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--listen",
        "127.0.0.1:0",
        "--timeout",
        "0",
        "--",
        "/bin/true",
    ]);
    assert!(
        !ok && stderr.contains("--timeout must be a positive number"),
        "{stderr}"
    );
}

#[test]
fn bench_with_engine_none_has_no_restore_column() {
    let bootstrap = rust_hello();
    let (ok, stdout, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "none",
        "--runs",
        "2",
        "--json",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let list = json(&stdout);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "one engine: {list}");
    let v = &list[0];
    assert_eq!(v["engine"], "none");
    for key in [
        "restore_spare_ms",
        "restore_on_demand_ms",
        "cold_over_restore_spare",
        "cold_over_restore_on_demand",
    ] {
        assert!(v[key].is_null(), "{key}: {v}");
    }
    assert!(v["cold_ms"]["median"].as_f64().unwrap() > v["warm_ms"]["median"].as_f64().unwrap());
    // A function that fails makes the bench fail, naming the error.
    let (ok, _, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "none",
        "--runs",
        "1",
        "--payload",
        "{\"fail\":true}",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("RustHello.RequestedFailure"),
        "{stderr}"
    );
}

#[test]
fn a_bootstrap_named_without_a_path_is_looked_up_on_path_as_a_shell_would() {
    // A directory on PATH holding the function under a name of its own.
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(rust_hello(), tmp.path().join("hello-bootstrap")).unwrap();
    let path = format!(
        "{}:{}",
        tmp.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut snaprun = common::snaprun();
    snaprun.env("PATH", &path);
    let run = RunningFunction::start_command(
        snaprun,
        &["--engine", "none", "--", "hello-bootstrap", "--ignored-arg"],
    );
    let (status, failed, body) = run.invoke(br#"{"n":1}"#);
    assert_eq!((status, failed), (200, false), "{body}");
    assert_eq!(json(&body)["echo"]["n"], 1, "{body}");

    // A name found nowhere on PATH: one line naming it and where it looked.
    let out = common::snaprun()
        .env("PATH", tmp.path())
        .args(["run", "--engine", "none", "--", "no-such-bootstrap"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bootstrap no-such-bootstrap: not found on PATH (")
            && stderr.contains(&tmp.path().display().to_string()),
        "{stderr}"
    );
}
