//! rust-s3, plain: an S3 `GetObject` per invocation through an
//! `aws_sdk_s3::Client` built at init, written the way the AWS SDK for
//! Rust's own examples write a Lambda function (`#[tokio::main]`, the config
//! loaded from the environment, `lambda_runtime::run`). It runs unchanged
//! under `snaprun run --engine none` and `--engine criu`; `src/native.rs` is
//! the same function under the native engine.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rust_s3::{Served, prime, s3_client, serve};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let client = s3_client(&config);
    prime(&client).await;
    let served = Served::default();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        serve(&client, &served, event)
    }))
    .await
}
