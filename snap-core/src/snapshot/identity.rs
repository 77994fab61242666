//! The identity of what a snapshot holds: the program, its arguments and the
//! environment that shapes its init.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};

use super::OpenError;
use crate::Sha256Digest;

/// What was snapshotted. Two runs with equal identities may share a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Identity {
    /// Absolute path of the executable.
    pub bootstrap: String,
    /// SHA-256 of the executable's contents.
    pub bootstrap_sha256: Sha256Digest,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// The environment variables that shape init, sorted by name.
    pub env: Vec<(String, String)>,
}

impl Identity {
    /// The variables that never count: the plumbing a snaprun or a
    /// restore sets per run, which differs between the run that made a
    /// snapshot and the ones that use it without shaping init (the
    /// instance's Runtime API address, the files a native bootstrap is
    /// told to write, the mark of its own re-exec for a fixed layout), the
    /// settings of how snapshots are made (which CRIU, where it logs), and
    /// those of how they are kept and checked (keys, caches), which opening
    /// checks by itself. Every other
    /// variable the bootstrap sees counts: see [`Self::counts`].
    pub const IGNORED_ENV: &'static [&'static str] = &[
        "AWS_LAMBDA_RUNTIME_API",
        "SNAP_NATIVE_SNAPSHOT",
        "SNAP_NATIVE_INIT_ERROR",
        "SNAP_RESTORE_FROM",
        "SNAP_RESTORE_GATE",
        "SNAP_RESTORE_TIMING",
        "SNAP_WORKING_SET",
        "SNAP_FIXED_LAYOUT_REEXEC",
        "SNAP_CRIU_HELPER",
        "SNAP_CRIU",
        "SNAP_CRIU_LOG_LEVEL",
        "SNAP_LOG_DIR",
        "SNAP_SIGNING_KEY",
        "SNAP_ENCRYPT_KEY",
        "SNAP_PLAIN_CACHE",
        "SNAP_VERIFY_CACHE",
        "SNAP_SECRET_ENV",
    ];

    /// Whether the variable `name` is part of an identity: every variable
    /// but [`Self::IGNORED_ENV`]. A bootstrap's init may read any variable
    /// it is given, so a snapshot made under one value is never used under
    /// another.
    pub fn counts(name: &str) -> bool {
        !Self::IGNORED_ENV.contains(&name)
    }

    /// Variables whose values are secrets by default: never written into a
    /// manifest ([`Self::redacted`]), together with every variable whose
    /// name contains one of [`Self::SECRET_WORDS`]. `SNAP_SECRET_ENV`
    /// (names separated by commas) replaces both.
    pub const SECRET_ENV: &'static [&'static str] = &[
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ];

    /// Parts of a variable's name that make its value a secret by default
    /// (compared without case): `DB_PASSWORD`, `GITHUB_TOKEN`,
    /// `STRIPE_API_KEY`.
    pub const SECRET_WORDS: &'static [&'static str] = &[
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "API_KEY",
        "ACCESS_KEY",
    ];

    /// Whether the value of the variable `name` is a secret, kept in
    /// manifests only as its digest.
    pub fn is_secret(name: &str) -> bool {
        match std::env::var(Self::SECRET_ENV_VAR) {
            Ok(list) => list.split(',').any(|n| n.trim() == name),
            Err(_) => {
                let upper = name.to_ascii_uppercase();
                Self::SECRET_ENV.contains(&name)
                    || Self::SECRET_WORDS.iter().any(|word| upper.contains(word))
            }
        }
    }

    /// The variable that names the secret variables, replacing
    /// [`Self::SECRET_ENV`].
    pub const SECRET_ENV_VAR: &'static str = "SNAP_SECRET_ENV";

    /// This identity as a manifest records it: the value of every secret
    /// variable (see [`Self::SECRET_ENV`]) replaced by its sha256, so a
    /// changed secret still tells two identities apart but the secret is
    /// not on disk.
    pub fn redacted(&self) -> Self {
        let mut out = self.clone();
        for (name, value) in &mut out.env {
            if Self::is_secret(name) && !value.starts_with(REDACTED) {
                *value = format!("{REDACTED}{}", Sha256Digest::of(value.as_bytes()));
            }
        }
        out
    }

    /// A digest of this identity as a manifest records it ([`Self::redacted`]):
    /// equal for two identities exactly when a snapshot of one may serve the
    /// other. Stores name snapshots by it.
    pub fn digest(&self) -> Sha256Digest {
        // Encoding owned strings and vectors into a Vec cannot fail.
        let encoded = bincode::encode_to_vec(self.redacted(), bincode::config::standard())
            .unwrap_or_default();
        Sha256Digest::of(&encoded)
    }

    /// The identity of running `program` with `args` and `env`: every
    /// variable that [`Self::counts`] is kept.
    pub fn of_command(
        program: &Path,
        args: &[String],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> io::Result<Self> {
        let program = fs::canonicalize(program)?;
        let (bootstrap_sha256, _) = Sha256Digest::of_file(&program)?;
        Ok(Self {
            bootstrap: program.to_string_lossy().into_owned(),
            bootstrap_sha256,
            args: args.to_vec(),
            env: counted(env),
        })
    }

    /// The identity of the running process `pid`, read from `/proc`.
    pub fn of_process(pid: i32) -> io::Result<Self> {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let exe = fs::read_link(proc.join("exe"))?;
        // Hash through /proc so a replaced or deleted binary is hashed as run.
        let (bootstrap_sha256, _) = Sha256Digest::of_file(&proc.join("exe"))?;
        let args = split_nul(&fs::read(proc.join("cmdline"))?)
            .into_iter()
            .skip(1)
            .collect();
        let env = split_nul(&fs::read(proc.join("environ"))?)
            .into_iter()
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                Some((k.to_owned(), v.to_owned()))
            });
        Ok(Self {
            bootstrap: exe.to_string_lossy().into_owned(),
            bootstrap_sha256,
            args,
            env: counted(env),
        })
    }

    /// Checks that `self` (from a snapshot) is `expected`, naming the first
    /// field that differs.
    pub fn require(&self, expected: &Identity) -> Result<(), OpenError> {
        let mismatch = |field, found: String, expected: String| {
            Err(OpenError::IdentityMismatch {
                field,
                found,
                expected,
            })
        };
        if self.bootstrap != expected.bootstrap {
            return mismatch(
                "bootstrap",
                self.bootstrap.clone(),
                expected.bootstrap.clone(),
            );
        }
        if self.bootstrap_sha256 != expected.bootstrap_sha256 {
            return mismatch(
                "bootstrap sha256",
                self.bootstrap_sha256.to_string(),
                expected.bootstrap_sha256.to_string(),
            );
        }
        if self.args != expected.args {
            return mismatch(
                "args",
                format!("{:?}", self.args),
                format!("{:?}", expected.args),
            );
        }
        let expected_env = expected.redacted().env;
        if self.redacted().env != expected_env {
            return mismatch(
                "environment",
                format!("{:?}", self.redacted().env),
                format!("{expected_env:?}"),
            );
        }
        Ok(())
    }
}

/// What a redacted value starts with.
const REDACTED: &str = "secret, sha256:";

/// The variables of `env` that count, sorted by name, each once (the last
/// value given wins, as in a process's environment built from the list).
fn counted(env: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let map: std::collections::BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| Identity::counts(k))
        .collect();
    map.into_iter().collect()
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recorded_as_digests_that_still_tell_them_apart() {
        let identity = |secret: &str| Identity {
            bootstrap: "/bin/true".into(),
            bootstrap_sha256: Sha256Digest::of(b""),
            args: Vec::new(),
            env: vec![
                ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
                ("_HANDLER".into(), "index.handler".into()),
            ],
        };
        let recorded = identity("hunter2").redacted();
        let text = format!("{recorded:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("secret, sha256:"), "{text}");
        assert!(text.contains("index.handler"), "not a secret: {text}");
        // Redacting twice changes nothing; the same secret still matches.
        assert_eq!(recorded.redacted(), recorded);
        assert!(recorded.require(&identity("hunter2")).is_ok());
        assert!(recorded.require(&identity("another")).is_err());
    }

    #[test]
    fn own_process_identity() {
        let me = Identity::of_process(std::process::id() as i32).unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(Path::new(&me.bootstrap), exe);
        assert_eq!(me.bootstrap_sha256, Sha256Digest::of_file(&exe).unwrap().0);
    }

    #[test]
    fn require_names_the_field() {
        let a = Identity {
            bootstrap: "/bin/x".into(),
            bootstrap_sha256: Sha256Digest([1; 32]),
            args: vec!["a".into()],
            env: vec![("_HANDLER".into(), "index.handler".into())],
        };
        let mut b = a.clone();
        b.args.push("b".into());
        match a.require(&b) {
            Err(OpenError::IdentityMismatch { field, .. }) => assert_eq!(field, "args"),
            other => panic!("{other:?}"),
        }
        let mut c = a.clone();
        c.env[0].1 = "other.handler".into();
        match a.require(&c) {
            Err(OpenError::IdentityMismatch { field, .. }) => assert_eq!(field, "environment"),
            other => panic!("{other:?}"),
        }
        assert!(a.require(&a.clone()).is_ok());
    }

    #[test]
    fn every_variable_counts_but_the_per_run_plumbing() {
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let of = |pairs: &[(&str, &str)]| {
            Identity::of_command(Path::new("/bin/sh"), &[], env(pairs)).unwrap()
        };
        let base = of(&[("HOME", "/root"), ("SOME_SETTING", "1")]);
        assert_eq!(
            base.env,
            env(&[("HOME", "/root"), ("SOME_SETTING", "1")]),
            "every variable given is kept, sorted"
        );
        assert!(
            base.require(&of(&[("HOME", "/root"), ("SOME_SETTING", "2")]))
                .is_err(),
            "a changed variable is another identity"
        );
        assert!(
            base.require(&of(&[("HOME", "/root")])).is_err(),
            "a removed variable is another identity"
        );
        // What differs per run, or is checked elsewhere, does not count.
        let plumbing = of(&[
            ("HOME", "/root"),
            ("SOME_SETTING", "1"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:4567"),
            ("SNAP_NATIVE_INIT_ERROR", "/tmp/x.init-error.json"),
            ("SNAP_SIGNING_KEY", "/etc/key"),
            ("SNAP_FIXED_LAYOUT_REEXEC", "1"),
        ]);
        assert!(base.require(&plumbing).is_ok(), "{plumbing:?}");
        // A later value of a repeated name wins, as in the environment.
        assert_eq!(of(&[("A", "1"), ("A", "2")]).env, env(&[("A", "2")]));
    }

    #[test]
    fn secrets_are_found_by_their_names() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "DB_PASSWORD",
            "github_token",
            "STRIPE_API_KEY",
            "TLS_PRIVATE_KEY",
        ] {
            assert!(Identity::is_secret(name), "{name}");
        }
        for name in ["HOME", "PATH", "_HANDLER", "LOG_LEVEL", "KEYSPACE"] {
            assert!(!Identity::is_secret(name), "{name}");
        }
    }
}
