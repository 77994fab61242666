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
    /// Environment variables recorded by default because they change what a
    /// function's init does.
    pub const RELEVANT_ENV: &'static [&'static str] = &[
        "_HANDLER",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "LAMBDA_TASK_ROOT",
        "NODE_OPTIONS",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "GLIBC_TUNABLES",
    ];

    /// Variables whose values are secrets by default: never written into a
    /// manifest ([`Self::redacted`]). `SNAP_SECRET_ENV` (names separated by
    /// commas) replaces the list.
    pub const SECRET_ENV: &'static [&'static str] = &[
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ];

    /// The variable that names the secret variables, replacing
    /// [`Self::SECRET_ENV`].
    pub const SECRET_ENV_VAR: &'static str = "SNAP_SECRET_ENV";

    /// This identity as a manifest records it: the value of every secret
    /// variable (see [`Self::SECRET_ENV`]) replaced by its sha256, so a
    /// changed secret still tells two identities apart but the secret is
    /// not on disk.
    pub fn redacted(&self) -> Self {
        let configured = std::env::var(Self::SECRET_ENV_VAR).ok();
        let secret = |name: &str| match &configured {
            Some(list) => list.split(',').any(|n| n.trim() == name),
            None => Self::SECRET_ENV.contains(&name),
        };
        let mut out = self.clone();
        for (name, value) in &mut out.env {
            if secret(name) && !value.starts_with(REDACTED) {
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

    /// The identity of running `program` with `args` and `env`; only the
    /// variables in [`Self::RELEVANT_ENV`] are kept.
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
            env: relevant(env),
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
            env: relevant(env),
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

fn relevant(env: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut env: Vec<_> = env
        .into_iter()
        .filter(|(k, _)| Identity::RELEVANT_ENV.contains(&k.as_str()))
        .collect();
    env.sort();
    env
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
}
