//! `--engine auto` with a snapshot engine: start instances cold or by
//! restore, whichever reaches its first response sooner for this function.
//!
//! A restore is not always the faster start: a function whose init is cheap
//! but leaves a large heap (demo-functions/rust-data-heavy) computes it
//! faster than CRIU copies it back. So [`Adaptive`] measures both ways on
//! the first starts, serves from the faster and says so on stderr, and
//! re-checks now and then; [`crate::choice::Chooser`] makes the decisions.
//!
//! Until the trial has decided, starts run one at a time, so that the
//! figures of one do not include the CPU another took.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::choice::{Chooser, Decision, Way};
use crate::engines::{Restorer, SnapshotEngine};
use crate::function::FunctionSpec;
use crate::instance::{Instance, Start};
use crate::start_error::StartError;

/// A snapshot engine and the snapshot it finds or makes on first need.
#[derive(Debug)]
pub struct LazyRestorer {
    engine: SnapshotEngine,
    restorer: tokio::sync::Mutex<Option<Arc<Restorer>>>,
}

impl LazyRestorer {
    /// Nothing found or made yet.
    pub fn new(engine: SnapshotEngine) -> Self {
        Self {
            engine,
            restorer: tokio::sync::Mutex::new(None),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &SnapshotEngine {
        &self.engine
    }

    /// Restores an instance, finding or making the snapshot first if this is
    /// the first restore (or every earlier attempt failed).
    pub async fn restore(&self) -> Result<Instance, StartError> {
        let ready = {
            let mut restorer = self.restorer.lock().await;
            match &*restorer {
                Some(ready) => Arc::clone(ready),
                None => {
                    let ready = Arc::new(self.engine.clone().prepare().await?);
                    *restorer = Some(Arc::clone(&ready));
                    ready
                }
            }
        };
        ready.restore().await
    }

    /// A restored instance, `pid`, answered its first invocation
    /// ([`Restorer::first_response`]), once the snapshot exists.
    pub fn first_response(&self, pid: Option<u32>) {
        if let Ok(restorer) = self.restorer.try_lock()
            && let Some(ready) = &*restorer
        {
            ready.first_response(pid);
        }
    }

    /// Starts the next restore ahead ([`Restorer::prepare_next`]), once the
    /// snapshot exists.
    pub fn prepare_next(&self) {
        if let Ok(restorer) = self.restorer.try_lock()
            && let Some(ready) = &*restorer
        {
            ready.prepare_next();
        }
    }
}

/// Starts instances cold or restored, as the figures say.
#[derive(Debug)]
pub struct Adaptive {
    snapshot: LazyRestorer,
    chooser: Mutex<Chooser>,
    /// Held across a start while undecided: trial starts run one at a time.
    trial: tokio::sync::Mutex<()>,
}

impl Adaptive {
    /// Cold starts against restores from `engine`'s snapshot.
    pub fn new(engine: SnapshotEngine) -> Self {
        Self {
            snapshot: LazyRestorer::new(engine),
            chooser: Mutex::new(Chooser::new()),
            trial: tokio::sync::Mutex::new(()),
        }
    }

    /// The function.
    pub fn spec(&self) -> &FunctionSpec {
        self.snapshot.engine().spec()
    }

    /// Starts an instance the way the chooser says; returns that way too.
    pub async fn launch(&self) -> (Way, Result<Instance, StartError>) {
        let decided = self.chooser().serving().is_some();
        let _one_at_a_time = if decided {
            None
        } else {
            Some(self.trial.lock().await)
        };
        let way = self.chooser().next_start();
        let started = match way {
            Way::Cold => Instance::cold(self.spec()).await,
            Way::Restore => self.snapshot.restore().await,
        };
        match &started {
            Ok(instance) => {
                if let Some(start) = instance.start() {
                    self.chooser().ready(way, start.ready_after());
                }
            }
            Err(_) => {
                let decision = self.chooser().failed(way);
                if let Some(decision) = decision {
                    self.say(decision);
                }
            }
        }
        (way, started)
    }

    /// An instance that started as `start` answered its first invocation,
    /// which took `invocation`.
    pub fn first_response(&self, start: Start, invocation: Duration, pid: Option<u32>) {
        let way = match start {
            Start::Cold { .. } => Way::Cold,
            Start::Restored { .. } => Way::Restore,
        };
        if way == Way::Restore {
            self.snapshot.first_response(pid);
        }
        let took = start.ready_after() + invocation;
        tracing::debug!(?way, ?took, "engine auto: time to first response");
        let decision = self.chooser().first_response(way, took);
        if let Some(decision) = decision {
            self.say(decision);
        }
    }

    fn chooser(&self) -> std::sync::MutexGuard<'_, Chooser> {
        // Nothing panics while holding it; a poisoned chooser is still whole.
        self.chooser.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One line on stderr for a decision.
    fn say(&self, decision: Decision) {
        eprintln!(
            "snaprun: engine auto: {}",
            describe(decision, self.snapshot.engine().name())
        );
    }
}

/// `serving from restores (criu): 4.1 ms to first response against 506.0 ms
/// cold`, and the like.
fn describe(decision: Decision, engine: &str) -> String {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let (serving, other) = match decision.serving {
        Way::Cold => ("cold starts".to_owned(), format!("restoring ({engine})")),
        Way::Restore => (format!("restores ({engine})"), "cold".to_owned()),
    };
    let recheck = if decision.flipped {
        "re-check: now "
    } else {
        ""
    };
    let figures = match (decision.serving_median, decision.other_median) {
        (Some(serving), Some(against)) => format!(
            "{} to first response against {} {other}",
            ms(serving),
            ms(against)
        ),
        (Some(serving), None) => format!("{} to first response; {other} failed", ms(serving)),
        (None, _) => format!("{other} failed"),
    };
    format!("{recheck}serving from {serving}: {figures}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_read_as_one_line() {
        let decision = Decision {
            serving: Way::Restore,
            serving_median: Some(Duration::from_micros(4_120)),
            other_median: Some(Duration::from_millis(506)),
            flipped: false,
        };
        assert_eq!(
            describe(decision, "criu"),
            "serving from restores (criu): 4.1 ms to first response against 506.0 ms cold"
        );
        let flip = Decision {
            serving: Way::Cold,
            serving_median: Some(Duration::from_millis(45)),
            other_median: Some(Duration::from_millis(70)),
            flipped: true,
        };
        assert_eq!(
            describe(flip, "criu"),
            "re-check: now serving from cold starts: 45.0 ms to first response against 70.0 ms restoring (criu)"
        );
        let failed = Decision {
            serving: Way::Cold,
            serving_median: None,
            other_median: None,
            flipped: false,
        };
        assert_eq!(
            describe(failed, "native"),
            "serving from cold starts: restoring (native) failed"
        );
    }
}
