//! Node built-in modules snapjs implements itself in JS, one per file, each
//! an ES module with `export default` the module object plus named exports.
//! The engine registers each under `NAME` and `node:NAME`, before LLRT's.

/// `(name, source)`, sorted by name.
pub(crate) const MODULES: &[(&str, &str)] = &[("module", include_str!("module.js"))];
