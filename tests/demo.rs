//! `snaprun demo`, the README's first command: no root, no other step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[test]
fn the_demo_prints_cold_restore_and_warm_with_the_ratio() {
    let (ok, stdout, stderr) = common::run_snaprun(&["demo", "--runs", "2"]);
    assert!(ok, "{stderr}");
    for needle in [
        "engine native",
        "cold",
        "restore",
        "warm",
        "cold / restore:",
        "max memory used:",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in {stdout}");
    }
    assert!(stderr.contains("native snapshot written"), "{stderr}");
    assert!(stderr.contains("restored (generation 1)"), "{stderr}");
}
