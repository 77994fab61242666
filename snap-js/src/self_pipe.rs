//! tokio's signal driver keeps a unix socket pair in a process-wide static
//! (its self-pipe), created with the first runtime that has I/O when the
//! `signal` feature is compiled in, which happens whenever snapjs is built
//! with the rest of the workspace (snaprun uses it). The native engine
//! refuses sockets at the snapshot point, and tokio offers no way to close
//! the pair. So: the pair is closed just before the snapshot point and a
//! fresh connected pair is put at the same descriptor numbers right after
//! it, before any runtime is built. snapjs registers no signal handler, so
//! nothing writes to the pair in between.
//!
//! Only unix stream sockets are parked, and only in pairs; any other
//! socket still open reaches the native engine, which refuses the
//! snapshot naming it.

use std::os::fd::RawFd;

use crate::sys;

/// Self-pipe descriptors closed before the snapshot point.
#[derive(Debug, Default)]
pub(crate) struct Parked(Vec<RawFd>);

/// A self-pipe could not be closed or made again.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what} tokio's signal self-pipe (fds {fds:?})")]
pub(crate) struct SelfPipeError {
    what: &'static str,
    fds: Vec<RawFd>,
    #[source]
    cause: std::io::Error,
}

/// Closes the unix stream socket pairs open now.
pub(crate) fn park() -> Result<Parked, SelfPipeError> {
    let mut fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&fd| fd > 2 && sys::is_unix_stream(fd))
                .collect()
        })
        .unwrap_or_default();
    fds.sort_unstable();
    // Pairs only: tokio makes exactly one.
    if !fds.len().is_multiple_of(2) {
        fds.clear();
    }
    for &fd in &fds {
        sys::close(fd).map_err(|cause| SelfPipeError {
            what: "close",
            fds: fds.clone(),
            cause,
        })?;
    }
    Ok(Parked(fds))
}

impl Parked {
    /// Puts fresh connected pairs at the parked numbers.
    pub(crate) fn restore(self) -> Result<(), SelfPipeError> {
        for pair in self.0.chunks(2) {
            if let [a, b] = *pair {
                sys::remake_pair(a, b).map_err(|cause| SelfPipeError {
                    what: "remake",
                    fds: vec![a, b],
                    cause,
                })?;
            }
        }
        Ok(())
    }
}
