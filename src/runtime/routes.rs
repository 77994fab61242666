//! The HTTP side: routing the bootstrap's requests to its [`RuntimeApi`].

use snap::lambda::ErrorType;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};

use super::api::Refusal;
use super::errors::ERROR_CONTENT_TYPE;
use super::{ErrorBody, MAX_PAYLOAD, Outcome, RuntimeApi};

/// The path prefix of every Runtime API call.
pub const PREFIX: &str = "/2018-06-01/runtime/";

const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";
const RESPONSE_MODE_HEADER: &str = "lambda-runtime-function-response-mode";

/// Serves the Runtime API on one connection until the bootstrap closes it.
pub async fn serve<IO>(api: Arc<RuntimeApi>, io: IO) -> Result<(), hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    http1::Builder::new()
        .keep_alive(true)
        .serve_connection(
            TokioIo::new(io),
            service_fn(move |req| {
                let api = Arc::clone(&api);
                async move { Ok::<_, Infallible>(route(&api, req).await) }
            }),
        )
        .await
}

type Reply = Response<Full<Bytes>>;

async fn route(api: &RuntimeApi, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return not_found(&path);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let method = req.method().clone();
    match (parts.as_slice(), method) {
        (["invocation", "next"], Method::GET) => next(api).await,
        (["invocation", id, "response"], Method::POST) => {
            let id = (*id).to_owned();
            response(api, &id, req).await
        }
        (["invocation", id, "error"], Method::POST) => {
            let id = (*id).to_owned();
            error(api, &id, req).await
        }
        (["init", "error"], Method::POST) => {
            let posted = match read_error(req).await {
                Ok(e) => e,
                Err(reply) => return reply,
            };
            accepted(api.init_error(posted))
        }
        (["restore", "next"], Method::GET) => match api.restore_next().await {
            Ok(()) => reply(StatusCode::OK, "application/json", Bytes::new()),
            Err(refusal) => refused(refusal),
        },
        (["restore", "error"], Method::POST) => {
            let posted = match read_error(req).await {
                Ok(e) => e,
                Err(reply) => return reply,
            };
            accepted(api.restore_error(posted))
        }
        (["snap", "restored"], Method::POST) => restored(api, req).await,
        (
            ["invocation", "next"]
            | ["invocation", _, "response" | "error"]
            | ["init" | "restore", "error"]
            | ["restore", "next"]
            | ["snap", "restored"],
            method,
        ) => error_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("{method} is not allowed on {path}"),
        ),
        _ => not_found(&path),
    }
}

async fn next(api: &RuntimeApi) -> Reply {
    let event = match api.next().await {
        Ok(event) => event,
        Err(refusal) => return refused(refusal),
    };
    let config = api.config();
    let mut response = reply(StatusCode::OK, "application/json", event.payload);
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", &event.request_id);
    set("lambda-runtime-deadline-ms", &event.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &config.arn());
    set("lambda-runtime-trace-id", &event.trace_id);
    response
}

async fn response(api: &RuntimeApi, id: &str, req: Request<Incoming>) -> Reply {
    if let Err(refusal) = api.check_in_flight(id) {
        return refused(refusal);
    }
    let mode = req
        .headers()
        .get(RESPONSE_MODE_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
    if let Some(mode) = &mode {
        if mode != "streaming" && mode != "buffered" {
            return error_reply(
                StatusCode::BAD_REQUEST,
                "InvalidResponseModeHeader",
                &format!("invalid {RESPONSE_MODE_HEADER}: {mode:?}"),
            );
        }
    }
    let collected = match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
        Ok(collected) => collected,
        Err(err) => {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                let message = format!(
                    "Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)."
                );
                // The invoker gets an error instead of a cut-off response.
                let _ = api.finish(
                    id,
                    Outcome::Error(ErrorBody::new(ErrorType::ResponseSizeTooLarge, &message)),
                );
                return error_reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    &message,
                );
            }
            return error_reply(
                StatusCode::BAD_REQUEST,
                "InvalidBody",
                &format!("cannot read the body: {err}"),
            );
        }
    };
    // A streamed response reports a mid-stream failure in its trailers.
    let trailer_error = collected.trailers().and_then(|t| {
        let kind = t.get(ERROR_TYPE_HEADER)?.to_str().ok()?;
        let body = t
            .get("lambda-runtime-function-error-body")
            .map_or(&b""[..], |v| v.as_bytes());
        Some(ErrorBody::from_trailers(kind, body))
    });
    let body = collected.to_bytes();
    let outcome = match trailer_error {
        Some(error) => Outcome::Error(error),
        None => Outcome::Response(body),
    };
    accepted(api.finish(id, outcome))
}

/// The most a restore report may hold: a pid, the hooks' names, a message.
const MAX_REPORT: usize = 64 << 10;

/// `POST snap/restored`, from `@snap/hooks`' preload (`crate::reseed`).
async fn restored(api: &RuntimeApi, req: Request<Incoming>) -> Reply {
    let body = match Limited::new(req.into_body(), MAX_REPORT).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            return error_reply(
                StatusCode::BAD_REQUEST,
                "InvalidBody",
                &format!("cannot read the restore report (at most {MAX_REPORT} bytes): {err}"),
            );
        }
    };
    match super::RestoredReport::parse(&body) {
        Ok(report) => accepted(api.report_restored(report)),
        Err(why) => error_reply(StatusCode::BAD_REQUEST, "InvalidBody", &why),
    }
}

async fn error(api: &RuntimeApi, id: &str, req: Request<Incoming>) -> Reply {
    if let Err(refusal) = api.check_in_flight(id) {
        return refused(refusal);
    }
    let posted = match read_error(req).await {
        Ok(e) => e,
        Err(reply) => return reply,
    };
    accepted(api.finish(id, Outcome::Error(posted)))
}

/// Reads an error body posted by the runtime (any shape; see
/// [`ErrorBody::from_posted`]).
async fn read_error(req: Request<Incoming>) -> Result<ErrorBody, Reply> {
    let header = req
        .headers()
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
        Ok(body) => Ok(ErrorBody::from_posted(&body.to_bytes(), header.as_deref())),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(error_reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("error body exceeds {MAX_PAYLOAD} bytes"),
            ))
        }
        Err(err) => Err(error_reply(
            StatusCode::BAD_REQUEST,
            "InvalidBody",
            &format!("cannot read the body: {err}"),
        )),
    }
}

fn accepted(result: Result<(), Refusal>) -> Reply {
    match result {
        Ok(()) => reply(
            StatusCode::ACCEPTED,
            "application/json",
            Bytes::from(json!({"status": "OK"}).to_string()),
        ),
        Err(refusal) => refused(refusal),
    }
}

fn refused(refusal: Refusal) -> Reply {
    match refusal {
        Refusal::WrongState(why) => {
            error_reply(StatusCode::FORBIDDEN, "InvalidStateTransition", why)
        }
        Refusal::UnknownRequestId(id) => error_reply(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("request id {id} is not the invocation in flight"),
        ),
    }
}

fn not_found(path: &str) -> Reply {
    error_reply(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("no Runtime API endpoint at {path}"),
    )
}

fn error_reply(status: StatusCode, error_type: &str, message: &str) -> Reply {
    reply(
        status,
        ERROR_CONTENT_TYPE,
        ErrorBody::new(error_type, message).to_json(),
    )
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
