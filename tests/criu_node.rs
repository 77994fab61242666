//! A Node 20 process that has loaded `@aws-sdk/client-s3`, checkpointed and
//! restored eight times at once: every copy answers on fresh stdio pipes and
//! still holds the state from before the checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Write, pipe};
use std::thread;
use std::time::Duration;

use common::{Cleanup, Lines, criu_engine, node_fixture};
use snap::Engine;
use snap::criu::RestoreOptions;
use snap::sandbox::SandboxCommand;

const WAIT: Duration = Duration::from_secs(30);

fn field(json: &str, name: &str) -> String {
    // The fixture prints flat JSON objects; enough to pick one field out.
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("{name} missing in {json}"))
        + key.len();
    json[start..]
        .split([',', '}'])
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

#[test]
fn node_with_the_aws_sdk_answers_after_eight_simultaneous_restores() {
    let Some(engine) = criu_engine() else { return };
    let Some(fixture) = node_fixture() else {
        return;
    };
    let mut cleanup = Cleanup::default();
    let dir = tempfile::tempdir().unwrap();

    let (stdin_r, mut stdin_w) = pipe().unwrap();
    let (stdout_r, stdout_w) = pipe().unwrap();
    let tree = SandboxCommand::new("node")
        .args([fixture.join("answer.js")])
        .stdin(stdin_r)
        .stdout(stdout_w)
        .spawn()
        .unwrap();
    let pid = tree.pid();
    cleanup.sandboxes.push(tree);
    let out = Lines::new(stdout_r);
    let ready = out.next(WAIT);
    assert_eq!(field(&ready, "ready"), "true", "{ready}");
    let born = field(&ready, "bornPid");
    writeln!(stdin_w, "before").unwrap();
    let first = out.next(WAIT);
    assert_eq!(field(&first, "answered"), "1");
    assert_eq!(field(&first, "sdk"), "true");

    let snapshot = engine
        .checkpoint(&pid, &dir.path().join("node"), &Default::default())
        .unwrap();
    cleanup.sandboxes[0].wait().unwrap();
    drop(stdin_w);

    let copies: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (engine, snapshot) = (&engine, &snapshot);
                scope.spawn(move || {
                    let (stdin_r, stdin_w) = pipe().unwrap();
                    let (stdout_r, stdout_w) = pipe().unwrap();
                    let mut options = RestoreOptions::default();
                    options.stdio[0] = Some(stdin_r.into());
                    options.stdio[1] = Some(stdout_w.into());
                    (engine.restore(snapshot, options), stdin_w, stdout_r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut pipes = Vec::new();
    for (restored, stdin_w, stdout_r) in copies {
        cleanup.restored.push(restored.unwrap());
        pipes.push((stdin_w, Lines::new(stdout_r)));
    }

    for (k, (stdin_w, out)) in pipes.iter_mut().enumerate() {
        writeln!(stdin_w, "copy-{k}").unwrap();
        let answer = out.next(WAIT);
        assert_eq!(field(&answer, "echo"), format!("copy-{k}"), "{answer}");
        // State from before the checkpoint: one line was already answered.
        assert_eq!(field(&answer, "answered"), "2", "{answer}");
        assert_eq!(field(&answer, "bornPid"), born, "{answer}");
        assert_eq!(field(&answer, "sdk"), "true", "{answer}");
    }
    // The copies keep working, independently.
    for (k, (stdin_w, out)) in pipes.iter_mut().enumerate().filter(|(k, _)| k % 2 == 0) {
        writeln!(stdin_w, "again-{k}").unwrap();
        assert_eq!(field(&out.next(WAIT), "answered"), "3");
    }
    for (k, (stdin_w, out)) in pipes.iter_mut().enumerate().filter(|(k, _)| k % 2 == 1) {
        writeln!(stdin_w, "again-{k}").unwrap();
        assert_eq!(field(&out.next(WAIT), "answered"), "3");
    }
}
