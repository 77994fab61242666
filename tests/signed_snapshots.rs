//! With a signing key configured, snapshots are signed, and unsigned and
//! forged ones are refused, each with its own error; a key that cannot be
//! used is named. One test: the key is process-wide (`SNAP_SIGNING_KEY`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snap::Snapshot;
use snap::snapshot::{
    CreateError, Expect, Identity, KeyError, MANIFEST_FILE, OpenError, SIGNATURE_FILE,
    SIGNING_KEY_ENV, Seal, SnapshotWriter,
};

fn make(dest: &Path, content: &[u8]) -> Result<Snapshot, CreateError> {
    let writer = SnapshotWriter::create(dest)?;
    fs::write(writer.payload_dir().join("memory.img"), content).unwrap();
    writer.commit(Seal {
        engine: "test".into(),
        identity: Identity::of_command(Path::new("/bin/sh"), &[], []).unwrap(),
        scratch: vec![],
        engine_state: vec![],
        annotations: vec![],
    })
}

fn open(dir: &Path) -> Result<Snapshot, OpenError> {
    Snapshot::open(dir, &Expect::default())
}

fn use_key(path: Option<&Path>) {
    // SAFETY: this test binary runs this one test on one thread.
    unsafe {
        match path {
            Some(path) => std::env::set_var(SIGNING_KEY_ENV, path),
            None => std::env::remove_var(SIGNING_KEY_ENV),
        }
    }
}

/// Runs snaprun with `env` and `args`, failing the test if it has not
/// exited within `limit` (then it is killed): (success, stderr).
fn snaprun_within(limit: Duration, env: &[(&str, &Path)], args: &[&str]) -> (bool, String) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_snaprun"))
        .envs(env.iter().copied())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("snaprun {args:?} with {env:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.success(), err)
}

#[test]
fn signed_snapshots_open_and_unsigned_or_forged_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    let other_key = tmp.path().join("other-key");
    fs::write(&key, [7u8; 32]).unwrap();
    fs::write(&other_key, [8u8; 32]).unwrap();

    // Unsigned: made without a key, opened with one.
    use_key(None);
    let unsigned = tmp.path().join("unsigned");
    make(&unsigned, b"unsigned").unwrap();
    assert!(!unsigned.join(SIGNATURE_FILE).exists());
    open(&unsigned).unwrap();
    use_key(Some(&key));
    match open(&unsigned) {
        Err(OpenError::Unsigned { dir }) => assert_eq!(dir, unsigned),
        other => panic!("{other:?}"),
    }
    assert!(
        open(&unsigned)
            .unwrap_err()
            .to_string()
            .contains("unsigned, and a signing key is configured")
    );

    // Signed with the key: opens, and the signature is owner-only.
    let signed = tmp.path().join("signed");
    make(&signed, b"signed").unwrap();
    open(&signed).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(signed.join(SIGNATURE_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Forged: another snapshot's self-consistent manifest put in its place
    // (as someone who can write the directory but lacks the key would).
    let forged = tmp.path().join("forged");
    use_key(None);
    make(&forged, b"forged").unwrap();
    use_key(Some(&key));
    fs::copy(signed.join(SIGNATURE_FILE), forged.join(SIGNATURE_FILE)).unwrap();
    match open(&forged) {
        Err(OpenError::BadSignature { path }) => assert_eq!(path, forged.join(SIGNATURE_FILE)),
        other => panic!("{other:?}"),
    }

    // Signed by another key.
    use_key(Some(&other_key));
    assert!(matches!(open(&signed), Err(OpenError::BadSignature { .. })));
    use_key(Some(&key));
    open(&signed).unwrap();

    // A signed manifest changed in place: its checksum is caught first.
    let manifest = signed.join(MANIFEST_FILE);
    let original = fs::read(&manifest).unwrap();
    let mut bytes = original.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&manifest, &bytes).unwrap();
    assert!(open(&signed).is_err());
    fs::write(&manifest, &original).unwrap();
    open(&signed).unwrap();

    // Keys that cannot be used are named, on both sides.
    let short = tmp.path().join("short");
    fs::write(&short, [1u8; 16]).unwrap();
    use_key(Some(&short));
    match open(&signed) {
        Err(OpenError::SigningKey(KeyError::TooShort { len: 16, .. })) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        make(&tmp.path().join("never"), b"x"),
        Err(CreateError::SigningKey(KeyError::TooShort { .. }))
    ));
    let missing = tmp.path().join("missing");
    use_key(Some(&missing));
    let message = snap::chain(&open(&signed).unwrap_err());
    assert!(
        message.contains("cannot read the signing key") && message.contains("No such file"),
        "{message}"
    );
    // Key files are read with a bound: what is not a regular file of at
    // most MAX_KEY_LEN bytes is refused by name, unread, on both sides.
    let fifo = tmp.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let big = tmp.path().join("big");
    fs::write(&big, vec![1u8; snap::snapshot::MAX_KEY_LEN + 1]).unwrap();
    for (path, what) in [
        (
            Path::new("/dev/zero"),
            "is a character device, not a regular file",
        ),
        (fifo.as_path(), "is a FIFO, not a regular file"),
        (tmp.path(), "is a directory, not a regular file"),
        (
            big.as_path(),
            "is over the limit of 4096 bytes for a key file",
        ),
    ] {
        use_key(Some(path));
        let err = open(&signed).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::SigningKey(KeyError::NotAFile { .. } | KeyError::TooLarge { .. })
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!(
                "the signing key {} (SNAP_SIGNING_KEY) {what}",
                path.display()
            )),
            "{message}"
        );
        assert!(matches!(
            make(&tmp.path().join("never"), b"x"),
            Err(CreateError::SigningKey(
                KeyError::NotAFile { .. } | KeyError::TooLarge { .. }
            ))
        ));
    }
    // And snaprun says so in one line, soon: read whole, /dev/zero would
    // never end, and a blocking open of the FIFO would wait for a writer.
    for (path, what) in [
        (Path::new("/dev/zero"), "is a character device"),
        (fifo.as_path(), "is a FIFO"),
    ] {
        let (ok, err) = snaprun_within(
            Duration::from_secs(30),
            &[("SNAP_SIGNING_KEY", path)],
            &["inspect", signed.to_str().unwrap()],
        );
        assert!(!ok, "{err}");
        assert!(
            err.contains(&format!(
                "the signing key {} (SNAP_SIGNING_KEY) {what}, not a regular file; refused unread",
                path.display()
            )),
            "{err}"
        );
    }

    // A record that a file was verified counts only under the signature it
    // was verified under: opened unsigned, the file is hashed again.
    let cache = tmp.path().join("verified");
    // SAFETY: as in `use_key`.
    unsafe { std::env::set_var("SNAP_VERIFY_CACHE", &cache) };
    use_key(Some(&key));
    std::thread::sleep(std::time::Duration::from_millis(200));
    open(&signed).unwrap();
    let record = || {
        let entries: Vec<_> = fs::read_dir(&cache).unwrap().collect();
        assert_eq!(entries.len(), 1, "one payload file, one record");
        fs::read_to_string(entries[0].as_ref().unwrap().path()).unwrap()
    };
    let signature = fs::read(signed.join(SIGNATURE_FILE)).unwrap();
    let under = snap::Sha256Digest::of(&signature).to_string();
    assert!(record().ends_with(&format!(" {under}")), "{}", record());
    use_key(None);
    open(&signed).unwrap();
    assert!(record().ends_with(" unsigned"), "{}", record());
    // SAFETY: as in `use_key`.
    unsafe { std::env::remove_var("SNAP_VERIFY_CACHE") };
}
