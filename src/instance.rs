//! One running bootstrap and the Runtime API it talks to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::function::FunctionSpec;
use crate::runtime::{ErrorBody, Phase, RuntimeApi, SnapStart, routes};

/// How an instance came to be, for its first REPORT line.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// Started from scratch; init took this long.
    Cold {
        /// Process start to the first `invocation/next`.
        init: Duration,
    },
    /// Restored from a snapshot; this long until ready.
    Restored {
        /// Restore start to the first `invocation/next`.
        restore: Duration,
    },
}

/// Why an instance could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The bootstrap could not be started at all.
    #[error("cannot start bootstrap {bootstrap}: {cause}")]
    Spawn {
        /// The bootstrap.
        bootstrap: String,
        /// Why.
        cause: std::io::Error,
    },
    /// The Runtime API could not listen.
    #[error("cannot listen for the Runtime API: {0}")]
    Listen(std::io::Error),
    /// Init failed: the runtime posted `init/error`, exited, or ran out of time.
    #[error("init failed: {}: {}", .0.error_type, .0.message)]
    Init(ErrorBody),
}

impl StartError {
    /// The error an invoker sees for this failure.
    pub fn to_error_body(&self) -> ErrorBody {
        match self {
            Self::Init(body) => body.clone(),
            other => ErrorBody::new("Runtime.Unknown", other.to_string()),
        }
    }
}

/// A bootstrap that has finished init and waits in `invocation/next`.
#[derive(Debug)]
pub struct Instance {
    /// Its Runtime API state.
    pub api: Arc<RuntimeApi>,
    /// How it started, until its first invocation has been reported.
    first: Option<Start>,
    peak_mb: u64,
    child: Child,
    server: JoinHandle<()>,
}

impl Instance {
    /// Starts the bootstrap from scratch (engine `none`) and waits until it
    /// asks for its first event.
    pub async fn cold(spec: &FunctionSpec) -> Result<Self, StartError> {
        let started = Instant::now();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(StartError::Listen)?;
        let addr = listener.local_addr().map_err(StartError::Listen)?;
        let api = Arc::new(RuntimeApi::new(spec.config.clone(), SnapStart::Off));
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&api)));
        let mut child = Command::new(&spec.bootstrap)
            .args(&spec.args)
            .env_clear()
            .envs(spec.environment(&addr.to_string(), "on-demand"))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|cause| {
                server.abort();
                StartError::Spawn {
                    bootstrap: spec.bootstrap.display().to_string(),
                    cause,
                }
            })?;
        let ready = wait_ready(&api, &mut child, spec.init_timeout).await;
        if let Err(err) = ready {
            let _ = child.kill().await;
            server.abort();
            return Err(err);
        }
        let init = started.elapsed();
        Ok(Self {
            api,
            first: Some(Start::Cold { init }),
            peak_mb: 0,
            child,
            server,
        })
    }

    /// How it started, once: for the REPORT of its first invocation.
    pub fn take_first(&mut self) -> Option<Start> {
        self.first.take()
    }

    /// How it started, if its first invocation is still to come.
    pub fn start(&self) -> Option<Start> {
        self.first
    }

    /// The bootstrap's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the bootstrap to exit.
    pub async fn exited(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(err) => err.to_string(),
        }
    }

    /// Kills the bootstrap and stops serving its Runtime API.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }

    /// Samples the bootstrap's peak memory while it is alive, so a report
    /// after a crash still has a figure.
    pub fn note_memory(&mut self) {
        let now = self.pid().map_or(0, peak_rss_mb);
        self.peak_mb = self.peak_mb.max(now);
    }

    /// The bootstrap's peak resident memory, in MB (`VmHWM`).
    pub fn max_memory_used_mb(&mut self) -> u64 {
        self.note_memory();
        self.peak_mb
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves every connection the bootstrap opens.
async fn accept_loop(listener: TcpListener, api: Arc<RuntimeApi>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let api = Arc::clone(&api);
        tokio::spawn(async move {
            if let Err(err) = routes::serve(api, stream).await {
                tracing::debug!(%err, "runtime API connection ended");
            }
        });
    }
}

/// Waits until the bootstrap reaches `invocation/next`.
async fn wait_ready(
    api: &RuntimeApi,
    child: &mut Child,
    limit: Duration,
) -> Result<(), StartError> {
    let mut phase = api.phase();
    let ready = phase.wait_for(|p| matches!(p, Phase::Ready | Phase::InitFailed(_)));
    let outcome = tokio::select! {
        p = ready => p.map(|p| p.clone()).ok(),
        status = child.wait() => {
            let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
            // An init/error posted just before exiting wins over the exit.
            return Err(StartError::Init(match &*api.phase().borrow() {
                Phase::InitFailed(body) => body.clone(),
                _ => ErrorBody::new("Runtime.ExitError", format!("the bootstrap exited during init ({status})")),
            }));
        }
        () = tokio::time::sleep(limit) => {
            return Err(StartError::Init(ErrorBody::new(
                "Runtime.InitTimeout",
                format!("init did not finish within {:.0} s", limit.as_secs_f64()),
            )));
        }
    };
    match outcome {
        Some(Phase::InitFailed(body)) => Err(StartError::Init(body)),
        _ => Ok(()),
    }
}

/// Peak RSS of `pid` in MB, from `/proc/PID/status`.
pub fn peak_rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb.div_ceil(1024))
}
