//! Random sources that a snapshot would otherwise copy into every restored
//! instance, and their reseeding after a restore.
//!
//! What each JS source draws from, with the `crypto-openssl` backend:
//! - `Math.random`: QuickJS's own xorshift state, seeded once from the
//!   clock, with no reseed API. snapjs replaces the function with one over
//!   `rand`'s thread RNG (below).
//! - `crypto.getRandomValues`, `crypto.randomUUID`, `crypto.randomBytes`,
//!   `crypto.randomFill*`, `crypto.randomInt` (llrt_crypto): `rand`'s thread
//!   RNG, a ChaCha generator in process memory. `rand` 0.10 does not reseed
//!   it on fork or restore, so snapjs calls `ThreadRng::reseed` (fresh
//!   getrandom(2) key) after every restore.
//! - `crypto.subtle.generateKey` (llrt_crypto's OpenSSL provider): OpenSSL's
//!   DRBGs, which reseed themselves when `getpid()` changes. A native
//!   restore is a fresh exec, so every restored instance has a new pid.
//!
//! `SNAPJS_RESEED=0` turns the reseeding off (for tests that show what it
//! prevents).

use rand::RngExt;
use rquickjs::{Ctx, Function, Object};

/// The variable that turns reseeding off when it is `0`.
pub(crate) const RESEED_ENV: &str = "SNAPJS_RESEED";

/// Replaces `Math.random` with a function over `rand`'s thread RNG.
pub(crate) fn install_math_random(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let math: Object = ctx.globals().get("Math")?;
    let random = Function::new(ctx.clone(), || rand::rng().random::<f64>())?.with_name("random")?;
    math.set("random", random)
}

/// Whether reseeding is on (the default).
pub(crate) fn enabled() -> bool {
    std::env::var(RESEED_ENV).map_or(true, |v| v != "0")
}

/// A reseed failed: getrandom(2) gave nothing.
#[derive(Debug, thiserror::Error)]
#[error("cannot reseed the thread RNG from getrandom")]
pub(crate) struct ReseedError(#[source] rand::rngs::SysError);

/// Gives this instance random state of its own: a fresh key for the thread
/// RNG behind `Math.random` and `crypto`.
pub(crate) fn after_restore() -> Result<(), ReseedError> {
    rand::rng().reseed().map_err(ReseedError)
}
