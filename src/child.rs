//! Starting a bootstrap as a plain child process: how it starts
//! ([`ProcessStart`]) and what the child does between fork and exec.

use std::time::Duration;

use snap::lambda::ErrorType;

use crate::runtime::SnapStart;

/// How a plain child process starts.
#[derive(Debug)]
pub struct ProcessStart<'a> {
    /// What `restore/next` does.
    pub snapstart: SnapStart,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE`.
    pub initialization_type: &'a str,
    /// Variables added after the function's environment.
    pub extra_env: &'a [(&'a str, std::ffi::OsString)],
    /// Start it with `ADDR_NO_RANDOMIZE` (the native engine needs it).
    pub fixed_layout: bool,
    /// Limit until ready; the function's init limit if `None`.
    pub limit: Option<Duration>,
    /// The error type when the limit passes.
    pub timeout_type: ErrorType,
}

impl ProcessStart<'static> {
    /// A plain cold start.
    pub const COLD: Self = Self {
        snapstart: SnapStart::Off,
        initialization_type: "on-demand",
        extra_env: &[],
        fixed_layout: false,
        limit: None,
        timeout_type: ErrorType::InitTimeout,
    };
}

/// In a forked child before exec: gives the bootstrap a clean descriptor
/// table, as Lambda does (nothing snaprun inherited above stdio), and the
/// fixed layout the native engine needs.
///
/// # Safety
/// Only between fork and exec; async-signal-safe.
pub(crate) unsafe fn clean_child(fixed_layout: bool) {
    // SAFETY: the caller runs this between fork and exec.
    unsafe { snap::sandbox::close_inherited_on_exec() };
    if fixed_layout {
        // The child then fails in `snap::init` with a clear error.
        let _ = snap::set_fixed_layout();
    }
}
