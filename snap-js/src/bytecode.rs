//! The bytecode cache: a handler's ES module compiled to QuickJS bytecode
//! once (as `llrt compile` does) and loaded from it on later cold starts,
//! which skips parsing and compiling the source.
//!
//! A cache file is `MAGIC`, then a 16-byte key, then the bytecode. The key
//! hashes the source, the file's path, snapjs's version, QuickJS's version
//! and the executable's size and mtime, so any change to either side makes
//! a miss. Files live in `$SNAPJS_CACHE_DIR` (default
//! `$TMPDIR/snapjs-bytecode`); `SNAPJS_BYTECODE_CACHE=0` turns the cache
//! off. A cache that cannot be written is only a slower start.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use rquickjs::module::{Declared, WriteOptions};
use rquickjs::{Ctx, Module};

const MAGIC: &[u8; 8] = b"SNAPJSB1";

/// Turns the cache off when `0`.
pub(crate) const CACHE_ENV: &str = "SNAPJS_BYTECODE_CACHE";
/// Where cache files go.
pub(crate) const DIR_ENV: &str = "SNAPJS_CACHE_DIR";

/// How a module was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Loaded from the cache.
    Cached,
    /// Compiled from source (and written to the cache when it is on).
    Compiled,
}

fn key(path: &Path, source: &[u8]) -> [u8; 16] {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .ok()
        .map(|m| (m.len(), m.modified().ok()));
    let mut out = [0u8; 16];
    for (half, salt) in out.chunks_mut(8).zip([0u8, 1]) {
        // DefaultHasher::new() has fixed keys: stable for one build.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            salt,
            path,
            source,
            env!("CARGO_PKG_VERSION"),
            "rquickjs 0.11.0",
            exe,
        )
            .hash(&mut h);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

fn cache_file(key: &[u8; 16]) -> PathBuf {
    let dir = std::env::var_os(DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("snapjs-bytecode"));
    let name: String = key.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.qbc"))
}

fn enabled() -> bool {
    std::env::var(CACHE_ENV).map_or(true, |v| v != "0")
}

/// Declares the ES module at `path` with source `source`, from the cache
/// when it holds it.
pub(crate) fn declare<'js>(
    ctx: &Ctx<'js>,
    path: &Path,
    source: Vec<u8>,
) -> rquickjs::Result<(Module<'js, Declared>, Source)> {
    let name = path.display().to_string();
    if !enabled() {
        return Ok((
            Module::declare(ctx.clone(), name, source)?,
            Source::Compiled,
        ));
    }
    let key = key(path, &source);
    let file = cache_file(&key);
    if let Ok(bytes) = std::fs::read(&file) {
        if bytes.len() > MAGIC.len() + key.len()
            && bytes.starts_with(MAGIC)
            && bytes[MAGIC.len()..MAGIC.len() + key.len()] == key
        {
            let module = crate::sys::load_module(ctx.clone(), &bytes[MAGIC.len() + key.len()..])?;
            return Ok((module, Source::Cached));
        }
    }
    let module = Module::declare(ctx.clone(), name, source)?;
    match module.write(WriteOptions::default()) {
        Ok(bytecode) => {
            if let Err(err) = store(&file, &key, &bytecode) {
                tracing::warn!(file = %file.display(), %err, "cannot write the bytecode cache");
            }
        }
        Err(err) => tracing::warn!(%err, "cannot compile the module to bytecode"),
    }
    Ok((module, Source::Compiled))
}

fn store(file: &Path, key: &[u8; 16], bytecode: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut bytes = Vec::with_capacity(MAGIC.len() + key.len() + bytecode.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(bytecode);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}
