//! The restore gate: a restore started ahead of need does everything that
//! does not touch the process's memory (exec, validation, the identity
//! check, the layout check, reopened files, the restorer's plan), then
//! waits on its standard input for the word to go.
//!
//! A launcher such as `snaprun` keeps one such process per snapshot, so that
//! when an instance is wanted only the mapping and the jump remain. The
//! launcher writes one byte to open the gate; the process then swaps its
//! standard input for `/dev/null` (as a bootstrap's is) and restores. End
//! of input instead (the launcher went away, or dropped the spare) calls the
//! restore off: the process exits with [`RESTORE_FAILED`] and says nothing,
//! since nobody is waiting for it.
//!
//! [`RESTORE_FAILED`]: crate::RESTORE_FAILED

use std::os::fd::AsFd;

use super::RestoreError;
use crate::OsError;
use crate::resumed::{GATE_STDIN, RESTORE_GATE_ENV};

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
/// with `/dev/null`.
pub(super) fn wait() -> Result<(), RestoreError> {
    let stdin = std::io::stdin();
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(stdin.as_fd(), &mut byte) {
            Ok(0) => return Err(RestoreError::CalledOff),
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => {
                return Err(OsError::new("read the restore gate (stdin)", errno.into()).into());
            }
        }
    }
    let null = std::fs::File::open("/dev/null").map_err(OsError::during("open /dev/null"))?;
    nix::unistd::dup2_stdin(&null)
        .map_err(|errno| OsError::new("make /dev/null standard input", errno.into()))?;
    Ok(())
}
