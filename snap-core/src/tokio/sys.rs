//! The descriptor calls behind [`super::self_pipe`]: every unsafe block of
//! the `tokio` feature.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Whether `fd` is a unix-domain stream socket.
pub(super) fn is_unix_stream(fd: RawFd) -> bool {
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

/// Makes descriptor `target` a copy of `new` (close-on-exec), closing what
/// was there in the same call.
fn replace(new: &OwnedFd, target: RawFd) -> io::Result<()> {
    // SAFETY: dup3 onto `target`, which the caller owns by number (tokio's
    // self-pipe, or the /dev/null standing in for it); the kernel closes
    // what was there atomically, so the number is never free in between.
    // `new` stays ours and is closed when dropped.
    if unsafe { libc::dup3(new.as_raw_fd(), target, libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts `/dev/null` at `fd`.
pub(super) fn replace_with_dev_null(fd: RawFd) -> io::Result<()> {
    let null = std::fs::File::open("/dev/null")?;
    replace(&OwnedFd::from(null), fd)
}

/// Puts a new connected unix stream socket pair (non-blocking, as tokio
/// made the old one) at `a` and `b`.
pub(super) fn replace_with_pair(a: RawFd, b: RawFd) -> io::Result<()> {
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
    // SAFETY: socketpair just made both descriptors; nothing else owns them.
    let (first, second) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    replace(&first, a)?;
    replace(&second, b)
}
