//! `snaprun run --engine criu`: init once, snapshot at the bootstrap's
//! snapshot point, and serve from restored instances. The rust-hello demo is
//! on the official `lambda_runtime` crate, unmodified protocol-wise, so this
//! is SnapStart's restore protocol as real clients speak it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::{RunningFunction, criu_engine, json, rust_hello};

/// The pipe open at descriptor `fd` of `pid`, as `/proc` names it
/// (`pipe:[INODE]`).
fn pipe_at(pid: u32, fd: u32) -> Option<String> {
    let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let name = target.to_string_lossy().into_owned();
    name.starts_with("pipe:").then_some(name)
}

/// The pipes open in `pid` at descriptors `from` and up.
fn pipes_from(pid: u32, from: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|fd| *fd >= from)
        .filter_map(|fd| pipe_at(pid, fd))
        .collect()
}

fn start(snapshot: &Path, extra: &[&str]) -> RunningFunction {
    RunningFunction::with_snapshot("criu", snapshot, extra, &rust_hello())
}

#[test]
fn restored_instances_serve_sequential_and_concurrent_traffic() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let run = start(&snapshot, &["--concurrency", "4"]);
    let mut seen = Vec::new();
    for i in 0..100 {
        let (status, failed, body) = run.invoke(format!("{{\"i\":{i}}}").as_bytes());
        assert_eq!((status, failed), (200, false), "{body}");
        let v = json(&body);
        assert_eq!(v["echo"]["i"], i);
        // Init ran once, before the snapshot; the hooks ran around it.
        assert_eq!(
            v["hooks"],
            serde_json::json!(["init", "before_snapshot", "after_restore"]),
            "{body}"
        );
        seen.push(v);
    }
    let concurrent = run.invoke_concurrently(8, 25, |n| format!("{{\"n\":{n},\"sleep_ms\":5}}"));
    assert_eq!(concurrent.len(), 200);
    for (n, v) in &concurrent {
        assert_eq!(v["echo"]["n"], *n);
    }
    seen.extend(concurrent.into_iter().map(|(_, v)| v));

    // Every instance shares what init made, and its after-restore hook made
    // something of its own.
    let init_nonces: HashSet<String> = seen.iter().map(|v| v["init_nonce"].to_string()).collect();
    assert_eq!(init_nonces.len(), 1, "one init, in the snapshot");
    let restore_nonces: HashSet<String> = seen
        .iter()
        .map(|v| v["restore_nonce"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        restore_nonces.len(),
        4,
        "four restored instances, each with its own nonce"
    );
    let invocations: u64 = restore_nonces
        .iter()
        .map(|nonce| {
            seen.iter()
                .filter(|v| v["restore_nonce"] == nonce.as_str())
                .map(|v| v["invocations"].as_u64().unwrap())
                .max()
                .unwrap()
        })
        .sum();
    assert_eq!(invocations, 300, "none lost, none run twice");

    let logs = run.wait_for_log("REPORT RequestId:", 300);
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("INIT_REPORT")).count(),
        1,
        "{logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("snapshot written to"))
            .count(),
        1
    );
    let restored: Vec<_> = logs
        .iter()
        .filter(|l| l.contains("\tRestore Duration: "))
        .collect();
    assert_eq!(
        restored.len(),
        4,
        "one restored start per instance: {restored:#?}"
    );
    assert!(
        restored
            .iter()
            .all(|l| l.contains("\tBilled Restore Duration: "))
    );
    // Before-snapshot hook ran before the snapshot was written.
    let before = logs
        .iter()
        .position(|l| l.contains("hook before_snapshot"))
        .unwrap();
    let written = logs
        .iter()
        .position(|l| l.contains("snapshot written to"))
        .unwrap();
    let after = logs
        .iter()
        .position(|l| l.contains("hook after_restore"))
        .unwrap();
    assert!(before < written && written < after, "{logs:#?}");
}

#[test]
fn a_later_run_reuses_the_snapshot_and_fresh_or_corrupt_makes_a_new_one() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    // A bootstrap snaprun cannot reseed (not Node) is named, once, both
    // when its snapshot is made and when a later run reuses it.
    let not_reseeded = |logs: &[String]| {
        logs.iter()
            .filter(|l| {
                l.contains("WARN")
                    && l.contains("is not a Node runtime snaprun can reseed")
                    && l.contains(rust_hello().to_str().unwrap())
            })
            .count()
    };
    let first_nonce = {
        let run = start(&snapshot, &[]);
        let answer = run.invoke_ok(b"{}");
        assert_eq!(not_reseeded(&run.logs()), 1, "{:#?}", run.logs());
        answer["init_nonce"].clone()
    };
    {
        let run = start(&snapshot, &[]);
        let answer = run.invoke_ok(b"{}");
        assert_eq!(
            answer["init_nonce"], first_nonce,
            "restored from the same snapshot"
        );
        let logs = run.logs();
        assert_eq!(not_reseeded(&logs), 1, "{logs:#?}");
        assert!(
            logs.iter()
                .any(|l| l.contains("restoring from the snapshot in")),
            "{logs:#?}"
        );
        assert!(
            !logs.iter().any(|l| l.starts_with("INIT_REPORT")),
            "no init: {logs:#?}"
        );
    }
    let second_nonce = {
        let run = start(&snapshot, &["--fresh"]);
        let answer = run.invoke_ok(b"{}");
        run.wait_for_log("snapshot written to", 1);
        answer["init_nonce"].clone()
    };
    assert_ne!(second_nonce, first_nonce, "--fresh ran init again");

    // A corrupted snapshot is never restored: it is named and replaced.
    let payload = snapshot.join("payload");
    let victim = std::fs::read_dir(&payload)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("pages-")
        })
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let run = start(&snapshot, &[]);
    let answer = run.invoke_ok(b"{}");
    assert_ne!(answer["init_nonce"], second_nonce);
    let logs = run.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("not usable") && l.contains("checksum mismatch")),
        "{logs:#?}"
    );
}

#[test]
fn a_crash_gets_an_error_and_a_freshly_restored_replacement() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = start(&tmp.path().join("snap"), &[]);
    let answer = run.invoke_ok(b"{}");
    let first = answer["restore_nonce"].clone();
    let (status, failed, body) = run.invoke(b"{\"crash\":true}");
    assert_eq!((status, failed), (200, true), "{body}");
    assert_eq!(json(&body)["errorType"], "Runtime.ExitError");
    let v = run.invoke_ok(b"{}");
    assert_eq!(v["invocations"], 1, "a new instance");
    assert_ne!(v["restore_nonce"], first, "restored again, not reused");
    assert_eq!(
        run.logs()
            .iter()
            .filter(|l| l.contains("snapshot written to"))
            .count(),
        1
    );
}

#[test]
fn hook_failures_and_hangs_end_in_their_runtime_errors() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();

    // A failing before-snapshot hook: init/error, no snapshot, the first invoke sees it.
    let dir = tmp.path().join("before");
    let run = start(&dir, &["--env", "RUST_HELLO_FAIL_BEFORE_SNAPSHOT=1"]);
    // snap-hooks' adapter posts it with its proper type; the report
    // lambda_runtime repeats afterwards is refused.
    let message = run.invoke_failing(b"{}", "Runtime.BeforeSnapshotError");
    assert!(
        message.contains("\"rust-hello.before-snapshot\"")
            && message.contains("before_snapshot failed on request"),
        "the message names the hook: {message}"
    );
    assert!(!dir.exists(), "no snapshot after init/error");
    drop(run);

    // A failing after-restore hook: restore/error, the instance is discarded.
    let run = start(
        &tmp.path().join("after"),
        &["--env", "RUST_HELLO_FAIL_AFTER_RESTORE=1"],
    );
    let message = run.invoke_failing(b"{}", "Runtime.AfterRestoreError");
    assert!(
        message.contains("\"rust-hello.after-restore\"")
            && message.contains("after_restore failed on request"),
        "the message names the hook: {message}"
    );
    drop(run);

    // A hanging after-restore hook: the restore limit.
    let run = start(
        &tmp.path().join("hang-after"),
        &[
            "--restore-timeout",
            "1",
            "--env",
            "RUST_HELLO_HANG=after_restore",
        ],
    );
    run.invoke_failing(b"{}", "Runtime.RestoreHookUserTimeout");
    drop(run);

    // A hanging before-snapshot hook: the init limit.
    let dir = tmp.path().join("hang-before");
    let run = start(
        &dir,
        &[
            "--init-timeout",
            "1",
            "--env",
            "RUST_HELLO_HANG=before_snapshot",
        ],
    );
    run.invoke_failing(b"{}", "Runtime.InitTimeout");
    assert!(!dir.exists());
}

#[test]
fn bench_reports_cold_restore_and_warm_side_by_side() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bootstrap = rust_hello();
    let snapshot = tmp.path().join("snap");
    let (ok, stdout, stderr) = common::run_snaprun(&[
        "bench",
        "--engine",
        "criu",
        "--runs",
        "3",
        "--json",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let list = json(&stdout);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "one engine: {list}");
    let v = &list[0];
    assert_eq!(v["engine"], "criu");
    assert_eq!(v["runs"], 3);
    // A restore from the worker kept ready and one that starts its own.
    for key in [
        "cold_ms",
        "restore_spare_ms",
        "restore_on_demand_ms",
        "warm_ms",
    ] {
        let (min, median, max) = (
            v[key]["min"].as_f64().unwrap(),
            v[key]["median"].as_f64().unwrap(),
            v[key]["max"].as_f64().unwrap(),
        );
        assert!(0.0 < min && min <= median && median <= max, "{key}: {v}");
    }
    for way in ["restore_spare", "restore_on_demand"] {
        let ratio = v[format!("cold_over_{way}")].as_f64().unwrap();
        assert!(
            (ratio
                - v["cold_ms"]["median"].as_f64().unwrap()
                    / v[format!("{way}_ms")]["median"].as_f64().unwrap())
            .abs()
                < 1e-9,
            "{way}: {v}"
        );
        assert!(v["max_memory_used_mb"][way].as_u64().unwrap() > 0, "{v}");
    }
    assert!(v["max_memory_used_mb"]["cold"].as_u64().unwrap() > 0);

    // The table form, on the snapshot the first run left.
    let (ok, stdout, stderr) = common::run_snaprun(&[
        "bench",
        "--engine",
        "criu",
        "--runs",
        "1",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    for needle in [
        "\ncold ",
        "\nrestore (spare) ",
        "\nrestore (on demand) ",
        "\nwarm ",
        "cold / restore (spare): ",
        "cold / restore (on demand): ",
        "max memory used:",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in {stdout}");
    }
}

#[test]
fn a_rebuilt_snaprun_makes_a_new_snapshot_instead_of_failing_restores() {
    if criu_engine().is_none() {
        return;
    }
    // The relay inside a CRIU snapshot is snaprun's own binary, which CRIU
    // restores only if the file is unchanged.
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("snaprun");
    std::fs::copy(env!("CARGO_BIN_EXE_snaprun"), &exe).unwrap();
    let snapshot = tmp.path().join("snap");
    let args = [
        "--engine",
        "criu",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--",
        rust_hello().to_str().unwrap().to_owned().leak(),
    ];
    let first = {
        let run = RunningFunction::start_exe(&exe, &args);
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "{body}");
        json(&body)["init_nonce"].clone()
    };
    // "Rebuild" it as a build would, a new file in its place: one more byte
    // at the end changes its size, not its code.
    let mut rebuilt = std::fs::read(&exe).unwrap();
    rebuilt.push(0);
    let next = tmp.path().join("snaprun.new");
    std::fs::write(&next, rebuilt).unwrap();
    std::fs::set_permissions(&next, std::fs::metadata(&exe).unwrap().permissions()).unwrap();
    std::fs::rename(&next, &exe).unwrap();
    let run = RunningFunction::start_exe(&exe, &args);
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}: {:#?}", run.logs());
    assert_ne!(
        json(&body)["init_nonce"],
        first,
        "a new init, a new snapshot"
    );
    let logs = run.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("making a new snapshot: the existing one is not usable")),
        "{logs:#?}"
    );
}

#[test]
fn the_next_restore_waits_prepared_and_dies_with_snaprun() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut run = start(&tmp.path().join("snap"), &[]);
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
    // After a restore, a CRIU worker waits for the next one.
    let snaprun = run.pid();
    let mut spare = Vec::new();
    assert!(
        common::eventually(Duration::from_secs(20), || {
            spare = common::criu_children(snaprun, "swrk");
            !spare.is_empty()
        }),
        "no CRIU worker prepared ahead"
    );
    // The relay's pipes the worker was handed for its restore: a tree it
    // restores has them as its standard input, output and error.
    let handed: HashSet<String> = spare.iter().flat_map(|pid| pipes_from(*pid, 3)).collect();
    assert!(
        !handed.is_empty(),
        "the prepared worker {spare:?} holds no pipe"
    );
    // A crashed instance is replaced by a restore through it.
    let (status, failed, body) = run.invoke(br#"{"crash":true}"#);
    assert_eq!((status, failed), (200, true), "{body}");
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, false), "{body}");
    let mut replacement = Vec::new();
    assert!(
        common::eventually(Duration::from_secs(20), || {
            replacement = common::pids()
                .into_iter()
                .filter(|pid| *pid != snaprun)
                .filter(|pid| pipe_at(*pid, 0).is_some_and(|pipe| handed.contains(&pipe)))
                .collect();
            !replacement.is_empty()
        }),
        "no instance runs on the pipes {handed:?} the prepared worker {spare:?} was handed: it did not restore the replacement"
    );
    assert!(
        common::eventually(Duration::from_secs(20), || !spare
            .iter()
            .any(|pid| Path::new(&format!("/proc/{pid}")).exists())),
        "the prepared worker {spare:?} is still there after restoring {replacement:?}"
    );
    // Killed outright, snaprun cannot stop its idle worker: the worker sees
    // its socket close and exits by itself.
    assert!(common::eventually(Duration::from_secs(20), || {
        spare = common::criu_children(snaprun, "swrk");
        !spare.is_empty()
    }));
    run.kill_snaprun();
    assert!(
        common::eventually(Duration::from_secs(20), || !spare.iter().any(
            |pid| Path::new(&format!("/proc/{pid}")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ")
        )),
        "an idle CRIU worker outlived snaprun: {spare:?}"
    );
}

#[test]
fn snaprun_killed_with_its_process_group_mid_restore_leaves_nothing_behind() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The bootstrap and the snapshot at paths of this test's own, to find
    // its processes by: restored ones run the bootstrap, and a restore
    // under way holds the snapshot's images open.
    let bootstrap = tmp.path().join("bootstrap");
    std::fs::copy(rust_hello(), &bootstrap).unwrap();
    let needle = tmp.path().to_str().unwrap();
    let dir = tmp.path().join("snap");
    // Memory mapped (the default here) and copied in turn. Lazy restores
    // are not covered: their daemon dies with the group, and CRIU then
    // waits for the tree forever (docs/engines.md, "Restore").
    let modes: [&[&str]; 2] = [&[], &["--lazy-pages=off", "--map-pages=off"]];
    for round in 0..12 {
        let mut args = vec!["--concurrency", "2"];
        args.extend(modes[round as usize % 2]);
        let run = RunningFunction::with_snapshot("criu", &dir, &args, &bootstrap);
        run.invoke_ok(b"{}");
        // The crashed instance's replacement is restored at once; SIGKILL to
        // snaprun's process group (what dropping `run` sends, and what a
        // terminal's Ctrl-C resembles) lands at some stage of that restore.
        let (status, failed, body) = run.invoke(br#"{"crash":true}"#);
        assert_eq!((status, failed), (200, true), "{body}");
        std::thread::sleep(Duration::from_millis(round % 4 * 6));
        drop(run);
    }
    // A CRIU worker killed halfway would leave its tasks waiting for it
    // forever; a finished restore of a dead snaprun must exit by itself.
    let mut left = Vec::new();
    let gone = common::eventually(Duration::from_secs(20), || {
        left = common::processes_mentioning(needle);
        left.is_empty()
    });
    for (pid, _) in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(gone, "left behind by a killed snaprun: {left:#?}");
}

#[test]
fn a_snapshot_that_fills_its_filesystem_is_refused_with_that_cause() {
    if criu_engine().is_none() {
        return;
    }
    common::assert_a_full_filesystem_is_named_as_the_cause("criu", &rust_hello());
}

#[test]
fn a_snapshot_is_reused_for_the_same_function_and_replaced_when_it_changes() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let forward = format!("127.0.0.1:{}", common::free_port());
    // Each start's init nonce, and what it said about the snapshot there.
    let start_with = |extra: &[&str]| {
        let run = start(&dir, extra);
        let answer = run.invoke_ok(b"{}");
        let nonce = answer["init_nonce"].as_str().unwrap().to_owned();
        (nonce, run.logs())
    };
    let (made, _) = start_with(&[]);
    let (reused, logs) = start_with(&[]);
    assert_eq!(reused, made, "the same function restores the same snapshot");
    assert!(
        logs.iter()
            .any(|l| l.contains("snaprun: restoring from the snapshot in")),
        "{logs:#?}"
    );
    let mut last = made;
    for change in [
        &["--env", "SOME_SETTING=1"][..],
        &["--handler", "other.handler"],
        &["--memory-size", "256"],
        &["--function-name", "renamed"],
        &["--forward", forward.as_str()],
    ] {
        let (nonce, logs) = start_with(change);
        assert_ne!(nonce, last, "{change:?}: a new init, a new snapshot");
        assert!(
            logs.iter().any(|l| l.starts_with(
                "snaprun: making a new snapshot: the existing one is not usable: snapshot is of something else: its "
            )),
            "{change:?}: {logs:#?}"
        );
        // And that new snapshot is then the one reused.
        let (again, _) = start_with(change);
        assert_eq!(again, nonce, "{change:?}: the new snapshot is reused");
        last = nonce;
    }
    // A variable passed through from snaprun's own environment counts too:
    // a rotated secret makes a new snapshot, the same one reuses it.
    let with_secret = |secret: &str| {
        let mut snaprun = common::snaprun();
        snaprun.env("AWS_SECRET_ACCESS_KEY", secret);
        let run = RunningFunction::start_command(
            snaprun,
            &[
                "--engine",
                "criu",
                "--snapshot-dir",
                dir.to_str().unwrap(),
                "--",
                rust_hello().to_str().unwrap(),
            ],
        );
        let answer = run.invoke_ok(b"{}");
        (
            answer["init_nonce"].as_str().unwrap().to_owned(),
            run.logs(),
        )
    };
    let (first, _) = with_secret("first-secret");
    let (same, _) = with_secret("first-secret");
    assert_eq!(same, first, "the same inherited secret reuses the snapshot");
    let (rotated, logs) = with_secret("rotated-secret");
    assert_ne!(rotated, first, "a rotated secret makes a new snapshot");
    assert!(
        logs.iter()
            .any(|l| l.contains("snapshot is of something else: its environment")),
        "{logs:#?}"
    );
    let manifest = std::fs::read(dir.join("manifest.snap")).unwrap();
    assert!(
        !manifest.windows(14).any(|w| w == b"rotated-secret"),
        "the secret is recorded as its digest only"
    );
}

#[test]
fn encrypted_snapshots_are_made_reused_and_restored_from_their_decrypted_copy() {
    if criu_engine().is_none() {
        return;
    }
    common::assert_encrypted_snapshots_serve("criu", &rust_hello());
}
