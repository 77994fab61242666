//! `snaprun bench`: cold start, restore (from a spare and on demand) and
//! warm invocation, measured side by side in one run.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::engines::{Restorer, SnapshotEngine};
use crate::function::FunctionSpec;
use crate::instance::Instance;
use crate::runtime::Outcome;
use crate::start_error::StartError;

/// Minimum, median and maximum of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Fastest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Slowest.
    pub max: f64,
}

impl Spread {
    /// The spread of `samples` (which must not be empty).
    pub fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let median = match ms.len() {
            0 => 0.0,
            n if n % 2 == 1 => ms[n / 2],
            n => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
        };
        Self {
            min: ms.first().copied().unwrap_or(0.0),
            median,
            max: ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// What a measured restore found prepared ahead of need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// A restore started ahead and waiting ([`Restorer::prepare_next`]: a
    /// native restore exec'd and waiting at its gate, a CRIU worker kept
    /// ready), as `snaprun run` serves every instance but the first; the
    /// work done ahead is outside the figure.
    Spare,
    /// Nothing prepared ([`Restorer::restore_on_demand`]), as the first
    /// request after an idle period meets a restore: the whole restore is
    /// in the figure.
    OnDemand,
}

impl Prepared {
    /// Both, spare first.
    pub const BOTH: [Self; 2] = [Self::Spare, Self::OnDemand];

    /// Its name in tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Self::Spare => "restore (spare)",
            Self::OnDemand => "restore (on demand)",
        }
    }

    /// Its name in the JSON's keys.
    pub fn key(self) -> &'static str {
        match self {
            Self::Spare => "restore_spare",
            Self::OnDemand => "restore_on_demand",
        }
    }

    /// Its place in [`Self::BOTH`].
    fn index(self) -> usize {
        match self {
            Self::Spare => 0,
            Self::OnDemand => 1,
        }
    }

    /// Restores one instance from `restorer` this way.
    async fn restore(self, restorer: &Restorer) -> Result<Instance, StartError> {
        match self {
            Self::Spare => restorer.restore().await,
            Self::OnDemand => restorer.restore_on_demand().await,
        }
    }
}

/// What a bench run measured.
#[derive(Debug, Clone)]
pub struct BenchResults {
    /// `criu`, `native` or `none`.
    pub engine: &'static str,
    /// Runs of each kind.
    pub runs: usize,
    /// Process start to first response.
    pub cold: Spread,
    /// Restore from a spare ([`Prepared::Spare`]) to first response
    /// (snapshot engines only).
    pub restore_spare: Option<Spread>,
    /// Restore on demand ([`Prepared::OnDemand`]) to first response
    /// (snapshot engines only).
    pub restore_on_demand: Option<Spread>,
    /// One invocation on a running instance.
    pub warm: Spread,
    /// Peak RSS of a cold instance, median, MB.
    pub cold_memory_mb: u64,
    /// Peak RSS of an instance restored from a spare, median, MB.
    pub restore_spare_memory_mb: Option<u64>,
    /// Peak RSS of an instance restored on demand, median, MB.
    pub restore_on_demand_memory_mb: Option<u64>,
    /// What several instances alive at once cost together.
    pub together: Option<Together>,
}

/// The memory of N instances alive at once, each after its first response:
/// the sum of their Pss (each bootstrap and the processes below it), where
/// a page N of them share counts once in all. Restored instances that map
/// their memory from one snapshot share its untouched pages; cold ones
/// share only their binaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Together {
    /// N.
    pub instances: usize,
    /// N cold instances, MB.
    pub cold_pss_mb: f64,
    /// N instances restored from spares, as `snaprun run` serves them, MB
    /// (not for the engine `none`).
    pub restore_pss_mb: Option<f64>,
}

/// Why a bench run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// An instance did not start.
    #[error("{what} failed")]
    Start {
        /// cold start or restore.
        what: &'static str,
        /// Why.
        #[source]
        cause: StartError,
    },
    /// The function answered with an error.
    #[error("the function returned {error_type}: {message}")]
    Function {
        /// Its errorType.
        error_type: String,
        /// Its errorMessage.
        message: String,
    },
    /// The instance went away or took longer than the function's timeout.
    #[error("the invocation did not complete: {0}")]
    Invocation(String),
}

/// What the bench is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Finding or making an engine's snapshot.
    Snapshot(&'static str),
    /// One measured cold start, restore or warm invocation is done.
    Measured,
}

/// How many [`Step::Measured`] a comparison of `engines` (`None` for the
/// engine `none`) over `runs` runs reports.
pub fn measurements(engines: &[Option<&'static str>], runs: usize) -> u64 {
    let restores = Prepared::BOTH.len() * engines.iter().filter(|e| e.is_some()).count();
    (runs * (1 + restores) + runs * engines.len()) as u64
}

/// Measures `runs` cold starts and, with `snapshot`, `runs` restores from a
/// spare and `runs` on demand, alternating them so all see the same
/// machine, then `runs` warm invocations.
pub async fn run(
    spec: &FunctionSpec,
    snapshot: Option<SnapshotEngine>,
    runs: usize,
    payload: Bytes,
) -> Result<BenchResults, BenchError> {
    let mut results = compare(spec, vec![snapshot], runs, 0, payload, |_| {}).await?;
    Ok(results.remove(0))
}

/// Measures the engines side by side (`None` is the engine `none`): every
/// run makes one cold start and, per snapshot engine, one restore from a
/// spare and one on demand ([`Prepared`]); the engines' order, and which of
/// an engine's two restores comes first, rotate from run to run, so that
/// every figure sees the same machine. Cold starts do not depend on the
/// engine: every result carries the same cold figures. Before each measured
/// start, the restore started ahead is left to get ready ([`settle`]).
/// Then each engine serves `runs` warm
/// invocations on an instance of its own, and with `together` > 0,
/// `together` instances of each kind are kept alive at once to measure
/// what they cost together ([`Together`]). One result per engine, in
/// order.
pub async fn compare(
    spec: &FunctionSpec,
    engines: Vec<Option<SnapshotEngine>>,
    runs: usize,
    together: usize,
    payload: Bytes,
    mut progress: impl FnMut(Step),
) -> Result<Vec<BenchResults>, BenchError> {
    let mut sides = Vec::new();
    for engine in engines {
        let restorer = match engine {
            Some(engine) => {
                progress(Step::Snapshot(engine.name()));
                let name = engine.name();
                let restorer = engine.prepare().await.map_err(|cause| BenchError::Start {
                    what: "snapshot",
                    cause,
                })?;
                // Restores started ahead (a CRIU worker, a native restore at
                // its gate) start outside the figures, as under `snaprun run`.
                restorer.prepare_next();
                settle(&restorer).await;
                Some((name, restorer))
            }
            None => None,
        };
        sides.push(Side {
            restorer,
            restores: Default::default(),
        });
    }
    let (mut cold, mut cold_mem) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let sample = cold_start(spec, &payload).await?;
        cold.push(sample.took);
        cold_mem.push(sample.memory_mb);
        progress(Step::Measured);

        let count = sides.len();
        for k in 0..count {
            let side = &mut sides[(run + k) % count];
            let Some((_, restorer)) = &side.restorer else {
                continue;
            };
            for way in rotated(run) {
                let sample = restore_start(restorer, way, spec, &payload).await?;
                side.restores[way.index()].push(sample);
                progress(Step::Measured);
            }
        }
    }
    let cold_pss = if together > 0 {
        let mut instances = Vec::new();
        for _ in 0..together {
            instances.push(first_response(None, spec, &payload).await?);
        }
        Some(pss_of_all(instances).await)
    } else {
        None
    };
    let mut results = Vec::new();
    for side in sides {
        let restorer = side.restorer.as_ref().map(|(_, restorer)| restorer);
        let mut instance = first_response(restorer, spec, &payload).await?;
        let mut warm = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            invoke(&mut instance, payload.clone(), spec.config.timeout).await?;
            warm.push(started.elapsed());
            progress(Step::Measured);
        }
        instance.kill().await;
        let restore_pss = match (restorer, cold_pss) {
            (Some(restorer), Some(_)) => {
                let mut instances = Vec::new();
                for _ in 0..together {
                    instances.push(first_response(Some(restorer), spec, &payload).await?);
                    restorer.prepare_next();
                }
                Some(pss_of_all(instances).await)
            }
            _ => None,
        };
        let [spare, on_demand] = &side.restores;
        results.push(BenchResults {
            engine: side.restorer.as_ref().map_or("none", |(name, _)| name),
            runs,
            cold: Spread::of(&cold),
            restore_spare: spread_of(spare),
            restore_on_demand: spread_of(on_demand),
            warm: Spread::of(&warm),
            cold_memory_mb: median_mb(cold_mem.clone()),
            restore_spare_memory_mb: memory_of(spare),
            restore_on_demand_memory_mb: memory_of(on_demand),
            together: cold_pss.map(|cold_pss_mb| Together {
                instances: together,
                cold_pss_mb,
                restore_pss_mb: restore_pss,
            }),
        });
    }
    Ok(results)
}

/// One measured start: the time to the first response and the instance's
/// peak memory.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// From asking for the instance to its first response.
    pub took: Duration,
    /// Its Max Memory Used (peak RSS), MB.
    pub memory_mb: u64,
}

/// Starts `spec` cold, invokes it once with `payload` and kills it.
pub async fn cold_start(spec: &FunctionSpec, payload: &Bytes) -> Result<Sample, BenchError> {
    measured(None, spec, payload).await
}

/// Restores an instance of `spec` from `restorer`, `way`, invokes it once
/// with `payload` and kills it; after the first response, outside the
/// figure, it does what `snaprun run` does then
/// ([`Restorer::first_response`]): records the working set once and starts
/// the next restore ahead (a restore on demand leaves the spare waiting, so
/// this starts none), and waits until that is ready.
pub async fn restore_start(
    restorer: &Restorer,
    way: Prepared,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Sample, BenchError> {
    let sample = measured(Some((restorer, way)), spec, payload).await;
    settle(restorer).await;
    sample
}

/// How long [`settle`] waits for a restore started ahead.
const SETTLE: Duration = Duration::from_secs(2);

/// Waits, up to [`SETTLE`], until the restore `restorer` started ahead is
/// prepared and waiting, so that its work does not share the machine with
/// the next measured start (on a 2-core machine, an on-demand restore
/// measured while the next spare execs would be slowed by it).
async fn settle(restorer: &Restorer) {
    let deadline = Instant::now() + SETTLE;
    while restorer.spare_ready() == Some(false) {
        if Instant::now() > deadline {
            tracing::debug!("the restore started ahead is not ready after {SETTLE:?}");
            return;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// One start, restored from `restorer` the way it says or else cold,
/// measured to its first response; the instance is killed.
async fn measured(
    restorer: Option<(&Restorer, Prepared)>,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Sample, BenchError> {
    let started = Instant::now();
    let mut instance = start_and_invoke(restorer, spec, payload).await?;
    let took = started.elapsed();
    let memory_mb = instance.max_memory_used_mb();
    if let Some((restorer, _)) = restorer {
        restorer.first_response(instance.pid());
    }
    instance.kill().await;
    Ok(Sample { took, memory_mb })
}

/// An instance restored from `restorer` (from a spare, as `snaprun run`
/// serves), or else started cold, that has answered its first invocation of
/// `payload`.
async fn first_response(
    restorer: Option<&Restorer>,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Instance, BenchError> {
    start_and_invoke(restorer.map(|r| (r, Prepared::Spare)), spec, payload).await
}

/// An instance restored from `restorer` the way it says, or else started
/// cold, that has answered its first invocation of `payload`.
async fn start_and_invoke(
    restorer: Option<(&Restorer, Prepared)>,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Instance, BenchError> {
    let (what, started) = match restorer {
        Some((restorer, way)) => (way.label(), way.restore(restorer).await),
        None => ("cold start", Instance::cold(spec).await),
    };
    let mut instance = started.map_err(|cause| BenchError::Start { what, cause })?;
    invoke(&mut instance, payload.clone(), spec.config.timeout).await?;
    Ok(instance)
}

/// An engine's two restores in run `run`: from a spare first in even runs,
/// on demand first in odd ones, so that neither always gets the moment
/// after the other.
fn rotated(run: usize) -> [Prepared; 2] {
    let [a, b] = Prepared::BOTH;
    if run.is_multiple_of(2) {
        [a, b]
    } else {
        [b, a]
    }
}

/// One engine's restores in a comparison.
struct Side {
    restorer: Option<(&'static str, Restorer)>,
    /// Its samples, by [`Prepared`] (spare, on demand).
    restores: [Vec<Sample>; 2],
}

/// The spread of `samples`' times, if there are any.
fn spread_of(samples: &[Sample]) -> Option<Spread> {
    let took: Vec<Duration> = samples.iter().map(|s| s.took).collect();
    (!took.is_empty()).then(|| Spread::of(&took))
}

/// The median of `samples`' Max Memory Used, if there are any.
fn memory_of(samples: &[Sample]) -> Option<u64> {
    (!samples.is_empty()).then(|| median_mb(samples.iter().map(|s| s.memory_mb).collect()))
}

/// The summed Pss of `instances`, in MB; then kills them.
async fn pss_of_all(instances: Vec<Instance>) -> f64 {
    let kb: u64 = instances
        .iter()
        .filter_map(Instance::pid)
        .map(crate::procfs::tree_pss_kb)
        .sum();
    for instance in instances {
        instance.kill().await;
    }
    kb as f64 / 1024.0
}

fn median_mb(mut mb: Vec<u64>) -> u64 {
    mb.sort_unstable();
    mb.get(mb.len() / 2).copied().unwrap_or(0)
}

/// Invokes a running instance once with `payload`, within `timeout`; an
/// error if the function failed or the instance went away.
pub async fn invoke(
    instance: &mut Instance,
    payload: Bytes,
    timeout: Duration,
) -> Result<(), BenchError> {
    let (_, outcome) = instance
        .api
        .invoke(payload)
        .await
        .map_err(|_| BenchError::Invocation("the instance is gone".into()))?;
    let outcome = tokio::select! {
        outcome = outcome => outcome.map_err(|_| BenchError::Invocation("the instance is gone".into()))?,
        status = instance.exited() => return Err(BenchError::Invocation(format!("the bootstrap exited ({status})"))),
        () = tokio::time::sleep(timeout) => return Err(BenchError::Invocation(format!("timed out after {timeout:?}"))),
    };
    match outcome {
        Outcome::Response(_) => Ok(()),
        Outcome::Error(e) => Err(BenchError::Function {
            error_type: e.error_type,
            message: e.message,
        }),
    }
}

impl BenchResults {
    /// The restores' spread measured `way`.
    pub fn restore(&self, way: Prepared) -> Option<Spread> {
        match way {
            Prepared::Spare => self.restore_spare,
            Prepared::OnDemand => self.restore_on_demand,
        }
    }

    /// The restored instances' Max Memory Used, median, measured `way`.
    pub fn restore_memory_mb(&self, way: Prepared) -> Option<u64> {
        match way {
            Prepared::Spare => self.restore_spare_memory_mb,
            Prepared::OnDemand => self.restore_on_demand_memory_mb,
        }
    }

    /// Cold median over the median of the restores measured `way`.
    pub fn cold_over(&self, way: Prepared) -> Option<f64> {
        self.restore(way).map(|r| self.cold.median / r.median)
    }

    /// The report as the JSON `snaprun bench --json` prints: `engine`,
    /// `runs`, `cold_ms`, `restore_spare_ms`, `restore_on_demand_ms`,
    /// `warm_ms` (each `{min, median, max}`), `cold_over_restore_spare`,
    /// `cold_over_restore_on_demand`, `max_memory_used_mb` (`{cold,
    /// restore_spare, restore_on_demand}`) and `pss_together_mb`
    /// (`{instances, cold, restore_spare}`); restore figures are null for
    /// the engine `none`.
    pub fn to_json(&self) -> serde_json::Value {
        let spread =
            |s: &Spread| serde_json::json!({ "min": s.min, "median": s.median, "max": s.max });
        let mut report = serde_json::json!({
            "engine": self.engine,
            "runs": self.runs,
            "cold_ms": spread(&self.cold),
        });
        let mut memory = serde_json::json!({ "cold": self.cold_memory_mb });
        for way in Prepared::BOTH {
            report[format!("{}_ms", way.key())] = self.restore(way).as_ref().map(spread).into();
            memory[way.key()] = self.restore_memory_mb(way).into();
        }
        report["warm_ms"] = spread(&self.warm);
        for way in Prepared::BOTH {
            report[format!("cold_over_{}", way.key())] = self.cold_over(way).into();
        }
        report["max_memory_used_mb"] = memory;
        report["pss_together_mb"] = self
            .together
            .map(|t| {
                serde_json::json!({
                    "instances": t.instances,
                    "cold": t.cold_pss_mb,
                    "restore_spare": t.restore_pss_mb,
                })
            })
            .into();
        report
    }

    /// The report as a table.
    pub fn to_table(&self) -> String {
        const NAME: usize = 20;
        let row = |name: &str, s: &Spread| {
            format!(
                "{name:<NAME$} {:>10.2} {:>10.2} {:>10.2}\n",
                s.median, s.min, s.max
            )
        };
        let mut out = format!(
            "engine {} · {} runs each · first response, ms\n{:<NAME$} {:>10} {:>10} {:>10}\n",
            self.engine, self.runs, "", "median", "min", "max"
        );
        out.push_str(&row("cold", &self.cold));
        for way in Prepared::BOTH {
            if let Some(restore) = self.restore(way) {
                out.push_str(&row(way.label(), &restore));
            }
        }
        out.push_str(&row("warm", &self.warm));
        let ratios: Vec<String> = Prepared::BOTH
            .into_iter()
            .filter_map(|way| {
                Some(format!(
                    "cold / {}: {:.1}x",
                    way.label(),
                    self.cold_over(way)?
                ))
            })
            .collect();
        if !ratios.is_empty() {
            out.push_str(&ratios.join(", "));
            out.push('\n');
        }
        out.push_str(&format!("max memory used: cold {} MB", self.cold_memory_mb));
        for way in Prepared::BOTH {
            if let Some(mb) = self.restore_memory_mb(way) {
                out.push_str(&format!(", {} {mb} MB", way.label()));
            }
        }
        out.push('\n');
        if let Some(t) = self.together {
            out.push_str(&format!(
                "pss of {} at once: cold {:.1} MB",
                t.instances, t.cold_pss_mb
            ));
            if let Some(mb) = t.restore_pss_mb {
                out.push_str(&format!(", {} {mb:.1} MB", Prepared::Spare.label()));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn spreads() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            Spread::of(&ms(&[5, 1, 3])),
            Spread {
                min: 1.0,
                median: 3.0,
                max: 5.0
            }
        );
        assert_eq!(Spread::of(&ms(&[4, 1, 3, 2])).median, 2.5);
    }

    fn spread(median: f64) -> Spread {
        Spread {
            min: median * 0.9,
            median,
            max: median * 1.5,
        }
    }

    /// A native engine's report: cold 400 ms, 2 ms from a spare, 8 ms on
    /// demand.
    pub(crate) fn native() -> BenchResults {
        BenchResults {
            engine: "native",
            runs: 3,
            cold: spread(400.0),
            restore_spare: Some(spread(2.0)),
            restore_on_demand: Some(spread(8.0)),
            warm: spread(0.3),
            cold_memory_mb: 50,
            restore_spare_memory_mb: Some(5),
            restore_on_demand_memory_mb: Some(4),
            together: Some(Together {
                instances: 4,
                cold_pss_mb: 40.0,
                restore_pss_mb: Some(3.5),
            }),
        }
    }

    /// The engine `none`'s report beside [`native`].
    pub(crate) fn none() -> BenchResults {
        BenchResults {
            engine: "none",
            restore_spare: None,
            restore_on_demand: None,
            restore_spare_memory_mb: None,
            restore_on_demand_memory_mb: None,
            together: None,
            ..native()
        }
    }

    #[test]
    fn the_table_names_both_restores_and_their_ratios() {
        let table = native().to_table();
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[2].starts_with("cold "), "{table}");
        assert!(
            rows[3].starts_with("restore (spare) ") && rows[3].contains(" 2.00 "),
            "{table}"
        );
        assert!(
            rows[4].starts_with("restore (on demand) ") && rows[4].contains(" 8.00 "),
            "{table}"
        );
        assert!(rows[5].starts_with("warm "), "{table}");
        assert_eq!(
            rows[6],
            "cold / restore (spare): 200.0x, cold / restore (on demand): 50.0x"
        );
        assert_eq!(
            rows[7],
            "max memory used: cold 50 MB, restore (spare) 5 MB, restore (on demand) 4 MB"
        );
        assert_eq!(
            rows[8],
            "pss of 4 at once: cold 40.0 MB, restore (spare) 3.5 MB"
        );
        // The columns line up whatever the row's name.
        let median_end = rows[1].find("median").unwrap() + "median".len();
        for row in &rows[2..6] {
            assert_eq!(row.len(), rows[1].len(), "{row:?}");
            assert_eq!(&row[median_end - 1..median_end], "0", "{row:?}");
        }
    }

    #[test]
    fn the_engine_none_has_no_restore_rows() {
        let table = none().to_table();
        assert!(!table.contains("restore"), "{table}");
        assert!(!table.contains("cold / "), "{table}");
    }

    #[test]
    fn the_json_has_both_restores_under_their_own_keys() {
        let v = native().to_json();
        assert_eq!(v["engine"], "native");
        assert_eq!(v["restore_spare_ms"]["median"], 2.0);
        assert_eq!(v["restore_on_demand_ms"]["median"], 8.0);
        assert_eq!(v["restore_on_demand_ms"]["max"], 12.0);
        assert_eq!(v["cold_over_restore_spare"], 200.0);
        assert_eq!(v["cold_over_restore_on_demand"], 50.0);
        assert_eq!(v["max_memory_used_mb"]["cold"], 50);
        assert_eq!(v["max_memory_used_mb"]["restore_spare"], 5);
        assert_eq!(v["max_memory_used_mb"]["restore_on_demand"], 4);
        assert_eq!(v["pss_together_mb"]["restore_spare"], 3.5);
        // No figure that could be either.
        assert!(v.get("restore_ms").is_none() && v.get("cold_over_restore").is_none());
        let v = none().to_json();
        for key in [
            "restore_spare_ms",
            "restore_on_demand_ms",
            "cold_over_restore_spare",
            "cold_over_restore_on_demand",
        ] {
            assert!(v[key].is_null(), "{key}: {v}");
        }
        assert!(v["max_memory_used_mb"]["restore_spare"].is_null(), "{v}");
        assert!(v["pss_together_mb"].is_null(), "{v}");
    }

    #[test]
    fn an_engines_two_restores_take_turns_going_first() {
        assert_eq!(rotated(0), [Prepared::Spare, Prepared::OnDemand]);
        assert_eq!(rotated(1), [Prepared::OnDemand, Prepared::Spare]);
        assert_eq!(rotated(2), rotated(0));
    }

    #[test]
    fn every_measured_restore_is_counted_for_the_progress_bar() {
        // 3 runs: 3 cold; 3 spare and 3 on demand for native; 3 warm each.
        assert_eq!(measurements(&[None, Some("native")], 3), 3 + 6 + 6);
        assert_eq!(measurements(&[None], 3), 3 + 3);
    }
}
