//! Starting a bootstrap as a plain child process: how it starts
//! ([`ProcessStart`]) and what the child must have: a process group of its
//! own, death with snaprun, a clean descriptor table, and for the native
//! engine a fixed layout.
//!
//! **Nothing outlives snaprun.** Every child is the leader of a process
//! group of its own, which snaprun kills whole ([`kill_group`]), so what a
//! bootstrap started goes with it; and it gets SIGKILL if snaprun dies
//! (`PR_SET_PDEATHSIG`, [`snap::sandbox::die_with_parent`]), so a SIGKILLed
//! snaprun leaves no bootstrap behind. The kernel sends that signal when
//! the *thread* that forked the child exits: children are spawned from
//! async tasks, so from the runtime's worker threads (or the thread that
//! runs it), which live as long as the runtime, never from its pool of
//! blocking threads, which exit when idle.
//!
//! Setting the parent-death signal needs a `pre_exec` closure, which makes
//! the standard library `fork` the whole (multi-threaded, tens of MB)
//! snaprun for each spawn where it would otherwise use `posix_spawn`. A
//! native restore started ahead pays that before its gate opens; one
//! started on demand and a cold start pay it on their way. Everything else
//! is settled once in snaprun itself rather than in every child: snaprun
//! marks what it inherited close-on-exec at startup
//! ([`close_inherited_descriptors`]) and takes the fixed-layout persona on
//! itself the first time a child needs it ([`configure`]), which every later
//! child inherits.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use snap::lambda::ErrorType;

use crate::runtime::SnapStart;

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
    pub timeout_type: ErrorType,
}

impl ProcessStart<'static> {
    /// A plain cold start.
    pub const COLD: Self = Self {
        snapstart: SnapStart::Off,
        initialization_type: "on-demand",
        extra_env: &[],
        fixed_layout: false,
        limit: None,
        timeout_type: ErrorType::InitTimeout,
    };
}

/// Whether this process took the fixed-layout persona, once, the first
/// time a child needed it.
static PERSONA_SET: OnceLock<bool> = OnceLock::new();

/// Set once [`close_inherited_descriptors`] has run.
static INHERITED_CLOSED: AtomicBool = AtomicBool::new(false);

/// Marks every descriptor this process inherited above stdio close-on-exec,
/// so that no child sees them, as Lambda's bootstraps see none. Everything
/// snaprun opens itself is close-on-exec already.
///
/// # Safety
/// Call it first thing in `main`, before this process has opened any
/// descriptor it means a child to inherit.
pub unsafe fn close_inherited_descriptors() {
    // SAFETY: forwarded to the caller's contract.
    unsafe { snap::sandbox::close_inherited_on_exec() };
    INHERITED_CLOSED.store(true, Ordering::Release);
}

/// Prepares `command` to start a bootstrap: a process group of its own,
/// death with snaprun, a clean descriptor table and, with `fixed_layout`,
/// `ADDR_NO_RANDOMIZE`.
///
/// The persona is set on this process (it only affects its next execs, so
/// every child started from now on inherits it, cold ones included, which
/// spares a native bootstrap's own re-exec). Only what could not be settled
/// up front is done between fork and exec.
pub(crate) fn configure(command: &mut tokio::process::Command, fixed_layout: bool) {
    let persona_inherited =
        fixed_layout && *PERSONA_SET.get_or_init(|| snap::set_fixed_layout().is_ok());
    let close_inherited = !INHERITED_CLOSED.load(Ordering::Acquire);
    let fix_in_child = fixed_layout && !persona_inherited;
    let parent = std::process::id();
    command.process_group(0);
    // SAFETY: between fork and exec the closure makes at most four system
    // calls and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            snap::sandbox::die_with_parent(parent)?;
            clean_child(close_inherited, fix_in_child);
            Ok(())
        });
    }
}

/// In a forked child before exec: what [`configure`] could not settle in
/// the parent.
///
/// # Safety
/// Only between fork and exec; async-signal-safe.
unsafe fn clean_child(close_inherited: bool, fixed_layout: bool) {
    if close_inherited {
        // SAFETY: the caller runs this between fork and exec.
        unsafe { snap::sandbox::close_inherited_on_exec() };
    }
    if fixed_layout {
        // The child then fails in `snap::init` with a clear error.
        let _ = snap::set_fixed_layout();
    }
}

/// Sends `signal` to the process group that child `pid` leads
/// ([`configure`] gave it one of its own): the bootstrap and whatever it
/// started. Call it before the child is reaped, while its pid still names
/// its group.
pub fn kill_group(pid: u32, signal: nix::sys::signal::Signal) {
    let Ok(pid) = i32::try_from(pid) else {
        return;
    };
    match nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(err) => tracing::debug!(pid, %err, ?signal, "cannot signal a process group"),
    }
}
