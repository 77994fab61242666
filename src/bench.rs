//! `snaprun bench`: cold start, restore and warm invocation, measured side by
//! side in one run.

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

/// What a bench run measured.
#[derive(Debug, Clone)]
pub struct BenchResults {
    /// `criu` or `none`.
    pub engine: &'static str,
    /// Runs of each kind.
    pub runs: usize,
    /// Process start to first response.
    pub cold: Spread,
    /// Restore start to first response (CRIU only).
    pub restore: Option<Spread>,
    /// One invocation on a running instance.
    pub warm: Spread,
    /// Peak RSS of a cold instance, median, MB.
    pub cold_memory_mb: u64,
    /// Peak RSS of a restored instance, median, MB.
    pub restore_memory_mb: Option<u64>,
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
    /// N restored instances, MB (not for the engine `none`).
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
    let restores = engines.iter().filter(|e| e.is_some()).count();
    (runs * (1 + restores) + runs * engines.len()) as u64
}

/// Measures `runs` cold starts and, with `snapshot`, `runs` restores,
/// alternating them so both see the same machine, then `runs` warm
/// invocations.
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
/// run makes one cold start and one restore per snapshot engine, the
/// engines' order rotating from run to run, so that every figure sees the
/// same machine. Cold starts do not depend on the engine: every result
/// carries the same cold figures. Then each engine serves `runs` warm
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
                Some((name, restorer))
            }
            None => None,
        };
        sides.push(Side {
            restorer,
            restore: Vec::new(),
            restore_mem: Vec::new(),
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
            let sample = restore_start(restorer, spec, &payload).await?;
            side.restore.push(sample.took);
            side.restore_mem.push(sample.memory_mb);
            progress(Step::Measured);
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
        results.push(BenchResults {
            engine: side.restorer.as_ref().map_or("none", |(name, _)| name),
            runs,
            cold: Spread::of(&cold),
            restore: (!side.restore.is_empty()).then(|| Spread::of(&side.restore)),
            warm: Spread::of(&warm),
            cold_memory_mb: median_mb(cold_mem.clone()),
            restore_memory_mb: (!side.restore_mem.is_empty()).then(|| median_mb(side.restore_mem)),
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

/// Restores an instance of `spec` from `restorer`, invokes it once with
/// `payload` and kills it; after the first response, outside the figure,
/// it does what `snaprun run` does then ([`Restorer::first_response`]):
/// records the working set once and starts the next restore ahead.
pub async fn restore_start(
    restorer: &Restorer,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Sample, BenchError> {
    measured(Some(restorer), spec, payload).await
}

/// One start, restored from `restorer` or else cold, measured to its first
/// response; the instance is killed.
async fn measured(
    restorer: Option<&Restorer>,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Sample, BenchError> {
    let started = Instant::now();
    let mut instance = first_response(restorer, spec, payload).await?;
    let took = started.elapsed();
    let memory_mb = instance.max_memory_used_mb();
    if let Some(restorer) = restorer {
        restorer.first_response(instance.pid());
    }
    instance.kill().await;
    Ok(Sample { took, memory_mb })
}

/// An instance restored from `restorer`, or else started cold, that has
/// answered its first invocation of `payload`.
async fn first_response(
    restorer: Option<&Restorer>,
    spec: &FunctionSpec,
    payload: &Bytes,
) -> Result<Instance, BenchError> {
    let (what, started) = match restorer {
        Some(restorer) => ("restore", restorer.restore().await),
        None => ("cold start", Instance::cold(spec).await),
    };
    let mut instance = started.map_err(|cause| BenchError::Start { what, cause })?;
    invoke(&mut instance, payload.clone(), spec.config.timeout).await?;
    Ok(instance)
}

/// One engine's restores in a comparison.
struct Side {
    restorer: Option<(&'static str, Restorer)>,
    restore: Vec<Duration>,
    restore_mem: Vec<u64>,
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
    /// Cold median over restore median.
    pub fn cold_over_restore(&self) -> Option<f64> {
        self.restore.map(|r| self.cold.median / r.median)
    }

    /// The report as the JSON `snaprun bench --json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        let spread =
            |s: &Spread| serde_json::json!({ "min": s.min, "median": s.median, "max": s.max });
        serde_json::json!({
            "engine": self.engine,
            "runs": self.runs,
            "cold_ms": spread(&self.cold),
            "restore_ms": self.restore.as_ref().map(spread),
            "warm_ms": spread(&self.warm),
            "cold_over_restore": self.cold_over_restore(),
            "max_memory_used_mb": { "cold": self.cold_memory_mb, "restore": self.restore_memory_mb },
            "pss_together_mb": self.together.map(|t| serde_json::json!({
                "instances": t.instances,
                "cold": t.cold_pss_mb,
                "restore": t.restore_pss_mb,
            })),
        })
    }

    /// The report as a table.
    pub fn to_table(&self) -> String {
        let row = |name: &str, s: &Spread| {
            format!(
                "{name:<10} {:>10.2} {:>10.2} {:>10.2}\n",
                s.median, s.min, s.max
            )
        };
        let mut out = format!(
            "engine {} · {} runs each · first response, ms\n{:<10} {:>10} {:>10} {:>10}\n",
            self.engine, self.runs, "", "median", "min", "max"
        );
        out.push_str(&row("cold", &self.cold));
        if let Some(restore) = &self.restore {
            out.push_str(&row("restore", restore));
        }
        out.push_str(&row("warm", &self.warm));
        if let Some(ratio) = self.cold_over_restore() {
            out.push_str(&format!("cold / restore: {ratio:.1}x\n"));
        }
        out.push_str(&format!("max memory used: cold {} MB", self.cold_memory_mb));
        if let Some(mb) = self.restore_memory_mb {
            out.push_str(&format!(", restore {mb} MB"));
        }
        out.push('\n');
        if let Some(t) = self.together {
            out.push_str(&format!(
                "pss of {} at once: cold {:.1} MB",
                t.instances, t.cold_pss_mb
            ));
            if let Some(mb) = t.restore_pss_mb {
                out.push_str(&format!(", restore {mb:.1} MB"));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
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
}
