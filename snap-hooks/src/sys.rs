//! The system calls snap-hooks makes directly.

use std::io;

/// Fills `buf` from the kernel's CSPRNG (`getrandom(2)`), which no
/// snapshot can copy: every call after a restore gets fresh bytes.
pub(crate) fn getrandom(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(())
}

unsafe extern "C" {
    /// glibc's `res_init` (`<resolv.h>` makes `res_init` a macro for it).
    fn __res_init() -> libc::c_int;
}

/// Makes glibc re-read `/etc/resolv.conf` for the calling thread.
pub(crate) fn res_init() -> io::Result<()> {
    // SAFETY: __res_init takes no arguments and only reinitializes the
    // calling thread's resolver state.
    if unsafe { __res_init() } != 0 {
        return Err(io::Error::other("res_init failed"));
    }
    Ok(())
}
