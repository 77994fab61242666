//! `node:http`/`node:https` clients and `node:stream` in snapjs, against
//! Node itself: the same handler (tests/fixtures/snapjs-http and
//! tests/fixtures/snapjs-stream) runs under `node` and under snapjs
//! restored from its native snapshot, and the two answers must be equal.
//! The HTTP server is the test's own (tests/common/http_server.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::http_server::HttpServer;
use common::{RunningFunction, free_port, json, snapjs};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `handler(event)` of `dir/index.mjs` under Node, with `env` (exiting once
/// answered: keep-alive sockets would keep Node running).
fn under_node(dir: &Path, event: &serde_json::Value, env: &[(&str, &str)]) -> serde_json::Value {
    let script = format!(
        "import({:?}).then(m => m.handler({event})).then(r => process.stdout.write(JSON.stringify(r), () => process.exit(0)), e => {{ console.error(e); process.exit(1); }});",
        dir.join("index.mjs").to_str().unwrap()
    );
    let out = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .envs(env.iter().copied())
        .output()
        .expect("node (Node 20) must be on PATH for the Node side of these tests");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&String::from_utf8_lossy(&out.stdout))
}

/// snapjs serving `dir`'s `index.handler`, snapshotted (engine native) into
/// `tmp` with `env`, and so restored for every invocation.
fn restored(tmp: &tempfile::TempDir, dir: &Path, env: &[(&str, &str)]) -> RunningFunction {
    let snapshot = tmp.path().join("snap");
    let snapjs = snapjs();
    let pairs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec![
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
    ];
    for pair in &pairs {
        args.extend(["--env", pair.as_str()]);
    }
    args.extend([
        "--handler",
        "index.handler",
        "--",
        snapjs.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    RunningFunction::start(&args)
}

/// Field by field, so that a difference names its case.
fn assert_same(node: &serde_json::Value, snapjs: &serde_json::Value) {
    let cases = node.as_object().expect("an object of cases");
    let mut differ = Vec::new();
    for (name, expected) in cases {
        if snapjs.get(name) != Some(expected) {
            differ.push(format!(
                "{name}:\n  node:   {expected}\n  snapjs: {}",
                snapjs.get(name).unwrap_or(&serde_json::Value::Null)
            ));
        }
    }
    assert!(differ.is_empty(), "answers differ:\n{}", differ.join("\n"));
}

#[test]
fn http_client_gives_nodes_answers_restored_and_pooled_connections_close_at_the_snapshot_point() {
    let server = HttpServer::start();
    let dir = fixture("snapjs-http");
    let event = serde_json::json!({ "base": server.base, "refused": free_port() });
    let env = [("HTTP_BASE", server.base.as_str())];
    let node = under_node(&dir, &event, &env);
    assert_eq!(node["init"], 200, "{node}");
    let tmp = tempfile::tempdir().unwrap();
    let run = restored(&tmp, &dir, &env);
    let first = run.invoke_ok(event.to_string().as_bytes());
    assert_same(&node, &first);
    // The instance carries on after refused and unresolvable hosts.
    let again = run.invoke_ok(event.to_string().as_bytes());
    assert_same(&node, &again);
    let logs = run.logs().join("\n");
    assert!(
        logs.contains("closed idle http connections before the snapshot point"),
        "the init request's pooled connection was closed at the snapshot point:\n{logs}"
    );
}

#[test]
fn stream_module_gives_nodes_answers_restored() {
    let dir = fixture("snapjs-stream");
    let event = serde_json::json!({});
    let node = under_node(&dir, &event, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let run = restored(&tmp, &dir, &[]);
    let answer = run.invoke_ok(b"{}");
    assert_same(&node, &answer);
    assert!(node.as_object().unwrap().len() >= 25, "{node}");
}

#[test]
fn the_http_server_side_is_refused_with_an_error_naming_it() {
    let dir = fixture("snapjs-http-server");
    let tmp = tempfile::tempdir().unwrap();
    let run = restored(&tmp, &dir, &[]);
    let message = run.invoke_failing(b"{}", "Error");
    assert!(
        message.contains("snapjs does not support the HTTP server: http.createServer"),
        "{message}"
    );
}

/// A TLS server (Node's `https`, so no certificate crate is needed) with a
/// self-signed certificate for 127.0.0.1 made by the `openssl` command:
/// `/echo` answers `{"path": ...}`. Killed on drop.
struct TlsServer {
    child: std::process::Child,
    base: String,
    ca: String,
}

impl TlsServer {
    fn start(dir: &Path) -> Self {
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("the openssl command makes the test certificate");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let port = free_port();
        let script = format!(
            "const fs = require('fs'); require('https').createServer({{ key: fs.readFileSync({key:?}), cert: fs.readFileSync({cert:?}) }}, \
             (q, s) => s.end(JSON.stringify({{ path: q.url }}))).listen({port}, '127.0.0.1');"
        );
        let child = Command::new("node")
            .args(["-e", &script])
            .spawn()
            .expect("node runs the TLS server");
        assert!(
            common::eventually(std::time::Duration::from_secs(20), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
            "the TLS server did not start"
        );
        Self {
            child,
            base: format!("https://127.0.0.1:{port}"),
            ca: std::fs::read_to_string(&cert).unwrap(),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_client_verifies_with_the_ca_option_and_refuses_an_unknown_issuer_as_node_does() {
    let certs = tempfile::tempdir().unwrap();
    let tls = TlsServer::start(certs.path());
    let server = HttpServer::start();
    let dir = fixture("snapjs-http");
    let event = serde_json::json!({
        "base": server.base, "refused": free_port(),
        "https": tls.base, "ca": tls.ca, "only": ["https"],
    });
    let node = under_node(&dir, &event, &[]);
    assert_eq!(
        node["https"],
        serde_json::json!({
            "withCa": {"status": 200, "path": "/echo"},
            "insecure": {"status": 200, "path": "/echo"},
            "refused": true,
        }),
        "{node}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let run = restored(&tmp, &dir, &[]);
    let answer = run.invoke_ok(event.to_string().as_bytes());
    assert_same(&node, &answer);
}
