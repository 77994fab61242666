//! With an encryption key configured, payloads are encrypted at rest and
//! decrypted once per machine into a private cache, which restores read;
//! encrypted snapshots without the key, with another key, and plain ones
//! with a key are refused, each with its own error. One test: the key is
//! process-wide (`SNAP_ENCRYPT_KEY`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use snap::Snapshot;
use snap::snapshot::{
    CreateError, ENCRYPT_KEY_ENV, ENCRYPTED_ANNOTATION, Expect, Identity, KeyError, OpenError,
    PAYLOAD_DIR, PLAIN_CACHE_ENV, Seal, SnapshotWriter,
};

/// What the function's memory would hold: a secret, many times over.
const SECRET: &[u8] = b"AKIA-not-a-real-key-but-a-secret;";

fn make(dest: &Path, content: &[u8]) -> Result<Snapshot, CreateError> {
    let writer = SnapshotWriter::create(dest)?;
    fs::create_dir(writer.payload_dir().join("pages")).unwrap();
    fs::write(writer.payload_dir().join("memory.img"), content).unwrap();
    fs::write(writer.payload_dir().join("pages/pages-1.img"), content).unwrap();
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

fn set(var: &str, value: Option<&Path>) {
    // SAFETY: this test binary runs this one test on one thread.
    unsafe {
        match value {
            Some(value) => std::env::set_var(var, value),
            None => std::env::remove_var(var),
        }
    }
}

#[test]
fn encrypted_snapshots_restore_from_a_private_copy_and_the_wrong_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    let other_key = tmp.path().join("other-key");
    fs::write(&key, [7u8; 32]).unwrap();
    fs::write(&other_key, [8u8; 32]).unwrap();
    let cache = tmp.path().join("plain");
    set(PLAIN_CACHE_ENV, Some(&cache));
    let memory: Vec<u8> = SECRET.iter().copied().cycle().take(300_000).collect();

    // Sealed with a key: nothing of the secret at rest, the key's id in the
    // manifest, and the engine reads the plaintext from the private cache.
    set(ENCRYPT_KEY_ENV, Some(&key));
    let dir = tmp.path().join("snap");
    let made = make(&dir, &memory).unwrap();
    assert!(made.is_encrypted());
    for file in ["memory.img", "pages/pages-1.img"] {
        let stored = fs::read(dir.join(PAYLOAD_DIR).join(file)).unwrap();
        assert!(stored.starts_with(b"SNAPENC1"), "{file}");
        assert!(
            !stored.windows(SECRET.len()).any(|w| w == SECRET),
            "{file}: the secret is stored in the clear"
        );
        assert_eq!(
            fs::read(made.payload_dir().join(file)).unwrap(),
            memory,
            "{file}"
        );
    }
    assert_eq!(
        made.manifest()
            .annotation(ENCRYPTED_ANNOTATION)
            .map(<[u8]>::len),
        Some(16)
    );
    assert!(
        made.payload_dir().starts_with(&cache),
        "{}",
        made.payload_dir().display()
    );
    for private in [
        cache.clone(),
        made.payload_dir(),
        made.payload_dir().join("pages"),
    ] {
        let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", private.display());
    }
    let file = fs::metadata(made.payload_dir().join("memory.img")).unwrap();
    assert_eq!(file.permissions().mode() & 0o777, 0o600);

    // Opened again, here or on a machine without the copy: decrypted once.
    fs::remove_dir_all(&cache).unwrap();
    let opened = open(&dir).unwrap();
    assert_eq!(
        fs::read(opened.payload_dir().join("memory.img")).unwrap(),
        memory
    );
    let copy = opened.payload_dir();
    assert_eq!(
        open(&dir).unwrap().payload_dir(),
        copy,
        "the copy is reused"
    );

    // A new snapshot in the same place replaces the copy of the old one.
    make(&dir, b"next").unwrap();
    assert!(
        !copy.exists(),
        "the old snapshot's plaintext is left in the cache"
    );
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 1);

    // A snapshot removed: the next open, of it or of any other, finds it
    // gone and removes its copy.
    let elsewhere = tmp.path().join("elsewhere");
    let gone = make(&elsewhere, &memory).unwrap().payload_dir();
    assert!(gone.starts_with(&cache) && gone.is_dir());
    fs::remove_dir_all(&elsewhere).unwrap();
    assert!(matches!(open(&elsewhere), Err(OpenError::NotFound { .. })));
    assert!(!gone.exists(), "a removed snapshot's plaintext is left");
    let gone = make(&elsewhere, &memory).unwrap().payload_dir();
    fs::remove_dir_all(&elsewhere).unwrap();
    open(&dir).unwrap();
    assert!(!gone.exists(), "a removed snapshot's plaintext is left");
    // Replaced by a plain snapshot: its commit removes the copy.
    let gone = make(&elsewhere, &memory).unwrap().payload_dir();
    set(ENCRYPT_KEY_ENV, None);
    make(&elsewhere, &memory).unwrap();
    assert!(!gone.exists(), "a replaced snapshot's plaintext is left");
    set(ENCRYPT_KEY_ENV, Some(&key));
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 1);

    // Without the key, with another, and a plain snapshot with a key.
    set(ENCRYPT_KEY_ENV, None);
    match open(&dir) {
        Err(err @ OpenError::Encrypted { .. }) => {
            assert!(
                err.to_string().contains("give its key (--encrypt-key FILE"),
                "{err}"
            );
        }
        other => panic!("{other:?}"),
    }
    let plain = tmp.path().join("plain-snap");
    make(&plain, &memory).unwrap();
    set(ENCRYPT_KEY_ENV, Some(&other_key));
    assert!(matches!(
        open(&dir),
        Err(OpenError::WrongEncryptionKey { .. })
    ));
    assert!(matches!(open(&plain), Err(OpenError::NotEncrypted { .. })));

    // A cache others may enter is refused, not used.
    set(ENCRYPT_KEY_ENV, Some(&key));
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o755)).unwrap();
    match open(&dir) {
        Err(err @ OpenError::PlainCache { .. }) => {
            assert!(
                err.to_string().contains("that no one else may enter"),
                "{err}"
            );
        }
        other => panic!("{other:?}"),
    }
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o700)).unwrap();
    open(&dir).unwrap();

    // A key that cannot be a key is named, writing and opening.
    let short = tmp.path().join("short-key");
    fs::write(&short, [1u8; 16]).unwrap();
    set(ENCRYPT_KEY_ENV, Some(&short));
    let message = match open(&dir) {
        Err(OpenError::EncryptionKey(err @ KeyError::TooShort { len: 16, .. })) => err.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(message.starts_with("the encryption key "), "{message}");
    assert!(
        message.contains("(SNAP_ENCRYPT_KEY) has 16 bytes"),
        "{message}"
    );
    assert!(matches!(
        make(&tmp.path().join("never"), b"x"),
        Err(CreateError::EncryptionKey(KeyError::TooShort { .. }))
    ));
    assert!(!tmp.path().join("never").exists());
    set(ENCRYPT_KEY_ENV, None);
    set(PLAIN_CACHE_ENV, None);
}
