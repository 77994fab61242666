//! The invocation loop: `invocation/next`, the handler, the response or the
//! error, for ever.

use bytes::Bytes;
use rquickjs::{Function, Object, Promise, async_with};
use snap::lambda::ErrorType;

use crate::api::{ApiError, Invocation, RuntimeApi};
use crate::engine::{Engine, caught};
use crate::init::Failure;

/// The largest response Lambda accepts (6 MB as the emulator counts it).
pub(crate) const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// Serves invocations until the Runtime API fails.
pub(crate) async fn serve(engine: &Engine, api: &RuntimeApi) -> Result<(), ApiError> {
    loop {
        let invocation = api.next().await?;
        match run_one(engine, &invocation).await {
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
    }
}

/// Runs the handler on one event: the response body, or the error.
async fn run_one(engine: &Engine, invocation: &Invocation) -> Result<Bytes, Failure> {
    let event = String::from_utf8_lossy(&invocation.body).into_owned();
    let request_id = invocation.request_id.clone();
    let function_arn = invocation.function_arn.clone();
    let deadline_ms = invocation.deadline_ms as f64;
    let trace_id = invocation.trace_id.clone();
    let client_context = invocation.client_context.clone();
    let cognito_identity = invocation.cognito_identity.clone();
    let outcome: Result<(bool, String), String> = async_with!(engine.context => |ctx| {
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
        let promise = start().map_err(|e| caught(&ctx, e))?;
        let pair: Object = promise.into_future().await.map_err(|e| caught(&ctx, e))?;
        let ok: bool = pair.get(0).map_err(|e| caught(&ctx, e))?;
        let body: String = pair.get(1).map_err(|e| caught(&ctx, e))?;
        Ok((ok, body))
    })
    .await;
    if let Some(body) = engine.take_rejections().into_iter().next() {
        return Err(Failure::from_body(
            &body,
            Some(ErrorType::UnhandledPromiseRejection),
            "unhandled promise rejection: ",
        ));
    }
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
