//! The two sides of [`checkpoint`](crate::checkpoint()): what the call
//! returns in the process that wrote the snapshot and in every process
//! restored from it, and what a restoring invocation hands the restored one.
//!
//! Every engine behind `checkpoint` builds its restored side from here, so
//! the restored process sees the same thing whichever engine took it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bincode::{Decode, Encode};

/// The variable that asks [`init`](crate::init()) to restore: the snapshot
/// directory.
pub const RESTORE_ENV: &str = "SNAP_RESTORE_FROM";

/// Set to [`GATE_STDIN`] beside [`RESTORE_ENV`] to start a native restore
/// ahead of need: it prepares everything that leaves the process's memory
/// alone, then waits for one byte on standard input before it restores, and
/// is called off (exit status [`RESTORE_FAILED`], silently) if standard
/// input closes first. The restored side's environment does not have it.
pub const RESTORE_GATE_ENV: &str = "SNAP_RESTORE_GATE";

/// The only value [`RESTORE_GATE_ENV`] takes: the gate is standard input.
pub const GATE_STDIN: &str = "stdin";

/// Exit status of a process whose restore failed in
/// [`init`](crate::init()).
pub const RESTORE_FAILED: i32 = 75;

/// Which side of [`checkpoint`](crate::checkpoint()) this is.
#[derive(Debug)]
pub enum Resumed {
    /// The process that wrote the snapshot.
    Checkpointed(Box<crate::Snapshot>),
    /// A process restored from it.
    Restored(RestoreContext),
}

/// What the restoring invocation brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreContext {
    /// The restoring process's arguments (argv[0] first).
    pub args: Vec<String>,
    /// Its environment; it has also replaced this process's environment.
    pub env: Vec<(String, String)>,
    /// [`generation`] after this restore.
    pub generation: u64,
    /// The snapshot it came from.
    pub snapshot: PathBuf,
}

/// Which way a checkpoint came back, as hooks see it (no payload: see
/// [`Resumed`] for the call's own result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeKind {
    /// This process was restored from a snapshot.
    Restored,
    /// This process took the snapshot and carries on (as CRaC notifies
    /// resources after a checkpoint too).
    Checkpointed,
    /// The checkpoint failed after the before-checkpoint hooks ran; the
    /// process carries on as it was and no snapshot exists.
    Aborted,
}

/// How many restores this process's memory has been through.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many times this process's memory has been restored: 0 in a process
/// that never was, 1 after the first restore, and so on. Libraries can poll
/// it to notice a restore (and reseed, reconnect, ...).
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// What a restoring invocation passes into the restored process, whichever
/// engine carries it (the native restorer's plan area, CRIU's resume pipe).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(crate) struct RestoreRequest {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) snapshot: String,
}

/// The most bytes a [`RestoreRequest`] may take when decoded.
const REQUEST_LIMIT: usize = 1 << 20;

/// Why a [`RestoreRequest`] could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The bytes do not decode.
    #[error("the restore request does not decode")]
    Decode(#[source] bincode::error::DecodeError),
    /// The request does not encode.
    #[error("the restore request does not encode")]
    Encode(#[source] bincode::error::EncodeError),
}

impl RestoreRequest {
    /// What this process was started with, minus the variables in `skip`.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    pub(crate) fn of_this_process(snapshot: &std::path::Path, skip: &[&str]) -> Self {
        Self {
            args: std::env::args().collect(),
            env: std::env::vars()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .collect(),
            snapshot: snapshot.display().to_string(),
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>, RequestError> {
        bincode::encode_to_vec(self, bincode::config::standard()).map_err(RequestError::Encode)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, RequestError> {
        let config = bincode::config::standard().with_limit::<REQUEST_LIMIT>();
        bincode::decode_from_slice::<Self, _>(bytes, config)
            .map(|(request, _)| request)
            .map_err(RequestError::Decode)
    }

    /// Turns this process into the restored side: its environment becomes
    /// the request's, its generation goes up by one.
    ///
    /// Call it on the thread that returned from the checkpoint, before
    /// anything else reads the environment.
    pub(crate) fn into_restored(self) -> RestoreContext {
        let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
        apply_env(&self.env);
        RestoreContext {
            args: self.args,
            env: self.env,
            generation,
            snapshot: self.snapshot.into(),
        }
    }
}

/// Replaces this process's environment with the restoring invocation's.
fn apply_env(env: &[(String, String)]) {
    let current: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for key in current {
        if !env.iter().any(|(k, _)| *k == key) {
            // SAFETY: a restored process runs this before anything else
            // reads the environment: right after the return from the
            // checkpoint call, on the thread that made it.
            unsafe { std::env::remove_var(&key) };
        }
    }
    for (k, v) in env {
        // SAFETY: as above.
        unsafe { std::env::set_var(k, v) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_garbage_is_refused() {
        let request = RestoreRequest {
            args: vec!["bootstrap".into()],
            env: vec![("K".into(), "V".into())],
            snapshot: "/snap".into(),
        };
        let bytes = request.encode().unwrap();
        assert_eq!(RestoreRequest::decode(&bytes).unwrap(), request);
        assert!(matches!(
            RestoreRequest::decode(&[0xff; 3]),
            Err(RequestError::Decode(_))
        ));
    }
}
