//! The raw `clone(2)` that starts a process in fresh PID and network
//! namespaces. Everything between clone and exec runs in the child and must
//! be async-signal-safe: no allocation, no locks, only system calls on
//! memory prepared by the parent.

use std::ffi::{CStr, c_char};
use std::os::fd::RawFd;

/// Where the child failed, reported over the error pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(super) enum Stage {
    Setsid = 1,
    Loopback = 2,
    Stdio = 3,
    Exec = 4,
}

impl Stage {
    pub(super) fn from_u32(v: u32) -> Option<Self> {
        [Self::Setsid, Self::Loopback, Self::Stdio, Self::Exec]
            .into_iter()
            .find(|s| *s as u32 == v)
    }
}

/// Everything the child needs, prepared by the parent.
pub(super) struct ChildSetup<'a> {
    pub(super) path: &'a CStr,
    /// NULL-terminated.
    pub(super) argv: &'a [*const c_char],
    /// NULL-terminated.
    pub(super) envp: &'a [*const c_char],
    pub(super) stdio: [RawFd; 3],
    /// Write end of a CLOEXEC pipe: silent on success, `(stage, errno)` on failure.
    pub(super) report: RawFd,
}

/// Clones a child into new PID and network namespaces, where it becomes
/// PID 1 and session leader, brings up loopback, installs stdio and execs.
/// Returns the child's pid in the caller's namespace.
pub(super) fn clone_into_namespaces(setup: &ChildSetup<'_>) -> std::io::Result<libc::pid_t> {
    let flags = (libc::CLONE_NEWPID | libc::CLONE_NEWNET | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: clone without CLONE_VM and with a null stack behaves like fork:
    // the child gets a copy-on-write copy of this address space and stack.
    // The child only runs `child_main`, which makes raw system calls on
    // memory the parent prepared and never returns.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match ret {
        -1 => Err(std::io::Error::last_os_error()),
        0 => child_main(setup),
        pid => Ok(pid as libc::pid_t),
    }
}

fn child_main(setup: &ChildSetup<'_>) -> ! {
    // SAFETY: each call below is a thin system-call wrapper given valid,
    // parent-prepared pointers (`ifreq` and the C strings live on this copy
    // of the stack or heap); none allocates or takes a lock.
    unsafe {
        if libc::setsid() < 0 {
            fail(setup.report, Stage::Setsid);
        }
        if !loopback_up() {
            fail(setup.report, Stage::Loopback);
        }
        // Move the sources out of the way first so that a source numbered
        // 0..=2 is not overwritten before it is installed.
        let mut high = [-1; 3];
        for (slot, fd) in high.iter_mut().zip(setup.stdio) {
            *slot = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
            if *slot < 0 {
                fail(setup.report, Stage::Stdio);
            }
        }
        for (target, fd) in high.into_iter().enumerate() {
            if libc::dup2(fd, target as RawFd) < 0 {
                fail(setup.report, Stage::Stdio);
            }
        }
        // Nothing the caller inherited above stdio goes into the tree (CRIU
        // would have to dump it).
        close_inherited_on_exec();
        // Rust ignores SIGPIPE in its own processes; exec keeps ignored
        // dispositions, so give the child the default back, and an empty mask.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::execve(
            setup.path.as_ptr(),
            setup.argv.as_ptr(),
            setup.envp.as_ptr(),
        );
        fail(setup.report, Stage::Exec)
    }
}

/// Closes every descriptor above stdio (`close_range(3, ~0, 0)`).
///
/// # Safety
/// No descriptor above stdio may be owned by anything in this process.
pub(crate) unsafe fn close_inherited() {
    // SAFETY: the caller guarantees nothing owns these descriptors.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        );
    }
}

/// Marks every descriptor above stdio close-on-exec, so that a program about
/// to be exec'd keeps only its stdio.
///
/// # Safety
/// Async-signal-safe (one system call); meant for between fork and exec.
pub(crate) unsafe fn close_inherited_on_exec() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on
    // descriptors; it closes nothing now.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// Asks for SIGKILL when the thread that forked this process exits, then
/// checks that `parent` (its process id) is still the parent: if it died
/// before the request, this process was reparented already and the signal
/// would never come, so it fails instead.
///
/// # Safety
/// Async-signal-safe (two system calls); meant for between fork and exec.
pub(crate) unsafe fn die_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and changes
    // only this process's parent-death signal; getppid has no argument.
    // Neither allocates, and `last_os_error` only reads errno.
    unsafe {
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ) < 0
        {
            return Err(std::io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}

/// Sets IFF_UP on `lo` in the calling thread's network namespace.
///
/// # Safety
/// Async-signal-safe, so it may run in a freshly cloned child; it has no
/// other requirement.
pub(crate) unsafe fn loopback_up() -> bool {
    // SAFETY: plain socket/ioctl/close system calls on a zeroed `ifreq`
    // whose name is the NUL-terminated "lo".
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return false;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as c_char;
        }
        let ok = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) == 0 && {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) == 0
        };
        libc::close(sock);
        ok
    }
}

/// Reports `stage` and errno to the parent and exits.
///
/// # Safety
/// Async-signal-safe; only called in the freshly cloned child.
unsafe fn fail(report: RawFd, stage: Stage) -> ! {
    // SAFETY: reads errno and writes eight bytes from a stack buffer to a
    // pipe the parent created, then exits without running any destructor.
    unsafe {
        let errno = *libc::__errno_location();
        let mut msg = [0u8; 8];
        msg[..4].copy_from_slice(&(stage as u32).to_le_bytes());
        msg[4..].copy_from_slice(&errno.to_le_bytes());
        libc::write(report, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}
