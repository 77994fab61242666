//! A fixed address layout (`ADDR_NO_RANDOMIZE`, what `setarch -R` sets), so
//! that a fresh exec of a program has its code, libraries, TLS, stack and
//! heap where the process that checkpointed had them.

mod sys;

/// Set while [`ensure_fixed`] re-execs, so a failure to turn randomization
/// off cannot loop.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const REEXEC_ENV: &str = "SNAP_FIXED_LAYOUT_REEXEC";

/// Why the layout could not be fixed.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The persona could not be set.
    #[error("cannot turn off address layout randomization")]
    Persona(#[source] std::io::Error),
    /// The persona was set but the re-exec'd process does not have it.
    #[error("cannot run with a fixed address layout: the persona did not survive exec")]
    PersonaLost,
    /// Re-executing this program failed.
    #[error("cannot re-exec with a fixed address layout")]
    Reexec(#[source] std::io::Error),
}

/// Whether this process runs with `ADDR_NO_RANDOMIZE`.
pub fn layout_is_fixed() -> bool {
    sys::layout_is_fixed()
}

/// Turns off address layout randomization for the next exec of this
/// process. Unprivileged and async-signal-safe, so it may run between fork
/// and exec of a child that uses the native engine.
pub fn set_fixed_layout() -> std::io::Result<()> {
    sys::set_no_randomize()
}

/// Makes this process run with a fixed layout, re-exec'ing it once if it
/// does not. Call it first thing in `main`, before any thread exists.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) fn ensure_fixed() -> Result<(), LayoutError> {
    if layout_is_fixed() {
        if std::env::var_os(REEXEC_ENV).is_some() {
            // SAFETY: called first thing in main, before any thread exists.
            unsafe { std::env::remove_var(REEXEC_ENV) };
        }
        return Ok(());
    }
    if std::env::var_os(REEXEC_ENV).is_some() {
        return Err(LayoutError::PersonaLost);
    }
    set_fixed_layout().map_err(LayoutError::Persona)?;
    // SAFETY: called first thing in main, before any thread exists.
    unsafe { std::env::set_var(REEXEC_ENV, "1") };
    Err(LayoutError::Reexec(exec_self()))
}

/// Replaces this process with a fresh exec of its own binary and arguments;
/// returns only the error.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn exec_self() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = std::process::Command::new("/proc/self/exe");
    if let Some((first, rest)) = args.split_first() {
        cmd.arg0(first).args(rest);
    }
    cmd.exec()
}
