//! A unique id per instance, renewed after every restore.

use std::sync::atomic::{AtomicU64, Ordering};

static HIGH: AtomicU64 = AtomicU64::new(0);
static LOW: AtomicU64 = AtomicU64::new(0);

/// This instance's id: 128 bits from the kernel, drawn at first use and
/// again after every restore, so no two restored instances share one.
pub fn instance_id() -> u128 {
    let (mut high, mut low) = (HIGH.load(Ordering::Acquire), LOW.load(Ordering::Acquire));
    if high == 0 && low == 0 {
        if renew().is_err() {
            return 0;
        }
        (high, low) = (HIGH.load(Ordering::Acquire), LOW.load(Ordering::Acquire));
    }
    (u128::from(high) << 64) | u128::from(low)
}

pub(super) fn renew() -> std::io::Result<()> {
    let mut bytes = [0u8; 16];
    crate::sys::getrandom(&mut bytes)?;
    let id = u128::from_ne_bytes(bytes) | 1; // never 0, which means "unset"
    HIGH.store((id >> 64) as u64, Ordering::Release);
    LOW.store(id as u64, Ordering::Release);
    Ok(())
}
