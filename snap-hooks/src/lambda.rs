//! Running the hooks in a `lambda_runtime` function, so functions the CRIU
//! engine snapshots (any process, no `snap::checkpoint` call) get them too.
//!
//! ```no_run
//! # async fn handler(_: lambda_runtime::LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, lambda_runtime::Error> { todo!() }
//! # async fn f() -> Result<(), lambda_runtime::Error> {
//! lambda_runtime::Runtime::new(lambda_runtime::service_fn(handler))
//!     .register_snapstart_resource(snap_hooks::lambda::resource())
//!     .run()
//!     .await
//! # }
//! ```
//!
//! `lambda_runtime` reports a failing resource with an `errorType` made from
//! a Rust type name. This adapter posts the failure first, with the type the
//! Runtime API defines (`Runtime.BeforeSnapshotError`,
//! `Runtime.AfterRestoreError`, `Runtime.RestoreHookUserTimeout`); the
//! crate's own report that follows is refused by a conforming server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_runtime::{BoxFuture, Error, SnapStartResource};

use crate::error::PhaseError;
use crate::registry::{Registry, global};
use crate::resume::Resume;

/// The [`SnapStartResource`] that runs a registry's hooks. Register it
/// first, so `lambda_runtime` runs it last before the snapshot and first
/// after the restore.
#[derive(Debug)]
pub struct Hooks {
    registry: &'static Registry,
    restores: AtomicU64,
}

/// The resource for the global registry.
pub fn resource() -> Arc<Hooks> {
    Arc::new(Hooks {
        registry: global(),
        restores: AtomicU64::new(0),
    })
}

impl SnapStartResource for Hooks {
    fn before_snapshot(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            match self.registry.run_before_checkpoint_async().await {
                Ok(ran) => {
                    tracing::info!(hooks = ?ran.hooks, "before-checkpoint hooks done");
                    Ok(())
                }
                Err(e) => Err(report("init/error", e).await),
            }
        })
    }

    fn after_restore(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            #[cfg(feature = "rand")]
            crate::reseed_runtime_workers(Duration::from_millis(500)).await;
            let generation = self.restores.fetch_add(1, Ordering::AcqRel) + 1;
            match self
                .registry
                .run_after_restore_async(Resume::restored(generation))
                .await
            {
                Ok(ran) => {
                    tracing::info!(hooks = ?ran.hooks, "after-restore hooks done");
                    Ok(())
                }
                Err(e) => Err(report("restore/error", e).await),
            }
        })
    }
}

/// Posts `error` to the Runtime API's `endpoint` with its proper type.
async fn report(endpoint: &'static str, error: PhaseError) -> Error {
    let error_type = error.error_type();
    let message = error.to_string();
    let posted = tokio::task::spawn_blocking(move || post(endpoint, error_type, &message)).await;
    match posted {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(%e, "cannot post /runtime/{endpoint}"),
        Err(e) => tracing::error!(%e, "cannot post /runtime/{endpoint}"),
    }
    Box::new(error)
}

fn post(endpoint: &str, error_type: &str, message: &str) -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| std::io::Error::other("AWS_LAMBDA_RUNTIME_API is not set"))?;
    let body = format!(
        "{{\"errorMessage\":{},\"errorType\":{}}}",
        json_string(message),
        json_string(error_type)
    );
    let mut stream = TcpStream::connect(&api)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/{endpoint} HTTP/1.1\r\nHost: {api}\r\n\
         Content-Type: application/vnd.aws.lambda.error+json\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status)?;
    match &status[9..12] {
        b"202" | b"200" => Ok(()),
        other => Err(std::io::Error::other(format!(
            "the Runtime API answered {}",
            String::from_utf8_lossy(other)
        ))),
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
