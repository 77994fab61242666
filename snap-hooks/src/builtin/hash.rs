//! A `BuildHasher` whose keys change after every restore.
//!
//! `std`'s `RandomState` draws its keys once per thread and then counts up
//! from them, so on a thread that existed at the snapshot every restored
//! instance builds maps with the same keys, and nothing outside `std` can
//! reach that thread-local. This one draws from a process-wide seed that the
//! built-in hook replaces after each restore.

use std::hash::{BuildHasher, DefaultHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static SEED0: AtomicU64 = AtomicU64::new(0);
static SEED1: AtomicU64 = AtomicU64::new(0);
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A drop-in for `std::collections::hash_map::RandomState` that is safe
/// across restores: `HashMap::with_hasher(snap_hooks::RandomState::new())`.
#[derive(Clone, Debug)]
pub struct RandomState {
    k0: u64,
    k1: u64,
}

impl RandomState {
    /// Keys for one map: the current seed, made distinct per map.
    pub fn new() -> Self {
        if SEED0.load(Ordering::Acquire) == 0 && SEED1.load(Ordering::Acquire) == 0 {
            let _ = reseed();
        }
        let n = COUNTER.fetch_add(1, Ordering::AcqRel);
        Self {
            k0: SEED0.load(Ordering::Acquire) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            k1: SEED1.load(Ordering::Acquire),
        }
    }
}

impl Default for RandomState {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for RandomState {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        // DefaultHasher's own keys are fixed; the secret goes in first.
        let mut hasher = DefaultHasher::new();
        hasher.write_u64(self.k0);
        hasher.write_u64(self.k1);
        hasher
    }
}

/// Draws a new seed from the kernel.
pub(super) fn reseed() -> std::io::Result<()> {
    let mut bytes = [0u8; 16];
    crate::sys::getrandom(&mut bytes)?;
    let [a, b] = [&bytes[..8], &bytes[8..]].map(|half| {
        let mut word = [0u8; 8];
        word.copy_from_slice(half);
        u64::from_ne_bytes(word) | 1
    });
    SEED0.store(a, Ordering::Release);
    SEED1.store(b, Ordering::Release);
    Ok(())
}
