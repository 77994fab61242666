//! The invocation loop: `invocation/next`, the handler, the response or the
//! error, for ever.

use bytes::Bytes;
use rquickjs::promise::PromiseState;
use rquickjs::{Function, Object, Persistent, Promise, Value};
use snap::lambda::ErrorType;

use crate::api::{ApiError, Invocation, RuntimeApi};
use crate::engine::{Engine, caught};
use crate::first_invocation::{FirstInvocation, Stage};
use crate::init::Failure;

/// The largest response Lambda accepts (6 MB as the emulator counts it).
pub(crate) const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// Serves invocations until the Runtime API fails. `first`, when given,
/// times the first invocation by stage and prints it once answered.
pub(crate) async fn serve(
    engine: &Engine,
    api: &mut RuntimeApi,
    mut first: Option<FirstInvocation>,
) -> Result<(), ApiError> {
    loop {
        let invocation = api.next().await?;
        mark(&mut first, Stage::NextEvent);
        let outcome = run_one(engine, &invocation).await;
        mark(&mut first, Stage::Handler);
        match outcome {
            Ok(body) => api.respond(&invocation.request_id, body).await?,
            Err(failure) => {
                tracing::error!(
                    request_id = %invocation.request_id,
                    error_type = %failure.error_type,
                    message = %failure.message,
                    "invocation failed"
                );
                api.fail(
                    &invocation.request_id,
                    &failure.error_type,
                    Bytes::from(failure.body),
                )
                .await?;
            }
        }
        if let Some(mut clock) = first.take() {
            clock.end(Stage::Response);
            let (requests, connections) = api.counts();
            clock.print(requests, connections);
        }
    }
}

fn mark(first: &mut Option<FirstInvocation>, stage: Stage) {
    if let Some(clock) = first {
        clock.end(stage);
    }
}

/// Runs the handler on one event: the response body, or the error.
///
/// The handler runs until its invocation settles. Whenever nothing is left
/// to run (no job, timer or fetch) while it waits, the runtime's JS half
/// is told (`loopEmpty`), as AWS's Node runtime client is by Node's
/// `beforeExit`: a callback made with `callbackWaitsForEmptyEventLoop`
/// answers then, and a handler that never settles answers `null` (or fails
/// with `Runtime.NodeJsExit` when async). A rejection still unhandled once
/// the job queue is empty fails the invocation, once, as
/// `Runtime.UnhandledPromiseRejection`.
async fn run_one(engine: &Engine, invocation: &Invocation) -> Result<Bytes, Failure> {
    let event = String::from_utf8_lossy(&invocation.body).into_owned();
    let request_id = invocation.request_id.clone();
    let function_arn = invocation.function_arn.clone();
    let deadline_ms = invocation.deadline_ms as f64;
    let trace_id = invocation.trace_id.clone();
    let client_context = invocation.client_context.clone();
    let cognito_identity = invocation.cognito_identity.clone();
    // Rejections left over from before (init, an earlier invocation) are
    // not this invocation's.
    engine.take_rejections();
    let started: Result<Persistent<Promise<'static>>, String> = engine
        .context
        .with(|ctx| {
            let start = || -> rquickjs::Result<Promise> {
                let meta = Object::new(ctx.clone())?;
                meta.set("requestId", request_id)?;
                meta.set("functionArn", function_arn)?;
                meta.set("deadlineMs", deadline_ms)?;
                meta.set("traceId", trace_id)?;
                meta.set("clientContext", client_context)?;
                meta.set("cognitoIdentity", cognito_identity)?;
                let runtime: Object = ctx.globals().get("__snapjs")?;
                runtime.get::<_, Function>("invoke")?.call((event, meta))
            };
            start()
                .map(|p| Persistent::save(&ctx, p))
                .map_err(|e| caught(&ctx, e))
        })
        .await;
    let promise = started.map_err(|body| Failure::from_body(&body, None, ""))?;
    let outcome = loop {
        // `idle` holds the runtime's lock while it waits: give it up when
        // the invocation settles (the JS half wakes `settled`), and every
        // few milliseconds to look for unhandled rejections.
        let empty = tokio::select! {
            () = engine.idle() => true,
            () = engine.settled.notified() => false,
            () = tokio::time::sleep(std::time::Duration::from_millis(5)) => false,
        };
        engine.run_jobs().await;
        if let Some(body) = engine.take_rejections().into_iter().next() {
            js_call(engine, "abandon").await;
            return Err(unhandled_rejection(&body));
        }
        if let Some(outcome) = settled(engine, &promise).await {
            break outcome;
        }
        if empty && !js_call(engine, "loopEmpty").await {
            // Nothing left to run and nothing to wake the invocation: it
            // can only have settled (checked above); keep looking.
            tokio::task::yield_now().await;
        }
    };
    match outcome {
        Ok((true, body)) if body.len() > MAX_RESPONSE_BYTES => Err(Failure::new(
            ErrorType::ResponseSizeTooLarge,
            format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                body.len()
            ),
        )),
        Ok((true, body)) => Ok(Bytes::from(body)),
        Ok((false, body)) | Err(body) => Err(Failure::from_body(&body, None, "")),
    }
}

/// The invocation's `[ok, body]` once its promise has settled.
async fn settled(
    engine: &Engine,
    promise: &Persistent<Promise<'static>>,
) -> Option<Result<(bool, String), String>> {
    let promise = promise.clone();
    engine
        .context
        .with(|ctx| {
            let promise = match promise.restore(&ctx) {
                Ok(p) => p,
                Err(e) => return Some(Err(caught(&ctx, e))),
            };
            match promise.state() {
                PromiseState::Pending => None,
                PromiseState::Rejected => Some(Err(match promise.result::<Value>() {
                    Some(Err(e)) => caught(&ctx, e),
                    _ => crate::snapshot_point::error_body("Error", "the invocation was rejected"),
                })),
                PromiseState::Resolved => {
                    let pair = || -> rquickjs::Result<(bool, String)> {
                        let pair: Object = promise.result::<Object>().unwrap_or_else(|| {
                            Err(rquickjs::Error::new_from_js("undefined", "object"))
                        })?;
                        Ok((pair.get(0)?, pair.get(1)?))
                    };
                    Some(pair().map_err(|e| caught(&ctx, e)))
                }
            }
        })
        .await
}

/// Calls `__snapjs[name]()`; its boolean answer (false if it failed).
async fn js_call(engine: &Engine, name: &'static str) -> bool {
    engine
        .context
        .with(|ctx| {
            let call = || -> rquickjs::Result<Option<bool>> {
                let runtime: Object = ctx.globals().get("__snapjs")?;
                runtime.get::<_, Function>(name)?.call(())
            };
            match call() {
                Ok(answer) => answer.unwrap_or(false),
                Err(e) => {
                    tracing::error!(call = name, error = %caught(&ctx, e), "the runtime's JS half failed");
                    false
                }
            }
        })
        .await
}

/// An unhandled rejection as the client reports it: the type
/// `Runtime.UnhandledPromiseRejection`, and the reason as text
/// (`TypeError: lost`, or the value's own text).
pub(crate) fn unhandled_rejection(reason: &str) -> Failure {
    Failure::new(ErrorType::UnhandledPromiseRejection, reason)
}
