//! `rand`'s thread RNG. Each thread has its own, seeded once from the
//! kernel and then only every 64 KiB of output, so every instance restored
//! from one snapshot would continue the same stream. A thread's RNG can only
//! be reseeded from that thread.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Reseeds the calling thread's `rand::rng()` from the kernel.
pub fn reseed_thread_rng() -> Result<(), rand::rand_core::OsError> {
    rand::rng().reseed()
}

/// Reseeds the thread RNG of every worker thread of the current Tokio
/// runtime: one task per worker, each held until all have started so no
/// worker runs two of them. Returns how many distinct worker threads were
/// reseeded; workers busy for longer than `patience` are missed (and logged).
pub async fn reseed_runtime_workers(patience: Duration) -> usize {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return 0;
    };
    let workers = handle.metrics().num_workers();
    let gate = Arc::new((Mutex::new(0usize), Condvar::new()));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let gate = Arc::clone(&gate);
            handle.spawn(async move {
                let reseeded = reseed_thread_rng()
                    .is_ok()
                    .then(|| std::thread::current().id());
                let (arrived, all) = &*gate;
                let mut n = arrived.lock().unwrap_or_else(PoisonError::into_inner);
                *n += 1;
                all.notify_all();
                let deadline = std::time::Instant::now() + patience;
                while *n < workers {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    n = all
                        .wait_timeout(n, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                reseeded
            })
        })
        .collect();
    let mut threads = std::collections::HashSet::new();
    for task in tasks {
        if let Ok(Some(thread)) = task.await {
            threads.insert(thread);
        }
    }
    let reached = threads.len();
    if reached < workers {
        tracing::warn!(
            reached,
            workers,
            "some runtime workers' thread RNGs were not reseeded"
        );
    }
    reached
}
