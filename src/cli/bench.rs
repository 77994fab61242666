//! `snaprun bench`: cold vs restore vs warm, side by side, for one engine or
//! several.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use snaprun::bench::{BenchResults, Step};
use snaprun::engines::SnapshotEngine;
use snaprun::function::FunctionSpec;

use super::function_args::FunctionArgs;

/// Measure cold start, restore and warm invocation of a function.
///
/// Each run starts an instance from scratch (cold: process start to first
/// response) and, per snapshot engine, one from the snapshot (restore:
/// restore start to first response), the engines interleaved and their
/// order rotating run by run, so every figure sees the same machine. Then
/// each engine serves --runs warm invocations. Prints the median, min and
/// max of each, the cold/restore ratio and Max Memory Used, per engine.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    function: FunctionArgs,
    /// Runs of each kind.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: u32,
    /// Print JSON instead of a table: a list with one object per engine.
    #[arg(long)]
    json: bool,
    /// Also draw the medians, with min–max whiskers, as a bar chart in
    /// this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
    /// The event each invocation gets.
    #[arg(long, default_value = "{}")]
    payload: String,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if let Some(chart) = &args.chart {
        anyhow::ensure!(
            chart.extension().and_then(|e| e.to_str()) == Some("svg"),
            "--chart {}: charts are drawn as SVG; name a file ending in .svg",
            chart.display()
        );
    }
    let functions = args.function.resolve_each()?;
    let spec = functions[0].spec.clone();
    let engines = functions.into_iter().map(|f| f.snapshot).collect();
    let options = Output {
        json: args.json,
        chart: args.chart,
    };
    measure_and_print(
        &spec,
        engines,
        args.runs,
        Bytes::from(args.payload),
        &options,
    )
}

/// How the results are shown.
#[derive(Debug, Default)]
pub(super) struct Output {
    /// JSON instead of a table.
    pub(super) json: bool,
    /// An SVG chart as well.
    pub(super) chart: Option<PathBuf>,
}

/// Runs the bench and prints its report, as tables or as JSON, with a
/// progress bar on stderr when it is a terminal.
pub(super) fn measure_and_print(
    spec: &FunctionSpec,
    engines: Vec<Option<SnapshotEngine>>,
    runs: u32,
    payload: Bytes,
    output: &Output,
) -> anyhow::Result<()> {
    let names: Vec<Option<&'static str>> = engines
        .iter()
        .map(|e| e.as_ref().map(SnapshotEngine::name))
        .collect();
    let runs = runs as usize;
    // Hidden, by indicatif, when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new(snaprun::bench::measurements(&names, runs));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
            .context("the progress bar's template")?
            .progress_chars("=> "),
    );
    bar.set_message("measuring");
    let progress = |step: Step| match step {
        Step::Snapshot(engine) => bar.set_message(format!("{engine} snapshot")),
        Step::Measured => {
            bar.set_message("measuring");
            bar.inc(1);
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let results = runtime.block_on(snaprun::bench::compare(
        spec, engines, runs, payload, progress,
    ));
    bar.finish_and_clear();
    let results = results?;
    if let Some(path) = &output.chart {
        let groups: Vec<snaprun::chart::Group<'_>> = results
            .iter()
            .map(|results| snaprun::chart::Group {
                label: results.engine.to_owned(),
                results,
            })
            .collect();
        let title = format!(
            "{}: time to first response, {runs} runs each",
            spec.config.name
        );
        snaprun::chart::draw(path, &title, &groups)?;
        eprintln!("snaprun: chart written to {}", path.display());
    }
    let text = if output.json {
        let list: Vec<serde_json::Value> = results.iter().map(BenchResults::to_json).collect();
        format!("{}\n", serde_json::Value::Array(list))
    } else {
        results
            .iter()
            .map(BenchResults::to_table)
            .collect::<Vec<_>>()
            .join("\n")
    };
    super::output::print(&text)
}
