//! One running bootstrap and the Runtime API it talks to: an [`Instance`],
//! started cold or restored, until it is killed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use snap::process::TreeRoot;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::child::ProcessStart;
use crate::function::FunctionSpec;
use crate::procfs::{first_child, peak_rss_mb};
use crate::readiness::wait_ready;
use crate::relay::outside::Mux;
use crate::runtime::listener::accept_loop;
use crate::runtime::{BootstrapState, RuntimeApi, SnapStart};
use crate::start_error::StartError;

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

impl Start {
    /// How long the start took, until the bootstrap asked for its first
    /// event.
    pub fn ready_after(self) -> Duration {
        match self {
            Self::Cold { init } => init,
            Self::Restored { restore } => restore,
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
        crate::child::configure(&mut command, how.fixed_layout);
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
            BootstrapState::Ready,
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

async fn exit_of(child: &mut Child) -> String {
    match child.wait().await {
        Ok(status) => status.to_string(),
        Err(err) => err.to_string(),
    }
}
