//! Snapshots verified once are not hashed again, and a file changed after
//! its verification is hashed (and refused) again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::time::Duration;

use snap::Snapshot;
use snap::snapshot::{Expect, Identity, OpenError, Seal, SnapshotWriter};

#[test]
fn a_verified_file_changed_later_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    // SAFETY: this test binary runs this one test, before any other thread
    // reads the environment.
    unsafe { std::env::set_var("SNAP_VERIFY_CACHE", cache.path()) };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let writer = SnapshotWriter::create(&dir).unwrap();
    fs::write(writer.payload_dir().join("memory.img"), vec![7u8; 1 << 20]).unwrap();
    writer
        .commit(Seal {
            engine: "test".into(),
            identity: Identity::of_command(Path::new("/bin/sh"), &[], []).unwrap(),
            scratch: vec![],
            engine_state: vec![],
            annotations: vec![],
        })
        .unwrap();

    // Fresh files are never cached (their timestamps could hide a write).
    Snapshot::open(&dir, &Expect::default()).unwrap();
    assert_eq!(
        fs::read_dir(cache.path()).map(|d| d.count()).unwrap_or(0),
        0
    );
    std::thread::sleep(Duration::from_millis(200));
    Snapshot::open(&dir, &Expect::default()).unwrap();
    assert_eq!(
        fs::read_dir(cache.path()).unwrap().count(),
        1,
        "verified and remembered"
    );
    Snapshot::open(&dir, &Expect::default()).unwrap();

    // Same size, same inode, one byte changed.
    let image = dir.join("payload/memory.img");
    let mut bytes = fs::read(&image).unwrap();
    bytes[12345] ^= 1;
    fs::write(&image, &bytes).unwrap();
    let err = Snapshot::open(&dir, &Expect::default()).unwrap_err();
    assert!(matches!(err, OpenError::ChecksumMismatch { .. }), "{err}");
}
