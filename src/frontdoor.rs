//! The invoke front door, as the Lambda runtime interface emulator serves it:
//! `POST /2015-03-31/functions/function/invocations`.

use snap::lambda::ErrorType;
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::pool::{Invocation, Queue};
use crate::runtime::{ErrorBody, MAX_PAYLOAD, Outcome};

/// Serves the front door on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, queue: Queue) {
    let (_never, stop) = watch::channel(false);
    serve_until(listener, queue, stop).await;
}

/// Serves the front door on `listener` until `stop` turns true (or its
/// sender goes): then it accepts no more connections, lets each open one
/// finish the request it is serving (its invocation may still be answered
/// within snaprun's shutdown grace) and closes it, and returns once every
/// connection is closed.
pub async fn serve_until(listener: TcpListener, queue: Queue, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopping(&mut stop) => break,
        };
        // Reap the connections that have closed meanwhile.
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let queue = queue.clone();
        let mut stop = stop.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let queue = queue.clone();
                async move { Ok::<_, Infallible>(invoke(queue, req).await) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopping(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Returns once `stop` turns true, or its sender is gone.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Binds the front door.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

type Reply = Response<Full<Bytes>>;

async fn invoke(queue: Queue, req: Request<Incoming>) -> Reply {
    let path = req.uri().path();
    let is_invoke = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    if !is_invoke {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("no such endpoint: {path}"),
        );
    }
    if req.method() != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "invoke with POST",
        );
    }
    let payload = match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                &format!(
                    "Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation"
                ),
            );
        }
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                &err.to_string(),
            );
        }
    };
    let payload = match event(payload) {
        Ok(payload) => payload,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                &format!(
                    "Could not parse request body into json: {err}; the event must be JSON, \
                     e.g. -d '{{\"key\":\"value\"}}'"
                ),
            );
        }
    };
    let (reply, outcome) = oneshot::channel();
    if queue.send(Invocation { payload, reply }).await.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "the function is shutting down",
        );
    }
    match outcome.await {
        Ok(Outcome::Response(body)) => respond(StatusCode::OK, "application/json", body, false),
        Ok(Outcome::Error(body)) => {
            respond(StatusCode::OK, "application/json", body.to_json(), true)
        }
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "the function is shutting down",
        ),
    }
}

/// The event a request body stands for, as Lambda's Invoke takes it: JSON
/// whatever the `Content-Type` (curl's `-d` says form-urlencoded), and `{}`
/// for an empty body (an invoke without a payload). Anything else is refused
/// before it reaches an instance, where a runtime client would fail to
/// parse it.
fn event(body: Bytes) -> Result<Bytes, serde_json::Error> {
    if body.is_empty() {
        return Ok(Bytes::from_static(b"{}"));
    }
    let mut json = serde_json::Deserializer::from_slice(&body);
    serde::de::IgnoredAny::deserialize(&mut json)?;
    json.end()?;
    Ok(body)
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Reply {
    respond(
        status,
        "application/json",
        ErrorBody::new(error_type, message).to_json(),
        false,
    )
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
    function_error: bool,
) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if function_error {
        // Lambda marks a function's error this way; the status stays 200.
        headers.insert(
            "x-amz-function-error",
            HeaderValue::from_static(ErrorType::Unhandled.as_str()),
        );
    }
    response
}
