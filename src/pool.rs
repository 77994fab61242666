//! A fixed number of instances serving a queue of invocations.
//!
//! Every invocation is answered exactly once. An event that no instance took
//! (the bootstrap died while idle) is retried on a fresh instance. An event in
//! flight when its bootstrap crashes or times out gets an error, and the slot
//! gets a fresh instance.

use snap::lambda::ErrorType;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::adaptive::{Adaptive, LazyRestorer};
use crate::choice::Way;
use crate::engines::SnapshotEngine;
use crate::function::FunctionSpec;
use crate::instance::{Instance, Start};
use crate::report;
use crate::runtime::{ErrorBody, Outcome};
use crate::start_error::StartError;

/// One invocation waiting for an instance.
#[derive(Debug)]
pub struct Invocation {
    /// The event.
    pub payload: Bytes,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Outcome>,
}

/// The queue the front door feeds.
pub type Queue = mpsc::Sender<Invocation>;

/// How a slot gets a fresh instance.
#[derive(Debug)]
pub enum Launcher {
    /// Start the bootstrap from scratch every time (engine `none`).
    Cold(FunctionSpec),
    /// Restore it from a snapshot, found or made on first need.
    Restore(LazyRestorer),
    /// Start it cold or restore it, whichever answers sooner (`--engine
    /// auto` with a snapshot engine).
    Adaptive(Box<Adaptive>),
}

impl Launcher {
    /// A launcher that restores from a snapshot made by `engine`.
    pub fn restore(engine: SnapshotEngine) -> Self {
        Self::Restore(LazyRestorer::new(engine))
    }

    /// A launcher that measures cold starts against restores from `engine`'s
    /// snapshot and serves from the faster.
    pub fn adaptive(engine: SnapshotEngine) -> Self {
        Self::Adaptive(Box::new(Adaptive::new(engine)))
    }

    fn spec(&self) -> &FunctionSpec {
        match self {
            Self::Cold(spec) => spec,
            Self::Restore(snapshot) => snapshot.engine().spec(),
            Self::Adaptive(adaptive) => adaptive.spec(),
        }
    }

    /// A ready instance, started cold or restored, and which of the two.
    pub async fn launch(&self) -> (Way, Result<Instance, StartError>) {
        match self {
            Self::Cold(spec) => (Way::Cold, Instance::cold(spec).await),
            Self::Restore(snapshot) => (Way::Restore, snapshot.restore().await),
            Self::Adaptive(adaptive) => adaptive.launch().await,
        }
    }

    /// An instance that started as `start` answered its first invocation,
    /// which took `invocation`.
    /// The quiet moment after a first response is when the next restore is
    /// started ahead.
    /// (native, with a store) the pages it touched are the working set.
    fn first_response(&self, start: Start, invocation: std::time::Duration, pid: Option<u32>) {
        match self {
            Self::Cold(_) => {}
            Self::Restore(snapshot) => snapshot.first_response(pid),
            Self::Adaptive(adaptive) => adaptive.first_response(start, invocation, pid),
        }
    }
}

/// How long an instance may take to exit after SIGTERM when snaprun stops,
/// before it gets SIGKILL: Lambda's figure for a runtime's shutdown phase.
/// Never more than what is left of the shutdown grace.
pub const TERM_GRACE: Duration = Duration::from_millis(500);

/// The slots serving a queue of invocations, until [`Pool::stop`].
#[derive(Debug)]
pub struct Pool {
    queue: Queue,
    /// The deadline of a stop, once one is asked for.
    stopping: watch::Sender<Option<Instant>>,
    slots: JoinSet<()>,
    jobs: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    launcher: Arc<Launcher>,
}

/// Starts `concurrency` slots.
pub fn start(launcher: Launcher, concurrency: usize) -> Pool {
    let (tx, rx) = mpsc::channel::<Invocation>(1024);
    let rx = Arc::new(Mutex::new(rx));
    let launcher = Arc::new(launcher);
    let (stopping, stop) = watch::channel(None);
    let mut slots = JoinSet::new();
    for slot in 0..concurrency {
        slots.spawn(run_slot(
            slot,
            Arc::clone(&launcher),
            Arc::clone(&rx),
            stop.clone(),
        ));
    }
    Pool {
        queue: tx,
        stopping,
        slots,
        jobs: rx,
        launcher,
    }
}

impl Pool {
    /// Where invocations go.
    pub fn queue(&self) -> Queue {
        self.queue.clone()
    }

    /// Stops serving: new invocations are refused (the front door answers
    /// them `the function is shutting down`), those queued or in flight may
    /// finish within `grace`, and then every instance is ended: SIGTERM,
    /// and SIGKILL after at most [`TERM_GRACE`]. Past the grace whatever is
    /// left is killed at once, and invocations still waiting are answered
    /// with the same error. Last, what the engine kept ready (a native
    /// restore at its gate, a CRIU worker) goes.
    ///
    /// New invocations are refused from the call on, before the returned
    /// future is first polled. It returns whether everything finished
    /// within the grace.
    pub fn stop(mut self, grace: Duration) -> impl Future<Output = bool> {
        let deadline = Instant::now() + grace;
        self.stopping.send_replace(Some(deadline));
        // Closed here, or else by the slot waiting on it, which the stop
        // wakes.
        if let Ok(mut jobs) = self.jobs.try_lock() {
            jobs.close();
        }
        async move {
            let drained = async { while self.slots.join_next().await.is_some() {} };
            let in_time = tokio::time::timeout_at(deadline.into(), drained)
                .await
                .is_ok();
            if !in_time {
                // Dropping a slot kills its instance (its process group, or
                // its sandbox) and answers its invocation.
                self.slots.abort_all();
                while self.slots.join_next().await.is_some() {}
            }
            // The slots held the other references: this drops the engine's
            // snapshot and what it kept ready.
            drop(self.launcher);
            in_time
        }
    }
}

async fn run_slot(
    slot: usize,
    launcher: Arc<Launcher>,
    jobs: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    mut stop: watch::Receiver<Option<Instant>>,
) {
    // Init runs before the first invocation arrives; a failed init is the
    // first invocation's answer, and the next one tries again.
    let mut init_error = None;
    let mut instance = match start_instance(&launcher).await {
        Ok(started) => Some(started),
        Err(body) => {
            init_error = Some(body);
            None
        }
    };
    loop {
        let job = {
            let mut jobs = jobs.lock().await;
            tokio::select! {
                biased;
                job = jobs.recv() => job,
                // No more: what is queued is still served, then `None`.
                () = stopping(&mut stop) => {
                    jobs.close();
                    jobs.recv().await
                }
            }
        };
        let Some(job) = job else {
            break;
        };
        let (outcome, follow_up) = match init_error.take() {
            Some(body) => (Outcome::Error(body), None),
            None => serve(slot, &launcher, &mut instance, job.payload).await,
        };
        // The invoker may have gone away; the outcome was still reported.
        let _ = job.reply.send(outcome);
        // After the answer: the next restore started ahead, or the working
        // set recorded, must not delay it.
        if let Some(follow_up) = follow_up {
            follow_up.follow_up(&launcher);
        }
        // A crashed or timed-out instance is replaced before the next event,
        // unless snaprun is stopping.
        let stopping = stop.borrow().is_some();
        if instance.is_none() && init_error.is_none() && !stopping {
            match start_instance(&launcher).await {
                Ok(started) => instance = Some(started),
                Err(body) => init_error = Some(body),
            }
        }
    }
    if let Some(instance) = instance.take() {
        let left = (*stop.borrow()).map_or(Duration::ZERO, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        instance.stop(left.min(TERM_GRACE)).await;
    }
}

/// Returns once a stop is asked for (or can no longer be).
async fn stopping(stop: &mut watch::Receiver<Option<Instant>>) {
    let _ = stop.wait_for(Option::is_some).await;
}

/// Runs one event, starting an instance first if the slot has none; with
/// the outcome, what follows an instance's first response.
async fn serve(
    slot: usize,
    launcher: &Launcher,
    instance: &mut Option<Instance>,
    payload: Bytes,
) -> (Outcome, Option<FirstResponse>) {
    let spec = launcher.spec();
    loop {
        if instance.is_none() {
            match start_instance(launcher).await {
                Ok(started) => *instance = Some(started),
                // Init failed: the error is this invocation's answer.
                Err(body) => return (Outcome::Error(body), None),
            }
        }
        let Some(current) = instance.as_mut() else {
            continue;
        };
        let (request_id, outcome) = match current.api.invoke(payload.clone()).await {
            Ok(pending) => pending,
            Err(_) => {
                // The instance's API is gone; start another.
                if let Some(old) = instance.take() {
                    old.kill().await;
                }
                continue;
            }
        };
        let started = Instant::now();
        let timeout = spec.config.timeout;
        current.note_memory();
        tokio::select! {
            result = outcome => match result {
                Ok(outcome) => {
                    let follow_up = finish_report(current, &request_id, started, launcher);
                    return (outcome, follow_up);
                }
                // Never delivered: the bootstrap went away while idle. Retry.
                Err(_) => {
                    if let Some(old) = instance.take() {
                        old.kill().await;
                    }
                }
            },
            status = current.exited() => {
                let error = ErrorBody::new(
                    ErrorType::ExitError,
                    format!("RequestId: {request_id} Error: Runtime exited ({status})"),
                );
                let delivered = current.api.fail_in_flight(error.clone());
                let follow_up = finish_report(current, &request_id, started, launcher);
                if let Some(old) = instance.take() {
                    old.kill().await;
                }
                tracing::warn!(slot, %request_id, %status, "bootstrap exited; the slot gets a fresh instance");
                if delivered {
                    return (Outcome::Error(error), follow_up);
                }
                // Not this invocation's: it goes to a fresh instance.
                if let Some(follow_up) = follow_up {
                    follow_up.follow_up(launcher);
                }
            }
            () = tokio::time::sleep(timeout) => {
                let error = ErrorBody::new(
                    ErrorType::Timedout,
                    format!("RequestId: {request_id} Error: Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                );
                current.api.fail_in_flight(error.clone());
                let follow_up = finish_report(current, &request_id, started, launcher);
                if let Some(old) = instance.take() {
                    old.kill().await;
                }
                return (Outcome::Error(error), follow_up);
            }
        }
    }
}

/// Starts an instance and reports a cold init.
async fn start_instance(launcher: &Launcher) -> Result<Instance, ErrorBody> {
    let started = Instant::now();
    match launcher.launch().await {
        (_, Ok(instance)) => {
            if let Some(Start::Cold { init }) = instance.start() {
                report::init(init, None);
            }
            Ok(instance)
        }
        (way, Err(err)) => {
            let body = err.to_error_body();
            match (&err, way) {
                (StartError::Init(_), Way::Cold) | (StartError::Timeout { .. }, Way::Cold) => {
                    report::init(started.elapsed(), Some(&body));
                }
                _ => eprintln!("snaprun: {}", snap::chain(&err)),
            }
            Err(body)
        }
    }
}

/// An instance's first answered invocation, for the launcher to act on
/// ([`Launcher::first_response`]) once the answer has gone out: starting
/// the next restore ahead, or recording the working set, is not on the
/// caller's clock.
#[derive(Debug)]
struct FirstResponse {
    start: Start,
    invocation: Duration,
    pid: Option<u32>,
}

impl FirstResponse {
    fn follow_up(self, launcher: &Launcher) {
        launcher.first_response(self.start, self.invocation, self.pid);
    }
}

/// Prints the invocation's REPORT line; returns what follows an instance's
/// first response.
#[must_use]
fn finish_report(
    instance: &mut Instance,
    request_id: &str,
    started: Instant,
    launcher: &Launcher,
) -> Option<FirstResponse> {
    let spec = launcher.spec();
    let first = instance.take_first();
    let duration = started.elapsed();
    let follow_up = first.map(|start| FirstResponse {
        start,
        invocation: duration,
        pid: instance.pid(),
    });
    report::invocation(&report::Invocation {
        request_id,
        duration,
        memory_size_mb: spec.config.memory_mb,
        max_memory_used_mb: instance.max_memory_used_mb(),
        first,
    });
    follow_up
}
