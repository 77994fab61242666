//! The init phase: load the handler's module, let it settle, and (when a
//! snapshot is being made) run the before-checkpoint hooks and check that
//! nothing is left armed at the snapshot point.

use snap::lambda::ErrorType;
use std::time::Instant;

use rquickjs::promise::PromiseState;
use rquickjs::{Ctx, Function, Object, Persistent, Promise, Value, async_with};

use crate::engine::{Engine, caught, error_body};
use crate::handler::HandlerSpec;
use crate::{bytecode, modules};

/// An init failure, ready for the Runtime API.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error_type}: {message}")]
pub(crate) struct Failure {
    /// `errorType`.
    pub(crate) error_type: String,
    /// `errorMessage`.
    pub(crate) message: String,
    /// The whole Lambda error body.
    pub(crate) body: String,
}

impl Failure {
    /// A failure with a type and message and no JS stack.
    pub(crate) fn new(error_type: impl AsRef<str>, message: impl Into<String>) -> Self {
        let message = message.into();
        let error_type = error_type.as_ref();
        Self {
            body: crate::snapshot_point::error_body(error_type, &message),
            error_type: error_type.to_owned(),
            message,
        }
    }

    /// A failure from a JS error body, typed `error_type` (or keeping the
    /// body's own type when `None`), its message prefixed with `context`
    /// (and with the body's own type when that changed).
    pub(crate) fn from_body(body: &str, error_type: Option<ErrorType>, context: &str) -> Self {
        Self::retyped(body, error_type.map(String::from), context)
    }

    /// [`Failure::from_body`] with any type name.
    fn retyped(body: &str, error_type: Option<String>, context: &str) -> Self {
        let mut value: serde_json::Value = serde_json::from_str(body)
            .unwrap_or_else(|_| serde_json::json!({"errorMessage": body}));
        let own_type = value["errorType"].as_str().unwrap_or("Error").to_owned();
        let own_message = value["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let error_type = error_type.unwrap_or_else(|| own_type.clone());
        // A retyped error keeps its own type in the message.
        let message = if error_type == own_type {
            format!("{context}{own_message}")
        } else {
            format!("{context}{own_type}: {own_message}")
        };
        value["errorType"] = error_type.clone().into();
        value["errorMessage"] = message.clone().into();
        Self {
            body: value.to_string(),
            error_type,
            message,
        }
    }
}

/// What loading left to wait for.
struct Loaded {
    /// The module's evaluation (ES modules), or nothing left (CommonJS).
    promise: Option<Persistent<Promise<'static>>>,
    /// The module namespace or `module.exports`.
    exports: Persistent<Value<'static>>,
}

/// Whether a thrown value is a module `require` cannot find (code
/// `MODULE_NOT_FOUND`), which Lambda's Node runtime reports as
/// `Runtime.ImportModuleError`; an `import` that cannot find one
/// (`ERR_MODULE_NOT_FOUND`) stays a plain `Error` there.
fn missing_module(thrown: &Value<'_>) -> bool {
    thrown
        .as_object()
        .and_then(|o| o.get::<_, String>("code").ok())
        .is_some_and(|code| code == "MODULE_NOT_FOUND")
}

/// A loading error: its Lambda error body, and whether a module was
/// missing.
fn load_error(ctx: &Ctx<'_>, err: rquickjs::Error) -> (String, bool) {
    match err {
        rquickjs::Error::Exception => {
            let thrown = ctx.catch();
            let missing = missing_module(&thrown);
            (error_body(ctx, thrown), missing)
        }
        other => (caught(ctx, other), false),
    }
}

/// Loads and evaluates the handler's module and installs the handler.
/// The handler goes through the module system by its real path: ES
/// modules through the bytecode cache with `import.meta`, CommonJS files
/// through `require`'s loader (`modules/cjs.js`).
pub(crate) async fn load(engine: &Engine, spec: &HandlerSpec) -> Result<(), Failure> {
    let started = Instant::now();
    let unreadable = |e: std::io::Error| {
        Failure::new(
            ErrorType::ImportModuleError,
            format!("cannot read {}: {e}", spec.file.display()),
        )
    };
    let file = std::fs::canonicalize(&spec.file).map_err(unreadable)?;
    let mut source = std::fs::read(&file).map_err(unreadable)?;
    if spec.esm {
        source = modules::attributes::blank_json_attributes(&source).into_owned();
    }
    let esm = spec.esm;
    let loaded = async_with!(engine.context => |ctx| {
        let result: Result<(Loaded, Option<bytecode::Source>), (String, bool)> = (|| {
            if esm {
                let (module, how) = bytecode::declare(&ctx, &file, source).map_err(|e| load_error(&ctx, e))?;
                modules::loader::set_meta(&ctx, &module, &file).map_err(|e| load_error(&ctx, e))?;
                let (module, promise) = module.eval().map_err(|e| load_error(&ctx, e))?;
                let exports = module.namespace().map_err(|e| load_error(&ctx, e))?;
                Ok((Loaded {
                    promise: Some(Persistent::save(&ctx, promise)),
                    exports: Persistent::save(&ctx, exports.into_value()),
                }, Some(how)))
            } else {
                let load = || -> rquickjs::Result<Value> {
                    let cjs: Object = ctx.globals().get(modules::JS_GLOBAL)?;
                    cjs.get::<_, Function>("loadHandler")?.call((file.display().to_string(),))
                };
                let exports = load().map_err(|e| load_error(&ctx, e))?;
                Ok((Loaded { promise: None, exports: Persistent::save(&ctx, exports) }, None))
            }
        })();
        result
    })
    .await
    .map_err(|(body, missing)| init_error(&body, esm, missing))?;
    let (loaded, how) = loaded;
    drain(engine, loaded.promise.clone()).await;
    let export = spec.export.clone();
    let handler_name = spec.name.clone();
    let file_name = spec.file.display().to_string();
    let outcome: Result<(), Failure> = async_with!(engine.context => |ctx| {
        if let Some(promise) = loaded.promise {
            let promise = promise.restore(&ctx).map_err(|e| Failure::new(ErrorType::InitError, e.to_string()))?;
            match promise.state() {
                PromiseState::Pending => {
                    return Err(Failure::new(
                        ErrorType::InitError,
                        "init never settled: the module's top-level await waits on a promise that nothing \
                         left (no timer, fetch or job) can resolve",
                    ));
                }
                PromiseState::Rejected => {
                    let (body, missing) = match promise.result::<Value>() {
                        Some(Err(e)) => load_error(&ctx, e),
                        _ => (crate::snapshot_point::error_body("Error", "the module's evaluation was rejected"), false),
                    };
                    return Err(init_error(&body, true, missing));
                }
                PromiseState::Resolved => {}
            }
        }
        let mut value: Value = loaded
            .exports
            .restore(&ctx)
            .map_err(|e| Failure::new(ErrorType::InitError, e.to_string()))?;
        for part in &export {
            value = value
                .as_object()
                .and_then(|o| o.get::<_, Value>(part.as_str()).ok())
                .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
        }
        // As the client: a falsy value is "undefined or not exported", any
        // other non-function "not a function".
        let falsy = value.is_undefined()
            || value.is_null()
            || value.as_bool() == Some(false)
            || value.as_number() == Some(0.0)
            || value.as_string().is_some_and(|s| s.to_string().is_ok_and(|s| s.is_empty()));
        let Some(function) = value.into_function() else {
            let what = if falsy { "is undefined or not exported" } else { "is not a function" };
            return Err(Failure::new(
                ErrorType::HandlerNotFound,
                format!("{handler_name} {what} (in {file_name})"),
            ));
        };
        let set: Result<(), rquickjs::Error> = (|| {
            let runtime: Object = ctx.globals().get("__snapjs")?;
            runtime.get::<_, Function>("setHandler")?.call((function,))
        })();
        set.map_err(|e| Failure::from_body(&caught(&ctx, e), Some(ErrorType::InitError), ""))
    })
    .await;
    outcome?;
    engine.run_jobs().await;
    if let Some(reason) = engine.take_rejections().into_iter().next() {
        return Err(crate::invoke::unhandled_rejection(&reason));
    }
    tracing::info!(
        handler = %spec.file.display(),
        bytecode = ?how,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "init done"
    );
    Ok(())
}

/// An error thrown (or rejected) while the handler's module loaded, typed
/// as the client types it: any `SyntaxError` is `Runtime.UserCodeSyntaxError`
/// and a module `require` cannot find (`missing`, even deep inside an ES
/// module's graph) is `Runtime.ImportModuleError` (both
/// with the error's own text, `SyntaxError: ...`, as message); anything
/// else keeps its own type and message (`TypeError`, a custom class). As
/// in Node, a module an ES module `import`s and cannot find is a plain
/// `Error`.
fn init_error(body: &str, esm: bool, missing: bool) -> Failure {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| serde_json::json!({}));
    let own_type = value["errorType"].as_str().unwrap_or_default();
    let message = value["errorMessage"].as_str().unwrap_or_default();
    let not_found = message.starts_with("Cannot find module")
        || message.starts_with("Error resolving module")
        || message.contains("MODULE_NOT_FOUND");
    if own_type == "SyntaxError" {
        Failure::from_body(body, Some(ErrorType::UserCodeSyntaxError), "")
    } else if missing || (not_found && !esm) {
        Failure::from_body(body, Some(ErrorType::ImportModuleError), "")
    } else if not_found || own_type == ErrorType::Unknown.as_str() {
        // rquickjs's own resolution error (not a JS exception).
        Failure::retyped(body, Some("Error".to_owned()), "")
    } else {
        Failure::from_body(body, None, "")
    }
}

/// Drains: runs jobs, timers and fetches until nothing is left to run, or
/// until the module has settled and only armed timers are left (an interval
/// would never let it end; the snapshot point's timer policy judges them).
async fn drain(engine: &Engine, module: Option<Persistent<Promise<'static>>>) {
    loop {
        // `idle` holds the runtime's lock while it waits: give it up every
        // few milliseconds to look at the module and the timers.
        tokio::select! {
            () = engine.idle() => return,
            () = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        }
        let settled = match &module {
            None => true,
            Some(promise) => {
                let promise = promise.clone();
                engine
                    .context
                    .with(|ctx| {
                        promise
                            .restore(&ctx)
                            .is_ok_and(|p| p.state() != PromiseState::Pending)
                    })
                    .await
            }
        };
        if settled && !armed_timers(engine).await.is_empty() {
            return;
        }
    }
}

/// The timers armed now, described (`setInterval(tick, 1000)`).
async fn armed_timers(engine: &Engine) -> Vec<String> {
    engine
        .context
        .with(|ctx| {
            ctx.globals()
                .get::<_, Object>("__snapjs")
                .and_then(|o| o.get::<_, Function>("pendingTimers"))
                .and_then(|f| f.call::<_, Vec<String>>(()))
                .unwrap_or_default()
        })
        .await
}

/// Which hook phase.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phase {
    /// Before the snapshot.
    BeforeCheckpoint,
    /// After a restore.
    AfterRestore,
}

/// Runs one phase of the JS hooks (`snap:hooks`); the error is the failed
/// hook's Lambda error body.
pub(crate) async fn run_hooks(engine: &Engine, phase: Phase) -> Result<(), Failure> {
    let name = match phase {
        Phase::BeforeCheckpoint => "before",
        Phase::AfterRestore => "after",
    };
    let result: Result<(), String> = async_with!(engine.context => |ctx| {
        let run = || -> rquickjs::Result<Promise> {
            let runtime: Object = ctx.globals().get("__snapjs")?;
            runtime.get::<_, Function>("runHooks")?.call((name,))
        };
        let promise = run().map_err(|e| caught(&ctx, e))?;
        promise.into_future::<Value>().await.map(|_| ()).map_err(|e| caught(&ctx, e))
    })
    .await;
    drain(engine, None).await;
    let error_type = match phase {
        Phase::BeforeCheckpoint => ErrorType::BeforeSnapshotError,
        Phase::AfterRestore => ErrorType::AfterRestoreError,
    };
    result.map_err(|body| Failure::from_body(&body, Some(error_type), ""))
}

/// The snapshot point's timer policy: timers still armed are refused, by
/// name, because their wake-ups belong to the async runtime that is
/// dropped before the snapshot.
pub(crate) async fn refuse_armed_timers(engine: &Engine) -> Result<(), Failure> {
    let armed = armed_timers(engine).await;
    if armed.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        ErrorType::BeforeSnapshotError,
        format!(
            "{} timer(s) still armed at the snapshot point: {}; clear them in a beforeCheckpoint hook \
             (snap:hooks) and arm them again in afterRestore",
            armed.len(),
            armed.join(", ")
        ),
    ))
}

/// Gives the restored process's environment and pid to `process`.
pub(crate) async fn refresh_env(engine: &Engine) -> Result<(), Failure> {
    let pairs: Vec<(String, String)> = std::env::vars().collect();
    engine
        .context
        .with(|ctx| {
            let refresh = || -> rquickjs::Result<()> {
                let runtime: Object = ctx.globals().get("__snapjs")?;
                let list = rquickjs::Array::new(ctx.clone())?;
                for (i, (k, v)) in pairs.into_iter().enumerate() {
                    list.set(i, vec![k, v])?;
                }
                runtime
                    .get::<_, Function>("refreshEnv")?
                    .call::<_, ()>((list,))?;
                crate::engine::set_pid(&ctx)
            };
            refresh().map_err(|e| {
                Failure::from_body(&caught(&ctx, e), Some(ErrorType::AfterRestoreError), "")
            })
        })
        .await
}
