//! snapjs's `node:` modules and globals against real Node: the probe files
//! in tests/fixtures/node-api (one per area: util, events, buffer, path,
//! crypto, crypto_more, globals, modules, async_hooks, streams, diagnostics_channel,
//! punycode, url_legacy, net_tls_http2, fs_read_stream, worker_threads,
//! intl_list_format) each return the answers
//! of many small probes; Node runs them directly (`node-run.mjs`), snapjs
//! restored from its native snapshot, and every probe must give Node's
//! answer (a bad input, Node's error: name, code and message). A mismatch
//! is reported as `area.probe` with both answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{json, snapjs_restored};

const AREAS: &[&str] = &[
    "util",
    "events",
    "buffer",
    "path",
    "crypto",
    "crypto_more",
    "globals",
    "modules",
    "async_hooks",
    "streams",
    "diagnostics_channel",
    "punycode",
    "url_legacy",
    "net_tls_http2",
    "fs_read_stream",
    "worker_threads",
    "intl_list_format",
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node-api")
}

/// The probes' answers under Node itself.
fn under_node(area: &str) -> serde_json::Value {
    let out = Command::new("node")
        .arg("node-run.mjs")
        .arg(area)
        .current_dir(fixtures())
        .output()
        .expect("node must be on PATH: the answers to match are Node's own");
    assert!(
        out.status.success(),
        "node node-run.mjs {area}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    json(stdout.lines().last().unwrap_or_default())
}

/// Every probe whose answers differ, as `area.probe: node ... snapjs ...`.
fn differences(area: &str, node: &serde_json::Value, snap: &serde_json::Value) -> Vec<String> {
    let node = node.as_object().expect("node's answer is an object");
    let mut out = Vec::new();
    for (probe, expected) in node {
        let got = &snap[probe];
        if got != expected {
            out.push(format!(
                "{area}.{probe}:\n  node:   {expected}\n  snapjs: {got}"
            ));
        }
    }
    out
}

#[test]
fn node_modules_and_globals_answer_as_node_does_when_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let run = snapjs_restored(&fixtures(), &tmp, "index.handler");
    let mut all = Vec::new();
    for area in AREAS {
        let node = under_node(area);
        let payload = format!(r#"{{"module":"{area}"}}"#);
        let snap = run.invoke_ok(payload.as_bytes());
        all.extend(differences(area, &node, &snap));
    }
    let logs = run.wait_for_log("REPORT RequestId:", AREAS.len());
    assert!(
        logs.iter().any(|l| l.contains("Restore Duration:")),
        "the instance was restored from the snapshot: {logs:#?}"
    );
    assert!(
        all.is_empty(),
        "{} probes differ from Node:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn process_stderr_reaches_the_function_log() {
    let tmp = tempfile::tempdir().unwrap();
    let run = snapjs_restored(&fixtures(), &tmp, "index.handler");
    run.invoke_ok(br#"{"module":"globals"}"#);
    // snaprun passes the function's stderr to its own (RunningFunction
    // keeps it; stdout goes to snaprun's stdout, which it does not keep).
    run.wait_for_log("to stderr through process.stderr", 1);
}

/// What snapjs does not support (raw TLS sockets, HTTP/2, workers) throws Node's
/// `ERR_NOT_SUPPORTED` with a message naming snapjs, restored too; a
/// TLSSocket around a JS stream (no network) is still made, as
/// http2-wrapper builds one when it loads. snapjs-only: Node supports them.
#[test]
fn unsupported_tls_and_http2_throw_err_not_supported_naming_snapjs() {
    let tmp = tempfile::tempdir().unwrap();
    let run = snapjs_restored(&fixtures(), &tmp, "index.handler");
    let answer = run.invoke_ok(br#"{"module":"unsupported"}"#);
    let answer = answer.as_object().expect("an object of probes");
    for (probe, got) in answer {
        if probe == "tls_socket_over_stream" {
            assert_eq!(got, "function", "{probe}: {got}");
            continue;
        }
        assert_eq!(got["code"], "ERR_NOT_SUPPORTED", "{probe}: {got}");
        assert_eq!(got["error"], "Error", "{probe}: {got}");
        let message = got["message"].as_str().unwrap_or_default();
        assert!(message.contains("snapjs"), "{probe} names snapjs: {got}");
    }
    assert_eq!(answer.len(), 8, "every probe answered: {answer:?}");
}
