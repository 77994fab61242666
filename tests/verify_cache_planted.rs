//! A verification cache that others can write is not trusted: an entry
//! planted there cannot make a changed payload file look verified.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use snap::Snapshot;
use snap::snapshot::{Expect, Identity, OpenError, Seal, SnapshotWriter};

#[test]
fn an_entry_planted_in_a_cache_others_can_write_is_ignored() {
    let cache = tempfile::tempdir().unwrap();
    // World-writable, as a directory another user made in /dev/shm could be.
    fs::set_permissions(cache.path(), fs::Permissions::from_mode(0o777)).unwrap();
    // SAFETY: this test binary runs this one test, before any other thread
    // reads the environment.
    unsafe { std::env::set_var("SNAP_VERIFY_CACHE", cache.path()) };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let writer = SnapshotWriter::create(&dir).unwrap();
    fs::write(writer.payload_dir().join("memory.img"), vec![7u8; 1 << 16]).unwrap();
    let snapshot = writer
        .commit(Seal {
            engine: "test".into(),
            identity: Identity::of_command(Path::new("/bin/sh"), &[], []).unwrap(),
            scratch: vec![],
            engine_state: vec![],
            annotations: vec![],
        })
        .unwrap();
    let recorded = snapshot.manifest().files[0].sha256;

    // Change one byte (same size), then plant the entry that would vouch
    // for the changed file, in the cache's own format.
    let image = dir.join("payload/memory.img");
    let mut bytes = fs::read(&image).unwrap();
    bytes[100] ^= 1;
    fs::write(&image, bytes).unwrap();
    let meta = fs::metadata(&image).unwrap();
    fs::write(
        cache.path().join(format!("{}-{}", meta.dev(), meta.ino())),
        format!(
            // Verified under no signature: this snapshot has none.
            "{} {}.{} {}.{} {recorded} unsigned",
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        ),
    )
    .unwrap();
    assert!(matches!(
        Snapshot::open(&dir, &Expect::default()),
        Err(OpenError::ChecksumMismatch { .. })
    ));

    // The same planted entry in a cache only this user can write is
    // trusted: that is what makes the check above mean something.
    fs::set_permissions(cache.path(), fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        Snapshot::open(&dir, &Expect::default()).is_ok(),
        "a trusted entry skips the hash"
    );
}
