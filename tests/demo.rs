//! `snaprun demo`, the README's first command: no root, no other step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// How much sooner, at the least, a native restore of rust-heavy-init from
/// a spare answers than a cold start. The README's 2-core VM measures about
/// 300x (cold ~450 ms, restore ~1.4 ms); 10x leaves room for a loaded
/// machine and a debug snaprun, and still fails if restores ran init again.
const MIN_COLD_OVER_RESTORE: f64 = 10.0;

/// The same for a restore on demand, which also execs the bootstrap and
/// prepares its restore in the figure: about 100x on the same VM (cold
/// ~450 ms, on demand ~4 ms); 5x leaves room for a loaded machine, and
/// still fails if restores ran init again.
const MIN_COLD_OVER_ON_DEMAND: f64 = 5.0;

/// The median of row `name` of the demo's table, in ms.
fn median(table: &str, name: &str) -> f64 {
    table
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?;
            rest.starts_with(' ')
                .then(|| rest.split_whitespace().next()?.parse().ok())?
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

/// The ratio printed after `cold / NAME: `.
fn ratio(table: &str, name: &str) -> f64 {
    table
        .split(&format!("cold / {name}: "))
        .nth(1)
        .and_then(|rest| rest.split('x').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} ratio in\n{table}"))
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

    let (cold, restore, on_demand, warm) = (
        median(&stdout, "cold"),
        median(&stdout, "restore (spare)"),
        median(&stdout, "restore (on demand)"),
        median(&stdout, "warm"),
    );
    // A restore skips init: either way it beats a cold start by a wide
    // margin, and a warm invocation needs no start at all.
    assert!(
        cold >= MIN_COLD_OVER_RESTORE * restore,
        "a restore from a spare ({restore} ms) is not {MIN_COLD_OVER_RESTORE}x sooner than a cold start ({cold} ms):\n{stdout}"
    );
    assert!(
        cold >= MIN_COLD_OVER_ON_DEMAND * on_demand,
        "a restore on demand ({on_demand} ms) is not {MIN_COLD_OVER_ON_DEMAND}x sooner than a cold start ({cold} ms):\n{stdout}"
    );
    assert!(
        warm < restore,
        "warm {warm} ms, restore {restore} ms:\n{stdout}"
    );
    // The ratios printed are the ones in the table.
    for (name, ms) in [
        ("restore (spare)", restore),
        ("restore (on demand)", on_demand),
    ] {
        let ratio = ratio(&stdout, name);
        assert!(
            (ratio - cold / ms).abs() <= 0.02 * ratio + 0.1,
            "{name}: ratio {ratio} for cold {cold} / restore {ms}"
        );
    }
    // A restored instance maps its memory from the snapshot and touches
    // little of it: the README has 50 MB cold, 4 MB restored.
    let cold_mb = memory_mb(&stdout, "cold");
    for name in ["restore (spare)", "restore (on demand)"] {
        let restore_mb = memory_mb(&stdout, name);
        assert!(
            restore_mb * 2 <= cold_mb,
            "{name}: restored {restore_mb} MB, cold {cold_mb} MB:\n{stdout}"
        );
    }
}
