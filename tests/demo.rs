//! `snaprun demo`, the README's first command: no root, no other step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// How much sooner, at the least, a native restore of rust-heavy-init
/// answers than a cold start. The README's 2-core VM measures about 300x
/// (cold ~450 ms, restore ~1.4 ms); 10x leaves room for a loaded machine
/// and a debug snaprun, and still fails if restores ran init again.
const MIN_COLD_OVER_RESTORE: f64 = 10.0;

/// The median of row `name` of the demo's table, in ms.
fn median(table: &str, name: &str) -> f64 {
    table
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(name)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} row with a median in\n{table}"))
}

/// The number of MB after `word ` in the "max memory used:" line.
fn memory_mb(table: &str, word: &str) -> u64 {
    let line = table
        .lines()
        .find(|l| l.starts_with("max memory used:"))
        .unwrap_or_else(|| panic!("no memory line in\n{table}"));
    line.split(&format!("{word} "))
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {word} figure in {line:?}"))
}

#[test]
fn the_demo_prints_cold_restore_and_warm_with_the_ratio() {
    let (ok, stdout, stderr) = common::run_snaprun(&["demo", "--runs", "3"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("engine native · 3 runs each · first response, ms\n"),
        "{stdout}"
    );
    assert!(stderr.contains("native snapshot written"), "{stderr}");
    assert!(stderr.contains("restored (generation 1)"), "{stderr}");

    let (cold, restore, warm) = (
        median(&stdout, "cold"),
        median(&stdout, "restore"),
        median(&stdout, "warm"),
    );
    // A restore skips init: it beats a cold start by a wide margin, and a
    // warm invocation needs no start at all.
    assert!(
        cold >= MIN_COLD_OVER_RESTORE * restore,
        "a restore ({restore} ms) is not {MIN_COLD_OVER_RESTORE}x sooner than a cold start ({cold} ms):\n{stdout}"
    );
    assert!(
        warm < restore,
        "warm {warm} ms, restore {restore} ms:\n{stdout}"
    );
    // The ratio printed is the one in the table.
    let ratio: f64 = stdout
        .split("cold / restore: ")
        .nth(1)
        .and_then(|rest| rest.split('x').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in\n{stdout}"));
    assert!(
        (ratio - cold / restore).abs() <= 0.02 * ratio + 0.1,
        "ratio {ratio} for cold {cold} / restore {restore}"
    );
    // A restored instance maps its memory from the snapshot and touches
    // little of it: the README has 50 MB cold, 4 MB restored.
    let (cold_mb, restore_mb) = (memory_mb(&stdout, "cold"), memory_mb(&stdout, "restore"));
    assert!(
        restore_mb * 2 <= cold_mb,
        "restored {restore_mb} MB, cold {cold_mb} MB:\n{stdout}"
    );
}
