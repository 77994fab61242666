//! Node built-in modules that snapjs implements itself in JS, one per file,
//! each an ES module whose `default` export is Node's module object. The
//! engine registers each under `NAME` and `node:NAME`, ahead of LLRT's own.

/// `(name, source)`, sorted by name.
pub(crate) const MODULES: &[(&str, &str)] = &[
    ("http", include_str!("http.js")),
    ("https", include_str!("https.js")),
    ("module", include_str!("module.js")),
    ("stream", include_str!("stream.js")),
    ("stream/promises", include_str!("stream_promises.js")),
];
