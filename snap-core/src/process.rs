//! The root of a process tree that is a child of this process.

use std::io;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// A child process that roots a tree: started in a sandbox or restored.
/// When it is PID 1 of its own namespace, killing it kills the whole tree.
///
/// Dropping the handle kills the tree and reaps its root, so that nothing
/// outlives the code that started it by accident; a tree meant to outlive
/// this process (`snaprun spawn`, `snaprun restore`) is let go of with
/// [`TreeRoot::detach`].
#[derive(Debug)]
pub struct TreeRoot {
    pid: Pid,
    /// Reaped, or detached: nothing is left to do on drop.
    done: bool,
}

impl TreeRoot {
    pub(crate) fn new(pid: i32) -> Self {
        Self {
            pid: Pid::from_raw(pid),
            done: false,
        }
    }

    /// The root's pid as this process sees it.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Lets the tree run on after the handle is gone: it is neither killed
    /// nor reaped. Returns the root's pid.
    pub fn detach(mut self) -> i32 {
        self.done = true;
        self.pid.as_raw()
    }

    /// Sends SIGKILL to the root and reaps it.
    pub fn kill(&mut self) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        match kill(self.pid, Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(e.into()),
        }
        self.wait().map(drop)
    }

    /// Waits for the root to exit and returns its wait status
    /// (`StillAlive` if it was already reaped elsewhere).
    pub fn wait(&mut self) -> io::Result<WaitStatus> {
        loop {
            match waitpid(self.pid, None) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    self.done = true;
                    return Ok(status);
                }
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::ECHILD) => {
                    self.done = true;
                    return Ok(WaitStatus::StillAlive);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reaps the root if it has exited, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<WaitStatus>> {
        match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => Ok(None),
            Ok(status) => {
                self.done = true;
                Ok(Some(status))
            }
            Err(nix::errno::Errno::ECHILD) => {
                self.done = true;
                Ok(Some(WaitStatus::StillAlive))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for TreeRoot {
    fn drop(&mut self) {
        if let Err(err) = self.kill() {
            tracing::warn!(pid = self.pid.as_raw(), %err, "cannot kill a process tree");
        }
    }
}
