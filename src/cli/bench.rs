//! `snaprun bench`: cold vs restore (from a spare and on demand) vs warm,
//! side by side, for one engine or several.

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
/// response) and, per snapshot engine, two from the snapshot, each timed
/// from asking for the instance to its first response:
///
/// - restore (spare): from a restore started ahead and waiting, as `snaprun
///   run` serves every instance but the first (native: the bootstrap exec'd
///   and prepared, at its gate; CRIU: a worker kept ready); the work done
///   ahead is outside the figure;
///
/// - restore (on demand): with nothing prepared, as the first request after
///   an idle period meets it (native: the exec and the whole restore; CRIU:
///   the worker's start too).
///
/// The engines are interleaved and their order, and which of the two
/// restores goes first, rotate run by run, so every figure sees the same
/// machine. Then each engine serves --runs warm invocations. Prints the
/// median, min and max of each, the cold/restore ratios and Max Memory
/// Used, per engine.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    function: FunctionArgs,
    /// Runs of each kind.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: u32,
    /// Also keep this many cold instances, and this many restored ones (from
    /// spares) per engine, alive at once after their first response, and
    /// report the sum of their Pss: what they cost together, shared pages
    /// counted once. 0 leaves it out.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=64))]
    together: u32,
    /// Print JSON instead of a table: a list with one object per engine,
    /// with cold_ms, restore_spare_ms, restore_on_demand_ms and warm_ms
    /// (each {min, median, max}), cold_over_restore_spare,
    /// cold_over_restore_on_demand, max_memory_used_mb {cold,
    /// restore_spare, restore_on_demand} and pss_together_mb {instances,
    /// cold, restore_spare} (restores null for the engine none).
    #[arg(long)]
    json: bool,
    /// Also draw the medians, with min–max whiskers, as a bar chart in
    /// this SVG file: per function, cold, each engine's restore from a
    /// spare and on demand, and warm.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
    /// The event each invocation gets.
    #[arg(long, default_value = "{}")]
    payload: String,
    /// Measure every demo function in this checkout (demo-functions/ and
    /// the snapjs ones) under every engine that supports it, instead of one
    /// bootstrap. Demos not built yet are left out, with how to build them.
    #[arg(long)]
    all_demos: bool,
    /// With --all-demos: an S3-compatible server (moto) on loopback with
    /// the bucket snap-demo holding hello.txt, for the S3 demos, which are
    /// left out without it.
    #[arg(long, value_name = "http://127.0.0.1:PORT", requires = "all_demos")]
    s3_endpoint: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if let Some(chart) = &args.chart {
        anyhow::ensure!(
            chart.extension().and_then(|e| e.to_str()) == Some("svg"),
            "--chart {}: charts are drawn as SVG; name a file ending in .svg",
            chart.display()
        );
    }
    let output = Output {
        json: args.json,
        chart: args.chart,
    };
    let payload = Bytes::from(args.payload);
    let runs = args.runs as usize;
    let together = args.together as usize;
    let benches = if args.all_demos {
        anyhow::ensure!(
            !args.function.has_command(),
            "--all-demos measures the checkout's demos; give no bootstrap"
        );
        let root = super::demo::repo_root()?;
        let s3 = args
            .s3_endpoint
            .map(|endpoint| super::demos::S3 { endpoint });
        let demos = super::demos::all(&root, s3.as_ref(), args.function.fresh())?;
        anyhow::ensure!(!demos.is_empty(), "--all-demos: no demo is built here");
        demos
            .into_iter()
            .map(|demo| Bench::new(Some(demo.name), demo.functions))
            .collect()
    } else {
        vec![Bench::new(None, args.function.resolve_each()?)]
    };
    measure_and_print(benches, runs, together, &payload, &output)
}

/// One function to measure under its engines.
pub(super) struct Bench {
    /// Its name where several are measured.
    pub(super) name: Option<&'static str>,
    pub(super) spec: FunctionSpec,
    pub(super) engines: Vec<Option<SnapshotEngine>>,
}

impl Bench {
    fn new(name: Option<&'static str>, functions: Vec<super::function_args::Function>) -> Self {
        let spec = functions[0].spec.clone();
        Self {
            name,
            spec,
            engines: functions.into_iter().map(|f| f.snapshot).collect(),
        }
    }
}

/// How the results are shown.
#[derive(Debug, Default)]
pub(super) struct Output {
    /// JSON instead of a table.
    pub(super) json: bool,
    /// An SVG chart as well.
    pub(super) chart: Option<PathBuf>,
}

/// Runs the benches one after the other and prints their reports, as
/// tables or as JSON, with a progress bar on stderr when it is a terminal.
pub(super) fn measure_and_print(
    benches: Vec<Bench>,
    runs: usize,
    together: usize,
    payload: &Bytes,
    output: &Output,
) -> anyhow::Result<()> {
    let total = benches
        .iter()
        .map(|b| {
            let names: Vec<_> = b
                .engines
                .iter()
                .map(|e| e.as_ref().map(SnapshotEngine::name))
                .collect();
            snaprun::bench::measurements(&names, runs)
        })
        .sum();
    // Hidden, by indicatif, when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>30} [{bar:30}] {pos}/{len} {elapsed}")
            .context("the progress bar's template")?
            .progress_chars("=> "),
    );
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let mut measured: Vec<(Option<&'static str>, &FunctionSpec, Vec<BenchResults>)> = Vec::new();
    for bench in &benches {
        let function = bench.name.unwrap_or(&bench.spec.config.name);
        bar.set_message(function.to_owned());
        let progress = |step: Step| match step {
            Step::Snapshot(engine) => bar.set_message(format!("{function}: {engine} snapshot")),
            Step::Measured => {
                bar.set_message(function.to_owned());
                bar.inc(1);
            }
        };
        let results = runtime.block_on(snaprun::bench::compare(
            &bench.spec,
            bench.engines.clone(),
            runs,
            together,
            payload.clone(),
            progress,
        ));
        let results = match results {
            Ok(results) => results,
            Err(err) => {
                bar.finish_and_clear();
                return Err(anyhow::Error::new(err).context(format!("bench of {function}")));
            }
        };
        measured.push((bench.name, &bench.spec, results));
    }
    bar.finish_and_clear();
    if let Some(path) = &output.chart {
        let several = measured.len() > 1;
        let functions: Vec<snaprun::chart::Function<'_>> = measured
            .iter()
            .map(|(name, spec, results)| snaprun::chart::Function {
                name: name.unwrap_or(&spec.config.name),
                results,
            })
            .collect();
        let title = if several {
            format!("Demo functions: time to first response, {runs} runs each")
        } else {
            format!(
                "{}: time to first response, {runs} runs each",
                measured[0].1.config.name
            )
        };
        snaprun::chart::draw(path, &title, &functions)?;
        eprintln!("snaprun: chart written to {}", path.display());
    }
    let text = if output.json {
        let list: Vec<serde_json::Value> = measured
            .iter()
            .flat_map(|(name, _, results)| {
                results.iter().map(move |r| {
                    let mut v = r.to_json();
                    if let (Some(name), Some(object)) = (name, v.as_object_mut()) {
                        object.insert("function".into(), (*name).into());
                    }
                    v
                })
            })
            .collect();
        format!("{}\n", serde_json::Value::Array(list))
    } else {
        measured
            .iter()
            .flat_map(|(name, _, results)| {
                results.iter().map(move |r| match name {
                    Some(name) => format!("== {name}\n{}", r.to_table()),
                    None => r.to_table(),
                })
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    super::output::print(&text)
}
