//! What every engine has in common.

use std::error::Error;
use std::path::Path;

use crate::snapshot::{Expect, HostRule, Identity, Snapshot};

/// A way of turning a running program into a [`Snapshot`] and back.
///
/// An engine writes only through [`crate::SnapshotWriter`] and reads only
/// snapshots that [`Snapshot::open`] has validated; the format layer knows
/// nothing of the engine's state beyond its name and an opaque byte string.
pub trait Engine {
    /// The name recorded in manifests; a snapshot is only restored by the
    /// engine that wrote it.
    const NAME: &'static str;
    /// How far this engine's snapshots may travel between hosts.
    const HOST_RULE: HostRule;

    /// What a checkpoint takes (for CRIU, a running process tree).
    type Target: ?Sized;
    /// How a checkpoint is taken.
    type CheckpointOptions;
    /// How a restore is set up.
    type RestoreOptions;
    /// A restored instance.
    type Restored;
    /// Why a checkpoint failed.
    type CheckpointError: Error + Send + Sync + 'static;
    /// Why a restore failed.
    type RestoreError: Error + Send + Sync + 'static;

    /// Checkpoints `target` into a new snapshot at `dest`.
    fn checkpoint(
        &self,
        target: &Self::Target,
        dest: &Path,
        options: &Self::CheckpointOptions,
    ) -> Result<Snapshot, Self::CheckpointError>;

    /// Starts one instance from `snapshot`. May be called many times, also
    /// from several threads at once.
    fn restore(
        &self,
        snapshot: &Snapshot,
        options: Self::RestoreOptions,
    ) -> Result<Self::Restored, Self::RestoreError>;

    /// What to require when opening a snapshot for this engine.
    fn requirements<'a>(identity: Option<&'a Identity>) -> Expect<'a> {
        Expect {
            engine: Some(Self::NAME),
            identity,
            host: Self::HOST_RULE,
        }
    }
}

/// The name the native engine records in manifests.
pub const NATIVE: &str = "native";

/// The name the CRIU engine records in manifests.
pub const CRIU: &str = "criu";

/// How far a native snapshot may travel: to the same kernel only, since a
/// restore relies on the exact vDSO it was taken with.
pub const NATIVE_HOST_RULE: HostRule = HostRule::SameKernel;

/// How far a CRIU snapshot may travel: CRIU adapts to another kernel of
/// the same architecture.
pub const CRIU_HOST_RULE: HostRule = HostRule::SameArch;

/// How far a snapshot written by the engine named `name` may travel; the
/// strictest rule for a name no engine here has.
pub fn host_rule(name: &str) -> HostRule {
    match name {
        CRIU => CRIU_HOST_RULE,
        _ => NATIVE_HOST_RULE,
    }
}
