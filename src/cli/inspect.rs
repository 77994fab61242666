//! `snaprun inspect`: print a snapshot's manifest.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use snap::Snapshot;
use snap::criu::{CriuEngine, CriuState, StdioEnd};
use snap::snapshot::{Expect, FORMAT_VERSION};

/// Validate a snapshot and print its manifest.
///
/// Every file is checked against the manifest first; a snapshot that fails
/// any check is reported with what is wrong and a non-zero exit.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot directory.
    #[arg(value_name = "DIR")]
    snapshot_dir: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let snapshot =
        Snapshot::open(&args.snapshot_dir, &Expect::default()).context("invalid snapshot")?;
    let state = match snapshot.manifest().engine.as_str() {
        CriuEngine::NAME => Some(CriuEngine::state(&snapshot)?),
        _ => None,
    };
    super::output::print(&report(&snapshot, state.as_ref())?)
}

/// The manifest, one field a line.
fn report(snapshot: &Snapshot, criu: Option<&CriuState>) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    let m = snapshot.manifest();
    let total: u64 = m.files.iter().map(|f| f.size).sum();
    writeln!(out, "snapshot   {}", snapshot.dir().display())?;
    writeln!(out, "format     version {FORMAT_VERSION}")?;
    writeln!(out, "engine     {}", m.engine)?;
    writeln!(
        out,
        "created    {} (unix ms {})",
        utc(m.created_unix_ms),
        m.created_unix_ms
    )?;
    writeln!(
        out,
        "host       {} kernel {}",
        m.host.arch, m.host.kernel_release
    )?;
    writeln!(out, "bootstrap  {}", m.identity.bootstrap)?;
    writeln!(out, "sha256     {}", m.identity.bootstrap_sha256)?;
    writeln!(out, "args       {:?}", m.identity.args)?;
    for (k, v) in &m.identity.env {
        writeln!(out, "env        {k}={v}")?;
    }
    writeln!(out, "store key  {}", snaprun::store::key_of(m))?;
    if let Some(state) = criu {
        writeln!(
            out,
            "criu       version {}",
            snap::criu::Version::from_rpc(state.criu_version)
        )?;
        writeln!(out, "root pid   {}", state.root_pid)?;
        writeln!(
            out,
            "namespaces pid {}, net {}",
            if state.owns_pid_ns {
                "own (restores side by side)"
            } else {
                "shared (one restore at a time)"
            },
            if state.owns_net_ns { "own" } else { "shared" }
        )?;
        for (fd, end) in state.stdio.iter().enumerate() {
            let what = match end {
                StdioEnd::External { key } => format!("{key} (replaced at restore)"),
                StdioEnd::Path { path } => path.clone(),
                StdioEnd::Closed => "closed".into(),
            };
            writeln!(out, "fd {fd}       {what}")?;
        }
    }
    writeln!(out, "files      {} files, {total} bytes", m.files.len())?;
    for f in &m.files {
        writeln!(out, "  {:>12}  {}  {}", f.size, f.sha256, f.path)?;
    }
    Ok(out)
}

/// Formats milliseconds since the epoch as an ISO 8601 UTC time.
fn utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from a day count (proleptic Gregorian, eras of 400 years).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formatting() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_795_381_199_000), "2026-11-22T20:59:59Z");
    }
}
