//! `snaprun run --engine criu --lazy-pages`: restored instances start before
//! their memory is copied, each served by a `criu lazy-pages` daemon of its
//! own, and still have every byte of the snapshot's memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{RunningFunction, criu_engine, rust_data_heavy, rust_hello};

/// The pids of `criu lazy-pages` daemons whose parent is `parent`.
fn lazy_pages_daemons(parent: u32) -> Vec<u32> {
    common::criu_children(parent, "lazy-pages")
}

/// Whether process `pid` has a userfaultfd open.
fn holds_userfaultfd(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| target.to_string_lossy().contains("userfaultfd"))
    })
}

#[test]
fn lazy_restores_side_by_side_each_get_their_whole_memory() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = RunningFunction::with_snapshot(
        "criu",
        &tmp.path().join("snap"),
        &["--lazy-pages", "--concurrency", "3"],
        &rust_data_heavy(),
    );
    // Three instances restore at once; each checks every entry of its
    // 40 MiB table, which reached it through its own daemon.
    let answers = run.invoke_concurrently(3, 4, |n| {
        format!("{{\"verify\":true,\"index\":{}}}", n % 1000 * 4099)
    });
    assert_eq!(answers.len(), 12);
    for (n, v) in &answers {
        assert_eq!(v["mismatches"], 0, "a lazily restored table differs: {v}");
        assert_eq!(v["entries"], 5_242_880, "{v}");
        assert!(
            v["value"].is_string(),
            "entry {} missing: {v}",
            n % 1000 * 4099
        );
    }
    // Each restored instance's first REPORT says how long its restore took.
    let logs = run.wait_for_log("\tRestore Duration: ", 3);
    assert!(
        !logs.iter().any(|l| l.contains("restoring memory")),
        "--lazy-pages asked outright needs no announcement: {logs:#?}"
    );
    // Each daemon exits once its tree has every page, and snaprun reaps it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = lazy_pages_daemons(run.pid());
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "criu lazy-pages daemons still running after 30 s: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A restore after the daemons are gone still works.
    let (status, failed, body) = run.invoke(br#"{"verify":true}"#);
    assert_eq!((status, failed), (200, false), "{body}");
    assert_eq!(common::json(&body)["mismatches"], 0, "{body}");
}

#[test]
fn auto_restores_large_images_lazily_and_small_ones_eagerly() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (bootstrap, expected) in [
        (rust_data_heavy(), "snaprun: restoring memory lazily"),
        (rust_hello(), "snaprun: restoring memory eagerly"),
    ] {
        let name = bootstrap.parent().unwrap().display().to_string();
        // Mapping memory, where CRIU can, leaves nothing to load lazily.
        let run = RunningFunction::with_snapshot(
            "criu",
            &tmp.path().join(name.replace('/', "_")),
            &["--map-pages=off"],
            &bootstrap,
        );
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "{body}");
        let logs = run.wait_for_log(expected, 1);
        assert_eq!(
            logs.iter()
                .filter(|l| l.contains("snaprun: restoring memory"))
                .count(),
            1,
            "{name}: decided once: {logs:#?}"
        );
    }
}

#[test]
fn lazy_pages_where_userfaultfd_is_refused_fail_at_start_and_say_why() {
    if criu_engine().is_none() {
        return;
    }
    // The kernel's default: userfaultfd is for root (CAP_SYS_PTRACE) only.
    let sysctl = std::fs::read_to_string("/proc/sys/vm/unprivileged_userfaultfd").unwrap();
    assert_eq!(
        sysctl.trim(),
        "0",
        "this test needs vm.unprivileged_userfaultfd=0, the kernel's default"
    );
    // A copy of snaprun that uid 65534 can reach, wherever the checkout is.
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("snaprun");
    std::fs::copy(env!("CARGO_BIN_EXE_snaprun"), &exe).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["run", "--engine", "criu", "--lazy-pages", "--", "/bin/true"])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--lazy-pages: lazy restores need userfaultfd")
            && stderr.contains("Operation not permitted")
            && stderr.lines().count() == 1,
        "one line naming the problem and its cause: {stderr}"
    );
    // Nothing was started: snaprun refused before making a snapshot.
    assert!(!Path::new(&tmp.path().join("snap")).exists());
}

#[test]
fn lazy_pages_are_refused_where_there_is_nothing_to_restore_lazily() {
    for (engine, bootstrap, message) in [
        (
            "none",
            "/bin/true",
            "--lazy-pages restores from a snapshot; --engine none starts every instance cold",
        ),
        (
            "native",
            common::rust_heavy_init()
                .to_str()
                .unwrap()
                .to_owned()
                .leak(),
            "--lazy-pages is for the CRIU engine; native restores always map memory lazily",
        ),
    ] {
        let (ok, _, stderr) =
            common::run_snaprun(&["run", "--engine", engine, "--lazy-pages", "--", bootstrap]);
        assert!(!ok && stderr.contains(message), "{engine}: {stderr}");
    }
}

#[test]
fn a_killed_lazy_pages_daemon_never_leaves_an_instance_with_missing_memory() {
    if criu_engine().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A large table keeps the daemon busy for a while after the restore.
    let run = RunningFunction::with_snapshot(
        "criu",
        &tmp.path().join("snap"),
        &["--lazy-pages", "--env", "DATA_HEAVY_MB=256"],
        &rust_data_heavy(),
    );
    // The slot restores its first instance at once: kill its daemon as
    // soon as it appears.
    let deadline = Instant::now() + Duration::from_secs(120);
    // It is killed once it holds a userfaultfd: the restored tree is
    // registered with it, its memory not yet all there.
    let daemon = loop {
        if let Some(&pid) = lazy_pages_daemons(run.pid())
            .iter()
            .find(|&&pid| holds_userfaultfd(pid))
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "no lazy-pages daemon appeared");
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    // Whatever the instance was doing, no answer comes from a table with
    // holes: an answer is either whole or an error, and the slot recovers
    // with a fresh restore.
    let mut whole = 0;
    for _ in 0..3 {
        let (status, failed, body) = run.invoke(br#"{"verify":true}"#);
        assert_eq!(status, 200, "{body}");
        if !failed {
            assert_eq!(common::json(&body)["mismatches"], 0, "{body}");
            whole += 1;
        }
    }
    let logs = run.logs();
    assert!(whole >= 2, "the slot did not recover: {logs:#?}");
    assert!(
        logs.iter().any(|l| l.contains("criu lazy-pages")),
        "the daemon's death is reported: {logs:#?}"
    );
}
