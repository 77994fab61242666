//! The one error type for a failed system call or file operation: what was
//! being done, and the operating system's error as its source.

use std::io;

/// A system call or file operation that failed.
///
/// Its message names the operation only; the OS error is its
/// [`source`](std::error::Error::source), so a report that walks the chain
/// (`anyhow`'s `{:#}`, or [`chain`]) names the cause exactly once.
#[derive(Debug, thiserror::Error)]
#[error("{op}")]
pub struct OsError {
    /// What was being done, e.g. `"read /proc/self/maps"`.
    pub op: &'static str,
    /// The operating system's error.
    #[source]
    pub cause: io::Error,
}

impl OsError {
    /// An error for `op` caused by `cause`.
    pub fn new(op: &'static str, cause: io::Error) -> Self {
        Self { op, cause }
    }

    /// `map_err(OsError::during("op"))`: wraps an `io::Error` as `op`'s.
    pub fn during(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |cause| Self { op, cause }
    }

    /// The calling thread's last OS error (`errno`), as `op`'s.
    pub fn last(op: &'static str) -> Self {
        Self::new(op, io::Error::last_os_error())
    }
}

/// An error and all its sources on one line, `outer: inner: cause`, as a
/// user should read it. Sources whose text the previous message already
/// ends with are left out, so errors that repeat their cause still read
/// once.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_operation_and_the_chain_names_the_cause_once() {
        let err = OsError::during("open /nowhere")(io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(err.to_string(), "open /nowhere");
        assert_eq!(
            chain(&err),
            "open /nowhere: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Repeats(#[source] OsError);
        let inner = OsError::during("mmap")(io::Error::from_raw_os_error(libc::ENOMEM));
        let err = Repeats(inner);
        // "outer: mmap" already ends with the inner message.
        assert_eq!(
            chain(&err),
            "outer: mmap: Cannot allocate memory (os error 12)"
        );
    }
}
