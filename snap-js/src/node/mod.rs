//! Node built-in modules that snapjs implements itself in JS, one ES module
//! per file (`export default` is Node's module object, plus named exports).
//! engine.rs registers each under `NAME` and `node:NAME`, before LLRT's
//! resolver, so a module here also replaces LLRT's module of the same name;
//! such a module reaches LLRT's original as `snapjs:llrt/NAME`
//! ([`LLRT_ALIASES`]).

use rquickjs::Ctx;
use rquickjs::loader::Resolver;
use std::collections::HashSet;

/// `(name, source)`, sorted by name.
pub(crate) const MODULES: &[(&str, &str)] = &[
    ("assert", include_str!("assert.js")),
    ("assert/strict", include_str!("assert_strict.js")),
    ("async_hooks", include_str!("async_hooks.js")),
    ("buffer", include_str!("buffer.js")),
    ("console", include_str!("console.js")),
    ("crypto", include_str!("crypto.js")),
    (
        "diagnostics_channel",
        include_str!("diagnostics_channel.js"),
    ),
    ("dns", include_str!("dns.js")),
    ("events", include_str!("events.js")),
    ("fs", include_str!("fs.js")),
    ("fs/promises", include_str!("fs_promises.js")),
    ("http", include_str!("http.js")),
    ("http2", include_str!("http2.js")),
    ("https", include_str!("https.js")),
    ("module", include_str!("module.js")),
    ("net", include_str!("net.js")),
    ("os", include_str!("os.js")),
    ("path", include_str!("path.js")),
    ("process", include_str!("process.js")),
    ("punycode", include_str!("punycode.js")),
    ("querystring", include_str!("querystring.js")),
    ("readline", include_str!("readline.js")),
    ("snapjs:internal/errors", include_str!("internal_errors.js")),
    (
        "snapjs:internal/fs_errors",
        include_str!("internal_fs_errors.js"),
    ),
    (
        "snapjs:internal/process",
        include_str!("internal_process.js"),
    ),
    ("snapjs:internal/stdio", include_str!("internal_stdio.js")),
    (
        "snapjs:internal/structured_clone",
        include_str!("internal_structured_clone.js"),
    ),
    (
        "snapjs:internal/text_decoder",
        include_str!("internal_text_decoder.js"),
    ),
    ("stream", include_str!("stream.js")),
    ("stream/promises", include_str!("stream_promises.js")),
    ("string_decoder", include_str!("string_decoder.js")),
    ("timers/promises", include_str!("timers_promises.js")),
    ("tls", include_str!("tls.js")),
    ("url", include_str!("url.js")),
    ("util", include_str!("util.js")),
    ("util/types", include_str!("util_types.js")),
    ("worker_threads", include_str!("worker_threads.js")),
    ("zlib", include_str!("zlib.js")),
];

/// Scripts run once at engine start, after the runtime's JS half, in
/// order: patches of LLRT's globals (`Buffer`) and the globals Node has
/// and LLRT lacks (most of them accessors that load a `snapjs:internal/`
/// module of [`MODULES`] on first use, so they cost no memory until then).
pub(crate) const PATCHES: &[(&str, &str)] = &[
    ("buffer", include_str!("patches/buffer.js")),
    ("globals", include_str!("patches/globals.js")),
    ("intl", include_str!("patches/intl.js")),
];

/// The prefix under which LLRT's own module stays reachable when a module
/// of [`MODULES`] replaces it.
pub(crate) const LLRT_PREFIX: &str = "snapjs:llrt/";

/// Resolves `NAME` and `node:NAME` of every module in [`MODULES`] to
/// `NAME`, so both specifiers give one module instance.
#[derive(Debug)]
pub(crate) struct NodeResolver {
    names: HashSet<&'static str>,
}

impl Default for NodeResolver {
    fn default() -> Self {
        Self {
            names: MODULES.iter().map(|(name, _)| *name).collect(),
        }
    }
}

impl Resolver for NodeResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
    ) -> rquickjs::Result<String> {
        let bare = name.strip_prefix("node:").unwrap_or(name);
        if self.names.contains(bare) {
            Ok(bare.to_string())
        } else {
            Err(rquickjs::Error::new_resolving(base, name))
        }
    }
}
