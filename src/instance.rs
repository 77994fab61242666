//! One running bootstrap and the Runtime API it talks to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::function::FunctionSpec;
use snap::process::TreeRoot;

use crate::relay::outside::Mux;
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
    /// Init failed: the runtime posted `init/error` or exited.
    #[error("init failed: {}: {}", .0.error_type, .0.message)]
    Init(ErrorBody),
    /// An after-restore hook failed: the runtime posted `restore/error`.
    #[error("restore failed: {}: {}", .0.error_type, .0.message)]
    Restore(ErrorBody),
    /// Init or restore did not finish in time.
    #[error("{error_type}: not ready within {:.1} s", limit.as_secs_f64())]
    Timeout {
        /// The limit.
        limit: Duration,
        /// `Runtime.InitTimeout` or `Runtime.RestoreHookUserTimeout`.
        error_type: &'static str,
    },
    /// The snapshot could not be made or restored.
    #[error("{0}")]
    Snapshot(String),
}

impl StartError {
    /// The error an invoker sees for this failure.
    pub fn to_error_body(&self) -> ErrorBody {
        match self {
            Self::Init(body) | Self::Restore(body) => body.clone(),
            Self::Timeout { error_type, .. } => ErrorBody::new(*error_type, self.to_string()),
            other => ErrorBody::new("Runtime.Unknown", other.to_string()),
        }
    }
}

/// How a plain child process starts.
#[derive(Debug)]
pub struct ProcessStart<'a> {
    /// What `restore/next` does.
    pub snapstart: SnapStart,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE`.
    pub initialization_type: &'a str,
    /// Variables added after the function's environment.
    pub extra_env: &'a [(&'a str, std::ffi::OsString)],
    /// Start it with `ADDR_NO_RANDOMIZE` (the native engine needs it).
    pub fixed_layout: bool,
    /// Limit until ready; the function's init limit if `None`.
    pub limit: Option<Duration>,
    /// The error type when the limit passes.
    pub timeout_type: &'static str,
}

impl ProcessStart<'static> {
    /// A plain cold start.
    pub const COLD: Self = Self {
        snapstart: SnapStart::Off,
        initialization_type: "on-demand",
        extra_env: &[],
        fixed_layout: false,
        limit: None,
        timeout_type: "Runtime.InitTimeout",
    };
}

/// A bootstrap that has finished init and waits in `invocation/next`.
#[derive(Debug)]
pub struct Instance {
    /// Its Runtime API state.
    pub api: Arc<RuntimeApi>,
    /// How it started, until its first invocation has been reported.
    first: Option<Start>,
    peak_mb: u64,
    backend: Backend,
}

/// What runs the bootstrap.
#[derive(Debug)]
enum Backend {
    /// A plain child process talking to a local TCP listener.
    Process {
        child: Child,
        server: JoinHandle<()>,
    },
    /// A sandboxed tree (restored or fresh) behind a relay.
    Sandbox { root: TreeRoot, mux: Mux },
}

impl Instance {
    /// Starts the bootstrap from scratch (engine `none`) and waits until it
    /// asks for its first event.
    pub async fn cold(spec: &FunctionSpec) -> Result<Self, StartError> {
        Self::process(spec, &ProcessStart::COLD).await
    }

    /// Starts the bootstrap as a plain child process talking to a local
    /// listener, and waits until it asks for its first event.
    pub async fn process(spec: &FunctionSpec, how: &ProcessStart<'_>) -> Result<Self, StartError> {
        let started = Instant::now();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(StartError::Listen)?;
        let addr = listener.local_addr().map_err(StartError::Listen)?;
        let api = Arc::new(RuntimeApi::new(spec.config.clone(), how.snapstart));
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&api)));
        let mut command = Command::new(&spec.bootstrap);
        command
            .args(&spec.args)
            .env_clear()
            .envs(spec.environment(&addr.to_string(), how.initialization_type))
            .envs(how.extra_env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let fixed_layout = how.fixed_layout;
        // SAFETY: between fork and exec the closure makes two system calls
        // and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                clean_child(fixed_layout);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|cause| {
            server.abort();
            StartError::Spawn {
                bootstrap: spec.bootstrap.display().to_string(),
                cause,
            }
        })?;
        let ready = wait_ready(
            &api,
            exit_of(&mut child),
            how.limit.unwrap_or(spec.init_timeout),
            Phase::Ready,
            how.timeout_type,
        )
        .await;
        if let Err(err) = ready {
            let _ = child.kill().await;
            server.abort();
            return Err(err);
        }
        let took = started.elapsed();
        Ok(Self {
            api,
            first: Some(if how.snapstart == SnapStart::Restored {
                Start::Restored { restore: took }
            } else {
                Start::Cold { init: took }
            }),
            peak_mb: 0,
            backend: Backend::Process { child, server },
        })
    }

    /// An instance whose bootstrap runs in a sandboxed tree behind a relay.
    pub fn sandboxed(api: Arc<RuntimeApi>, root: TreeRoot, mux: Mux, start: Start) -> Self {
        Self {
            api,
            first: Some(start),
            peak_mb: 0,
            backend: Backend::Sandbox { root, mux },
        }
    }

    /// How it started, once: for the REPORT of its first invocation.
    pub fn take_first(&mut self) -> Option<Start> {
        self.first.take()
    }

    /// How it started, if its first invocation is still to come.
    pub fn start(&self) -> Option<Start> {
        self.first
    }

    /// The bootstrap's pid, as this process sees it.
    pub fn pid(&self) -> Option<u32> {
        match &self.backend {
            Backend::Process { child, .. } => child.id(),
            // The relay is the root; the bootstrap is its child.
            Backend::Sandbox { root, .. } => first_child(root.pid()),
        }
    }

    /// Waits for the bootstrap to exit and says how.
    pub async fn exited(&mut self) -> String {
        match &mut self.backend {
            Backend::Process { child, .. } => exit_of(child).await,
            Backend::Sandbox { mux, .. } => mux.exited().await,
        }
    }

    /// Kills the bootstrap (and its whole sandbox) and stops serving it.
    pub async fn kill(mut self) {
        match &mut self.backend {
            Backend::Process { child, server } => {
                let _ = child.kill().await;
                server.abort();
            }
            Backend::Sandbox { root, .. } => {
                let _ = root.kill();
            }
        }
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
        match &mut self.backend {
            Backend::Process { server, .. } => server.abort(),
            Backend::Sandbox { root, .. } => {
                let _ = root.kill();
            }
        }
    }
}

/// In a forked child before exec: gives the bootstrap a clean descriptor
/// table, as Lambda does (nothing snaprun inherited above stdio), and the
/// fixed layout the native engine needs.
///
/// # Safety
/// Only between fork and exec; async-signal-safe.
pub(crate) unsafe fn clean_child(fixed_layout: bool) {
    // SAFETY: the caller runs this between fork and exec.
    unsafe { snap::sandbox::close_inherited_on_exec() };
    if fixed_layout {
        // The child then fails in `snap::native::init` with a clear error.
        let _ = snap::native::set_fixed_layout();
    }
}

async fn exit_of(child: &mut Child) -> String {
    match child.wait().await {
        Ok(status) => status.to_string(),
        Err(err) => err.to_string(),
    }
}

/// The first child of `pid`, from `/proc/PID/task/PID/children`.
fn first_child(pid: i32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
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

/// Waits until the bootstrap's phase reaches `target` (`Ready`: blocked in
/// `invocation/next`; or the snapshot point), failing on `init/error`,
/// `restore/error`, exit or `limit`.
pub async fn wait_ready(
    api: &RuntimeApi,
    exited: impl std::future::Future<Output = String>,
    limit: Duration,
    target: Phase,
    timeout_type: &'static str,
) -> Result<Phase, StartError> {
    let mut phase = api.phase();
    let reached = phase.wait_for(|p| {
        matches!(p, Phase::InitFailed(_) | Phase::RestoreFailed(_))
            || *p == target
            || (target == Phase::AwaitingRestore && p.is_snapshot_point())
    });
    let outcome = tokio::select! {
        p = reached => p.map(|p| p.clone()).ok(),
        status = exited => {
            // An init/error or restore/error posted just before exiting wins.
            return Err(match &*api.phase().borrow() {
                Phase::InitFailed(body) => StartError::Init(body.clone()),
                Phase::RestoreFailed(body) => StartError::Restore(body.clone()),
                _ => StartError::Init(ErrorBody::new(
                    "Runtime.ExitError",
                    format!("the bootstrap exited during {} ({status})", if target == Phase::Ready { "init" } else { "init, before the snapshot" }),
                )),
            });
        }
        () = tokio::time::sleep(limit) => None,
    };
    match outcome {
        Some(Phase::InitFailed(body)) => Err(StartError::Init(body)),
        Some(Phase::RestoreFailed(body)) => Err(StartError::Restore(body)),
        Some(reached) => Ok(reached),
        None => Err(StartError::Timeout {
            limit,
            error_type: timeout_type,
        }),
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
