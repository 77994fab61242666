//! A cache of files already verified, so a snapshot restored again and again
//! is not hashed again and again.
//!
//! An entry records a payload file's device, inode, size, modification and
//! change times, and the digest it was verified against. Any write through
//! the filesystem moves the change time (which no user can set back), and a
//! replaced file has another inode, so a matching entry means the contents
//! are the ones verified. As in git's "racy" rule, a file changed within the
//! last 100 ms is never cached: file timestamps tick in jiffies (1-10 ms), so
//! a write in the same tick as the verification could leave them unchanged;
//! any write after a later verification gets a later time.
//!
//! Entries live in `$SNAP_VERIFY_CACHE`, or `/dev/shm/snap-verified-UID`
//! (gone at reboot). A missing or unwritable cache only costs speed. An entry
//! is a claim that a file need not be hashed, so the cache is used only if
//! it is a directory of this user's that no one else may write: one planted
//! by another user in `/dev/shm` (a world-writable directory) is ignored.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Sha256Digest;

const RACY: Duration = Duration::from_millis(100);

fn dir() -> PathBuf {
    std::env::var_os("SNAP_VERIFY_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // SAFETY: getuid cannot fail and has no preconditions.
            let uid = unsafe { libc::getuid() };
            PathBuf::from(format!("/dev/shm/snap-verified-{uid}"))
        })
}

fn entry(meta: &fs::Metadata) -> (PathBuf, String) {
    let path = dir().join(format!("{}-{}", meta.dev(), meta.ino()));
    let stamp = format!(
        "{} {}.{} {}.{}",
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    (path, stamp)
}

/// Whether `dir` is this user's and closed to everyone else's writes.
fn trusted(dir: &std::path::Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|meta| {
        meta.is_dir() && meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o022 == 0
    })
}

/// What no signature is recorded as.
pub(super) const UNSIGNED: &str = "unsigned";

/// Whether a file with `meta` was verified to have `digest` under the
/// manifest signature `under` (its digest, or [`UNSIGNED`]): a record made
/// under another signature does not count.
pub(super) fn is_verified(meta: &fs::Metadata, digest: &Sha256Digest, under: &str) -> bool {
    if !trusted(&dir()) {
        return false;
    }
    let (path, stamp) = entry(meta);
    fs::read_to_string(path).is_ok_and(|text| text == format!("{stamp} {digest} {under}"))
}

/// Records that a file with `meta` has `digest`, verified under `under`,
/// unless it changed too recently to be told apart from a later change.
pub(super) fn remember(meta: &fs::Metadata, digest: &Sha256Digest, under: &str) {
    let changed =
        UNIX_EPOCH + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec().max(0) as u32);
    if SystemTime::now()
        .duration_since(changed)
        .map_or(true, |age| age < RACY)
    {
        return;
    }
    let dir = dir();
    if fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .is_err()
    {
        return;
    }
    if !trusted(&dir) {
        return;
    }
    let (path, stamp) = entry(meta);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if fs::write(&tmp, format!("{stamp} {digest} {under}")).is_ok() {
        let _ = fs::rename(&tmp, &path);
    }
}

/// The SHA-256 of the file at `path`, from the cache when the file is
/// unchanged since it was last hashed (the native engine's binary check).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) fn digest_of(path: &std::path::Path) -> std::io::Result<Sha256Digest> {
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    let (entry_path, stamp) = entry(&meta);
    if let Ok(text) = fs::read_to_string(&entry_path) {
        // The digest is the fact wanted here, whatever it was verified under.
        if let Some(hex) = text
            .strip_prefix(&stamp)
            .and_then(|rest| rest.split_whitespace().next())
        {
            if let Some(digest) = parse_hex(hex) {
                return Ok(digest);
            }
        }
    }
    let (digest, _) = Sha256Digest::of_reader(file)?;
    remember(&meta, &digest, UNSIGNED);
    Ok(digest)
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn parse_hex(hex: &str) -> Option<Sha256Digest> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Sha256Digest(out))
}
