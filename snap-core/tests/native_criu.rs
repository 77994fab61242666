//! `snap::checkpoint` through CRIU: a helper outside the process's tree dumps
//! it, so programs the native engine refuses (a second thread) still return
//! twice. Needs root and CRIU; fails instead of skipping under
//! `SNAP_REQUIRE_CRIU=1`.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;

use snap::criu::{CriuEngine, RestoreOptions};

/// How long the restored probe may take to print its line, and then to exit.
const LIMIT: Duration = Duration::from_secs(30);

fn criu_here() -> bool {
    let required = std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1");
    let problem = match CriuEngine::locate() {
        Ok(_) if nix_euid() == 0 => return true,
        Ok(_) => "CRIU needs root".to_owned(),
        Err(err) => err.to_string(),
    };
    assert!(!required, "SNAP_REQUIRE_CRIU=1 but {problem}");
    eprintln!("SKIPPED: {problem}");
    false
}

fn nix_euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in {json}"))
        + key.len();
    json[start..]
        .split([',', '}'])
        .next()
        .unwrap()
        .trim_matches('"')
}

#[test]
fn a_two_threaded_process_checkpoints_itself_through_criu_and_is_restored() {
    if !criu_here() {
        return;
    }
    let probe = env!("CARGO_BIN_EXE_snap-native-probe");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let out = Command::new(probe)
        .args([dir.to_str().unwrap(), "10000", "--thread", "--criu"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(field(&line, "side"), "checkpointed", "{line}");

    let (reader, writer) = std::io::pipe().unwrap();
    let mut options = RestoreOptions::default();
    options.stdio[1] = Some(writer.into());
    let tree = snap::criu::restore_self(
        &dir,
        options,
        vec!["probe".into(), "restored".into()],
        vec![("SNAP_PROBE_MARKER".into(), "via-criu".into())],
    )
    .unwrap();
    let mut root = tree.into_root();
    // Its line, read on a thread so that a restored probe that hangs fails
    // the test instead of stalling it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(reader).read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let restored = match rx.recv_timeout(LIMIT) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => {
            let _ = root.kill();
            panic!("reading the restored probe's line: {e}");
        }
        Err(e) => {
            let _ = root.kill();
            panic!("the restored probe printed no line within {LIMIT:?}: {e}");
        }
    };
    // It exits, and cleanly.
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = root.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = root.kill();
            panic!("the restored probe did not exit within {LIMIT:?}: {restored}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "the restored probe ended with {status:?}: {restored}"
    );
    assert_eq!(field(&restored, "side"), "restored", "{restored}");
    assert_eq!(field(&restored, "digest"), field(&line, "digest"));
    assert_eq!(field(&restored, "generation"), "1");
    assert_eq!(field(&restored, "next_line"), "second");
    assert_eq!(field(&restored, "signal"), "true");
    assert_eq!(field(&restored, "marker"), "via-criu");
    assert_eq!(field(&restored, "args"), "2");
}
