//! A stateful process tree, checkpointed once and restored eight times at once:
//! every copy continues from the checkpointed counter, whether its memory was
//! copied (CRIU's own way) or mapped from the page images (snap's patch), where
//! the copies share the pages and each write stays in the copy that made it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::pipe;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{Cleanup, Lines, criu_engine, criu_mapping_pages, processes_mapping_images};
use snap::criu::CriuEngine;
use snap::criu::RestoreOptions;
use snap::sandbox::SandboxCommand;
use snap::{Engine, Snapshot};

const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done";
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn eight_simultaneous_restores_continue_from_the_checkpointed_counter() {
    let Some(engine) = criu_engine() else { return };
    eight_copies_continue(&engine, false);
}

#[test]
fn eight_restores_mapped_from_the_images_each_count_on_their_own() {
    let Some(engine) = criu_mapping_pages() else {
        return;
    };
    eight_copies_continue(&engine, true);
}

/// The counter, started in a sandbox and checkpointed into `dir` once it
/// has printed `before` numbers: the snapshot, and every number it printed
/// (CRIU killed it; all it printed before the dump is there).
fn checkpointed_counter(
    engine: &CriuEngine,
    dir: &Path,
    cleanup: &mut Cleanup,
    before: usize,
) -> (Snapshot, Vec<u64>) {
    let (reader, writer) = pipe().unwrap();
    let tree = SandboxCommand::new("bash")
        .args(["-c", COUNTER])
        .stdout(writer)
        .spawn()
        .unwrap();
    let pid = tree.pid();
    cleanup.sandboxes.push(tree);
    let lines = Lines::new(reader);
    let mut seen: Vec<u64> = (0..before)
        .map(|_| lines.next(WAIT).parse().unwrap())
        .collect();
    let snapshot = engine.checkpoint(&pid, dir, &Default::default()).unwrap();
    seen.extend(lines.rest(WAIT).iter().map(|l| l.parse::<u64>().unwrap()));
    cleanup.sandboxes.last_mut().unwrap().wait().unwrap();
    (snapshot, seen)
}

fn eight_copies_continue(engine: &CriuEngine, map_pages: bool) {
    let mut cleanup = Cleanup::default();
    let dir = tempfile::tempdir().unwrap();
    let snapshot_dir = dir.path().join("counter");

    let (snapshot, seen) = checkpointed_counter(engine, &snapshot_dir, &mut cleanup, 5);
    let last = *seen.last().unwrap();
    assert_eq!(
        seen,
        (1..=last).collect::<Vec<_>>(),
        "the counter counted in order"
    );

    let copies: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (engine, snapshot) = (engine, &snapshot);
                scope.spawn(move || {
                    let (reader, writer) = pipe().unwrap();
                    let mut options = RestoreOptions::default();
                    options.stdio[1] = Some(writer.into());
                    options.map_pages = map_pages;
                    (engine.restore(snapshot, options), reader)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut outputs = Vec::new();
    let mut failures = Vec::new();
    for (restored, reader) in copies {
        match restored {
            Ok(tree) => {
                cleanup.restored.push(tree);
                outputs.push(Lines::new(reader));
            }
            Err(err) => failures.push(err.to_string()),
        }
    }
    assert!(failures.is_empty(), "restores failed: {failures:#?}");

    let pids: std::collections::HashSet<i32> = cleanup.restored.iter().map(|t| t.pid()).collect();
    assert_eq!(pids.len(), 8, "each copy has its own root");
    for (k, output) in outputs.iter().enumerate() {
        let seen: Vec<u64> = (0..3).map(|_| output.next(WAIT).parse().unwrap()).collect();
        assert_eq!(
            seen,
            vec![last + 1, last + 2, last + 3],
            "copy {k} must continue from the checkpointed counter {last}"
        );
    }

    // Mapped copies show the page images among their mappings; copied ones
    // do not.
    let mapping = processes_mapping_images(&snapshot_dir);
    if map_pages {
        assert!(
            mapping.len() >= 8,
            "each of the 8 copies maps its memory from the images: {mapping:?}"
        );
    } else {
        assert!(
            mapping.is_empty(),
            "copied restores map no image: {mapping:?}"
        );
    }

    for tree in &mut cleanup.restored {
        tree.kill().unwrap();
    }
    for output in &outputs {
        // The pipe closes once the whole copy, sleep included, is gone.
        output.rest(WAIT);
    }
}

/// A restore prepared ahead whose worker died while it waited is refused as
/// such (nothing restored, so another worker may try), and another worker
/// then restores the counter.
#[test]
fn a_prepared_restore_whose_worker_died_says_so_and_another_restores() {
    let Some(engine) = criu_engine() else { return };
    let mut cleanup = Cleanup::default();
    let dir = tempfile::tempdir().unwrap();
    let snapshot_dir = dir.path().join("counter");
    let (snapshot, seen) = checkpointed_counter(&engine, &snapshot_dir, &mut cleanup, 1);
    let last = *seen.last().unwrap();

    let restore_options = |writer: std::io::PipeWriter| {
        let mut options = RestoreOptions::default();
        options.stdio[1] = Some(writer.into());
        options
    };
    let (_reader, writer) = pipe().unwrap();
    let mut prepared = engine
        .prepare_restore(&snapshot, restore_options(writer))
        .unwrap();
    prepared.stopper().stop();
    assert!(
        common::eventually(WAIT, || !prepared.is_waiting()),
        "the worker outlived its SIGKILL"
    );
    let err = prepared.restore().unwrap_err();
    assert!(err.worker_was_gone(), "{}", snap::chain(&err));
    assert!(
        err.to_string()
            .contains("CRIU had exited before it was asked"),
        "{err}"
    );

    let (reader, writer) = pipe().unwrap();
    let tree = engine.restore(&snapshot, restore_options(writer)).unwrap();
    cleanup.restored.push(tree);
    assert_eq!(Lines::new(reader).next(WAIT), (last + 1).to_string());
}
