//! The persona system calls behind a fixed address layout.

use std::io;

/// `personality(0xffffffff)`: queries without changing.
const QUERY: libc::c_ulong = 0xffff_ffff;

/// Whether this process runs with `ADDR_NO_RANDOMIZE`.
pub(super) fn layout_is_fixed() -> bool {
    // SAFETY: the query value only reads the persona.
    let persona = unsafe { libc::personality(QUERY) };
    persona >= 0 && persona & libc::ADDR_NO_RANDOMIZE != 0
}

/// Adds `ADDR_NO_RANDOMIZE` to this process's persona, which takes effect
/// at its next exec. Async-signal-safe.
pub(super) fn set_no_randomize() -> io::Result<()> {
    // SAFETY: the query only reads the persona; setting ADDR_NO_RANDOMIZE
    // only changes this process's persona for its next exec.
    unsafe {
        let persona = libc::personality(QUERY);
        if persona < 0
            || libc::personality((persona | libc::ADDR_NO_RANDOMIZE) as libc::c_ulong) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
