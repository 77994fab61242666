//! `snaprun` end to end: spawn, checkpoint, inspect and restore through the
//! CLI, and every bad input ending in one clear line and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{Cleanup, copy_dir, criu_engine, node_fixture, run_snaprun, snaprun};
use snap::Snapshot;
use snap::sandbox::SandboxCommand;
use snap::snapshot::{Expect, MANIFEST_FILE, PAYLOAD_DIR};

const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done";

/// Asserts a failed run whose stderr is one error line containing `needle`.
fn assert_fails_with(args: &[&str], needle: &str) {
    let (ok, _, stderr) = run_snaprun(args);
    assert!(!ok, "snaprun {args:?} succeeded");
    assert!(
        !stderr.contains("panicked"),
        "snaprun {args:?} panicked: {stderr}"
    );
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "snaprun {args:?}: not one line: {stderr}");
    assert!(lines[0].starts_with("snaprun: error: "), "{stderr}");
    assert!(
        stderr.contains(needle),
        "snaprun {args:?}: {needle:?} not in {stderr}"
    );
}

/// Spawns the counter through the CLI and returns its pid and output file.
fn spawn_counter(dir: &Path, cleanup: &mut Cleanup) -> (i32, PathBuf) {
    spawn_shell(dir, COUNTER, cleanup)
}

/// Spawns `script` through the CLI once it has printed three lines, and
/// returns its pid and output file.
fn spawn_shell(dir: &Path, script: &str, cleanup: &mut Cleanup) -> (i32, PathBuf) {
    let out = dir.join("counter.out");
    let (ok, stdout, stderr) = run_snaprun(&[
        "spawn",
        "--stdout",
        out.to_str().unwrap(),
        "--",
        "bash",
        "-c",
        script,
    ]);
    assert!(ok, "spawn failed: {stderr}");
    let pid: i32 = stdout.trim().parse().unwrap();
    cleanup.pids.push(pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while fs::read_to_string(&out).unwrap_or_default().lines().count() < 3 {
        assert!(Instant::now() < deadline, "counter printed nothing");
        sleep(Duration::from_millis(20));
    }
    (pid, out)
}

fn counter_values(out: &Path) -> Vec<u64> {
    fs::read_to_string(out)
        .unwrap()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// `snaprun checkpoint --pid PID --snapshot-dir SNAPSHOT`: whether it
/// succeeded, its stdout and its stderr.
fn checkpoint(pid: i32, snapshot: &Path) -> (bool, String, String) {
    run_snaprun(&[
        "checkpoint",
        "--pid",
        &pid.to_string(),
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
    ])
}

/// A CRIU snapshot of a small process, made through the CLI.
fn criu_snapshot(dir: &Path, cleanup: &mut Cleanup) -> PathBuf {
    let (pid, _) = spawn_counter(dir, cleanup);
    let snapshot = dir.join("snap");
    let (ok, _, stderr) = checkpoint(pid, &snapshot);
    assert!(ok, "checkpoint failed: {stderr}");
    snapshot
}

#[test]
fn spawn_checkpoint_inspect_and_restore_three_copies() {
    if criu_engine().is_none() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let tmp = tempfile::tempdir().unwrap();
    let (pid, out) = spawn_counter(tmp.path(), &mut cleanup);
    let snapshot = tmp.path().join("snap");
    let (ok, stdout, stderr) = checkpoint(pid, &snapshot);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with(snapshot.to_str().unwrap()), "{stdout}");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid),
        "the dumped tree is gone"
    );
    let last = *counter_values(&out).last().unwrap();

    let (ok, report, stderr) = run_snaprun(&["inspect", snapshot.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    for needle in [
        "engine     criu",
        "bootstrap  /usr/bin/bash",
        "pid own (restores side by side)",
        "format     version 1",
    ] {
        assert!(report.contains(needle), "{needle:?} not in\n{report}");
    }

    let (ok, stdout, stderr) = run_snaprun(&[
        "restore",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--count",
        "3",
    ]);
    assert!(ok, "{stderr}");
    let pids: Vec<i32> = stdout.lines().map(|l| l.parse().unwrap()).collect();
    cleanup.pids.extend(&pids);
    assert_eq!(pids.len(), 3, "{stdout}");
    for pid in &pids {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
        assert!(
            nspid.ends_with("\t1"),
            "copy {pid} is PID 1 of its own namespace: {nspid}"
        );
    }
    // All three copies append to the same output file, each continuing the count.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let after: Vec<u64> = counter_values(&out)
            .into_iter()
            .filter(|v| *v > last)
            .collect();
        let next = after.iter().filter(|v| **v == last + 1).count();
        if next == 3 && after.iter().filter(|v| **v == last + 2).count() == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "copies did not all continue from {last}: {after:?}"
        );
        sleep(Duration::from_millis(20));
    }
    // No copy restarted from zero: every value up to the checkpoint's was
    // written once, by the original process.
    let values = counter_values(&out);
    for v in 1..=last {
        let times = values.iter().filter(|w| **w == v).count();
        assert_eq!(times, 1, "{v} written {times} times: a copy started over");
    }
}

fn run_with_env(args: &[&str], key: &str, value: &str) -> (bool, String, String) {
    let out = snaprun().args(args).env(key, value).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[test]
fn every_corruption_of_a_real_snapshot_fails_inspect_and_restore() {
    if criu_engine().is_none() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let tmp = tempfile::tempdir().unwrap();
    let pristine = criu_snapshot(tmp.path(), &mut cleanup);
    let snapshot = Snapshot::open(&pristine, &Expect::default()).unwrap();
    let mut files: Vec<PathBuf> = snapshot
        .manifest()
        .files
        .iter()
        .map(|f| PathBuf::from(PAYLOAD_DIR).join(&f.path))
        .collect();
    files.push(PathBuf::from(MANIFEST_FILE));
    assert!(files.len() > 5, "{files:?}");

    let case = tmp.path().join("case");
    let check = |needle: &str| {
        let dir = case.to_str().unwrap();
        assert_fails_with(&["inspect", dir], needle);
        assert_fails_with(&["restore", "--snapshot-dir", dir], needle);
    };
    for rel in &files {
        let original = fs::read(pristine.join(rel)).unwrap();
        if original.is_empty() {
            continue;
        }
        let name = rel.file_name().unwrap().to_str().unwrap();
        let _ = fs::remove_dir_all(&case);
        copy_dir(&pristine, &case);
        let mut bytes = original.clone();
        let at = if rel == Path::new(MANIFEST_FILE) {
            bytes.len() - 1
        } else {
            bytes.len() / 2
        };
        bytes[at] ^= 0x80;
        fs::write(case.join(rel), &bytes).unwrap();
        check("checksum mismatch");
        check(name);

        fs::write(case.join(rel), &original[..original.len() - 1]).unwrap();
        check("truncated");
    }

    let _ = fs::remove_dir_all(&case);
    copy_dir(&pristine, &case);
    fs::remove_file(case.join(MANIFEST_FILE)).unwrap();
    check("has no manifest.snap");

    let _ = fs::remove_dir_all(&case);
    copy_dir(&pristine, &case);
    let mut manifest = fs::read(case.join(MANIFEST_FILE)).unwrap();
    manifest[8] = 7;
    fs::write(case.join(MANIFEST_FILE), &manifest).unwrap();
    check("unsupported snapshot format version 7");

    let _ = fs::remove_dir_all(&case);
    fs::create_dir(&case).unwrap();
    check("not a snapshot");

    // The pristine copy was never touched and still restores.
    let (ok, stdout, stderr) =
        run_snaprun(&["restore", "--snapshot-dir", pristine.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    cleanup.pids.push(stdout.trim().parse().unwrap());
}

#[test]
fn children_exiting_during_the_dump_are_saved_as_they_were() {
    if criu_engine().is_none() {
        return;
    }
    // A shell forking short-lived children without pause: in most dumps
    // one exits between CRIU's first look at the tree and its freeze. It
    // is saved as the zombie it was (or not at all), not refused; only the
    // root's exit spoils a snapshot.
    const FORKER: &str = "i=0; while :; do /bin/true; i=$((i+1)); echo $i; done";
    for round in 0..10 {
        let mut cleanup = Cleanup::default();
        let tmp = tempfile::tempdir().unwrap();
        let (pid, out) = spawn_shell(tmp.path(), FORKER, &mut cleanup);
        let snapshot = tmp.path().join("snap");
        let (ok, _, stderr) = checkpoint(pid, &snapshot);
        assert!(ok, "round {round}: {stderr}");
        let last = *counter_values(&out).last().unwrap();
        let (ok, stdout, stderr) =
            run_snaprun(&["restore", "--snapshot-dir", snapshot.to_str().unwrap()]);
        assert!(ok, "round {round}: {stderr}");
        cleanup.pids.push(stdout.trim().parse().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        while !counter_values(&out).contains(&(last + 2)) {
            assert!(
                Instant::now() < deadline,
                "round {round}: the restored shell did not go on forking past {last}"
            );
            sleep(Duration::from_millis(20));
        }
    }
}

/// Starts the Node fixture in a sandbox and waits until it says it is
/// ready (its SDK loaded): its pid, and the write end of its stdin, which
/// keeps it running while held.
fn start_node(fixture: &Path, cleanup: &mut Cleanup) -> (i32, std::io::PipeWriter) {
    let (stdin, keep_open) = std::io::pipe().unwrap();
    let (said, stdout) = std::io::pipe().unwrap();
    let tree = SandboxCommand::new("node")
        .args([fixture.join("answer.js")])
        .stdin(stdin)
        .stdout(stdout)
        .spawn()
        .unwrap();
    let pid = tree.pid();
    cleanup.sandboxes.push(tree);
    let ready = common::Lines::new(said).next(Duration::from_secs(30));
    assert!(ready.contains("\"ready\":true"), "{ready}");
    (pid, keep_open)
}

#[test]
fn sigkill_mid_checkpoint_never_leaves_an_accepted_snapshot() {
    let Some(_engine) = criu_engine() else { return };
    let Some(fixture) = node_fixture() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("snap");
    let logs = tempfile::tempdir().unwrap();
    let mut interrupted = 0;
    for delay_ms in [1u64, 10, 30, 60, 90, 120, 150, 200, 260] {
        let mut cleanup = Cleanup::default();
        // Node's stdin stays open for the loop iteration, so it keeps running.
        let (pid, _keep_open) = start_node(&fixture, &mut cleanup);
        let mut child = snaprun()
            // The logs of the dumps killed here stay in a directory of the test.
            .env("SNAP_LOG_DIR", logs.path())
            .args([
                "checkpoint",
                "--pid",
                &pid.to_string(),
                "--snapshot-dir",
                dest.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The kill point under test, not a wait for any state: wherever it
        // lands, no snapshot may be accepted that is not whole.
        sleep(Duration::from_millis(delay_ms));
        if let Some(status) = child.try_wait().unwrap() {
            // Finished before the kill: a complete snapshot is right here.
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            assert!(status.success(), "checkpoint failed on its own: {stderr}");
            let _ = fs::remove_dir_all(&dest);
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let (accepted, _, _) = run_snaprun(&["inspect", dest.to_str().unwrap()]);
        if accepted {
            // The kill landed after the commit, while snaprun was still
            // exiting: then the snapshot is whole, and it restores.
            let (ok, stdout, stderr) =
                run_snaprun(&["restore", "--snapshot-dir", dest.to_str().unwrap()]);
            assert!(
                ok,
                "inspect accepted {} after SIGKILL at {delay_ms} ms, but restore refused it: {stderr}",
                dest.display()
            );
            cleanup.pids.push(stdout.trim().parse().unwrap());
            fs::remove_dir_all(&dest).unwrap();
        } else {
            interrupted += 1;
            let (ok, _, _) = run_snaprun(&["restore", "--snapshot-dir", dest.to_str().unwrap()]);
            assert!(
                !ok,
                "restore accepted {} after SIGKILL at {delay_ms} ms, which inspect refused",
                dest.display()
            );
        }
        for entry in fs::read_dir(tmp.path()).unwrap() {
            let path = entry.unwrap().path();
            assert!(
                Snapshot::open(&path, &Expect::default()).is_err(),
                "{} opens after SIGKILL at {delay_ms} ms",
                path.display()
            );
            let (ok, _, _) = run_snaprun(&["inspect", path.to_str().unwrap()]);
            assert!(!ok, "inspect accepted {}", path.display());
        }
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} checkpoints were interrupted mid-way"
    );

    // A later checkpoint to the same place succeeds and sweeps the leftovers.
    let mut cleanup = Cleanup::default();
    let (pid, _keep_open) = start_node(&fixture, &mut cleanup);
    let (ok, _, stderr) = checkpoint(pid, &dest);
    assert!(ok, "{stderr}");
    let names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["snap"], "leftover temporaries were swept");
    Snapshot::open(&dest, &Expect::default()).unwrap();
}

#[test]
fn bad_invocations_end_in_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let missing = missing.to_str().unwrap();
    assert_fails_with(&["inspect", missing], "no such snapshot directory");
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert_fails_with(&["inspect", empty.to_str().unwrap()], "not a snapshot");
    assert_fails_with(
        &["spawn", "--", "/nonexistent/bootstrap"],
        "no such program",
    );
    let not_exec = tmp.path().join("data.txt");
    fs::write(&not_exec, "not a program").unwrap();
    if common::is_root() {
        assert_fails_with(&["spawn", "--", not_exec.to_str().unwrap()], "exec failed");
    }
    if criu_engine().is_some() {
        assert_fails_with(
            &[
                "checkpoint",
                "--pid",
                "2147483647",
                "--snapshot-dir",
                missing,
            ],
            "no process with pid 2147483647",
        );
        // A tree that has exited but is not reaped yet.
        let mut tree = SandboxCommand::new("true").spawn().unwrap();
        let exited = common::eventually(Duration::from_secs(10), || is_zombie(tree.pid()));
        assert!(exited, "true did not exit");
        assert_fails_with(
            &[
                "checkpoint",
                "--pid",
                &tree.pid().to_string(),
                "--snapshot-dir",
                missing,
            ],
            "has exited",
        );
        tree.wait().unwrap();
        assert_fails_with(
            &["restore", "--snapshot-dir", missing],
            "no such snapshot directory",
        );
    }
    // CRIU discovery: a bad override, and a binary that is not CRIU.
    let (ok, _, stderr) = run_with_env(
        &["restore", "--snapshot-dir", missing],
        "SNAP_CRIU",
        "/nonexistent/criu",
    );
    assert!(
        !ok && stderr.contains("SNAP_CRIU=/nonexistent/criu: no such file"),
        "{stderr}"
    );
    let (ok, _, stderr) = run_with_env(
        &["restore", "--snapshot-dir", missing],
        "SNAP_CRIU",
        "/bin/true",
    );
    assert!(
        !ok && stderr.contains("/bin/true: cannot ask CRIU for its version"),
        "{stderr}"
    );

    // Usage errors are clap's, with its exit code 2.
    let out = snaprun()
        .args(["restore", "--snapshot-dir", missing, "--count", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = snaprun()
        .args(["checkpoint", "--snapshot-dir", missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A setting restores read long after: refused before anything starts
    // (where there are native restores).
    let natively = cfg!(all(target_os = "linux", target_arch = "x86_64"));
    for (value, ok) in [("of", false), ("ON", false), ("off", true), ("", true)] {
        let out = snaprun()
            .args(["bench", "--engine", "none", "--runs", "1", "--env"])
            .arg(format!("SNAP_WORKING_SET={value}"))
            .args(["--", "/nonexistent/bootstrap"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let refused = stderr.contains(&format!(
            "SNAP_WORKING_SET is {value:?}; it takes \"off\", or nothing"
        ));
        assert_eq!(
            refused,
            natively && !ok,
            "SNAP_WORKING_SET={value}: {stderr}"
        );
        if refused {
            assert_eq!(out.status.code(), Some(2), "{stderr}");
        }
    }
}

#[test]
fn restore_count_kills_the_copies_it_started_when_one_fails() {
    if criu_engine().is_none() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = criu_snapshot(tmp.path(), &mut cleanup);
    // Copy 2 cannot open its log; copies 0, 1 and 3 restore meanwhile.
    let logs = tmp.path().join("logs");
    fs::create_dir_all(logs.join("copy-2.log")).unwrap();
    let restore = || {
        run_snaprun(&[
            "restore",
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
            "--count",
            "4",
            "--output-dir",
            logs.to_str().unwrap(),
        ])
    };
    let (ok, stdout, stderr) = restore();
    assert!(!ok, "{stdout}");
    assert!(
        stdout.is_empty(),
        "a copy was printed though one failed: {stdout}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let cause = format!("open {}: Is a directory", logs.join("copy-2.log").display());
    assert!(
        stderr.starts_with(&format!("snaprun: error: {cause}")),
        "{stderr}"
    );
    for k in [0, 1, 3] {
        assert!(
            logs.join(format!("copy-{k}.log")).is_file(),
            "copy {k} never started"
        );
    }
    // The copies that were restored were killed: none writes its log.
    let needle = logs.to_str().unwrap();
    let mut left = Vec::new();
    let gone = common::eventually(Duration::from_secs(10), || {
        left = common::processes_mentioning(needle);
        left.is_empty()
    });
    for (pid, _) in &left {
        cleanup.pids.push(*pid as i32);
    }
    assert!(gone, "copies left running after the failure: {left:?}");

    // With the cause gone, all four are restored and printed.
    fs::remove_dir(logs.join("copy-2.log")).unwrap();
    let (ok, stdout, stderr) = restore();
    assert!(ok, "{stderr}");
    let pids: Vec<i32> = stdout.lines().map(|l| l.parse().unwrap()).collect();
    cleanup.pids.extend(&pids);
    assert_eq!(pids.len(), 4, "{stdout}");
}
