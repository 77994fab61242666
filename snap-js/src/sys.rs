//! Every unsafe operation of snapjs: loading QuickJS bytecode, the
//! descriptor calls behind `crate::self_pipe`, and the page-fault counts
//! behind `crate::first_invocation`.

use rquickjs::module::Declared;
use rquickjs::{Ctx, Module};

/// Loads a module from bytecode that [`crate::bytecode`] wrote.
///
/// The cache validates what it hands here: its header names this build of
/// snapjs (version, QuickJS version, the executable's size and mtime) and a
/// hash of the source it was compiled from, so the bytes are the output of
/// `Module::write` by this same binary.
pub(crate) fn load_module<'js>(
    ctx: Ctx<'js>,
    bytecode: &[u8],
) -> rquickjs::Result<Module<'js, Declared>> {
    // SAFETY: `Module::load` trusts its bytes to be QuickJS bytecode of this
    // engine version. They come from `Module::write` of this same binary
    // (checked by the cache header: build identity and source hash), read
    // back whole from a file only this user writes.
    unsafe { Module::load(ctx, bytecode) }
}

use std::io;
use std::os::fd::RawFd;

/// Whether `fd` is a unix-domain stream socket.
pub(crate) fn is_unix_stream(fd: RawFd) -> bool {
    let get = |option: libc::c_int| -> Option<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`, a
        // c_int we own; a bad fd only makes it fail.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw mut value).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(value)
    };
    get(libc::SO_DOMAIN) == Some(libc::AF_UNIX) && get(libc::SO_TYPE) == Some(libc::SOCK_STREAM)
}

/// Closes `fd`, which its owner keeps by number (see `crate::self_pipe`).
pub(crate) fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: the caller has established that `fd` is the signal driver's
    // socket, whose owner only uses it by number and gets a new socket at
    // the same number (`remake_pair`) before it uses it again.
    if unsafe { libc::close(fd) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A new connected unix stream socket pair at descriptors `a` and `b`
/// (close-on-exec, non-blocking, as tokio made the old one).
pub(crate) fn remake_pair(a: RawFd, b: RawFd) -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: socketpair writes two descriptors into `fds`.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    for (new, target) in [(fds[0], a), (fds[1], b)] {
        // SAFETY: dup3 onto a number that is free (closed before the
        // snapshot and never reopened since), then the temporary is closed;
        // both are descriptors this function just made.
        let rc = unsafe { libc::dup3(new, target, libc::O_CLOEXEC) };
        let err = io::Error::last_os_error();
        // SAFETY: `new` is ours and no longer needed.
        unsafe { libc::close(new) };
        if rc < 0 {
            return Err(err);
        }
    }
    Ok(())
}

/// This process's page faults so far: `(minor, major)`, from
/// `getrusage(RUSAGE_SELF)`.
pub(crate) fn page_faults() -> (u64, u64) {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct
    // (integers and `timeval`s only).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one `rusage` into `usage`, which we own and
    // which lives across the call; RUSAGE_SELF is always a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return (0, 0);
    }
    (
        u64::try_from(usage.ru_minflt).unwrap_or(0),
        u64::try_from(usage.ru_majflt).unwrap_or(0),
    )
}
