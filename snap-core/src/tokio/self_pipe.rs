//! tokio's signal self-pipe across the snapshot point.
//!
//! A tokio runtime with I/O, built where tokio's `signal` or `process`
//! feature is compiled in (`aws-config`'s default `credentials-process`
//! turns on `process`), creates a unix socket pair in a process-wide
//! static: the signal driver's self-pipe. No runtime's shutdown closes it,
//! tokio offers no way to, and the native engine refuses sockets at the
//! snapshot point.
//!
//! So [`SelfPipe::park`] puts `/dev/null` at the pair's descriptor numbers
//! (each replaced in one `dup3`, so the number is never free for another
//! file to take), the native engine reopens `/dev/null` there in every
//! restored process, and [`SelfPipe::unpark`] puts a fresh connected pair
//! back at the same numbers, again in one `dup3` each, before any runtime
//! is built. tokio keeps the pair by number, so it finds a working one.
//! Nothing registers a signal handler between the two, so nothing writes to
//! the pair meanwhile.
//!
//! Only unix stream sockets are parked, and only in pairs: tokio makes
//! exactly one. Any other socket still open reaches the native engine,
//! which refuses the snapshot naming it.

use std::os::fd::RawFd;

use super::sys;

/// The self-pipe's descriptors while `/dev/null` stands in for them.
#[derive(Debug, Default)]
#[must_use = "unpark it, or tokio's signal driver is left with /dev/null"]
pub struct SelfPipe(Vec<RawFd>);

/// The self-pipe could not be parked or put back.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what} tokio's signal self-pipe (fds {fds:?})")]
pub struct SelfPipeError {
    what: &'static str,
    fds: Vec<RawFd>,
    #[source]
    cause: std::io::Error,
}

impl SelfPipe {
    /// Puts `/dev/null` in place of the unix stream socket pair open now,
    /// if there is exactly one such pair.
    pub fn park() -> Result<Self, SelfPipeError> {
        let mut fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
            .map(|dir| {
                dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .filter(|&fd| fd > 2 && sys::is_unix_stream(fd))
                    .collect()
            })
            .unwrap_or_default();
        fds.sort_unstable();
        if fds.len() != 2 {
            return Ok(Self::default());
        }
        for &fd in &fds {
            sys::replace_with_dev_null(fd).map_err(|cause| SelfPipeError {
                what: "park",
                fds: fds.clone(),
                cause,
            })?;
        }
        Ok(Self(fds))
    }

    /// Puts a fresh connected pair back at the parked numbers.
    pub fn unpark(self) -> Result<(), SelfPipeError> {
        if let [a, b] = *self.0 {
            sys::replace_with_pair(a, b).map_err(|cause| SelfPipeError {
                what: "put back",
                fds: vec![a, b],
                cause,
            })?;
        }
        Ok(())
    }
}
