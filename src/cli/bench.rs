//! `snaprun bench`: cold vs restore vs warm, side by side.

use anyhow::Context;
use bytes::Bytes;
use snaprun::engines::SnapshotEngine;
use snaprun::function::FunctionSpec;

use super::function_args::FunctionArgs;

/// Measure cold start, restore and warm invocation of a function.
///
/// Each run starts an instance from scratch (cold: process start to first
/// response) and, with the CRIU engine, one from the snapshot (restore:
/// restore start to first response), alternating so both see the same
/// machine. Then one instance serves --runs warm invocations. Prints the
/// median, min and max of each, the cold/restore ratio and Max Memory Used.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    function: FunctionArgs,
    /// Runs of each kind.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The event each invocation gets.
    #[arg(long, default_value = "{}")]
    payload: String,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let function = args.function.resolve()?;
    measure_and_print(
        &function.spec,
        function.snapshot,
        args.runs,
        Bytes::from(args.payload),
        args.json,
    )
}

/// Runs the bench and prints its report, as a table or as JSON.
pub(super) fn measure_and_print(
    spec: &FunctionSpec,
    engine: Option<SnapshotEngine>,
    runs: u32,
    payload: Bytes,
    json: bool,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let report = runtime.block_on(snaprun::bench::run(spec, engine, runs as usize, payload))?;
    let text = if json {
        format!("{}\n", report.to_json())
    } else {
        report.to_table()
    };
    super::output::print(&text)
}
