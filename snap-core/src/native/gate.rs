//! The restore gate: a restore started ahead of need does everything it
//! can before it is wanted (exec, validation, the identity check, the
//! layout check, reopened files, the restorer's plan, mapping the image and
//! faulting in the recorded working set), then waits on its standard input
//! for the word to go. The wait happens inside the restorer, after the
//! mapping, so it is made with raw system calls ([`wait_raw`]).
//!
//! A launcher such as `snaprun` keeps one such process per snapshot, so that
//! when an instance is wanted only the jump remains. The
//! launcher writes one byte to open the gate; the process then swaps its
//! standard input for `/dev/null` (as a bootstrap's is) and restores. End
//! of input instead (the launcher went away, or dropped the spare) calls the
//! restore off: the process exits with [`RESTORE_FAILED`] and says nothing,
//! since nobody is waiting for it.
//!
//! [`RESTORE_FAILED`]: crate::RESTORE_FAILED

use super::{RestoreError, sys};
use crate::resumed::{GATE_STDIN, RESTORE_FAILED, RESTORE_GATE_ENV};

/// Whether this restore waits at the gate; an error for a value it does
/// not know, before any work is done.
pub(super) fn asked() -> Result<bool, RestoreError> {
    match std::env::var_os(RESTORE_GATE_ENV) {
        None => Ok(false),
        Some(value) if value.is_empty() => Ok(false),
        Some(value) if value == GATE_STDIN => Ok(true),
        Some(value) => Err(RestoreError::Gate {
            value: value.to_string_lossy().into_owned(),
        }),
    }
}

/// Waits for the byte that opens the gate, then replaces standard input
/// with `/dev/null`; on end of input (called off) or an error reading,
/// exits with [`RESTORE_FAILED`], saying nothing.
///
/// # Safety
/// Only from the restorer: it makes raw system calls and touches nothing
/// else, so it is safe while memory is being replaced.
pub(super) unsafe fn wait_raw() {
    let mut byte = 0u8;
    loop {
        // SAFETY: read of one byte into `byte`.
        let n =
            unsafe { sys::syscall6(libc::SYS_read, [0, &mut byte as *mut u8 as u64, 1, 0, 0, 0]) };
        if n == -i64::from(libc::EINTR) {
            continue;
        }
        if n != 1 {
            // SAFETY: exit_group ends the process.
            unsafe { sys::syscall6(libc::SYS_exit_group, [RESTORE_FAILED as u64, 0, 0, 0, 0, 0]) };
        }
        break;
    }
    const DEV_NULL: &[u8] = b"/dev/null\0";
    // SAFETY: open of a NUL-terminated path in the binary's read-only data,
    // which the restorer does not replace; dup2 and close of descriptors
    // this process owns.
    unsafe {
        let fd = sys::syscall6(
            libc::SYS_open,
            [DEV_NULL.as_ptr() as u64, libc::O_RDONLY as u64, 0, 0, 0, 0],
        );
        if fd >= 0 {
            sys::syscall6(libc::SYS_dup2, [fd as u64, 0, 0, 0, 0, 0]);
            if fd != 0 {
                sys::syscall6(libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0]);
            }
        }
    }
}
