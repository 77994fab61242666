//! Starting a process tree "snapshot-ready".
//!
//! CRIU gives restored processes their original PIDs, so a second restore of
//! a snapshot collides with the first unless each lives in a PID namespace of
//! its own. A tree started with [`SandboxCommand::spawn`] is born that way: its
//! first process is PID 1 of a new PID namespace, the leader of a new session,
//! and owns a new network namespace with loopback up. CRIU then recreates both
//! namespaces at every restore, so any number of copies run side by side, each
//! with its own loopback (a server inside one copy never clashes with another).
//!
//! Only the mount namespace is shared with the caller, which is what CRIU
//! expects by default.

pub(crate) mod sys;

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::sys::wait::waitpid;
use nix::unistd::Pid;

/// Why a sandboxed tree could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The program was not found on `PATH` or at its path.
    #[error("{}: no such program", program.display())]
    NotFound {
        /// The program asked for.
        program: PathBuf,
    },
    /// An argument or variable holds a NUL byte.
    #[error("argument or environment entry {0:?} contains a NUL byte")]
    Nul(OsString),
    /// Creating the namespaces failed (this needs CAP_SYS_ADMIN).
    #[error("cannot create PID and network namespaces (this needs root or CAP_SYS_ADMIN)")]
    Namespaces(#[source] io::Error),
    /// The child failed before its program started.
    #[error("{}: {stage} failed in the new namespaces", program.display())]
    Child {
        /// The program.
        program: PathBuf,
        /// What the child was doing.
        stage: &'static str,
        /// The child's errno.
        #[source]
        cause: io::Error,
    },
    /// Preparing stdio or the report pipe failed.
    #[error(transparent)]
    Os(#[from] crate::OsError),
}

/// A command to start in fresh PID and network namespaces.
#[derive(Debug)]
pub struct SandboxCommand {
    program: PathBuf,
    args: Vec<OsString>,
    env: Option<Vec<(OsString, OsString)>>,
    stdio: [Option<OwnedFd>; 3],
}

impl SandboxCommand {
    /// A command running `program` (looked up on `PATH` unless it has a `/`).
    /// Stdio defaults to `/dev/null` and the environment to the caller's.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: None,
            stdio: [None, None, None],
        }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Replaces the whole environment.
    pub fn env_clear_and_set<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
        );
        self
    }

    /// Uses `fd` as the child's stdin.
    pub fn stdin(mut self, fd: impl Into<OwnedFd>) -> Self {
        self.stdio[0] = Some(fd.into());
        self
    }

    /// Uses `fd` as the child's stdout.
    pub fn stdout(mut self, fd: impl Into<OwnedFd>) -> Self {
        self.stdio[1] = Some(fd.into());
        self
    }

    /// Uses `fd` as the child's stderr.
    pub fn stderr(mut self, fd: impl Into<OwnedFd>) -> Self {
        self.stdio[2] = Some(fd.into());
        self
    }

    /// Starts the tree. Its root is a child of the calling process.
    pub fn spawn(self) -> Result<SandboxedTree, SpawnError> {
        let path = resolve(&self.program).ok_or_else(|| SpawnError::NotFound {
            program: self.program.clone(),
        })?;
        let cpath = cstring(path.as_os_str())?;
        let argv_owned = std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(cstring)
            .collect::<Result<Vec<_>, _>>()?;
        let env: Vec<(OsString, OsString)> = match self.env {
            Some(env) => env,
            None => std::env::vars_os().collect(),
        };
        let envp_owned = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone();
                kv.push("=");
                kv.push(v);
                cstring(&kv)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let argv = null_terminated(&argv_owned);
        let envp = null_terminated(&envp_owned);

        let null = || {
            File::options()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map(OwnedFd::from)
                .map_err(crate::OsError::during("open /dev/null"))
        };
        let [i, o, e] = self.stdio;
        let stdio = [
            i.map_or_else(null, Ok)?,
            o.map_or_else(null, Ok)?,
            e.map_or_else(null, Ok)?,
        ];
        let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| crate::OsError::new("pipe", e.into()))?;

        let setup = sys::ChildSetup {
            path: &cpath,
            argv: &argv,
            envp: &envp,
            stdio: [
                stdio[0].as_raw_fd(),
                stdio[1].as_raw_fd(),
                stdio[2].as_raw_fd(),
            ],
            report: report_w.as_raw_fd(),
        };
        let pid = sys::clone_into_namespaces(&setup).map_err(SpawnError::Namespaces)?;
        drop(report_w);
        drop(stdio);

        let mut msg = Vec::with_capacity(8);
        let read = File::from(report_r).read_to_end(&mut msg);
        if msg.len() < 8 {
            // EOF without a report: exec succeeded (the pipe closed on exec).
            read.map_err(crate::OsError::during("read child report"))?;
            tracing::debug!(pid, program = %self.program.display(), "started a snapshot-ready tree");
            return Ok(SandboxedTree::new(pid));
        }
        let _ = waitpid(Pid::from_raw(pid), None);
        let stage = u32::from_le_bytes([msg[0], msg[1], msg[2], msg[3]]);
        let errno = i32::from_le_bytes([msg[4], msg[5], msg[6], msg[7]]);
        let stage = match sys::Stage::from_u32(stage) {
            Some(sys::Stage::Setsid) => "setsid",
            Some(sys::Stage::Loopback) => "bringing up loopback",
            Some(sys::Stage::Stdio) => "installing stdio",
            Some(sys::Stage::Exec) | None => "exec",
        };
        Err(SpawnError::Child {
            program: self.program,
            stage,
            cause: io::Error::from_raw_os_error(errno),
        })
    }
}

/// Closes every descriptor above stdio now: for a program that checkpoints
/// itself and must not carry what whoever started it left open (a shell's,
/// a test harness's descriptors).
///
/// # Safety
/// Call it before this process opens anything of its own: a descriptor
/// owned by a `File`, socket or runtime would be closed under it.
pub unsafe fn close_inherited() {
    // SAFETY: forwarded to the caller's contract.
    unsafe { sys::close_inherited() }
}

/// Marks every descriptor above stdio close-on-exec: a program exec'd next
/// inherits only its stdio. [`SandboxCommand::spawn`] does this itself;
/// callers starting other children (from `pre_exec`) use it too.
///
/// # Safety
/// Async-signal-safe (one system call), so it may run between fork and exec.
/// Any descriptor this process still needs across an exec loses it.
pub unsafe fn close_inherited_on_exec() {
    // SAFETY: forwarded to the caller's contract.
    unsafe { sys::close_inherited_on_exec() }
}

/// Makes the calling process get SIGKILL when the thread that forked it
/// exits, and fails if its parent, `parent`, is gone already. For the
/// `pre_exec` of a child that must not outlive its starter; the signal
/// survives exec.
///
/// The kernel sends it when the *thread* that forked the child exits, not
/// the process: fork only from threads that live as long as the child
/// should (a tokio worker, the main thread), never from a pool thread that
/// exits when idle.
///
/// # Safety
/// Async-signal-safe (two system calls); only between fork and exec.
pub unsafe fn die_with_parent(parent: u32) -> io::Result<()> {
    let parent =
        libc::pid_t::try_from(parent).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: forwarded to the caller's contract.
    unsafe { sys::die_with_parent(parent) }
}

/// The root of a tree started by [`SandboxCommand::spawn`]: PID 1 of its
/// namespace, so killing it kills the whole tree.
pub type SandboxedTree = crate::process::TreeRoot;

fn resolve(program: &Path) -> Option<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn cstring(s: &OsStr) -> Result<CString, SpawnError> {
    CString::new(s.as_bytes()).map_err(|_| SpawnError::Nul(s.to_owned()))
}

fn null_terminated(strings: &[CString]) -> Vec<*const std::ffi::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}
