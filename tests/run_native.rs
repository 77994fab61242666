//! `snaprun run --engine native` with the rust-heavy-init demo: the bootstrap
//! links snap, snapshots itself at its snapshot point, and every instance is
//! a lazy restore. No root needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::{RunningFunction, json, run_snaprun, rust_heavy_init, rust_hello};

#[test]
fn restored_native_instances_serve_traffic() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    // --engine auto would time cold starts against restores (run_auto.rs).
    let run = RunningFunction::start(&[
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--concurrency",
        "2",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    for i in 1..=50u64 {
        let (status, failed, body) = run.invoke(format!("{{\"nth\":{i}}}").as_bytes());
        assert_eq!((status, failed), (200, false), "{body}");
        let v = json(&body);
        assert_eq!(v["generation"], 1, "a restored instance: {body}");
        assert_eq!(v["primes"], 2_433_654);
        if i == 5 {
            assert_eq!(v["nth_prime"], 11);
        }
    }
    let answers = run.invoke_concurrently(4, 25, |_| "{\"nth\":100000}".to_owned());
    assert!(answers.iter().all(|(_, v)| v["nth_prime"] == 1_299_709));
    let pids: HashSet<u64> = answers
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "both instances served: {pids:?}");
    // snap-hooks' built-in renewed the id drawn at init in each restore.
    let ids: HashSet<&str> = answers
        .iter()
        .map(|(_, v)| v["instance_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "one instance id per restored instance: {ids:?}"
    );
    let logs = run.wait_for_log("REPORT RequestId:", 150);
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("INIT_REPORT")).count(),
        1,
        "{logs:#?}"
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("native snapshot written"))
            .count(),
        1
    );
    assert_eq!(
        logs.iter()
            .filter(|l| l.contains("\tRestore Duration: "))
            .count(),
        2,
        "{logs:#?}"
    );
}

#[test]
fn native_is_refused_for_a_bootstrap_that_does_not_link_snap() {
    let bootstrap = rust_hello();
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--engine",
        "native",
        "--listen",
        "127.0.0.1:0",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("does not link snap's native engine"),
        "{stderr}"
    );
}

#[test]
fn bench_with_the_native_engine() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "native",
        "--runs",
        "3",
        "--json",
        "--snapshot-dir",
        tmp.path().join("snap").to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let v = json(&stdout);
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["engine"], "native");
    // Both restores, each under its own name.
    for way in ["restore_spare", "restore_on_demand"] {
        assert!(
            v[0][format!("{way}_ms")]["median"].as_f64().unwrap() > 0.0,
            "{v}"
        );
        assert!(
            v[0][format!("cold_over_{way}")].as_f64().unwrap() > 0.0,
            "{v}"
        );
        assert!(v[0]["max_memory_used_mb"][way].as_u64().unwrap() > 0, "{v}");
    }
    assert!(v[0].get("restore_ms").is_none(), "{v}");
}

#[test]
fn bench_compares_engines_side_by_side_and_draws_a_chart() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("bench.svg");
    let (ok, stdout, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "none,native",
        "--runs",
        "2",
        "--json",
        "--chart",
        chart.to_str().unwrap(),
        "--function-name",
        "heavy",
        "--snapshot-dir",
        tmp.path().join("snap").to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    // Piped stderr: no progress bar drawn into it.
    assert!(!stderr.contains("measuring"), "{stderr}");
    let v = json(&stdout);
    let list = v.as_array().unwrap_or_else(|| panic!("not a list: {v}"));
    assert_eq!(list.len(), 2, "{v}");
    let (none, native) = (&list[0], &list[1]);
    assert_eq!(none["engine"], "none");
    assert_eq!(native["engine"], "native");
    for entry in list {
        assert_eq!(entry["runs"], 2);
        for kind in ["cold_ms", "warm_ms"] {
            let s = &entry[kind];
            let (min, median, max) = (
                s["min"].as_f64().unwrap(),
                s["median"].as_f64().unwrap(),
                s["max"].as_f64().unwrap(),
            );
            assert!(0.0 < min && min <= median && median <= max, "{kind}: {s}");
        }
        assert!(entry["max_memory_used_mb"]["cold"].as_u64().unwrap() > 0);
    }
    // The same cold starts serve both; only the snapshot engine restores.
    assert_eq!(none["cold_ms"], native["cold_ms"]);
    for way in ["restore_spare", "restore_on_demand"] {
        assert!(none[format!("{way}_ms")].is_null(), "{none}");
        assert!(none[format!("cold_over_{way}")].is_null(), "{none}");
    }
    // Loosely: a restore of a 0.5 s init, either way, answers sooner than
    // a cold start.
    let cold = native["cold_ms"]["median"].as_f64().unwrap();
    for way in ["restore_spare", "restore_on_demand"] {
        let restore = native[format!("{way}_ms")]["median"].as_f64().unwrap();
        assert!(restore < cold, "{way} {restore} ms, cold {cold} ms");
        assert!(native["max_memory_used_mb"][way].as_u64().unwrap() > 0);
    }
    let restore = native["restore_spare_ms"]["median"].as_f64().unwrap();
    let on_demand = native["restore_on_demand_ms"]["median"].as_f64().unwrap();

    // The chart: an SVG document with the function's bars (cold, the
    // native restores from a spare and on demand, warm) and the medians
    // written on them.
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert!(
        svg.contains("heavy: time to first response, 2 runs each"),
        "{svg}"
    );
    assert!(
        svg.contains("\nheavy\n</text>"),
        "no group for the function"
    );
    for label in [
        "cold start",
        "restore (spare), native",
        "restore (on demand), native",
        "warm invocation",
    ] {
        assert!(
            svg.contains(&format!("\n{label}\n</text>")),
            "{label} missing from the legend"
        );
    }
    assert!(!svg.contains(", none\n"), "none has no restore bar");
    let median = |ms: f64| match ms {
        ms if ms >= 100.0 => format!("{ms:.0}"),
        ms if ms >= 10.0 => format!("{ms:.1}"),
        ms => format!("{ms:.2}"),
    };
    for ms in [restore, on_demand] {
        assert!(
            svg.contains(&format!("\n{}\n</text>", median(ms))),
            "restore median {ms} not labelled"
        );
    }
}

#[test]
fn bench_refuses_a_chart_it_cannot_draw_and_run_refuses_a_list_of_engines() {
    let bootstrap = rust_heavy_init();
    let (ok, _, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "none",
        "--chart",
        "/tmp/bench.png",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--chart /tmp/bench.png: charts are drawn as SVG"),
        "{stderr}"
    );
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--engine",
        "none,native",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--engine takes one engine here; a list is for `snaprun bench`"),
        "{stderr}"
    );
    // A CRIU-only flag with a list of engines that has no CRIU in it.
    let (ok, _, stderr) = run_snaprun(&[
        "bench",
        "--engine",
        "none,native",
        "--forward",
        "127.0.0.1:9",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "--forward, --lazy-pages and --map-pages are for the CRIU engine, which is not among these"
        ),
        "{stderr}"
    );
}

#[test]
fn hook_failures_reach_snaprun_with_their_runtime_error_types() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let start = |dir: &str, knob: &str| {
        RunningFunction::with_snapshot(
            "native",
            &tmp.path().join(dir),
            &["--env", knob],
            &bootstrap,
        )
    };

    // Before the snapshot: no snapshot, Runtime.BeforeSnapshotError.
    let run = start("before", "RUST_HEAVY_INIT_FAIL_BEFORE_SNAPSHOT=1");
    let message = run.invoke_failing(b"{\"nth\":1}", "Runtime.BeforeSnapshotError");
    assert!(
        message.contains("before-checkpoint hook \"flush-index\" failed: failed on request"),
        "{message}"
    );
    assert!(!tmp.path().join("before").exists());
    // The error came through a file beside the snapshot directory (never in
    // the system temp directory), gone once snaprun has read it.
    assert!(!tmp.path().join("before.init-error.json").exists());
    drop(run);

    // After the restore: the instance is discarded, Runtime.AfterRestoreError.
    let run = start("after", "RUST_HEAVY_INIT_FAIL_AFTER_RESTORE=1");
    let message = run.invoke_failing(b"{\"nth\":1}", "Runtime.AfterRestoreError");
    assert!(
        message.contains("after-restore hook \"reopen-index\" failed: failed on request"),
        "{message}"
    );
    assert!(
        tmp.path().join("after").exists(),
        "the snapshot itself is fine"
    );
}

#[test]
fn a_snapshot_directory_that_cannot_be_made_is_refused_at_start_with_its_cause() {
    let tmp = tempfile::tempdir().unwrap();
    // The snapshot directory's parent is a regular file.
    let file = tmp.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let dir = file.join("snap");
    let bootstrap = rust_heavy_init();
    let (ok, _, stderr) = run_snaprun(&[
        "run",
        "--engine",
        "native",
        "--snapshot-dir",
        dir.to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(!ok, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "snaprun: error: cannot lock {}: Not a directory (os error 20)",
            file.join("snap.lock").display()
        ),
        "one line with the cause, before anything starts"
    );
}

/// The pids of snaprun's children waiting at a restore gate: restores
/// started ahead, blocked reading their standard input, as snaprun itself
/// tells them (`snaprun::procfs::reads_stdin`). Their environment cannot
/// tell: at the gate, the memory it lives in is already the snapshot's.
fn spares_of(snaprun: u32) -> Vec<u32> {
    common::children_where(snaprun, |pid| {
        snaprun::procfs::reads_stdin(pid) == Some(true)
    })
}

/// Kills the instance that gave `first`, then invokes `{"nth":5}` until a
/// fresh instance answers, and returns that answer. An event that reached
/// the dead instance's waiting request fails as `Runtime.ExitError`.
fn kill_and_answer_anew(run: &RunningFunction, first: &serde_json::Value) -> serde_json::Value {
    let old = first["pid"].as_u64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for _ in 0..3 {
        let (status, failed, body) = run.invoke(b"{\"nth\":5}");
        assert_eq!(status, 200, "{body}");
        if !failed {
            return json(&body);
        }
        assert_eq!(json(&body)["errorType"], "Runtime.ExitError", "{body}");
    }
    panic!("no fresh instance answered in three invocations");
}

#[test]
fn the_next_restore_waits_ahead_at_its_gate_and_goes_with_snaprun() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let mut run = RunningFunction::with_snapshot(
        "native",
        &snapshot,
        &["--env", "SNAP_RESTORE_TIMING=1"],
        &bootstrap,
    );
    let first = run.invoke_ok(b"{\"nth\":5}");
    assert_eq!(first["generation"], 1, "{first}");
    // After the first response, the next restore is started ahead: a child
    // of snaprun, prepared and asleep at its gate.
    let mut spares = Vec::new();
    assert!(
        common::eventually(std::time::Duration::from_secs(10), || {
            spares = spares_of(run.pid());
            spares.len() == 1
        }),
        "no restore waiting ahead: {spares:?}"
    );
    let spare = spares[0];

    // The instance dies; its replacement is the spare, which continues
    // from the snapshot like any restore.
    let next = kill_and_answer_anew(&run, &first);
    assert_eq!(next["pid"].as_u64(), Some(u64::from(spare)), "{next}");
    assert_eq!(next["generation"], 1, "{next}");
    assert_eq!(next["nth_prime"], 11, "{next}");
    assert_ne!(next["instance_id"], first["instance_id"]);
    // Its restore timing leaves the wait at the gate out.
    let logs = run.wait_for_log(", gate ", 1);
    assert!(
        logs.iter()
            .any(|l| l.starts_with("snap: restore timing (ms):") && l.contains(", gate ")),
        "{logs:#?}"
    );

    // A new spare waits again. snaprun killed outright takes it along:
    // its gate closes, and it exits without a word.
    let mut again = Vec::new();
    assert!(
        common::eventually(std::time::Duration::from_secs(10), || {
            again = spares_of(run.pid());
            again.len() == 1 && again[0] != spare
        }),
        "no new restore waiting ahead: {again:?}"
    );
    let waiting = again[0];
    run.kill_snaprun();
    assert!(
        common::eventually(std::time::Duration::from_secs(10), || {
            !std::path::Path::new(&format!("/proc/{waiting}")).exists()
                || std::fs::read_to_string(format!("/proc/{waiting}/stat"))
                    .is_ok_and(|s| s.rsplit(')').next().unwrap().trim_start().starts_with('Z'))
        }),
        "the restore started ahead outlived snaprun"
    );
    assert!(
        !run.logs().iter().any(|l| l.contains("called off")),
        "{:#?}",
        run.logs()
    );
}

/// A restore on demand (`Restorer::restore_on_demand`, bench's `restore (on
/// demand)`) is a process of its own, exec'd when asked for: it takes
/// nothing from the spare waiting at its gate, which stays there for the
/// next restore from a spare.
#[test]
fn a_restore_on_demand_is_its_own_process_and_leaves_the_spare_waiting() {
    use snaprun::engines::{LazyPages, MapPages, SnapshotEngine, SnapshotPlan};
    use snaprun::function::FunctionSpec;
    use snaprun::runtime::FunctionConfig;
    use std::time::Duration;

    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let spec = FunctionSpec {
        bootstrap,
        args: Vec::new(),
        env: Vec::new(),
        config: FunctionConfig {
            name: "on-demand".into(),
            memory_mb: 128,
            handler: "bootstrap".into(),
            timeout: Duration::from_secs(30),
        },
        init_timeout: Duration::from_secs(130),
    };
    let plan = SnapshotPlan {
        spec: spec.clone(),
        lock: std::sync::Arc::new(snaprun::snapshot_lock::SnapshotLock::acquire(&dir).unwrap()),
        dir,
        fresh: true,
        forwards: Vec::new(),
        lazy_pages: LazyPages::Auto,
        map_pages: MapPages::Auto,
        restore_timeout: Duration::from_secs(10),
        reseed: None,
        store: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let restorer = runtime
        .block_on(SnapshotEngine::Native(plan).prepare())
        .unwrap();
    let answers = |instance: &mut snaprun::instance::Instance| {
        runtime
            .block_on(snaprun::bench::invoke(
                instance,
                bytes::Bytes::from_static(b"{\"nth\":5}"),
                Duration::from_secs(30),
            ))
            .unwrap();
    };
    restorer.prepare_next();
    assert!(
        common::eventually(Duration::from_secs(10), || restorer.spare_ready()
            == Some(true)),
        "no spare at its gate: {:?}",
        restorer.spare_ready()
    );
    let spares = spares_of(std::process::id());
    assert_eq!(spares.len(), 1, "{spares:?}");

    let mut on_demand = runtime.block_on(restorer.restore_on_demand()).unwrap();
    answers(&mut on_demand);
    let pid = on_demand.pid().unwrap();
    assert_ne!(pid, spares[0], "the restore on demand took the spare");
    // The spare still waits at its gate, untouched.
    assert_eq!(spares_of(std::process::id()), spares);
    assert_eq!(restorer.spare_ready(), Some(true));
    runtime.block_on(on_demand.kill());

    // The next restore from a spare is that very process.
    let mut from_spare = runtime.block_on(restorer.restore()).unwrap();
    answers(&mut from_spare);
    assert_eq!(from_spare.pid(), Some(spares[0]));
    runtime.block_on(from_spare.kill());
}

#[test]
fn the_first_restored_response_records_the_working_set_and_a_stale_one_is_replaced() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let record = snapshot.join("working-set.snap");
    let mut run = RunningFunction::with_snapshot(
        "native",
        &snapshot,
        &["--env", "SNAP_RESTORE_TIMING=1"],
        &bootstrap,
    );
    let first = run.invoke_ok(b"{\"nth\":5}");
    // Recorded after the first response, before the next restore is
    // started ahead, so that restore uses it.
    assert!(
        common::eventually(std::time::Duration::from_secs(10), || {
            record.is_file() && spares_of(run.pid()).len() == 1
        }),
        "no working set recorded beside the snapshot"
    );
    kill_and_answer_anew(&run, &first);
    let logs = run.wait_for_log("working set", 1);
    assert!(
        logs.iter()
            .any(|l| l.starts_with("snap: restore timing (ms):")
                && l.contains(" pages read, ")
                && l.contains(", gate ")),
        "the restore from the spare did not fault the working set in: {logs:#?}"
    );
    run.kill_snaprun();
    drop(run);

    // A record changed since (or copied from another snapshot) is ignored
    // with one line, the restores work, and a new one replaces it.
    let mut bytes = std::fs::read(&record).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&record, &bytes).unwrap();
    let run = RunningFunction::with_snapshot("native", &snapshot, &[], &bootstrap);
    let answer = run.invoke_ok(b"{\"nth\":5}");
    assert_eq!(answer["nth_prime"], 11, "{answer}");
    let logs = run.wait_for_log("ignoring the snapshot's working set", 1);
    let said: Vec<_> = logs.iter().filter(|l| l.contains("working set")).collect();
    assert_eq!(said.len(), 1, "{logs:#?}");
    assert!(said[0].contains("tag does not match"), "{}", said[0]);
    assert!(
        common::eventually(std::time::Duration::from_secs(10), || {
            std::fs::read(&record).is_ok_and(|now| now != bytes)
        }),
        "the stale working set was not replaced"
    );
}

#[test]
fn the_default_snapshot_home_is_private_to_the_user() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let bench = |home: &std::path::Path| {
        common::native_bench_once(&bootstrap)
            .env("HOME", home)
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CACHE_HOME")
            .output()
            .unwrap()
    };
    let out = bench(tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let home = tmp.path().join(".cache/snaprun");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700);
    let snapshots: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let snapshot = snapshots[0].path();
    assert_eq!(mode(&snapshot), 0o700);
    // Its lock beside it (one snaprun at a time) is the user's alone too.
    let mut lock = snapshot.clone().into_os_string();
    lock.push(".lock");
    assert_eq!(mode(std::path::Path::new(&lock)), 0o600);
    assert_eq!(mode(&snapshot.join("payload/memory.img")), 0o600);

    // A home that another user made first is refused, not used.
    if nix::unistd::geteuid().is_root() {
        let other = tempfile::tempdir().unwrap();
        let planted = other.path().join(".cache/snaprun");
        std::fs::create_dir_all(&planted).unwrap();
        std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
        let out = bench(other.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("belongs to uid 65534, not to this user")
                && stderr.contains("give --snapshot-dir"),
            "{stderr}"
        );
        assert_eq!(std::fs::metadata(&planted).unwrap().uid(), 65534);
        assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
    }
}

#[test]
fn a_default_home_that_cannot_be_made_falls_back_to_the_next_private_place() {
    use std::os::unix::fs::PermissionsExt;
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    // A service account's HOME that nothing can be made under (a file,
    // which fails for root as for anyone).
    let home = tmp.path().join("home-is-a-file");
    std::fs::write(&home, b"").unwrap();
    let temp = tmp.path().join("tmp");
    std::fs::create_dir(&temp).unwrap();
    let out = common::native_bench_once(&bootstrap)
        .env("HOME", &home)
        .env("TMPDIR", &temp)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let fallback = temp.join(format!("snaprun-{}", nix::unistd::geteuid()));
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("using") && l.contains("instead"))
        .collect();
    assert_eq!(warnings.len(), 1, "one line says so: {stderr}");
    assert!(
        warnings[0].contains(&format!(
            "cannot create {}",
            home.join(".cache/snaprun").display()
        )) && warnings[0].contains(&format!("using {} instead", fallback.display())),
        "{stderr}"
    );
    let mode = std::fs::metadata(&fallback).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let snapshots = std::fs::read_dir(&fallback)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("manifest.snap").is_file())
        .count();
    assert_eq!(snapshots, 1, "{stderr}");
}

#[test]
fn a_changed_variable_or_rotated_secret_makes_a_new_native_snapshot() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    // (made a new snapshot?, logs) of a run with `extra` flags and the
    // inherited secret `secret`.
    let run_with = |extra: &[&str], secret: &str| {
        let mut snaprun = common::snaprun();
        snaprun.env("AWS_SECRET_ACCESS_KEY", secret);
        let mut args = vec![
            "--engine",
            "native",
            "--snapshot-dir",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend(["--", bootstrap.to_str().unwrap()]);
        let run = RunningFunction::start_command(snaprun, &args);
        run.invoke_ok(b"{}");
        let logs = run.logs();
        let made = logs
            .iter()
            .any(|l| l.starts_with("snaprun: native snapshot written to"));
        let reused = logs
            .iter()
            .any(|l| l.starts_with("snaprun: restoring from the snapshot in"));
        assert_ne!(made, reused, "{logs:#?}");
        (made, logs)
    };
    assert!(run_with(&["--env", "SOME_SETTING=1"], "first").0);
    assert!(!run_with(&["--env", "SOME_SETTING=1"], "first").0, "reused");
    let (made, logs) = run_with(&["--env", "SOME_SETTING=2"], "first");
    assert!(made, "a changed --env makes a new snapshot: {logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.contains("snapshot is of something else: its environment")),
        "{logs:#?}"
    );
    assert!(!run_with(&["--env", "SOME_SETTING=2"], "first").0, "reused");
    let (made, logs) = run_with(&["--env", "SOME_SETTING=2"], "rotated");
    assert!(
        made,
        "a rotated inherited secret makes a new snapshot: {logs:#?}"
    );
    let manifest = std::fs::read(dir.join("manifest.snap")).unwrap();
    assert!(
        !manifest.windows(7).any(|w| w == b"rotated"),
        "the secret is recorded as its digest only"
    );
}

#[test]
fn a_signing_key_signs_native_snapshots_and_restores_check_it() {
    let bootstrap = rust_heavy_init();
    let tmp = tempfile::tempdir().unwrap();
    let (key, other) = (tmp.path().join("key"), tmp.path().join("other"));
    std::fs::write(&key, [3u8; 32]).unwrap();
    std::fs::write(&other, [4u8; 32]).unwrap();
    let snapshot = tmp.path().join("snap");
    // The bootstrap writes its own snapshot and every restore opens it: the
    // key reaches both through the environment.
    let (ok, stdout, stderr) = run_snaprun(&[
        "--signing-key",
        key.to_str().unwrap(),
        "bench",
        "--engine",
        "native",
        "--runs",
        "2",
        "--together",
        "0",
        "--json",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        json(&stdout)[0]["restore_spare_ms"]["median"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        json(&stdout)[0]["restore_on_demand_ms"]["median"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(snapshot.join("manifest.sig").is_file());
    // The working set recorded after the first restore is kept under the
    // same key, and restores use it.
    assert!(snapshot.join("working-set.snap").is_file());
    assert!(!stderr.contains("working set"), "{stderr}");
    let (ok, _, stderr) = run_snaprun(&[
        "--signing-key",
        key.to_str().unwrap(),
        "inspect",
        snapshot.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = run_snaprun(&[
        "inspect",
        snapshot.to_str().unwrap(),
        "--signing-key",
        other.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("the signature does not match"), "{stderr}");
}

#[test]
fn a_second_snaprun_on_the_same_snapshot_directory_is_refused_until_the_first_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let bootstrap = rust_heavy_init();
    let mut first = RunningFunction::with_snapshot("native", &dir, &[], &bootstrap);
    first.invoke_ok(b"{}");
    let args = [
        "run",
        "--engine",
        "native",
        "--snapshot-dir",
        dir.to_str().unwrap(),
        "--",
        bootstrap.to_str().unwrap(),
    ];
    let (ok, _, stderr) = run_snaprun(&args);
    assert!(!ok, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "snaprun: error: {} is in use by another snaprun (pid {}): one at a time per snapshot directory; stop that one, or give this one another --snapshot-dir",
            dir.display(),
            first.pid()
        ),
        "one line naming the directory and the holder"
    );
    // Killed outright, the first lets go; the next one reuses its snapshot.
    first.kill_snaprun();
    let second = RunningFunction::with_snapshot("native", &dir, &[], &bootstrap);
    second.invoke_ok(b"{}");
    assert!(
        second
            .logs()
            .iter()
            .any(|l| l.contains("snaprun: restoring from the snapshot in")),
        "{:#?}",
        second.logs()
    );
}

#[test]
fn a_snapshot_that_fills_its_filesystem_is_refused_with_that_cause() {
    common::assert_a_full_filesystem_is_named_as_the_cause("native", &rust_heavy_init());
}

#[test]
fn check_unique_finds_no_shared_values_among_native_restores() {
    // rust-heavy-init draws an instance id at init, so every snapshot holds
    // one; the hook built-ins draw a new one after each restore. Were they
    // not run, all eight instances would answer the same id.
    let tmp = tempfile::tempdir().unwrap();
    let bootstrap = rust_heavy_init();
    let (ok, stdout, stderr) = run_snaprun(&[
        "check-unique",
        "--engine",
        "native",
        "--snapshot-dir",
        tmp.path().join("snap").to_str().unwrap(),
        "--json",
        // How long init took is the snapshot's, and the same in every
        // instance by design; printed as an f64 it sometimes has enough
        // digits (610.3044229999999) to look random.
        "--ignore",
        "$.init_ms",
        "--",
        bootstrap.to_str().unwrap(),
    ]);
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    let report = json(&stdout);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["engine"], "native", "{report}");
    assert_eq!(report["duplicated"], serde_json::json!([]), "{report}");
    assert_eq!(report["random_values"], 8, "one instance id each: {report}");
    let pids: HashSet<u64> = report["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 8, "eight live instances: {report}");
    // Each restore says so (the eight print at once, so lines may mix).
    assert_eq!(
        stderr
            .matches("rust-heavy-init: restored (generation ")
            .count(),
        8,
        "{stderr}"
    );
}

#[test]
fn snaprun_run_with_the_native_engine_needs_no_privilege() {
    // snaprun and the bootstrap as uid 65534, with no capabilities, from a
    // directory that user can reach, into a snapshot directory it owns.
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = tmp.path().join("snaprun");
    std::fs::copy(env!("CARGO_BIN_EXE_snaprun"), &exe).unwrap();
    let bootstrap = tmp.path().join("bootstrap");
    std::fs::copy(rust_heavy_init(), &bootstrap).unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let mut unprivileged = std::process::Command::new("setpriv");
    unprivileged
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["--inh-caps=-all", "--bounding-set=-all"])
        .arg("env")
        .arg(format!("HOME={}", home.display()))
        .arg(format!("TMPDIR={}", home.display()))
        .arg(&exe);
    let snapshot = home.join("snap");
    let run = RunningFunction::start_command(
        unprivileged,
        &[
            "--engine",
            "native",
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
            "--",
            bootstrap.to_str().unwrap(),
        ],
    );
    let first = run.invoke_ok(b"{}");
    assert_eq!(first["generation"], 1, "a restored instance: {first}");
    let pid = first["pid"].as_u64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(field("Uid:"), ["65534"; 4], "{status}");
    assert_eq!(field("CapEff:"), ["0000000000000000"], "{status}");
    assert_eq!(field("CapBnd:"), ["0000000000000000"], "{status}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&snapshot).unwrap().uid(), 65534);
    let second = run.invoke_ok(b"{}");
    assert_eq!(second["invocations"], 2, "{second}");
}

#[test]
fn encrypted_snapshots_are_made_reused_and_restored_from_their_decrypted_copy() {
    common::assert_encrypted_snapshots_serve("native", &rust_heavy_init());
}
