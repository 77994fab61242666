//! The one unsafe operation of snapjs: loading QuickJS bytecode.

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
