//! Spawning `criu swrk` with exactly the descriptors it must inherit.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `criu swrk` with `sock` and each of `inherit` available in the
/// child at fresh numbers, returned in order (socket first). Every source
/// descriptor stays close-on-exec in this process, so concurrent spawns from
/// other threads never leak them.
pub(super) fn spawn_swrk(
    binary: &Path,
    sock: BorrowedFd<'_>,
    inherit: &[BorrowedFd<'_>],
    die_with_caller: bool,
    own_group: bool,
    map_pages: bool,
) -> io::Result<(Child, Vec<RawFd>)> {
    let sources: Vec<RawFd> = std::iter::once(sock.as_raw_fd())
        .chain(inherit.iter().map(AsRawFd::as_raw_fd))
        .collect();
    // Targets above every source, so no dup2 overwrites a source not yet moved.
    let base = sources.iter().copied().max().unwrap_or(2).max(2) + 1;
    let targets: Vec<RawFd> = (0..sources.len() as RawFd).map(|i| base + i).collect();

    let mut cmd = Command::new(binary);
    cmd.arg("swrk")
        .arg(targets[0].to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if own_group {
        cmd.process_group(0);
    }
    // Set or cleared, never inherited: the caller decides.
    match map_pages {
        true => cmd.env(super::map_pages::ENV, "1"),
        false => cmd.env_remove(super::map_pages::ENV),
    };
    let (src, dst) = (sources.clone(), targets.clone());
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (dup2, prctl) on values captured by
    // value; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            for (from, to) in src.iter().zip(&dst) {
                // dup2 clears close-on-exec on the new descriptor.
                if libc::dup2(*from, *to) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // A CRIU whose client died must not finish a dump nobody will
            // seal. A restore, though, is better finished than left half
            // done: the restored tree then notices its client is gone.
            if die_with_caller && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok((child, targets))
}

/// Makes the child `cmd` starts get SIGKILL when the thread that spawns it
/// exits (and fail to start if this process is gone already): for a
/// helper that must not outlive snaprun, spawned from a thread that lives
/// exactly as long as the helper should.
pub(super) fn die_with_spawning_thread(cmd: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and makes
    // two async-signal-safe system calls (prctl, getppid) on a value
    // captured by value; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || crate::sandbox::die_with_parent(parent));
    }
}

/// Brings up loopback in the network namespace of `pid`, from a short-lived
/// thread that joins it (`setns` moves only the calling thread).
pub(super) fn loopback_up_in(pid: i32) -> io::Result<()> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
                // SAFETY: plain socket/ioctl calls with no other requirement;
                // this thread is in the target namespace and exits right after.
                if unsafe { crate::sandbox::sys::loopback_up() } {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("loopback thread panicked")))
    })
}

/// Opens and closes a userfaultfd, to learn whether this process may use one.
pub(super) fn userfaultfd_probe() -> io::Result<()> {
    // SAFETY: userfaultfd(2) takes only flags and returns a new descriptor
    // (or -1), which is owned here and closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC | libc::O_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    drop(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
    Ok(())
}

/// The pipe or socket `fd` refers to, as `/proc/PID/fd` names its kind
/// (`"pipe"`, `"socket"`), and its inode; `None` for any other file, which
/// unrelated processes may share.
pub(super) fn pipe_or_socket(fd: BorrowedFd<'_>) -> Option<(&'static str, u64)> {
    let stat = nix::sys::stat::fstat(fd).ok()?;
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFIFO => Some(("pipe", stat.st_ino)),
        libc::S_IFSOCK => Some(("socket", stat.st_ino)),
        _ => None,
    }
}

/// A pidfd for `pid`, which names that process even after its pid is reused.
pub(super) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new
    // descriptor (or -1), owned from here on.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Sends SIGKILL to the process `pidfd` names.
pub(super) fn pidfd_kill(pidfd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: pidfd_send_signal(2) with a valid pidfd, a signal number, no
    // siginfo and no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
