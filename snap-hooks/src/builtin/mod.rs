//! The built-in hooks, registered in every process that uses the global
//! registry: nothing random survives a restore unchanged.
//!
//! | source | what happens after a restore |
//! |---|---|
//! | [`instance_id`] | a new 128-bit id from the kernel |
//! | [`RandomState`] | maps built after the restore get new keys |
//! | `rand`'s thread RNG | reseeded from the kernel on the thread that runs the phase (and, under the Lambda adapter, on every Tokio worker) |
//! | glibc's resolver | `/etc/resolv.conf` is read again ([`crate::dns`]) |
//!
//! What cannot be reached from here is listed in `docs/hooks.md`, with a
//! way to find it.

mod hash;
mod identity;
#[cfg(feature = "rand")]
mod rng;

pub use hash::RandomState;
pub use identity::instance_id;
#[cfg(feature = "rand")]
pub use rng::{reseed_runtime_workers, reseed_thread_rng};

use crate::hook::Hook;
use crate::registry::Registry;

/// The priority of the built-ins: they run before every user hook after a
/// restore, so user hooks already see fresh ids and RNGs.
pub const BUILTIN_PRIORITY: i32 = i32::MAX;

/// Registers the built-ins into `registry`.
pub(crate) fn register(registry: &Registry) {
    let hooks = [
        Hook::new("snap.instance-id")
            .priority(BUILTIN_PRIORITY)
            .after_restore_inline(|| identity::renew().map_err(Into::into)),
        Hook::new("snap.random-state")
            .priority(BUILTIN_PRIORITY)
            .after_restore_inline(|| hash::reseed().map_err(Into::into)),
        #[cfg(feature = "rand")]
        Hook::new("snap.thread-rng")
            .priority(BUILTIN_PRIORITY)
            .after_restore_inline(|| reseed_thread_rng().map_err(Into::into)),
        Hook::new("snap.resolver")
            .priority(BUILTIN_PRIORITY)
            .after_restore_inline(|| crate::sys::res_init().map_err(Into::into)),
    ];
    for hook in hooks {
        if let Err(e) = registry.register(hook) {
            tracing::error!(%e, "cannot register a built-in hook");
        }
    }
}
