//! `snaprun run --engine criu` with memory mapped from the snapshot's page
//! images (`--map-pages`, the default where CRIU has snap's patch):
//! restored instances start without their memory copied and still see all
//! of it; a CRIU without the patch, or flags that cannot go together, are
//! refused at start with one line saying why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{RunningFunction, criu_mapping_pages, processes_mapping_images, rust_data_heavy};

#[test]
fn auto_maps_memory_and_instances_side_by_side_see_their_whole_table() {
    if criu_mapping_pages().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    // A copy of the demo at a path of this test's own, to find its
    // instances by.
    let bootstrap = tmp.path().join("bootstrap");
    std::fs::copy(rust_data_heavy(), &bootstrap).unwrap();
    let run = RunningFunction::with_snapshot("criu", &dir, &["--concurrency", "3"], &bootstrap);
    // Three instances restored at once; each recomputes every entry of its
    // 40 MiB table, which it reads through its mapping of the images.
    let answers = run.invoke_concurrently(3, 4, |n| {
        format!("{{\"verify\":true,\"index\":{}}}", n % 1000 * 4099)
    });
    assert_eq!(answers.len(), 12);
    for (n, v) in &answers {
        assert_eq!(v["mismatches"], 0, "a mapped table differs: {v}");
        assert_eq!(v["entries"], 5_242_880, "{v}");
        assert!(
            v["value"].is_string(),
            "entry {} missing: {v}",
            n % 1000 * 4099
        );
    }
    let logs = run.wait_for_log("\tRestore Duration: ", 3);
    let said: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("snaprun: mapping memory from the snapshot's images ("))
        .collect();
    assert_eq!(said.len(), 1, "auto says once that it maps: {logs:#?}");
    assert!(
        !logs.iter().any(|l| l.contains("restoring memory")),
        "mapping replaces the lazy/eager choice: {logs:#?}"
    );
    // Each of the three instances maps the images (its relay too: the
    // whole tree is restored).
    let instances: Vec<u32> = common::pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == bootstrap)
        })
        .collect();
    assert_eq!(instances.len(), 3, "three instances: {instances:?}");
    let mapping = processes_mapping_images(&dir);
    for pid in &instances {
        assert!(
            mapping.contains(pid),
            "instance {pid} does not map the images under {}: {mapping:?}",
            dir.display()
        );
    }
    // Nothing that maps the images outlives snaprun.
    drop(run);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mapping_images(&dir).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still mapping the images after snaprun exited: {:?}",
            processes_mapping_images(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn map_pages_off_copies_memory_as_criu_does() {
    if criu_mapping_pages().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let run = RunningFunction::with_snapshot(
        "criu",
        &dir,
        &["--map-pages=off", "--lazy-pages=off"],
        &common::rust_hello(),
    );
    run.invoke_ok(br#"{"name":"copied"}"#);
    let mapping = processes_mapping_images(&dir);
    assert!(
        mapping.is_empty(),
        "copied instances map no image: {mapping:?}"
    );
}

#[test]
fn map_pages_with_a_criu_without_the_patch_fails_at_start_and_says_why() {
    let Some(engine) = criu_mapping_pages() else {
        return;
    };
    // An unpatched CRIU differs only in not knowing the feature: this one
    // says so for that question and is the real CRIU for everything else.
    let tmp = tempfile::tempdir().unwrap();
    let unpatched = tmp.path().join("criu");
    std::fs::write(
        &unpatched,
        format!(
            "#!/bin/sh\n[ \"$*\" = \"check --feature map_pages\" ] && exit 1\nexec {} \"$@\"\n",
            engine.binary().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unpatched, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = common::snaprun()
        .env("SNAP_CRIU", &unpatched)
        .args(["run", "--engine", "criu", "--map-pages", "--snapshot-dir"])
        .arg(tmp.path().join("snap"))
        .args(["--", "/bin/true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--map-pages: {} cannot map restored memory: it was built without snap's map_pages patch (scripts/install-criu.sh applies it)",
            unpatched.display()
        )) && stderr.lines().count() == 1,
        "one line naming the binary and the fix: {stderr}"
    );
    assert!(!tmp.path().join("snap").exists(), "refused before init");
}

#[test]
fn map_pages_is_refused_where_it_cannot_apply() {
    let heavy = common::rust_heavy_init();
    let heavy = heavy.to_str().unwrap();
    for (args, message) in [
        (
            vec!["--engine", "none", "--map-pages", "--", "/bin/true"],
            "--map-pages restores from a snapshot; --engine none starts every instance cold",
        ),
        (
            vec!["--engine", "native", "--map-pages", "--", heavy],
            "--map-pages is for the CRIU engine; native restores always map memory",
        ),
        (
            vec![
                "--engine",
                "none",
                "--map-pages",
                "--lazy-pages",
                "--",
                "/bin/true",
            ],
            "--lazy-pages and --map-pages=on exclude each other",
        ),
    ] {
        let mut full = vec!["run"];
        full.extend(args);
        let (ok, _, stderr) = common::run_snaprun(&full);
        assert!(!ok && stderr.contains(message), "{full:?}: {stderr}");
    }
}
