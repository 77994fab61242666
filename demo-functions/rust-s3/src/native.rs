//! rust-s3 under snap's native engine: the function of `src/main.rs` with
//! the least change that lets it be restored in-process.
//!
//! - `#[tokio::main]` becomes [`snap::tokio::run`]: the async init (the
//!   config, a first request) runs on a runtime that is shut down before
//!   the snapshot point, and the multi-threaded runtime that serves is built
//!   after it.
//! - The S3 client is built after the snapshot point, in every restored
//!   instance, so no connection or runtime handle crosses the snapshot. The
//!   loaded config does: its region, endpoint settings and credential chain
//!   are what init paid for.
//! - [`snap_hooks::aws::fresh_credentials`] gives the config a new credential
//!   cache, so a restored instance signs with the credentials of the
//!   environment it was restored in, never with those cached at init.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rust_s3::{Served, prime, s3_client, serve};
use serde_json::Value;

fn main() -> Result<(), Error> {
    snap::init();
    snap::tokio::run(
        tokio::runtime::Builder::new_multi_thread(),
        async {
            let config = aws_config::load_from_env().await;
            // Warmed with a client of its own, dropped (with its pooled
            // connection) before the snapshot point.
            prime(&s3_client(&config)).await;
            config
        },
        |config, _point| async move {
            let config = match std::env::var_os("RUST_S3_STALE_CREDENTIALS") {
                // For tests/run_rust_s3.rs: the config as it crossed the
                // snapshot, which signs with the credentials init cached.
                Some(_) => config,
                None => snap_hooks::aws::fresh_credentials(&config),
            };
            let client = s3_client(&config);
            let served = Served::default();
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
                serve(&client, &served, event)
            }))
            .await
        },
    )?
}
