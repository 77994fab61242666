//! What snaprun adds to a warm invocation: the same event to the same kind
//! of running rust-hello instance, once through snaprun's front door (HTTP,
//! the queue, the pool, the Runtime API hand-off) and once straight into an
//! instance's Runtime API (the hand-off alone). No root needed; the demo
//! must be built (scripts/test.sh builds it).
//!
//! `cargo bench --bench warm` (about 15 s).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use snaprun::function::FunctionSpec;
use snaprun::instance::Instance;
use snaprun::pool::{self, Launcher};
use snaprun::runtime::FunctionConfig;

fn bench(c: &mut Criterion) {
    let bootstrap = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo-functions/rust-hello/target/release/bootstrap");
    if !bootstrap.is_file() {
        eprintln!(
            "warm: leaving it out: {} is not built (scripts/test.sh builds the demos)",
            bootstrap.display()
        );
        return;
    }
    let spec = FunctionSpec {
        bootstrap,
        args: Vec::new(),
        env: Vec::new(),
        config: FunctionConfig {
            name: "rust-hello".into(),
            memory_mb: 128,
            handler: "bootstrap".into(),
            timeout: Duration::from_secs(30),
        },
        init_timeout: Duration::from_secs(10),
    };
    let payload = Bytes::from_static(b"{\"name\":\"bench\"}");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // snaprun run --engine none --concurrency 1, on a loopback port.
    let (url, _pool) = runtime.block_on(async {
        let pool = pool::start(Launcher::Cold(spec.clone()), 1);
        let queue = pool.queue();
        let listener = snaprun::frontdoor::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(snaprun::frontdoor::serve(listener, queue));
        let url = format!("http://{addr}/2015-03-31/functions/function/invocations");
        (url, pool)
    });
    let agent = ureq::Agent::new_with_defaults();
    let post = || {
        let mut answer = agent.post(&url).send(&payload[..]).unwrap();
        answer.body_mut().read_to_string().unwrap()
    };
    // The first event waits for the instance's init.
    assert!(post().contains("bench"));

    let mut instance = runtime.block_on(Instance::cold(&spec)).unwrap();
    let mut group = c.benchmark_group("warm/rust-hello");
    group.bench_function("through the front door", |b| b.iter(post));
    group.bench_function("straight to the Runtime API", |b| {
        b.iter(|| {
            runtime
                .block_on(snaprun::bench::invoke(
                    &mut instance,
                    payload.clone(),
                    spec.config.timeout,
                ))
                .unwrap();
        });
    });
    group.finish();
    runtime.block_on(instance.kill());
    // Dropping the runtime drops the pool, whose instance is killed.
}

criterion_group!(benches, bench);
criterion_main!(benches);
