//! `snaprun check-unique`: finds entropy that a snapshot hands to every
//! restored instance, by looking at the function from the outside.
//!
//! The function's init runs once and is snapshotted. N instances are restored
//! from that snapshot, each gets the same event as its first invocation,
//! and the responses are compared. A value that looks random (a UUID, a
//! long hex or base64 run, a float with many fractional digits) and is the
//! same in two or more restored instances was copied by the snapshot. Each
//! instance's answer to the same event again tells how ([`Origin`]): made
//! during init (a cached seed, id or key that no after-restore hook
//! refreshed), or made after the restore by a generator the snapshot froze.
//!
//! The scan only sees what the responses show. Entropy that a function keeps
//! to itself (a seed it never prints, a key it only signs with) is invisible
//! here; see `docs/uniqueness-check.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::engines::{Restorer, SnapshotEngine};
use crate::instance::{Instance, Start};
use crate::runtime::Outcome;
use crate::start_error::StartError;

mod scan;

pub use scan::{candidates, compare, random_tokens};

/// Strings shorter than this are never taken for random tokens (UUIDs and
/// floats have their own shapes).
pub const MIN_TOKEN_LEN: usize = 16;

/// Floats with at least this many fractional digits look random.
pub const MIN_FRACTION_DIGITS: usize = 8;

/// Why a value looks random.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenKind {
    /// `8-4-4-4-12` hex digits.
    Uuid,
    /// At least 16 hex digits, letters and digits mixed.
    Hex,
    /// At least 16 characters of the base64 or base64url alphabet, with
    /// character classes mixed as in random data.
    Base64,
    /// A number with at least 8 fractional digits.
    Float,
}

impl TokenKind {
    /// A short name: `uuid`, `hex`, `base64`, `float`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uuid => "uuid",
            Self::Hex => "hex",
            Self::Base64 => "base64",
            Self::Float => "float",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A random-looking value found in one response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candidate {
    /// Where: a JSON path such as `$.ids[0]`; `$` for a body that is not JSON.
    pub path: String,
    /// The random-looking text.
    pub value: String,
    /// Why it looks random.
    pub kind: TokenKind,
    /// Whether it is the whole leaf, or a token inside a longer string.
    pub whole: bool,
}

/// A random-looking value that two or more restored instances returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The value and where it was.
    pub candidate: Candidate,
    /// How many restored instances returned it there.
    pub same_in: usize,
    /// How many restored instances answered.
    pub of: usize,
    /// Where it came from, told by each instance's second answer.
    pub origin: Origin,
}

/// Where a value shared by restored instances came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Made during init: the instances that returned it return it again
    /// for their second event. The snapshot holds the value itself.
    Init,
    /// Made for the event, after the restore, by a generator whose state
    /// the snapshot copied: an instance's second answer holds another value
    /// there, but the instances still agree with each other.
    FrozenGenerator,
}

impl Origin {
    /// A short name: `init`, `frozen-generator`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::FrozenGenerator => "frozen-generator",
        }
    }

    /// Why the value repeats, and what to do about it.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::Init => {
                "generated during init and copied by the snapshot: make it after the restore (in the handler, or in an after-restore hook)"
            }
            Self::FrozenGenerator => {
                "generated after the restore by a random generator whose state the snapshot copied: reseed that generator in an after-restore hook (for Node, keep snaprun's reseeding on; docs/hooks.md)"
            }
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone)]
pub struct Findings {
    /// The snapshot engine: `criu` or `native`.
    pub engine: &'static str,
    /// One entry per restored instance, in the order they answered.
    pub instances: Vec<InstanceInfo>,
    /// Random-looking values that were the same in two or more instances.
    pub findings: Vec<Finding>,
    /// How many random-looking values the responses held in all, duplicated
    /// or not (each counted once per path and value).
    pub random_values: usize,
}

/// One restored instance and its answer.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    /// The bootstrap's pid as snaprun sees it, when known.
    pub pid: Option<u32>,
    /// Restore start until it asked for its first event.
    pub restore: Duration,
    /// Its response body to the first event.
    pub response: Bytes,
    /// Its response body to the same event again, right after.
    pub second: Bytes,
}

/// Why a check could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The engine makes no snapshot, so there is nothing to compare.
    #[error(
        "check-unique compares instances restored from one snapshot, and engine none makes no snapshot (use --engine criu as root, or --engine native for a bootstrap that links snap)"
    )]
    NoSnapshot,
    /// Fewer than two instances asked for.
    #[error("--instances must be at least 2 to compare restored instances, not {0}")]
    TooFewInstances(usize),
    /// The snapshot could not be made or an instance not restored.
    #[error("{what} failed")]
    Start {
        /// `snapshot` or `restore N`.
        what: String,
        /// Why.
        #[source]
        cause: StartError,
    },
    /// An instance came up without being restored from the snapshot.
    #[error("instance {0} was not restored from the snapshot")]
    NotRestored(usize),
    /// Two instances turned out to be the same process.
    #[error(
        "instances {0} and {1} are the same process (pid {2}); the check needs distinct restores"
    )]
    SameProcess(usize, usize, u32),
    /// The function answered with an error.
    #[error("restored instance {instance} returned {error_type}: {message}")]
    Function {
        /// Which instance (1-based).
        instance: usize,
        /// Its errorType.
        error_type: String,
        /// Its errorMessage.
        message: String,
    },
    /// The instance went away or took longer than the function's timeout.
    #[error("restored instance {instance}: the invocation did not complete: {why}")]
    Invocation {
        /// Which instance (1-based).
        instance: usize,
        /// What happened.
        why: String,
    },
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Check {
    /// How many instances to restore and compare.
    pub instances: usize,
    /// The event every instance gets.
    pub event: Bytes,
    /// JSON paths whose values (and everything under them) are not
    /// reported: constants that only look random, such as a build hash.
    pub ignore: Vec<String>,
}

/// Makes (or reuses) the snapshot, restores `check.instances` instances from
/// it, sends each `check.event` as its first invocation, and compares the
/// responses; each instance's answer to the event sent again gives a
/// shared value's [`Origin`].
///
/// Every instance is a restore of its own, so each first response comes
/// from a distinct restored process. All of them stay
/// alive until every one has answered, then all are killed.
pub async fn run(engine: Option<SnapshotEngine>, check: &Check) -> Result<Findings, CheckError> {
    let engine = engine.ok_or(CheckError::NoSnapshot)?;
    let count = check.instances;
    if count < 2 {
        return Err(CheckError::TooFewInstances(count));
    }
    let name = engine.name();
    let timeout = engine.spec().config.timeout;
    let restorer = Arc::new(engine.prepare().await.map_err(|cause| CheckError::Start {
        what: "snapshot".into(),
        cause,
    })?);
    tracing::info!(count, engine = name, "restoring instances");
    let instances = restore_all(&restorer, count).await?;
    let mut seen = BTreeMap::new();
    for (i, instance) in instances.iter().enumerate() {
        if !matches!(instance.start(), Some(Start::Restored { .. })) {
            return Err(CheckError::NotRestored(i + 1));
        }
        if let Some(pid) = instance.pid() {
            if let Some(first) = seen.insert(pid, i + 1) {
                return Err(CheckError::SameProcess(first, i + 1, pid));
            }
        }
    }
    let answers = invoke_all(instances, &check.event, timeout).await?;
    let responses: Vec<(&[u8], &[u8])> = answers
        .iter()
        .map(|a| (&a.response[..], &a.second[..]))
        .collect();
    let (findings, random_values) = compare(&responses, &check.event, &check.ignore);
    Ok(Findings {
        engine: name,
        instances: answers,
        findings,
        random_values,
    })
}

/// Restores `count` instances at once. Every restore is awaited before an
/// error is returned, so none is left running (a dropped instance is killed).
async fn restore_all(restorer: &Arc<Restorer>, count: usize) -> Result<Vec<Instance>, CheckError> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let restorer = Arc::clone(restorer);
            tokio::spawn(async move { restorer.restore().await })
        })
        .collect();
    let mut instances = Vec::with_capacity(count);
    let mut first_error = None;
    for (i, task) in tasks.into_iter().enumerate() {
        let result = match task.await {
            Ok(result) => result,
            Err(join) => Err(StartError::Task(join)),
        };
        match result {
            Ok(instance) => instances.push(instance),
            Err(cause) => {
                first_error.get_or_insert(CheckError::Start {
                    what: format!("restore {}", i + 1),
                    cause,
                });
            }
        }
    }
    match first_error {
        None => Ok(instances),
        Some(err) => {
            for instance in instances {
                instance.kill().await;
            }
            Err(err)
        }
    }
}

/// Sends `event` to every instance at once, then again once each has
/// answered, and collects both responses, in instance order. Kills every
/// instance afterwards.
async fn invoke_all(
    instances: Vec<Instance>,
    event: &Bytes,
    timeout: Duration,
) -> Result<Vec<InstanceInfo>, CheckError> {
    let tasks: Vec<_> = instances
        .into_iter()
        .enumerate()
        .map(|(i, mut instance)| {
            let event = event.clone();
            tokio::spawn(async move {
                let pid = instance.pid();
                let restore = match instance.start() {
                    Some(Start::Restored { restore }) => restore,
                    _ => Duration::ZERO,
                };
                let twice = async || {
                    let response = invoke(&mut instance, i + 1, event.clone(), timeout).await?;
                    let second = invoke(&mut instance, i + 1, event, timeout).await?;
                    Ok(InstanceInfo {
                        pid,
                        restore,
                        response,
                        second,
                    })
                };
                let result = twice().await;
                (instance, result)
            })
        })
        .collect();
    let mut answered = Vec::new();
    let mut alive = Vec::new();
    let mut first_error = None;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok((instance, result)) => {
                alive.push(instance);
                match result {
                    Ok(info) => answered.push(info),
                    Err(err) => {
                        first_error.get_or_insert(err);
                    }
                }
            }
            Err(join) => {
                first_error.get_or_insert(CheckError::Invocation {
                    instance: i + 1,
                    why: join.to_string(),
                });
            }
        }
    }
    for instance in alive {
        instance.kill().await;
    }
    match first_error {
        None => Ok(answered),
        Some(err) => Err(err),
    }
}

async fn invoke(
    instance: &mut Instance,
    number: usize,
    event: Bytes,
    timeout: Duration,
) -> Result<Bytes, CheckError> {
    let gone = |why: String| CheckError::Invocation {
        instance: number,
        why,
    };
    let (_, outcome) = instance
        .api
        .invoke(event)
        .await
        .map_err(|_| gone("the instance is gone".into()))?;
    let outcome = tokio::select! {
        outcome = outcome => outcome.map_err(|_| gone("the instance is gone".into()))?,
        status = instance.exited() => return Err(gone(format!("the bootstrap exited ({status})"))),
        () = tokio::time::sleep(timeout) => return Err(gone(format!("timed out after {timeout:?}"))),
    };
    match outcome {
        Outcome::Response(body) => Ok(body),
        Outcome::Error(e) => Err(CheckError::Function {
            instance: number,
            error_type: e.error_type,
            message: e.message,
        }),
    }
}

impl Findings {
    /// Whether no random-looking value was shared.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The report as text: one line per finding, then a summary.
    pub fn to_text(&self) -> String {
        let n = self.instances.len();
        let mut out = format!(
            "engine {} · {n} restored instances, compared on their first event, all alive at once (pids {})\n",
            self.engine,
            self.pids()
        );
        if self.findings.is_empty() {
            out.push_str(&format!(
                "no random-looking value is shared between restored instances ({} seen, all distinct)\n",
                self.random_values
            ));
            if self.random_values == 0 {
                out.push_str(
                    "note: the responses hold no random-looking value, so this says nothing about entropy the function keeps to itself\n",
                );
            }
            return out;
        }
        for f in &self.findings {
            let c = &f.candidate;
            let place = if c.whole {
                c.path.clone()
            } else {
                format!("{} (inside the string)", c.path)
            };
            out.push_str(&format!(
                "{place}: {} {}: same in {} of {} restored instances ({})\n",
                c.kind,
                c.value,
                f.same_in,
                f.of,
                f.origin.name()
            ));
        }
        for origin in [Origin::Init, Origin::FrozenGenerator] {
            let n = self.findings.iter().filter(|f| f.origin == origin).count();
            if n > 0 {
                out.push_str(&format!(
                    "{n} random-looking value{} ({}) {}\n",
                    if n == 1 { "" } else { "s" },
                    origin.name(),
                    origin.explanation()
                ));
            }
        }
        out
    }

    /// The report as the JSON `snaprun check-unique --json` prints.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "engine": self.engine,
            "instances": self.instances.len(),
            "distinct_instances": true,
            "pids": self.instances.iter().map(|i| i.pid).collect::<Vec<_>>(),
            "restore_ms": self.instances.iter().map(|i| i.restore.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
            "random_values": self.random_values,
            "duplicated": self.findings.iter().map(|f| serde_json::json!({
                "path": f.candidate.path,
                "value": f.candidate.value,
                "kind": f.candidate.kind.name(),
                "whole": f.candidate.whole,
                "same_in": f.same_in,
                "of": f.of,
                "origin": f.origin.name(),
            })).collect::<Vec<_>>(),
            "ok": self.is_clean(),
        })
    }

    fn pids(&self) -> String {
        let pids: Vec<String> = self
            .instances
            .iter()
            .map(|i| i.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()))
            .collect();
        pids.join(", ")
    }
}
