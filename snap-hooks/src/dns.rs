//! DNS after a restore. A restored instance may run on another network
//! (another host, another `/etc/resolv.conf`); cached answers and resolver
//! settings from the snapshot are stale.
//!
//! A built-in hook makes glibc read `/etc/resolv.conf` again. Resolvers
//! that cache answers themselves (hickory, a client's own cache) register
//! their cache-clearing call with [`invalidate_on_restore`].

use crate::error::{BoxError, RegisterError};
use crate::hook::Hook;

/// After every restore, calls `clear` to drop a DNS cache. Runs before user
/// hooks of priority 0, so rebuilt clients resolve afresh.
pub fn invalidate_on_restore<F, E>(name: impl Into<String>, clear: F) -> Result<(), RegisterError>
where
    F: Fn() -> Result<(), E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    crate::register(Hook::new(name).priority(1000).after_restore(clear))
}

/// Makes glibc re-read `/etc/resolv.conf` (for the calling thread).
pub fn reload_resolver() -> std::io::Result<()> {
    crate::sys::res_init()
}
