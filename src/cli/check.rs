//! `snaprun check-unique`: find random values a snapshot duplicates.

use anyhow::Context;
use bytes::Bytes;

use super::function_args::FunctionArgs;

/// Find random-looking values that restored instances share.
///
/// Runs the function's init once and snapshots it (as `snaprun run` does),
/// restores --instances copies at the same time, and sends each the same
/// event as its first invocation. Every response comes from its own
/// restored process. The responses are then compared: a value that looks
/// random (a UUID, 16+ hex digits, a 16+ character base64 run, a float with
/// 8+ fractional digits), whether a whole JSON value or a token inside a
/// string, and that is the same in two or more instances was copied by the
/// snapshot. Each copy then gets the event again, which tells where: a
/// value it returns again was made during init ("init": a cached seed, id
/// or key); one that moved on was made after the restore by a generator
/// whose state the snapshot froze ("frozen-generator"). Values that differ
/// between instances, and equal values that do not look random (a
/// greeting, a count), are fine.
///
/// Exits 0 when nothing random is shared, 1 when something is. Only what
/// the responses show can be checked: entropy the function keeps to itself
/// is invisible here (see docs/uniqueness-check.md).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    function: FunctionArgs,
    /// How many instances to restore and compare (2 to 256).
    #[arg(long, default_value_t = 8, value_name = "N")]
    instances: u32,
    /// The event every instance gets, as JSON.
    #[arg(long, default_value = "{}", value_name = "JSON")]
    event: String,
    /// Do not report the value at this JSON path or anything under it, for
    /// a constant that only looks random, such as a build hash (repeatable;
    /// `$.build`, `$.ids[0]`, as the report prints paths).
    #[arg(long, value_name = "PATH")]
    ignore: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        (2..=256).contains(&args.instances),
        "--instances must be between 2 and 256, not {}",
        args.instances
    );
    serde_json::from_str::<serde_json::Value>(&args.event)
        .with_context(|| format!("--event {:?} is not JSON", args.event))?;
    for path in &args.ignore {
        anyhow::ensure!(
            path.starts_with('$'),
            "--ignore {path:?} is not a path such as $.build or $.ids[0]"
        );
    }
    let function = args.function.resolve()?;
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let check = snaprun::uniqueness::Check {
        instances: args.instances as usize,
        event: Bytes::from(args.event),
        ignore: args.ignore,
    };
    let report = runtime.block_on(snaprun::uniqueness::run(function.snapshot, &check))?;
    let text = if args.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    super::output::print(&text)?;
    let shared = report.findings.len();
    anyhow::ensure!(
        shared == 0,
        "{shared} random-looking value{} the same in several restored instances: the snapshot duplicates entropy",
        if shared == 1 { " is" } else { "s are" }
    );
    Ok(())
}
