//! Every unsafe operation of snapjs: loading QuickJS bytecode and the
//! page-fault counts behind `crate::first_invocation`.

use rquickjs::module::Declared;
use rquickjs::{Ctx, Module};

/// Loads a module from bytecode that [`crate::bytecode`] wrote.
///
/// The cache validates what it hands here: its header names this build of
/// snapjs (version, QuickJS version, the executable's size and mtime) and a
/// hash of the source it was compiled from, so the bytes are the output of
/// `Module::write` by this same binary.
pub(crate) fn load_module<'js>(
    ctx: Ctx<'js>,
    bytecode: &[u8],
) -> rquickjs::Result<Module<'js, Declared>> {
    // SAFETY: `Module::load` trusts its bytes to be QuickJS bytecode of this
    // engine version. They come from `Module::write` of this same binary
    // (checked by the cache header: build identity and source hash), read
    // back whole from a file only this user writes.
    unsafe { Module::load(ctx, bytecode) }
}

/// This process's page faults so far: `(minor, major)`, from
/// `getrusage(RUSAGE_SELF)`.
pub(crate) fn page_faults() -> (u64, u64) {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct
    // (integers and `timeval`s only).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one `rusage` into `usage`, which we own and
    // which lives across the call; RUSAGE_SELF is always a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return (0, 0);
    }
    (
        u64::try_from(usage.ru_minflt).unwrap_or(0),
        u64::try_from(usage.ru_majflt).unwrap_or(0),
    )
}
