//! rust-heavy-init: a Lambda function whose init does real work (an index of
//! every prime below 40 million, about a quarter of a second), snapshotted by
//! snap's native engine so restored instances skip it.
//!
//! The pattern for async Rust under the native engine: do init without a
//! runtime (or on one that is shut down before the snapshot point), reach
//! `snap::lambda::snapshot_point()` with one thread and no sockets, then build
//! a fresh runtime and start the Lambda client after it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

const LIMIT: usize = 40_000_000;

/// What init builds: the primes below `LIMIT`, and for each gap size how
/// often it occurs and where it first does.
struct Index {
    primes: Vec<u32>,
    gaps: HashMap<u32, (u32, u32)>,
    built_ms: f64,
}

fn build_index() -> Index {
    let started = Instant::now();
    let mut composite = vec![false; LIMIT];
    let mut primes = Vec::new();
    for n in 2..LIMIT {
        if !composite[n] {
            primes.push(n as u32);
            let mut multiple = n * n;
            while multiple < LIMIT {
                composite[multiple] = true;
                multiple += n;
            }
        }
    }
    let mut gaps: HashMap<u32, (u32, u32)> = HashMap::new();
    for pair in primes.windows(2) {
        let entry = gaps.entry(pair[1] - pair[0]).or_insert((0, pair[0]));
        entry.0 += 1;
    }
    Index {
        primes,
        gaps,
        built_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

async fn handle(index: Arc<Index>, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let n = INVOCATIONS.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(ms) = event.payload.get("sleep_ms").and_then(Value::as_u64) {
        // A slow invocation; a test waits for this line to know it is in
        // flight.
        eprintln!("rust-heavy-init: sleeping {ms} ms");
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let query = event
        .payload
        .get("nth")
        .and_then(Value::as_u64)
        .unwrap_or(1000) as usize;
    let nth = index.primes.get(query.saturating_sub(1)).copied();
    let gap = event
        .payload
        .get("gap")
        .and_then(Value::as_u64)
        .unwrap_or(2) as u32;
    Ok(json!({
        "nth_prime": nth,
        "gap": gap,
        "gap_count": index.gaps.get(&gap).map(|g| g.0),
        "gap_first": index.gaps.get(&gap).map(|g| g.1),
        "primes": index.primes.len(),
        "init_ms": index.built_ms,
        "invocations": n,
        "generation": snap::generation(),
        "pid": std::process::id(),
        "instance_id": format!("{:032x}", snap_hooks::instance_id()),
    }))
}

/// Hooks that fail on request, to show how failures reach snaprun:
/// `RUST_HEAVY_INIT_FAIL_BEFORE_SNAPSHOT=1` / `RUST_HEAVY_INIT_FAIL_AFTER_RESTORE=1`.
fn register_failing_hooks() -> Result<(), snap_hooks::RegisterError> {
    let asked = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
    if asked("RUST_HEAVY_INIT_FAIL_BEFORE_SNAPSHOT") {
        snap_hooks::before_checkpoint("flush-index", || {
            Err(std::io::Error::other("failed on request"))
        })?;
    }
    // Read in the restored process, whose environment is the restoring one.
    // Async, because it does not block: a sync hook runs on a thread of its
    // own, and starting and joining that thread costs a restore about 0.4 ms.
    snap_hooks::after_restore_async("reopen-index", move || async move {
        if asked("RUST_HEAVY_INIT_FAIL_AFTER_RESTORE") {
            return Err(std::io::Error::other("failed on request"));
        }
        Ok(())
    })
}

fn main() {
    // First thing: a fixed layout, and a restore when one is asked for.
    snap::init();
    if let Err(err) = run() {
        eprintln!("rust-heavy-init: {err}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let index = build_index();
    eprintln!(
        "rust-heavy-init: init indexed {} primes below {LIMIT} in {:.0} ms",
        index.primes.len(),
        index.built_ms
    );
    let index = Arc::new(index);
    // Hooks around the snapshot point; the built-ins renew the instance id
    // (drawn here, at init, so the snapshot holds it) after every restore.
    snap_hooks::install();
    let _ = snap_hooks::instance_id();
    register_failing_hooks()?;
    match snap::lambda::snapshot_point()? {
        snap::lambda::Point::Cold => {}
        snap::lambda::Point::Restored(ctx) => {
            eprintln!("rust-heavy-init: restored (generation {})", ctx.generation);
        }
    }
    // A runtime born after the snapshot point: nothing of it was snapshotted.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(move |event| {
        handle(Arc::clone(&index), event)
    })))
}
