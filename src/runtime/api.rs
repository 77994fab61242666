//! One instance's side of the Runtime API: its state, its pending event and
//! the invocation in flight.

use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::{ErrorBody, Event, FunctionConfig, Outcome};

/// Whether the bootstrap takes part in SnapStart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapStart {
    /// No snapshot is made: `restore/next` answers 403.
    Off,
    /// A snapshot is being made: `restore/next` is the snapshot point and
    /// blocks until [`RuntimeApi::release_restore`].
    Snapshotting,
    /// This instance was restored from a snapshot: the `restore/next` it was
    /// blocked in at checkpoint time answers at once.
    Restored,
}

/// Where the bootstrap is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapState {
    /// Started; init is running.
    Initializing,
    /// Init and before-snapshot hooks are done: blocked in `restore/next`.
    AwaitingRestore,
    /// `restore/next` answered; after-restore hooks are running.
    Restoring,
    /// Blocked in `invocation/next`, ready for an event.
    Ready,
    /// Between calls: an invocation has ended and the bootstrap has not
    /// asked for the next one yet.
    Working,
    /// An event is in flight.
    Invoking(String),
    /// The runtime posted `init/error`.
    InitFailed(ErrorBody),
    /// The runtime posted `restore/error`.
    RestoreFailed(ErrorBody),
}

impl BootstrapState {
    /// Whether the bootstrap has reached the point where a snapshot is
    /// taken: `restore/next`, or the first `invocation/next` of a runtime
    /// that never calls it.
    pub fn is_snapshot_point(&self) -> bool {
        matches!(self, Self::AwaitingRestore | Self::Ready)
    }
}

/// What a restored Node process reported once its after-restore hooks ran
/// (`POST snap/restored`, from `@snap/hooks`' preload; [`crate::reseed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredReport {
    /// Its pid, in the function's PID namespace.
    pub pid: i32,
    /// `preload` if the preload ran the hooks, `runtime` if the runtime
    /// drives them itself.
    pub by: String,
    /// The hooks that ran, in order.
    pub ran: Vec<String>,
    /// The failure, if one failed.
    pub error: Option<ErrorBody>,
}

impl RestoredReport {
    /// A report as the preload posts it, checked: the error names what is
    /// wrong with it.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Posted {
            pid: i32,
            by: String,
            #[serde(default)]
            ran: Vec<String>,
            #[serde(default)]
            error: Option<PostedError>,
        }
        #[derive(serde::Deserialize)]
        struct PostedError {
            #[serde(rename = "errorType")]
            error_type: String,
            #[serde(rename = "errorMessage")]
            error_message: String,
        }
        let posted: Posted =
            serde_json::from_slice(body).map_err(|err| format!("not a restore report: {err}"))?;
        if posted.pid <= 0 {
            return Err(format!("not a process id: {}", posted.pid));
        }
        Ok(Self {
            pid: posted.pid,
            by: posted.by,
            ran: posted.ran,
            error: posted
                .error
                .map(|e| ErrorBody::new(e.error_type, e.error_message)),
        })
    }
}

/// An event and where its outcome goes.
#[derive(Debug)]
pub(super) struct Delivery {
    pub(super) event: Event,
    pub(super) reply: oneshot::Sender<Outcome>,
}

#[derive(Debug)]
struct InFlight {
    request_id: String,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Debug, Default)]
struct State {
    in_flight: Option<InFlight>,
    /// `invocation/next` or `restore/next` was called: init is over.
    init_over: bool,
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// 403: the call does not fit the current state.
    WrongState(&'static str),
    /// 400: the request id is not the one in flight.
    UnknownRequestId(String),
}

/// One instance's Runtime API state, shared by its HTTP connections and the
/// lifecycle that drives it.
#[derive(Debug)]
pub struct RuntimeApi {
    config: FunctionConfig,
    snapstart: SnapStart,
    state: Mutex<State>,
    lifecycle: watch::Sender<BootstrapState>,
    jobs_tx: mpsc::Sender<Delivery>,
    jobs_rx: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    released: watch::Sender<bool>,
    restored: watch::Sender<Vec<RestoredReport>>,
}

impl RuntimeApi {
    /// The API for a bootstrap of `config`.
    pub fn new(config: FunctionConfig, snapstart: SnapStart) -> Self {
        let (jobs_tx, jobs_rx) = mpsc::channel(1);
        Self {
            config,
            snapstart,
            state: Mutex::new(State::default()),
            lifecycle: watch::Sender::new(BootstrapState::Initializing),
            jobs_tx,
            jobs_rx: tokio::sync::Mutex::new(jobs_rx),
            released: watch::Sender::new(snapstart == SnapStart::Restored),
            restored: watch::Sender::new(Vec::new()),
        }
    }

    /// The function's configuration.
    pub fn config(&self) -> &FunctionConfig {
        &self.config
    }

    /// Follows the bootstrap's state.
    pub fn state(&self) -> watch::Receiver<BootstrapState> {
        self.lifecycle.subscribe()
    }

    /// Answers the pending `restore/next` (after a failed checkpoint, the
    /// original process simply continues).
    pub fn release_restore(&self) {
        self.released.send_replace(true);
    }

    /// Follows the reports of restored Node processes
    /// ([`RestoredReport`]), all so far.
    pub fn restored_reports(&self) -> watch::Receiver<Vec<RestoredReport>> {
        self.restored.subscribe()
    }

    /// Queues `payload` for the bootstrap's next `invocation/next` and returns
    /// its request id and where its outcome arrives. If the instance goes
    /// away before it takes the event, the receiver closes and the event can
    /// be given to another instance: it was never delivered.
    pub async fn invoke(
        &self,
        payload: Bytes,
    ) -> Result<(String, oneshot::Receiver<Outcome>), Bytes> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let deadline = std::time::SystemTime::now() + self.config.timeout;
        let deadline_ms = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let (reply, outcome) = oneshot::channel();
        let event = Event {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
            trace_id: format!(
                "Root=1-{:08x}-{}",
                deadline_ms / 1000,
                &request_id.replace('-', "")[..24]
            ),
        };
        self.jobs_tx
            .send(Delivery { event, reply })
            .await
            .map_err(|e| e.0.event.payload)?;
        Ok((request_id, outcome))
    }

    /// Ends the invocation in flight, if any, with `error` (the bootstrap
    /// died or timed out). Returns whether one was in flight.
    pub fn fail_in_flight(&self, error: ErrorBody) -> bool {
        let taken = self.lock().in_flight.take();
        match taken {
            Some(in_flight) => {
                let _ = in_flight.reply.send(Outcome::Error(error));
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state stays valid.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // ---- called by the routes ----

    /// `GET invocation/next`: waits for an event and puts it in flight.
    pub(super) async fn next(&self) -> Result<Event, Refusal> {
        {
            let mut state = self.lock();
            if state.in_flight.is_some() {
                return Err(Refusal::WrongState(
                    "an invocation is in flight: post its response or error first",
                ));
            }
            match &*self.lifecycle.borrow() {
                BootstrapState::InitFailed(_) => {
                    return Err(Refusal::WrongState("init has failed"));
                }
                BootstrapState::RestoreFailed(_) => {
                    return Err(Refusal::WrongState("restore has failed"));
                }
                BootstrapState::AwaitingRestore => {
                    return Err(Refusal::WrongState("restore/next is pending"));
                }
                _ => {}
            }
            state.init_over = true;
        }
        self.lifecycle.send_replace(BootstrapState::Ready);
        let mut jobs = self.jobs_rx.lock().await;
        let job = jobs
            .recv()
            .await
            .ok_or(Refusal::WrongState("the environment is shutting down"))?;
        let request_id = job.event.request_id.clone();
        self.lock().in_flight = Some(InFlight {
            request_id: request_id.clone(),
            reply: job.reply,
        });
        self.lifecycle
            .send_replace(BootstrapState::Invoking(request_id));
        Ok(job.event)
    }

    /// `POST invocation/{id}/response` and `/error`: ends the invocation.
    pub(super) fn finish(&self, request_id: &str, outcome: Outcome) -> Result<(), Refusal> {
        let mut state = self.lock();
        match &state.in_flight {
            None => return Err(Refusal::WrongState("no invocation is in flight")),
            Some(in_flight) if in_flight.request_id != request_id => {
                return Err(Refusal::UnknownRequestId(request_id.to_owned()));
            }
            Some(_) => {}
        }
        if let Some(in_flight) = state.in_flight.take() {
            let _ = in_flight.reply.send(outcome);
        }
        drop(state);
        // The bootstrap goes back to `next`; until then it is not Ready.
        self.lifecycle.send_replace(BootstrapState::Working);
        Ok(())
    }

    /// Checks that `request_id` is in flight, before reading a large body.
    pub(super) fn check_in_flight(&self, request_id: &str) -> Result<(), Refusal> {
        match &self.lock().in_flight {
            None => Err(Refusal::WrongState("no invocation is in flight")),
            Some(f) if f.request_id != request_id => {
                Err(Refusal::UnknownRequestId(request_id.to_owned()))
            }
            Some(_) => Ok(()),
        }
    }

    /// `POST init/error`.
    pub(super) fn init_error(&self, error: ErrorBody) -> Result<(), Refusal> {
        if self.lock().init_over {
            return Err(Refusal::WrongState("init is over"));
        }
        // The first report stands: a runtime whose hook library already
        // reported the failure with its proper type may report it again.
        if matches!(*self.lifecycle.borrow(), BootstrapState::InitFailed(_)) {
            return Err(Refusal::WrongState("init failure was already reported"));
        }
        self.lifecycle
            .send_replace(BootstrapState::InitFailed(error));
        Ok(())
    }

    /// `GET restore/next`: the snapshot point of a SnapStart runtime.
    pub(super) async fn restore_next(&self) -> Result<(), Refusal> {
        if self.snapstart == SnapStart::Off {
            return Err(Refusal::WrongState(
                "no snapshot is being made (AWS_LAMBDA_INITIALIZATION_TYPE is not snap-start)",
            ));
        }
        {
            let mut state = self.lock();
            if state.init_over {
                return Err(Refusal::WrongState(
                    "restore/next was already called or init is over",
                ));
            }
            state.init_over = true;
        }
        self.lifecycle.send_replace(BootstrapState::AwaitingRestore);
        let mut released = self.released.subscribe();
        released
            .wait_for(|r| *r)
            .await
            .map_err(|_| Refusal::WrongState("the environment is shutting down"))?;
        self.lifecycle.send_replace(BootstrapState::Restoring);
        Ok(())
    }

    /// `POST snap/restored`: a restored Node process's after-restore hooks
    /// ran. Only a restored instance has any to report.
    pub(super) fn report_restored(&self, report: RestoredReport) -> Result<(), Refusal> {
        if self.snapstart != SnapStart::Restored {
            return Err(Refusal::WrongState(
                "this instance was not restored from a snapshot",
            ));
        }
        self.restored.send_modify(|reports| reports.push(report));
        Ok(())
    }

    /// `POST restore/error`.
    pub(super) fn restore_error(&self, error: ErrorBody) -> Result<(), Refusal> {
        // A process the native engine restored never called restore/next:
        // its restore is in progress until it asks for its first event.
        let native_restore = self.snapstart == SnapStart::Restored
            && *self.lifecycle.borrow() == BootstrapState::Initializing
            && !self.lock().init_over;
        if *self.lifecycle.borrow() != BootstrapState::Restoring && !native_restore {
            return Err(Refusal::WrongState("no restore is in progress"));
        }
        self.lifecycle
            .send_replace(BootstrapState::RestoreFailed(error));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_a_process_and_what_ran() {
        let report =
            RestoredReport::parse(br#"{"pid": 7, "by": "preload", "ran": ["snap.math-random"]}"#)
                .expect("parses");
        assert_eq!(report.pid, 7);
        assert_eq!(report.ran, ["snap.math-random"]);
        assert!(report.error.is_none());
        let failed = RestoredReport::parse(
            br#"{"pid": 7, "by": "preload", "error": {"errorType": "Runtime.AfterRestoreError", "errorMessage": "afterRestore hook \"x\" failed: no"}}"#,
        )
        .expect("parses");
        assert_eq!(
            failed.error.expect("an error").error_type,
            "Runtime.AfterRestoreError"
        );
        for (body, says) in [
            (&b"{}"[..], "missing field `pid`"),
            (b"{\"pid\": -1, \"by\": \"x\"}", "not a process id: -1"),
            (
                b"{\"pid\": 1, \"by\": \"x\", \"extra\": 1}",
                "unknown field `extra`",
            ),
            (b"not json", "not a restore report"),
        ] {
            let err = RestoredReport::parse(body).expect_err("refused");
            assert!(err.contains(says), "{err}");
        }
    }
}
