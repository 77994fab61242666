//! The native engine end to end, through a program that checkpoints itself
//! (`snap-native-probe`). Needs no root and no CRIU.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

/// The probe, or a copy of it named by `SNAP_NATIVE_PROBE` (scripts/test.sh
/// copies it somewhere an unprivileged user can run it from).
fn probe() -> String {
    std::env::var("SNAP_NATIVE_PROBE")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_snap-native-probe").to_owned())
}

fn run(program: &str, args: &[&str], restore_from: Option<&Path>) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("SNAP_RESTORE_FROM")
        .env("SNAP_PROBE_MARKER", "fresh-config");
    if let Some(dir) = restore_from {
        cmd.env("SNAP_RESTORE_FROM", dir);
    }
    // A program a test has just written can be "busy" for a moment: a child
    // that another test thread forked meanwhile holds the write descriptor
    // until it execs.
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other.unwrap(),
        }
    }
    panic!("{program} stayed busy (ETXTBSY) for a second");
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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

fn checkpoint(dir: &Path, args: &[&str]) -> String {
    let mut all = vec![dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&probe(), &all, None);
    assert!(out.status.success(), "checkpoint failed: {}", stderr(&out));
    let line = stdout(&out);
    assert_eq!(field(&line, "side"), "checkpointed", "{line}");
    assert_eq!(field(&line, "generation"), "0");
    line
}

#[test]
fn a_restored_process_sees_identical_state_and_the_new_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let taken = checkpoint(&dir, &["1000000"]);
    let out = run(&probe(), &["restoring", "with", "new", "args"], Some(&dir));
    assert!(out.status.success(), "restore failed: {}", stderr(&out));
    let line = stdout(&out);
    assert_eq!(field(&line, "side"), "restored", "{line}");
    // A million-entry HashMap of Strings, a boxed closure, a static and a
    // thread-local: the same digest as at checkpoint time.
    assert_eq!(field(&line, "digest"), field(&taken, "digest"), "{line}");
    assert_eq!(field(&line, "entries"), "1000000");
    assert_eq!(field(&line, "local"), "42");
    assert_eq!(field(&line, "counter"), "7");
    // The open file continues at its offset; the signal handler is back.
    assert_eq!(field(&line, "next_line"), "second");
    assert_eq!(field(&line, "signal"), "true");
    assert_eq!(field(&line, "exe"), probe());
    // Resumed::Restored, with the restoring invocation's args and env.
    assert_eq!(field(&line, "generation"), "1");
    assert_eq!(field(&line, "ctx_generation"), "1");
    assert_eq!(field(&line, "args"), "5");
    assert_eq!(field(&line, "marker"), "fresh-config");

    // The snapshot restores again, as many times as asked.
    let again = run(&probe(), &[], Some(&dir));
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(field(&stdout(&again), "digest"), field(&taken, "digest"));
}

#[test]
fn a_second_thread_is_refused_with_the_thread_list() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        &probe(),
        &[tmp.path().join("snap").to_str().unwrap(), "10", "--thread"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("single-threaded processes; this one has 2:"),
        "{err}"
    );
    assert!(!tmp.path().join("snap").exists());
}

#[test]
fn descriptors_that_cannot_be_restored_are_listed() {
    for (flag, kind) in [
        ("--socket", "socket socket:["),
        ("--pipe", "pipe pipe:["),
        ("--epoll", "epoll anon_inode:[eventpoll]"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = run(
            &probe(),
            &[tmp.path().join("snap").to_str().unwrap(), "10", flag],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = stderr(&out);
        assert!(
            err.contains("descriptors the native engine cannot restore"),
            "{flag}: {err}"
        );
        assert!(err.contains(kind), "{flag}: {kind:?} not in {err}");
        assert!(!tmp.path().join("snap").exists());
    }
}

#[test]
fn a_corrupted_truncated_or_replaced_image_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000"]);
    let image = dir.join("payload/memory.img");
    let pristine = std::fs::read(&image).unwrap();

    let mut flipped = pristine.clone();
    flipped[pristine.len() / 3] ^= 0x01;
    std::fs::write(&image, &flipped).unwrap();
    let out = run(&probe(), &[], Some(&dir));
    assert_eq!(out.status.code(), Some(75));
    assert!(
        stderr(&out).contains("memory.img: checksum mismatch"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&image, &pristine[..pristine.len() - 4096]).unwrap();
    let out = run(&probe(), &[], Some(&dir));
    assert_eq!(out.status.code(), Some(75));
    assert!(
        stderr(&out).contains("memory.img: truncated"),
        "{}",
        stderr(&out)
    );

    // Replaced by another file of the same size.
    std::fs::remove_file(&image).unwrap();
    std::fs::write(&image, vec![0u8; pristine.len()]).unwrap();
    let out = run(&probe(), &[], Some(&dir));
    assert_eq!(out.status.code(), Some(75));
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&image, &pristine).unwrap();
    let out = run(&probe(), &[], Some(&dir));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_image_from_another_binary_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000"]);
    // The same program at another path, and a changed copy.
    let copy = tmp.path().join("probe-copy");
    std::fs::copy(probe(), &copy).unwrap();
    let out = run(copy.to_str().unwrap(), &[], Some(&dir));
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("its bootstrap is"),
        "{}",
        stderr(&out)
    );

    let mut bytes = std::fs::read(probe()).unwrap();
    bytes.extend_from_slice(b"changed");
    let changed = tmp.path().join("probe-changed");
    std::fs::write(&changed, bytes).unwrap();
    std::fs::set_permissions(
        &changed,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = run(changed.to_str().unwrap(), &[], Some(&dir));
    assert_eq!(out.status.code(), Some(75));
    assert!(
        stderr(&out).contains("snapshot is of something else"),
        "{}",
        stderr(&out)
    );

    // Not a native snapshot at all.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(&probe(), &[], Some(&empty));
    assert_eq!(out.status.code(), Some(75));
    assert!(stderr(&out).contains("not a snapshot"), "{}", stderr(&out));
}

#[test]
fn a_program_rebuilt_to_the_same_bytes_restores_and_a_changed_one_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let program = tmp.path().join("probe");
    let install = |bytes: &[u8]| {
        // As a build does: a new file (a new inode) moved over the old one.
        let fresh = tmp.path().join("probe.new");
        std::fs::write(&fresh, bytes).unwrap();
        std::fs::set_permissions(&fresh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::rename(&fresh, &program).unwrap();
    };
    let bytes = std::fs::read(probe()).unwrap();
    install(&bytes);
    let dir = tmp.path().join("snap");
    let out = run(
        program.to_str().unwrap(),
        &[dir.to_str().unwrap(), "1000"],
        None,
    );
    assert!(out.status.success(), "checkpoint failed: {}", stderr(&out));
    let taken = stdout(&out);

    install(&bytes);
    let out = run(program.to_str().unwrap(), &[], Some(&dir));
    assert!(
        out.status.success(),
        "same bytes, new inode: {}",
        stderr(&out)
    );
    assert_eq!(field(&stdout(&out), "digest"), field(&taken, "digest"));

    let mut changed = bytes;
    changed.extend_from_slice(b"changed");
    install(&changed);
    let out = run(program.to_str().unwrap(), &[], Some(&dir));
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("snapshot is of something else"),
        "{}",
        stderr(&out)
    );
}

/// Sums a field of `/proc/PID/smaps_rollup`, in kB.
fn rollup(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn eight_simultaneous_restores_share_their_pages() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000000"]);
    let image_kb = std::fs::metadata(dir.join("payload/memory.img"))
        .unwrap()
        .len()
        / 1024;

    let mut children: Vec<std::process::Child> = (0..8)
        .map(|_| {
            Command::new(probe())
                .env("SNAP_RESTORE_FROM", &dir)
                .env("SNAP_PROBE_HOLD", "1")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut rss = 0;
    let mut pss = 0;
    for child in &mut children {
        // Each has read the whole map (its digest) and now holds still.
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(field(&line, "side"), "restored", "{line}");
    }
    for child in &children {
        rss += rollup(child.id(), "Rss:");
        pss += rollup(child.id(), "Pss:");
    }
    for mut child in children {
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
    // Every copy touched most of the image, yet the image's pages are
    // counted about once across all eight.
    assert!(rss > 4 * image_kb, "rss {rss} kB, image {image_kb} kB");
    assert!(
        pss < 2 * image_kb,
        "pss {pss} kB for 8 copies of a {image_kb} kB image (rss {rss} kB)"
    );
    eprintln!("8 restores of a {image_kb} kB image: Rss {rss} kB, Pss {pss} kB");
}

#[test]
fn a_restore_reports_its_stages_when_asked_and_only_then() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000"]);
    let quiet = run(&probe(), &["restoring"], Some(&dir));
    assert!(quiet.status.success(), "restore failed: {}", stderr(&quiet));
    assert!(
        !stderr(&quiet).contains("restore timing"),
        "{}",
        stderr(&quiet)
    );

    let mut cmd = Command::new(probe());
    cmd.arg("restoring")
        .env("SNAP_PROBE_MARKER", "fresh-config")
        .env("SNAP_RESTORE_FROM", &dir)
        .env(snap::native::RESTORE_TIMING_ENV, "1");
    let timed = cmd.output().unwrap();
    assert!(timed.status.success(), "restore failed: {}", stderr(&timed));
    assert_eq!(field(&stdout(&timed), "side"), "restored");
    let line = stderr(&timed)
        .lines()
        .find(|l| l.starts_with("snap: restore timing (ms):"))
        .unwrap_or_else(|| panic!("no timing line in {}", stderr(&timed)))
        .to_owned();
    // Every stage was reached and took a measurable, finite time.
    let mut last = 0;
    for stage in [
        "validate", "identity", "layout", "files", "plan", "map", "populate", "jump", "total",
    ] {
        let at = line
            .find(&format!(" {stage} "))
            .unwrap_or_else(|| panic!("{stage} missing from {line}"));
        assert!(at > last, "{stage} out of order in {line}");
        last = at;
        let value = line[at + stage.len() + 2..]
            .split([',', ' '])
            .next()
            .unwrap();
        let ms: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{stage}: {value:?} in {line}"));
        assert!((0.0..10_000.0).contains(&ms), "{stage}: {ms} in {line}");
    }
}

/// Whether `pid` is blocked in a read(2) of its stdin, as its gate does:
/// /proc/PID/syscall starts with the call's number and first argument.
fn reading_stdin(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|call| call.split_whitespace().take(2).eq(["0", "0x0"]))
}

/// Starts a restore of `dir` ahead, waiting at its gate (its stdin).
fn start_gated(dir: &Path, timing: bool) -> std::process::Child {
    let mut cmd = Command::new(probe());
    cmd.arg("restoring")
        .env("SNAP_PROBE_MARKER", "fresh-config")
        .env(snap::RESTORE_ENV, dir)
        .env(snap::RESTORE_GATE_ENV, snap::GATE_STDIN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if timing {
        cmd.env(snap::native::RESTORE_TIMING_ENV, "1");
    }
    cmd.spawn().unwrap()
}

#[test]
fn a_restore_started_ahead_waits_at_its_gate_then_continues_from_the_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let taken = checkpoint(&dir, &["100000"]);
    let mut child = start_gated(&dir, true);
    // It prepares its restore, maps the image, then waits: blocked reading its
    // stdin inside the restorer.
    let limit = std::time::Duration::from_secs(30);
    let deadline = std::time::Instant::now() + limit;
    while !reading_stdin(child.id()) {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!("it did not wait at its gate: {status}, {}", stderr(&out));
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("not at its gate (blocked reading stdin) within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let state = status.rsplit(')').next().unwrap().split_whitespace().next();
    assert_eq!(state, Some("S"), "not asleep at the gate: {status}");
    // Held closed a while, the gate's wait is long and measurable.
    let held = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "it did not stay at its gate"
    );
    let held = held.elapsed().as_secs_f64() * 1e3;

    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "restore failed: {}", stderr(&out));
    let line = stdout(&out);
    assert_eq!(field(&line, "side"), "restored", "{line}");
    assert_eq!(field(&line, "digest"), field(&taken, "digest"), "{line}");
    assert_eq!(field(&line, "entries"), "100000");
    assert_eq!(field(&line, "marker"), "fresh-config");
    // The gate is gone: stdin is /dev/null, the variable is not passed on.
    assert_eq!(field(&line, "stdin"), "/dev/null", "{line}");
    assert_eq!(field(&line, "gate_env"), "false", "{line}");
    // The wait is reported apart from the stages, and was the long part.
    let timing = stderr(&out);
    let gate: f64 = timing
        .split(", gate ")
        .nth(1)
        .unwrap_or_else(|| panic!("no gate in {timing}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        gate >= held,
        "waited {gate} ms at the gate, held closed {held} ms: {timing}"
    );
    let total: f64 = timing
        .split(" total ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total < gate, "the wait counted in the total: {timing}");
}

#[test]
fn a_restore_started_ahead_is_called_off_silently_when_its_gate_closes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000"]);
    let mut child = start_gated(&dir, false);
    // Closing stdin without a byte: nobody wants the restore any more.
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(snap::RESTORE_FAILED), "{out:?}");
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "", "a called-off restore says nothing");
}

/// A restore with `var` set to `value` fails before any work, with the
/// restore's failure status and `message` on stderr.
fn refused_before_any_work(var: &str, value: &str, message: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000"]);
    let out = Command::new(probe())
        .env(snap::RESTORE_ENV, &dir)
        .env(var, value)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(snap::RESTORE_FAILED), "{out:?}");
    assert!(stderr(&out).contains(message), "{}", stderr(&out));
}

#[test]
fn an_unknown_gate_is_refused_before_any_work() {
    refused_before_any_work(
        snap::RESTORE_GATE_ENV,
        "fd:7",
        "SNAP_RESTORE_GATE is \"fd:7\"; the only gate is \"stdin\"",
    );
}

#[test]
fn a_misspelt_working_set_setting_is_refused_before_any_work() {
    refused_before_any_work(
        snap::native::WORKING_SET_ENV,
        "of",
        "SNAP_WORKING_SET is \"of\"; it takes \"off\"",
    );
}

/// A restore of `dir` doing the probe's fixed work (`SNAP_PROBE_FAULTS`),
/// gated or not; it waits for its stdin to close once it has reported.
fn start_working(dir: &Path, gated: bool) -> std::process::Child {
    let mut cmd = Command::new(probe());
    cmd.arg("restoring")
        .env(snap::RESTORE_ENV, dir)
        .env("SNAP_PROBE_FAULTS", "1")
        .env(snap::native::RESTORE_TIMING_ENV, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if gated {
        cmd.env(snap::RESTORE_GATE_ENV, snap::GATE_STDIN);
    }
    cmd.spawn().unwrap()
}

/// The probe's report of the faults its work took: (minflt, majflt).
fn work_faults(child: &mut std::process::Child) -> (u64, u64) {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(field(&line, "side"), "restored", "{line}");
    (
        field(&line, "minflt").parse().unwrap(),
        field(&line, "majflt").parse().unwrap(),
    )
}

/// Closes the probe's stdin and returns its stderr (the timing line).
fn finish(mut child: std::process::Child) -> String {
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "restore failed: {}", stderr(&out));
    stderr(&out)
}

/// Waits until `child` is blocked reading its stdin: at its gate.
fn wait_at_gate(child: &mut std::process::Child) {
    let limit = std::time::Duration::from_secs(30);
    let deadline = std::time::Instant::now() + limit;
    while !reading_stdin(child.id()) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("it did not wait at its gate: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not at its gate within {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn a_restore_from_a_spare_takes_no_fault_in_the_recorded_working_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["100000"]);
    let snapshot = snap::Snapshot::open(&dir, &snap::snapshot::Expect::default()).unwrap();
    assert_eq!(snap::native::check_working_set(&snapshot).unwrap(), None);

    // The first restore takes its faults one by one; its pages are then
    // recorded while it waits, as snaprun does after a first response.
    let mut first = start_working(&dir, false);
    let (minflt, majflt) = work_faults(&mut first);
    // The work reads 100,000 entries and writes 256 pages.
    assert!(minflt + majflt >= 256, "{minflt} minor, {majflt} major");
    let summary = snap::native::record_working_set(&snapshot, first.id())
        .unwrap()
        .expect("recorded");
    assert!(summary.written_pages >= 256, "{summary:?}");
    assert!(summary.read_pages > 0, "{summary:?}");
    finish(first);
    // Once only.
    let again = start_working(&dir, false);
    let mut again = again;
    work_faults(&mut again);
    assert_eq!(
        snap::native::record_working_set(&snapshot, again.id()).unwrap(),
        None
    );
    finish(again);
    assert_eq!(
        snap::native::check_working_set(&snapshot).unwrap(),
        Some(summary)
    );

    // A restore started ahead faults the set in while at its gate: its work
    // then takes no fault at all, minor or major.
    let mut spare = start_working(&dir, true);
    wait_at_gate(&mut spare);
    use std::io::Write;
    spare.stdin.as_mut().unwrap().write_all(b"\n").unwrap();
    let faults = work_faults(&mut spare);
    let timing = finish(spare);
    assert_eq!(faults, (0, 0), "faults in the recorded set: {timing}");
    assert!(
        timing.contains(&format!(
            "working set {} pages read, {} written",
            summary.read_pages, summary.written_pages
        )),
        "{timing}"
    );

    // A restore on demand populates only the written pages (the read ones
    // come in by fault-around as fast): its work takes no write fault.
    let mut on_demand = start_working(&dir, false);
    let (on_demand_minflt, _) = work_faults(&mut on_demand);
    let timing = finish(on_demand);
    assert!(
        timing.contains(&format!(
            "working set 0 pages read, {} written",
            summary.written_pages
        )),
        "{timing}"
    );

    // Told not to use it, a restore takes them one by one again.
    let mut without = Command::new(probe());
    without
        .arg("restoring")
        .env(snap::RESTORE_ENV, &dir)
        .env("SNAP_PROBE_FAULTS", "1")
        .env(snap::native::WORKING_SET_ENV, "off")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut without = without.spawn().unwrap();
    let (minflt, majflt) = work_faults(&mut without);
    finish(without);
    assert!(
        on_demand_minflt + 256 <= minflt,
        "on demand {on_demand_minflt} minor faults, without the working set {minflt}"
    );
    assert!(minflt + majflt >= 256, "{minflt} minor, {majflt} major");
}

#[test]
fn a_working_set_that_does_not_fit_the_snapshot_is_ignored_and_the_restore_works() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    checkpoint(&a, &["1000"]);
    checkpoint(&b, &["2000"]);
    let open = |dir: &Path| snap::Snapshot::open(dir, &snap::snapshot::Expect::default()).unwrap();
    let mut child = start_working(&a, false);
    work_faults(&mut child);
    snap::native::record_working_set(&open(&a), child.id())
        .unwrap()
        .expect("recorded");
    finish(child);
    let record = std::fs::read(a.join(snap::snapshot::WORKING_SET_FILE)).unwrap();

    let restores_quietly = |why: &str| {
        let err = snap::native::check_working_set(&open(&b)).unwrap_err();
        let out = run(&probe(), &["restoring"], Some(&b));
        assert!(
            out.status.success(),
            "{why}: restore failed: {}",
            stderr(&out)
        );
        assert_eq!(field(&stdout(&out), "entries"), "2000", "{why}");
        assert!(!stderr(&out).contains("working set"), "{}", stderr(&out));
        snap::chain(&err)
    };
    let planted = b.join(snap::snapshot::WORKING_SET_FILE);
    // Another snapshot's record (a stale one).
    std::fs::write(&planted, &record).unwrap();
    let err = restores_quietly("another snapshot's");
    assert!(err.contains("recorded for another snapshot"), "{err}");
    // Unreadable ones.
    for (bytes, wanted) in [
        (b"garbage".to_vec(), "shorter than its header"),
        (vec![0u8; 200], "wrong magic"),
    ] {
        std::fs::write(&planted, &bytes).unwrap();
        let err = restores_quietly(wanted);
        assert!(err.contains(wanted), "{err}");
    }
    // This snapshot's, changed after it was made.
    std::fs::remove_file(&planted).unwrap();
    let mut child = start_working(&b, false);
    work_faults(&mut child);
    snap::native::record_working_set(&open(&b), child.id())
        .unwrap()
        .expect("recorded");
    finish(child);
    let mut changed = std::fs::read(&planted).unwrap();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    std::fs::write(&planted, &changed).unwrap();
    let err = restores_quietly("changed");
    assert!(err.contains("tag does not match"), "{err}");
    // Oversized: refused by its header before its body is read.
    let mut huge = changed[..80].to_vec();
    huge[12..16].copy_from_slice(&(2u32 << 20).to_le_bytes());
    std::fs::write(&planted, &huge).unwrap();
    let err = restores_quietly("oversized");
    assert!(err.contains("at most"), "{err}");
    // A link is never followed.
    std::fs::remove_file(&planted).unwrap();
    std::os::unix::fs::symlink(a.join(snap::snapshot::WORKING_SET_FILE), &planted).unwrap();
    let err = restores_quietly("a link");
    assert!(err.contains("link"), "{err}");
}

#[test]
fn a_restored_stack_grows_past_its_size_at_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    checkpoint(&dir, &["1000"]);
    // 2048 frames of at least 1 KiB (about 4 MiB in a debug build), under
    // the usual 8 MiB RLIMIT_STACK, where the stack at the checkpoint was a
    // few hundred KiB at most: the restored process must grow it, as the
    // process that was checkpointed could.
    let mut cmd = Command::new(probe());
    cmd.env("SNAP_RESTORE_FROM", &dir)
        .env("SNAP_PROBE_DEEP_STACK", "2048");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "restore, then 2048 KiB or more of stack: {:?} {}",
        out.status,
        stderr(&out)
    );
    let line = stdout(&out);
    assert_eq!(field(&line, "side"), "restored", "{line}");
    assert_eq!(field(&line, "deep_kib"), "2048", "{line}");
}
