//! The bytecode cache: a handler's ES module compiled to QuickJS bytecode
//! once (as `llrt compile` does) and loaded from it on later cold starts,
//! which skips parsing and compiling the source.
//!
//! A cache file is `MAGIC`, then a 16-byte key, then the bytecode. The key
//! hashes the source, the file's path, snapjs's version, QuickJS's version
//! and the executable's size and mtime, so any change to either side makes
//! a miss. `SNAPJS_BYTECODE_CACHE=0` turns the cache off. A cache that
//! cannot be written is only a slower start.
//!
//! QuickJS runs bytecode as it finds it: its reader is not built for
//! hostile input, and the bytecode is code. So the cache is trusted exactly
//! as far as the user's own files are:
//! - it lives in a directory of the user's that no one else may enter:
//!   `$SNAPJS_CACHE_DIR` if set (refused if laxer than 0700 or not the
//!   user's), else the private home `snapjs` (`$XDG_CACHE_HOME/snapjs`,
//!   `~/.cache/snapjs`, else `$TMPDIR/snapjs-UID`; see
//!   [`snap::private_dir::user_home`]);
//! - a file is loaded only if it is a regular file of this user's, mode
//!   0600, with one name, reached without a link.
//!
//! It carries no keyed MAC: whoever could write such a file is this user
//! or root, who can already change the handler's source, snapjs itself or
//! the user's shell startup files; a key kept where this user can read it
//! would stop no one the checks above do not.

use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use snap::private_dir::{self, HomeKind, WhenOpen};

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

/// The cache's directory, checked private once per process; `None`
/// (with one warning) when it cannot be used.
fn cache_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = match std::env::var_os(DIR_ENV).filter(|d| !d.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                private_dir::ensure(&dir, WhenOpen::Refuse).map(|()| dir)
            }
            None => private_dir::user_home("snapjs", HomeKind::Disk),
        };
        dir.map_err(|err| {
            tracing::warn!("the bytecode cache is off: {}", snap::chain(&err));
        })
        .ok()
    })
    .as_deref()
}

fn cache_file(dir: &Path, key: &[u8; 16]) -> PathBuf {
    let name: String = key.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.qbc"))
}

/// The most a cache file may hold.
const MAX_FILE: u64 = 256 << 20;

/// The cache file at `file`, if it is one this user wrote: a regular file
/// of this user's, mode 0600, with one name, opened without following a
/// link. Anything else is ignored (and named in a warning); a missing file
/// is a plain miss.
fn trusted_bytes(file: &Path) -> Option<Vec<u8>> {
    let opened = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(file);
    let opened = match opened {
        Ok(opened) => opened,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!(file = %file.display(), %err, "ignoring a bytecode cache file");
            return None;
        }
    };
    let meta = opened.metadata().ok()?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_file() || meta.uid() != me || meta.mode() & 0o077 != 0 || meta.nlink() != 1 {
        tracing::warn!(
            file = %file.display(),
            owner = meta.uid(),
            mode = format_args!("{:o}", meta.mode() & 0o7777),
            links = meta.nlink(),
            "ignoring a bytecode cache file that this user did not write"
        );
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE) as usize);
    opened.take(MAX_FILE).read_to_end(&mut bytes).ok()?;
    Some(bytes)
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
    let Some(dir) = cache_dir() else {
        return Ok((
            Module::declare(ctx.clone(), name, source)?,
            Source::Compiled,
        ));
    };
    let key = key(path, &source);
    let file = cache_file(dir, &key);
    if let Some(bytes) = trusted_bytes(&file) {
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

/// Writes the cache file: a new file of this user's, mode 0600, made
/// beside it and renamed into place, so a reader never sees half of one.
fn store(file: &Path, key: &[u8; 16], bytecode: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut out = std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    let written = out
        .write_all(MAGIC)
        .and_then(|()| out.write_all(key))
        .and_then(|()| out.write_all(bytecode))
        .and_then(|()| std::fs::rename(&tmp, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
