//! One running bootstrap and the Runtime API it talks to: an [`Instance`],
//! started cold or restored, until it is killed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use snap::process::TreeRoot;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::child::{ProcessStart, kill_group};
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
        child: GroupChild,
        server: ServerTask,
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
        Starting::spawn(spec, how, std::process::Stdio::null())?
            .ready(spec, how)
            .await
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
            Backend::Process { child, .. } => child.child.id(),
            // The relay is the root; the bootstrap is its child.
            Backend::Sandbox { root, .. } => first_child(root.pid()),
        }
    }

    /// Waits for the bootstrap to exit and says how.
    pub async fn exited(&mut self) -> String {
        match &mut self.backend {
            Backend::Process { child, .. } => exit_of(&mut child.child).await,
            Backend::Sandbox { mux, .. } => mux.exited().await,
        }
    }

    /// Kills the bootstrap (its whole process group, or its whole sandbox)
    /// and stops serving it.
    pub async fn kill(mut self) {
        match &mut self.backend {
            Backend::Process { child, server } => {
                child.kill().await;
                server.abort();
            }
            Backend::Sandbox { root, .. } => {
                let _ = root.kill();
            }
        }
    }

    /// Ends the instance as Lambda's shutdown phase does: SIGTERM to the
    /// bootstrap (with its process group), which may use up to `grace` to
    /// exit, then SIGKILL to whatever is left (the group, or the sandbox).
    pub async fn stop(mut self, grace: Duration) {
        let term = match &self.backend {
            Backend::Process { child, .. } => child.child.id().inspect(|_| {
                child.signal(Signal::SIGTERM);
            }),
            // The relay, PID 1 of the sandbox, ignores SIGTERM from outside
            // its namespace: the bootstrap, its child, gets it.
            Backend::Sandbox { root, .. } => first_child(root.pid()).inspect(|pid| {
                if let Ok(pid) = i32::try_from(*pid) {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
                }
            }),
        };
        if term.is_some() && !grace.is_zero() {
            let _ = tokio::time::timeout(grace, self.exited()).await;
        }
        self.kill().await;
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
            // The child's group is killed as it drops.
            Backend::Process { server, .. } => server.abort(),
            Backend::Sandbox { root, .. } => {
                let _ = root.kill();
            }
        }
    }
}

/// A bootstrap started as a plain child process with a Runtime API of its
/// own, not yet ready: it has not asked for its first event. Dropping it
/// kills the process and its process group.
#[derive(Debug)]
pub struct Starting {
    api: Arc<RuntimeApi>,
    child: GroupChild,
    server: ServerTask,
    started: Instant,
}

impl Starting {
    /// Binds the instance's Runtime API and spawns the bootstrap with
    /// `stdin`.
    pub fn spawn(
        spec: &FunctionSpec,
        how: &ProcessStart<'_>,
        stdin: std::process::Stdio,
    ) -> Result<Self, StartError> {
        let started = Instant::now();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)
            })
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
            .stdin(stdin)
            .kill_on_drop(true);
        crate::child::configure(&mut command, how.fixed_layout);
        match command.spawn() {
            Ok(child) => Ok(Self {
                api,
                child: GroupChild::new(child),
                server: ServerTask(server),
                started,
            }),
            Err(cause) => {
                server.abort();
                Err(StartError::Spawn {
                    bootstrap: spec.bootstrap.display().to_string(),
                    cause,
                })
            }
        }
    }

    /// Starts the clock of [`Self::ready`] again, for a process started
    /// ahead that only now begins its start.
    pub fn restart_clock(&mut self) {
        self.started = Instant::now();
    }

    /// The process's pid, until it is reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.child.id()
    }

    /// Whether the process has exited already.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.child.try_wait(), Ok(None))
    }

    /// Waits until the bootstrap asks for its first event, within `how`'s
    /// limit (the function's init limit if it has none).
    pub async fn ready(
        mut self,
        spec: &FunctionSpec,
        how: &ProcessStart<'_>,
    ) -> Result<Instance, StartError> {
        let ready = wait_ready(
            &self.api,
            exit_of(&mut self.child.child),
            how.limit.unwrap_or(spec.init_timeout),
            BootstrapState::Ready,
            how.timeout_type,
        )
        .await;
        if let Err(err) = ready {
            self.child.kill().await;
            return Err(err);
        }
        let took = self.started.elapsed();
        Ok(Instance {
            api: self.api,
            first: Some(if how.snapstart == SnapStart::Restored {
                Start::Restored { restore: took }
            } else {
                Start::Cold { init: took }
            }),
            peak_mb: 0,
            backend: Backend::Process {
                child: self.child,
                server: self.server,
            },
        })
    }
}

/// A bootstrap's process, the leader of a process group of its own: on
/// drop, the whole group is killed (the process itself is `kill_on_drop`).
#[derive(Debug)]
pub(crate) struct GroupChild {
    pub(crate) child: Child,
    /// The group's id, the child's pid: kept after the child is reaped,
    /// since what it started may still run in the group (whose id the
    /// kernel does not give another process while the group has members).
    group: Option<u32>,
}

impl GroupChild {
    /// `child`, started by a command that [`crate::child::configure`]
    /// prepared.
    pub(crate) fn new(child: Child) -> Self {
        let group = child.id();
        Self { child, group }
    }

    /// Sends `signal` to the whole group.
    pub(crate) fn signal(&self, signal: Signal) {
        if let Some(group) = self.group {
            kill_group(group, signal);
        }
    }

    /// Kills the whole group and reaps the child.
    pub(crate) async fn kill(&mut self) {
        self.signal(Signal::SIGKILL);
        let _ = self.child.kill().await;
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// The task serving an instance's Runtime API, stopped when the instance
/// is dropped, ready or not.
#[derive(Debug)]
struct ServerTask(JoinHandle<()>);

impl ServerTask {
    fn abort(&self) {
        self.0.abort();
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn exit_of(child: &mut Child) -> String {
    match child.wait().await {
        Ok(status) => status.to_string(),
        Err(err) => err.to_string(),
    }
}
