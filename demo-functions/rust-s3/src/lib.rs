//! What rust-s3's two bootstraps share: the S3 client's settings and the
//! handler. `src/main.rs` is the function as users write it; `src/native.rs`
//! is the same function under snap's native engine.
//!
//! Event fields (all optional):
//! - `bucket`: the bucket to read (default `$DEMO_BUCKET`, then `snap-demo`);
//! - `key`: the key to read (default `hello.txt`);
//! - `fail`: return an error.
//!
//! `S3_ENDPOINT` points the client at an S3-compatible server (path-style
//! addressing), as for the node-s3 and js-s3 demos.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};

/// The S3 client for `config`, pointed at `$S3_ENDPOINT` if it is set.
pub fn s3_client(config: &SdkConfig) -> Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(config);
    if let Some(endpoint) = std::env::var("S3_ENDPOINT").ok().filter(|e| !e.is_empty()) {
        s3 = s3.endpoint_url(endpoint).force_path_style(true);
    }
    Client::from_conf(s3.build())
}

fn default_bucket() -> String {
    std::env::var("DEMO_BUCKET").unwrap_or_else(|_| "snap-demo".to_owned())
}

/// One `GetObject`, its body read whole.
async fn get_object(client: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
    let out = client.get_object().bucket(bucket).key(key).send().await?;
    Ok(out.body.collect().await?.into_bytes().to_vec())
}

/// A warm-up at init, as js-s3 has: credentials, endpoint rules, signing
/// and the connection run once against the real endpoint. A failure is only
/// logged: a missing object or endpoint does not fail init.
pub async fn prime(client: &Client) {
    let key = std::env::var("DEMO_PRIME_KEY").unwrap_or_else(|_| "hello.txt".to_owned());
    if let Err(err) = get_object(client, &default_bucket(), &key).await {
        eprintln!("rust-s3: prime failed (ignored): {}", error_chain(&*err));
    }
}

/// How many invocations this instance has served.
#[derive(Debug, Default)]
pub struct Served(AtomicU64);

/// The handler: reads the event's object and answers with it.
pub async fn serve(
    client: &Client,
    served: &Served,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let invocations = served.0.fetch_add(1, Ordering::SeqCst) + 1;
    let payload = &event.payload;
    if payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("failure requested by the event (fail: true)".into());
    }
    let bucket = payload
        .get("bucket")
        .and_then(Value::as_str)
        .map_or_else(default_bucket, str::to_owned);
    let key = payload
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or("hello.txt");
    let started = Instant::now();
    let bytes = get_object(client, &bucket, key)
        .await
        .map_err(|err| format!("GetObject s3://{bucket}/{key}: {}", error_chain(&*err)))?;
    Ok(json!({
        "body": String::from_utf8_lossy(&bytes),
        "bytes": bytes.len(),
        "requestId": event.context.request_id,
        "invocations": invocations,
        "pid": std::process::id(),
        "bucket": bucket,
        "key": key,
        "getObjectMs": started.elapsed().as_secs_f64() * 1e3,
    }))
}

/// An error and its causes on one line: the SDK's own `Display` says only
/// "service error" or "dispatch failure".
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}
