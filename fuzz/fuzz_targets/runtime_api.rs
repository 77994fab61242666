//! The Runtime API as the bootstrap sees it: `snaprun::runtime::routes::serve`
//! answering a connection that carries a few HTTP requests of the fuzzer's
//! choosing (method, path, the error-type and response-mode headers, a body
//! sent whole or chunked with trailers) and then arbitrary bytes.
//!
//! One event is queued first, so the in-flight request id can be named and
//! `invocation/{id}/response` and `/error` reach their body readers. A
//! request that waits forever (`invocation/next` with no event, or a
//! `restore/next` nobody releases) ends at a timeout of a paused clock,
//! which runs out as soon as nothing else can run.

#![no_main]

use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use snaprun::runtime::routes::{PREFIX, serve};
use snaprun::runtime::{FunctionConfig, RuntimeApi, SnapStart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Arbitrary)]
enum Mode {
    Off,
    Snapshotting,
    Restored,
}

#[derive(Debug, Arbitrary)]
enum Method {
    Get,
    Post,
    Put,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Path {
    InvocationNext,
    /// `invocation/{the id in flight}/response`.
    Response,
    /// `invocation/{the id in flight}/error`.
    Error,
    ResponseFor(String),
    ErrorFor(String),
    InitError,
    RestoreNext,
    RestoreError,
    /// After the prefix.
    Under(String),
    /// The whole request target.
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct Request {
    method: Method,
    path: Path,
    error_type: Option<String>,
    response_mode: Option<String>,
    body: Vec<u8>,
    /// Send the body chunked, with these trailers.
    chunked: Option<Vec<(String, String)>>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    mode: Mode,
    release_restore: bool,
    requests: Vec<Request>,
    tail: Vec<u8>,
}

fn write_request(out: &mut Vec<u8>, req: &Request, id: &str) {
    let method = match &req.method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Other(m) => m,
    };
    let target = match &req.path {
        Path::InvocationNext => format!("{PREFIX}invocation/next"),
        Path::Response => format!("{PREFIX}invocation/{id}/response"),
        Path::Error => format!("{PREFIX}invocation/{id}/error"),
        Path::ResponseFor(other) => format!("{PREFIX}invocation/{other}/response"),
        Path::ErrorFor(other) => format!("{PREFIX}invocation/{other}/error"),
        Path::InitError => format!("{PREFIX}init/error"),
        Path::RestoreNext => format!("{PREFIX}restore/next"),
        Path::RestoreError => format!("{PREFIX}restore/error"),
        Path::Under(rest) => format!("{PREFIX}{rest}"),
        Path::Raw(target) => target.clone(),
    };
    out.extend_from_slice(
        format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1:9001\r\n").as_bytes(),
    );
    if let Some(kind) = &req.error_type {
        out.extend_from_slice(format!("lambda-runtime-function-error-type: {kind}\r\n").as_bytes());
    }
    if let Some(mode) = &req.response_mode {
        out.extend_from_slice(
            format!("lambda-runtime-function-response-mode: {mode}\r\n").as_bytes(),
        );
    }
    match &req.chunked {
        None => {
            out.extend_from_slice(format!("content-length: {}\r\n\r\n", req.body.len()).as_bytes());
            out.extend_from_slice(&req.body);
        }
        Some(trailers) => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            if !req.body.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", req.body.len()).as_bytes());
                out.extend_from_slice(&req.body);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            for (name, value) in trailers {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

fuzz_target!(|input: Input| {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        let config = FunctionConfig {
            name: "fuzz".into(),
            memory_mb: 128,
            handler: "index.handler".into(),
            timeout: Duration::from_secs(3),
        };
        let snapstart = match input.mode {
            Mode::Off => SnapStart::Off,
            Mode::Snapshotting => SnapStart::Snapshotting,
            Mode::Restored => SnapStart::Restored,
        };
        let api = Arc::new(RuntimeApi::new(config, snapstart));
        if input.release_restore {
            api.release_restore();
        }
        let Ok((id, _outcome)) = api.invoke(Bytes::from_static(b"{}")).await else {
            return;
        };
        let mut bytes = Vec::new();
        for req in input.requests.iter().take(8) {
            write_request(&mut bytes, req, &id);
        }
        bytes.extend_from_slice(&input.tail);

        let (mut client, server) = tokio::io::duplex(1 << 16);
        let served = tokio::spawn(serve(Arc::clone(&api), server));
        let talk = async move {
            let (mut read, mut write) = tokio::io::split(&mut client);
            let send = async {
                let _ = write.write_all(&bytes).await;
                let _ = write.shutdown().await;
            };
            let mut answers = Vec::new();
            let receive = read.read_to_end(&mut answers);
            let _ = tokio::join!(send, receive);
        };
        let _ = tokio::time::timeout(Duration::from_secs(60), talk).await;
        served.abort();
    });
});
