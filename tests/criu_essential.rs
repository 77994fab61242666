//! A process the caller names essential (under `snaprun run`, the bootstrap
//! below its relay) must be dumped alive: one that has exited is saved by
//! CRIU as the zombie it is, and every restore would find it dead, so the
//! checkpoint is refused and nothing is committed. Without that naming, a
//! zombie in the tree is saved as it was, as before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::pipe;
use std::time::Duration;

use common::{Cleanup, Lines, criu_engine};
use snap::Engine;
use snap::criu::{CheckpointError, CheckpointOptions};
use snap::sandbox::SandboxCommand;

const WAIT: Duration = Duration::from_secs(20);

/// Starts `script` as PID 1 of a sandbox whose first child is PID 2, and
/// waits for its `ready` line and for that child to be in `state`.
fn tree_with_child(cleanup: &mut Cleanup, script: &str, state: char) -> i32 {
    let (reader, writer) = pipe().unwrap();
    let tree = SandboxCommand::new("sh")
        .args(["-c", script])
        .stdout(writer)
        .spawn()
        .unwrap();
    let pid = tree.pid();
    cleanup.sandboxes.push(tree);
    assert_eq!(Lines::new(reader).next(WAIT), "ready");
    let mut seen = None;
    let settled = common::eventually(WAIT, || {
        seen = common::children(pid as u32)
            .first()
            .and_then(|child| common::state(*child));
        seen == Some(state)
    });
    assert!(settled, "the child never got to state {state}: {seen:?}");
    pid
}

#[test]
fn a_zombie_named_essential_refuses_the_dump_and_one_not_named_is_saved() {
    let Some(engine) = criu_engine() else { return };
    let mut cleanup = Cleanup::default();
    let dir = tempfile::tempdir().unwrap();
    // PID 2 is killed and never reaped: the `sleep` exec'd as PID 1 does
    // not wait for children.
    let pid = tree_with_child(
        &mut cleanup,
        "sleep 1000 & kill -KILL $!; echo ready; exec sleep 1000",
        'Z',
    );
    let refused = dir.path().join("refused");
    let options = CheckpointOptions {
        leave_running: true,
        essential: vec![2],
        ..Default::default()
    };
    match engine.checkpoint(&pid, &refused, &options) {
        Err(CheckpointError::EssentialExitedDuringDump { pid: 2 }) => {}
        other => panic!("a dead essential process was not refused: {other:?}"),
    }
    assert!(
        !refused.exists(),
        "a refused dump left {}",
        refused.display()
    );
    let err = CheckpointError::EssentialExitedDuringDump { pid: 2 }.to_string();
    assert!(err.starts_with("pid 2 of the tree"), "{err}");

    // Not named: saved with its zombie, as CRIU saves it.
    let saved = dir.path().join("saved");
    engine
        .checkpoint(&pid, &saved, &CheckpointOptions::default())
        .unwrap();
    assert!(saved.join("manifest.snap").is_file());
}

#[test]
fn a_live_process_named_essential_is_dumped() {
    let Some(engine) = criu_engine() else { return };
    let mut cleanup = Cleanup::default();
    let dir = tempfile::tempdir().unwrap();
    let pid = tree_with_child(&mut cleanup, "sleep 1000 & echo ready; wait", 'S');
    let saved = dir.path().join("saved");
    let options = CheckpointOptions {
        essential: vec![2],
        ..Default::default()
    };
    engine.checkpoint(&pid, &saved, &options).unwrap();
    assert!(saved.join("manifest.snap").is_file());
}
