//! The snapshot format's guarantees, without any engine: every corruption,
//! truncation, deletion or foreign file is refused with its specific error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use snap::Snapshot;
use snap::snapshot::{
    CreateError, Expect, FORMAT_VERSION, Identity, MANIFEST_FILE, OpenError, PAYLOAD_DIR, Seal,
    SnapshotWriter,
};

fn identity() -> Identity {
    Identity::of_command(
        Path::new("/bin/sh"),
        &["-c".into(), "true".into()],
        [("_HANDLER".into(), "index.handler".into())],
    )
    .unwrap()
}

/// Writes a snapshot with a few payload files of different sizes.
fn make(dest: &Path) -> Snapshot {
    let writer = SnapshotWriter::create(dest).unwrap();
    let payload = writer.payload_dir();
    fs::write(payload.join("core-1.img"), b"core image").unwrap();
    fs::write(payload.join("pages-1.img"), vec![0xabu8; 3 * 4096 + 17]).unwrap();
    fs::write(payload.join("empty.img"), b"").unwrap();
    fs::create_dir(payload.join("sub")).unwrap();
    fs::write(payload.join("sub/nested.img"), b"nested").unwrap();
    writer
        .commit(Seal {
            engine: "test".into(),
            identity: identity(),
            scratch: vec!["stats-restore".into()],
            engine_state: vec![1, 2, 3],
            annotations: vec![("note".into(), b"kept".to_vec())],
        })
        .unwrap()
}

fn open(dir: &Path) -> Result<Snapshot, OpenError> {
    Snapshot::open(dir, &Expect::default())
}

fn flip(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

fn payload_files(dir: &Path) -> Vec<PathBuf> {
    open(dir)
        .unwrap()
        .manifest()
        .files
        .iter()
        .map(|f| dir.join(PAYLOAD_DIR).join(&f.path))
        .collect()
}

#[test]
fn a_sealed_snapshot_opens_with_what_was_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let written = make(&dir);
    let opened = open(&dir).unwrap();
    assert_eq!(opened.manifest(), written.manifest());
    let m = opened.manifest();
    assert_eq!(m.engine, "test");
    assert_eq!(m.engine_state, vec![1, 2, 3]);
    assert_eq!(m.annotation("note"), Some(&b"kept"[..]));
    assert_eq!(m.annotation("absent"), None);
    assert_eq!(m.identity, identity());
    let paths: Vec<_> = m.files.iter().map(|f| (f.path.as_str(), f.size)).collect();
    assert_eq!(
        paths,
        [
            ("core-1.img", 10),
            ("empty.img", 0),
            ("pages-1.img", 3 * 4096 + 17),
            ("sub/nested.img", 6)
        ]
    );
    // Nothing but the snapshot itself is left in the parent.
    let names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["snap"]);
}

#[test]
fn every_single_byte_flip_in_the_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let manifest = dir.join(MANIFEST_FILE);
    let pristine = fs::read(&manifest).unwrap();
    for at in 0..pristine.len() {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x01;
        fs::write(&manifest, &bytes).unwrap();
        let err = open(&dir)
            .err()
            .unwrap_or_else(|| panic!("flip at byte {at} accepted"));
        let expected = match at {
            0..8 => matches!(err, OpenError::BadMagic { .. }),
            8..12 => matches!(err, OpenError::UnsupportedVersion { .. }),
            // The body length: longer than the file, or shorter (checksum).
            12..16 => matches!(
                err,
                OpenError::Truncated { .. }
                    | OpenError::Overlong { .. }
                    | OpenError::ManifestTooLarge { .. }
            ),
            _ => matches!(&err, OpenError::ChecksumMismatch { path, .. } if path == &manifest),
        };
        assert!(expected, "flip at byte {at}: unexpected error {err}");
    }
    fs::write(&manifest, &pristine).unwrap();
    open(&dir).unwrap();
}

#[test]
fn a_flipped_byte_in_any_payload_file_names_that_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    for file in payload_files(&dir) {
        let pristine = fs::read(&file).unwrap();
        if pristine.is_empty() {
            continue;
        }
        for at in [0, pristine.len() / 2, pristine.len() - 1] {
            flip(&file, at);
            match open(&dir) {
                Err(OpenError::ChecksumMismatch {
                    path,
                    expected,
                    found,
                }) => {
                    assert_eq!(path, file);
                    assert_ne!(expected, found);
                }
                other => panic!("{} flipped at {at}: {other:?}", file.display()),
            }
            fs::write(&file, &pristine).unwrap();
        }
    }
    open(&dir).unwrap();
}

#[test]
fn truncating_any_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let mut files = payload_files(&dir);
    files.push(dir.join(MANIFEST_FILE));
    for file in files {
        let pristine = fs::read(&file).unwrap();
        if pristine.is_empty() {
            continue;
        }
        for len in [0, pristine.len() / 2, pristine.len() - 1] {
            fs::write(&file, &pristine[..len]).unwrap();
            match open(&dir) {
                Err(OpenError::Truncated {
                    path,
                    expected,
                    found,
                }) => {
                    assert_eq!(path, file);
                    assert_eq!(found, len as u64);
                    assert!(expected > found);
                }
                other => panic!("{} cut to {len}: {other:?}", file.display()),
            }
        }
        fs::write(&file, &pristine).unwrap();
    }
    open(&dir).unwrap();
}

#[test]
fn appended_bytes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let file = dir.join(PAYLOAD_DIR).join("core-1.img");
    fs::write(&file, b"core image+").unwrap();
    assert!(
        matches!(open(&dir), Err(OpenError::Overlong { path, expected: 10, found: 11 }) if path == file)
    );
    let manifest = dir.join(MANIFEST_FILE);
    let mut bytes = fs::read(&manifest).unwrap();
    fs::write(&file, b"core image").unwrap();
    bytes.push(0);
    fs::write(&manifest, &bytes).unwrap();
    assert!(matches!(open(&dir), Err(OpenError::Overlong { path, .. }) if path == manifest));
}

#[test]
fn deleted_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let file = dir.join(PAYLOAD_DIR).join("sub/nested.img");
    fs::remove_file(&file).unwrap();
    assert!(matches!(open(&dir), Err(OpenError::MissingFile { path }) if path == file));
    fs::remove_file(dir.join(MANIFEST_FILE)).unwrap();
    let err = open(&dir).unwrap_err();
    assert!(
        matches!(&err, OpenError::MissingManifest { dir: d } if d == &dir),
        "{err}"
    );
    assert!(err.to_string().contains("not a snapshot"), "{err}");
}

#[test]
fn a_changed_format_version_is_reported_with_both_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let manifest = dir.join(MANIFEST_FILE);
    let mut bytes = fs::read(&manifest).unwrap();
    bytes[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    fs::write(&manifest, &bytes).unwrap();
    let err = open(&dir).unwrap_err();
    assert!(
        matches!(err, OpenError::UnsupportedVersion { found, supported, .. } if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("version 2"), "{err}");
}

#[test]
fn an_oversized_manifest_is_refused_before_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let manifest = dir.join(MANIFEST_FILE);
    let mut bytes = fs::read(&manifest).unwrap();
    bytes[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&manifest, &bytes).unwrap();
    assert!(
        matches!(open(&dir), Err(OpenError::ManifestTooLarge { len, .. }) if len == u64::from(u32::MAX))
    );
}

#[test]
fn empty_missing_and_foreign_directories_are_not_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert!(matches!(
        open(&empty),
        Err(OpenError::MissingManifest { .. })
    ));
    assert!(matches!(
        open(&tmp.path().join("absent")),
        Err(OpenError::NotFound { .. })
    ));
    let file = tmp.path().join("file");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(open(&file), Err(OpenError::NotADirectory { .. })));

    // A foreign manifest: some other format's file under our name.
    let foreign = tmp.path().join("foreign");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join(MANIFEST_FILE), b"{\"not\": \"a snapshot\"}\n").unwrap();
    let err = open(&foreign).unwrap_err();
    assert!(matches!(err, OpenError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("foreign"), "{err}");
}

#[test]
fn unlisted_payload_files_are_refused_but_declared_scratch_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    fs::write(
        dir.join(PAYLOAD_DIR).join("stats-restore"),
        b"written at restore",
    )
    .unwrap();
    open(&dir).unwrap();
    let extra = dir.join(PAYLOAD_DIR).join("injected.img");
    fs::write(&extra, b"x").unwrap();
    assert!(matches!(open(&dir), Err(OpenError::UnlistedFile { path }) if path == extra));
}

#[test]
fn engine_and_identity_expectations_name_the_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let err = Snapshot::open(
        &dir,
        &Expect {
            engine: Some("criu"),
            ..Expect::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, OpenError::EngineMismatch { found, expected } if found == "test" && expected == "criu"),
        "{err}"
    );

    let mut other = identity();
    other.args = vec!["-c".into(), "false".into()];
    let err = Snapshot::open(
        &dir,
        &Expect {
            identity: Some(&other),
            ..Expect::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, OpenError::IdentityMismatch { field: "args", .. }),
        "{err}"
    );

    let mut other = identity();
    other.bootstrap_sha256 = snap::Sha256Digest([0; 32]);
    let err = Snapshot::open(
        &dir,
        &Expect {
            identity: Some(&other),
            ..Expect::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::IdentityMismatch {
                field: "bootstrap sha256",
                ..
            }
        ),
        "{err}"
    );

    let same = identity();
    Snapshot::open(
        &dir,
        &Expect {
            engine: Some("test"),
            identity: Some(&same),
            ..Expect::default()
        },
    )
    .unwrap();
}

#[test]
fn an_abandoned_writer_leaves_nothing_and_its_temporary_never_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("snap");
    let writer = SnapshotWriter::create(&dest).unwrap();
    fs::write(writer.payload_dir().join("core-1.img"), b"partial").unwrap();
    let temp = writer.temp_dir().to_path_buf();
    assert!(matches!(open(&temp), Err(OpenError::Unfinished { .. })));
    assert!(matches!(open(&dest), Err(OpenError::NotFound { .. })));
    drop(writer);
    assert!(!temp.exists());
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_complete_looking_temporary_is_still_refused_and_later_swept() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("snap");
    make(&dest);
    // A temporary as a checkpoint killed just before its rename leaves it:
    // complete, but owned by a process that no longer exists.
    let stale = tmp.path().join(".snap.snap-tmp.999999999.1");
    common::copy_dir(&dest, &stale);
    assert!(matches!(open(&stale), Err(OpenError::Unfinished { .. })));
    make(&dest);
    assert!(!stale.exists(), "the next writer sweeps stale temporaries");
    open(&dest).unwrap();
}

#[test]
fn replacing_a_snapshot_is_atomic_and_unrelated_data_is_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("snap");
    let first = make(&dest);
    let second = make(&dest);
    assert!(second.manifest().created_unix_ms >= first.manifest().created_unix_ms);
    open(&dest).unwrap();
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);

    let precious = tmp.path().join("home");
    fs::create_dir(&precious).unwrap();
    fs::write(precious.join("notes.txt"), b"keep me").unwrap();
    let err = SnapshotWriter::create(&precious).unwrap_err();
    assert!(
        matches!(err, CreateError::DestinationOccupied { .. }),
        "{err}"
    );
    assert_eq!(fs::read(precious.join("notes.txt")).unwrap(), b"keep me");
}

#[test]
fn a_snapshot_is_owner_only_and_one_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    make(&dir);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(PAYLOAD_DIR)), 0o700);
    assert_eq!(mode(&dir.join(PAYLOAD_DIR).join("sub")), 0o700);
    assert_eq!(mode(&dir.join(MANIFEST_FILE)), 0o600);
    // Written 0644 by the "engine" above; sealed 0600.
    for file in payload_files(&dir) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    for (path, open_mode) in [(dir.clone(), 0o777), (dir.join(PAYLOAD_DIR), 0o720)] {
        fs::set_permissions(&path, fs::Permissions::from_mode(open_mode)).unwrap();
        match open(&dir) {
            Err(OpenError::WritableByOthers { path: named, mode }) => {
                assert_eq!(named, path);
                assert_eq!(mode, open_mode);
            }
            other => panic!("{}: {other:?}", path.display()),
        }
        let message = open(&dir).unwrap_err().to_string();
        assert!(
            message.contains("others can write it") && message.contains("chmod go-w"),
            "{message}"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
    }
    // Read-only for others is not a threat to the snapshot's integrity.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    open(&dir).unwrap();
}

#[test]
fn secret_environment_values_never_reach_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snap");
    let mut with_secret = identity();
    with_secret.env.push((
        "AWS_SECRET_ACCESS_KEY".into(),
        "wJalrXUtnFEMI-not-real".into(),
    ));
    with_secret.env.sort();
    let writer = SnapshotWriter::create(&dir).unwrap();
    fs::write(writer.payload_dir().join("core-1.img"), b"core").unwrap();
    writer
        .commit(Seal {
            engine: "test".into(),
            identity: with_secret.clone(),
            scratch: Vec::new(),
            engine_state: Vec::new(),
            annotations: Vec::new(),
        })
        .unwrap();
    let bytes = fs::read(dir.join(MANIFEST_FILE)).unwrap();
    let needle = b"wJalrXUtnFEMI-not-real";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the secret is in the manifest"
    );
    // The same secret still matches; another one does not.
    let expect = |identity: &Identity| {
        Snapshot::open(
            &dir,
            &Expect {
                identity: Some(identity),
                ..Expect::default()
            },
        )
    };
    expect(&with_secret).unwrap();
    let mut rotated = with_secret.clone();
    for (k, v) in &mut rotated.env {
        if k == "AWS_SECRET_ACCESS_KEY" {
            *v = "another".into();
        }
    }
    assert!(matches!(
        expect(&rotated),
        Err(OpenError::IdentityMismatch {
            field: "environment",
            ..
        })
    ));
}

#[test]
fn a_received_snapshot_is_checked_before_it_replaces_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let (sent, dest) = (tmp.path().join("sent"), tmp.path().join("snap"));
    let original = make(&sent);
    let manifest = fs::read(sent.join(MANIFEST_FILE)).unwrap();
    make(&dest);
    let held = fs::read(dest.join(MANIFEST_FILE)).unwrap();
    let receive = |corrupt: bool| {
        let writer = SnapshotWriter::create(&dest).unwrap();
        common::copy_dir(&sent.join(PAYLOAD_DIR), &writer.payload_dir());
        if corrupt {
            flip(&writer.payload_dir().join("sub/nested.img"), 2);
        }
        writer.commit_received(&manifest, None)
    };
    // A payload that does not match the manifest it came with is named,
    // and the snapshot in place stays.
    match receive(true) {
        Err(CreateError::Received(cause)) => match *cause {
            OpenError::ChecksumMismatch { path, .. } => {
                assert!(
                    path.ends_with("payload/sub/nested.img"),
                    "{}",
                    path.display()
                )
            }
            other => panic!("not a checksum mismatch: {other}"),
        },
        other => panic!("a corrupt payload was received: {other:?}"),
    }
    assert_eq!(fs::read(dest.join(MANIFEST_FILE)).unwrap(), held);
    open(&dest).unwrap();
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "a temporary is left"
    );
    // The genuine payload replaces it, and comes back checked and open.
    let received = receive(false).unwrap();
    assert_eq!(received.dir(), dest);
    assert_eq!(received.manifest(), original.manifest());
    assert_eq!(open(&dest).unwrap().manifest(), original.manifest());
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
}

#[test]
fn a_link_anywhere_a_snapshot_has_a_file_or_directory_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    make(&real);
    open(&real).unwrap();

    // The snapshot directory itself, named through a link.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    match open(&link) {
        Err(OpenError::Symlink { path }) => assert_eq!(path, link),
        other => panic!("{other:?}"),
    }

    // Each file and directory inside, replaced by a link to a copy with
    // the same bytes: the bytes would check out, the link is refused.
    let copies = tmp.path().join("copies");
    fs::create_dir(&copies).unwrap();
    for inside in [
        MANIFEST_FILE,
        "payload/core-1.img",
        "payload/sub",
        PAYLOAD_DIR,
    ] {
        let dir = tmp
            .path()
            .join(format!("snap-{}", inside.replace('/', "-")));
        common::copy_dir(&real, &dir);
        let target = dir.join(inside);
        let copy = copies.join(inside.replace('/', "-"));
        fs::rename(&target, &copy).unwrap();
        std::os::unix::fs::symlink(&copy, &target).unwrap();
        let err = open(&dir).unwrap_err();
        match (inside, &err) {
            // A linked directory inside payload/ is no listed file.
            ("payload/sub", OpenError::MissingFile { .. } | OpenError::UnlistedFile { .. }) => {}
            (_, OpenError::Symlink { path }) => assert_eq!(*path, target, "{inside}"),
            _ => panic!("{inside}: {err:?}"),
        }
        assert!(
            err.to_string().contains(&target.display().to_string())
                || err.to_string().contains("payload/sub"),
            "{inside}: {err}"
        );
    }
}
