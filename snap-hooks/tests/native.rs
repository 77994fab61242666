//! Hooks around `snap::checkpoint` with the native engine (no privilege
//! needed): restored instances share no random value, a `Rebuild` client
//! reconnects to a restarted server, and hook failures abort or discard.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The probe, or a copy of it named by `SNAP_HOOKS_PROBE` (scripts/test.sh
/// copies it somewhere an unprivileged user can run it from).
fn probe() -> String {
    std::env::var("SNAP_HOOKS_PROBE")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_snap-hooks-probe").to_owned())
}

fn run(args: &[&str], restore_from: Option<&Path>) -> Output {
    let mut cmd = Command::new(probe());
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("SNAP_RESTORE_FROM");
    if let Some(dir) = restore_from {
        cmd.env("SNAP_RESTORE_FROM", dir);
    }
    cmd.output().unwrap()
}

/// The JSON line a probe that exited with `code` printed, as a flat
/// string map.
fn exited(out: &Output, code: i32) -> HashMap<String, String> {
    assert_eq!(
        out.status.code(),
        Some(code),
        "the probe ended with {}: stdout {}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    line(out)
}

/// The JSON line of a probe that exited successfully.
fn ok(out: &Output) -> HashMap<String, String> {
    exited(out, 0)
}

/// The JSON line a probe printed, as a flat string map.
fn line(out: &Output) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {text:?}, stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect()
}

/// Checkpoints `args`, then restores it 8 times at once.
fn eight_restores(dir: &Path, args: &[&str]) -> Vec<HashMap<String, String>> {
    let first = run(args, None);
    assert_eq!(ok(&first)["side"], "checkpointed", "{first:?}");
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(probe())
                .env("SNAP_RESTORE_FROM", dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let fields = ok(&out);
            assert_eq!(fields["side"], "restored", "{out:?}");
            fields
        })
        .collect()
}

fn duplicated(instances: &[HashMap<String, String>], key: &str) -> usize {
    let mut seen: Vec<&str> = instances.iter().map(|i| i[key].as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    instances.len() - seen.len()
}

const SOURCES: [&str; 4] = ["rand", "floats", "instance_id", "random_state"];

#[test]
fn eight_restored_instances_share_no_random_value() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let instances = eight_restores(&dir, &["uniqueness", dir.to_str().unwrap()]);
    for source in SOURCES {
        assert_eq!(duplicated(&instances, source), 0, "{source}: {instances:?}");
    }
    // The documented limit: std's RandomState keys live in a thread-local
    // nothing outside std can reach, so the checkpointing thread repeats
    // them in every instance. snap_hooks::RandomState is the fix.
    assert_eq!(
        duplicated(&instances, "std_random_state"),
        7,
        "{instances:?}"
    );
}

#[test]
fn without_the_hooks_every_instance_repeats_the_same_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let instances = eight_restores(&dir, &["uniqueness", dir.to_str().unwrap(), "--no-hooks"]);
    for source in SOURCES {
        assert_eq!(duplicated(&instances, source), 7, "{source}: {instances:?}");
    }
}

/// A line server on 127.0.0.1 answering each line with `TAG:line`, until
/// dropped.
struct LineServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LineServer {
    fn start(port: u16, tag: &'static str) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut clients = Vec::new();
            while !stopping.load(Ordering::Acquire) {
                if let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(false).unwrap();
                    let done = Arc::clone(&stopping);
                    clients.push(std::thread::spawn(move || {
                        stream
                            .set_read_timeout(Some(std::time::Duration::from_millis(50)))
                            .unwrap();
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut writer = stream;
                        let mut line = String::new();
                        while !done.load(Ordering::Acquire) {
                            match reader.read_line(&mut line) {
                                Ok(0) => break,
                                Ok(_) => {
                                    let _ = writer.write_all(format!("{tag}:{line}").as_bytes());
                                    line.clear();
                                }
                                Err(_) => continue,
                            }
                        }
                    }));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            for client in clients {
                let _ = client.join();
            }
        });
        Self {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for LineServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_rebuilt_client_reaches_the_restarted_server_on_its_first_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let server = LineServer::start(0, "first");
    let port = server.port.to_string();
    let out = run(&["reconnect", dir.to_str().unwrap(), &port], None);
    let fields = ok(&out);
    assert_eq!(
        (fields["side"].as_str(), fields["reply"].as_str()),
        ("checkpointed", "first:init")
    );
    // The server restarts between the checkpoint and the restore.
    drop(server);
    let _server = LineServer::start(port.parse().unwrap(), "second");
    let out = run(&[], Some(&dir));
    let fields = ok(&out);
    assert_eq!(fields["side"], "restored", "{out:?}");
    assert_eq!(fields["reply"], "second:after");
    // Built once at init, once after the restore.
    assert_eq!(fields["builds"], "2");
}

#[test]
fn a_client_held_across_the_checkpoint_without_rebuild_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let server = LineServer::start(0, "first");
    let out = run(
        &[
            "reconnect",
            dir.to_str().unwrap(),
            &server.port.to_string(),
            "--raw",
        ],
        None,
    );
    // Refused: the probe reports the error and exits 1.
    let fields = exited(&out, 1);
    assert_eq!(fields["side"], "error");
    assert!(fields["error"].contains("socket"), "{fields:?}");
    assert!(!dir.exists());
}

#[test]
fn hooks_run_in_order_around_the_native_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let out = run(&["phases", dir.to_str().unwrap()], None);
    let fields = ok(&out);
    assert_eq!(fields["side"], "checkpointed");
    // The process that checkpointed carries on through the after hooks too.
    assert_eq!(
        fields["log"],
        "before:c before:b before:a after:a after:b after:c"
    );
    let fields = ok(&run(&[], Some(&dir)));
    assert_eq!(fields["side"], "restored");
    assert_eq!(
        fields["log"],
        "before:c before:b before:a after:a after:b after:c"
    );
}

#[test]
fn a_failing_before_hook_aborts_the_checkpoint_and_the_process_carries_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let out = run(&["phases", dir.to_str().unwrap(), "--fail-before"], None);
    // It carries on: the error is its to report, and it exits normally.
    let fields = ok(&out);
    assert_eq!(fields["side"], "error");
    // c ran, b failed, a never ran; c is undone.
    assert_eq!(fields["log"], "before:c before:b after:c");
    assert!(
        fields["error"].contains("before-checkpoint hook \"b\" failed: cannot flush"),
        "{fields:?}"
    );
    assert!(!dir.exists(), "no snapshot after a failed before hook");
}

#[test]
fn a_failing_after_hook_fails_the_restored_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let out = run(&["phases", dir.to_str().unwrap(), "--fail-after"], None);
    assert_eq!(ok(&out)["side"], "checkpointed");
    // The restored instance learns of the failure from `snap::checkpoint`
    // (the probe prints it and ends normally), rather than crashing.
    let fields = ok(&run(&[], Some(&dir)));
    assert_eq!(fields["side"], "error");
    assert!(
        fields["error"].contains("after-restore hook \"b\" failed: cannot reconnect"),
        "{fields:?}"
    );
}

#[test]
fn new_credentials_in_the_restoring_environment_are_reported_to_the_hook() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let out = Command::new(probe())
        .args(["env", dir.to_str().unwrap()])
        .env_remove("SNAP_RESTORE_FROM")
        .env("AWS_ACCESS_KEY_ID", "AKIAOLD")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_eq!(ok(&out)["side"], "checkpointed", "{out:?}");
    let out = Command::new(probe())
        .env("SNAP_RESTORE_FROM", &dir)
        .env("AWS_ACCESS_KEY_ID", "AKIANEW")
        .env("AWS_SESSION_TOKEN", "token-2")
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    let fields = ok(&out);
    assert_eq!(fields["side"], "restored", "{out:?}");
    // The region did not change, so only the key and the token are reported.
    assert_eq!(
        fields["changed"],
        "AWS_ACCESS_KEY_ID:AKIAOLD->AKIANEW AWS_SESSION_TOKEN:-->token-2"
    );
}
