//! The JavaScript engine: one QuickJS runtime and context (rquickjs), LLRT's
//! Node-compatible modules as globals and `node:` modules, `snap:hooks`, a
//! `Math.random` backed by a reseedable generator, and the JS half of the
//! runtime (`js/runtime.js`).
//!
//! Nothing here owns a thread or a descriptor: the rquickjs runtime's own
//! scheduler runs the module's futures (timers, fetch) inside whichever
//! tokio runtime drives it, so the tokio runtime can be dropped before the
//! snapshot point and a fresh one can carry on after it.

use snap::lambda::ErrorType;
use std::cell::RefCell;
use std::rc::Rc;

use llrt_modules::module::ModuleNames;
use rquickjs::loader::{BuiltinLoader, BuiltinResolver};
use rquickjs::{AsyncContext, AsyncRuntime, Ctx, Function, Object, Persistent, Value};

use crate::modules::Modules;
use crate::modules::loader::{FileLoader, FileResolver};
use crate::{modules, node, reseed, stdio};

/// The module name handlers import hooks from.
pub(crate) const HOOKS_MODULE: &str = "snap:hooks";

const RUNTIME_JS: &str = include_str!("js/runtime.js");
const HOOKS_TEMPLATE: &str = include_str!("js/hooks.js");
const HOOKS_INDEX: &str = include_str!("../../snap-hooks/js/index.js");
const HOOKS_STATE: &str = include_str!("../../snap-hooks/js/lib/state.js");

/// Starting the engine failed (a bug in snapjs, not in the function).
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// QuickJS could not create its runtime or context.
    #[error("cannot create the QuickJS {what}")]
    Create {
        what: &'static str,
        #[source]
        cause: rquickjs::Error,
    },
    /// A built-in failed to install.
    #[error("cannot install {what}: {message}")]
    Install { what: &'static str, message: String },
}

/// An unhandled promise rejection, as recorded by the tracker.
#[derive(Debug)]
struct Rejection {
    promise: Persistent<Value<'static>>,
    body: String,
}

/// Unhandled rejections since the last [`Engine::take_rejections`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Rejections(Rc<RefCell<Vec<Rejection>>>);

/// The QuickJS runtime and its one context.
pub(crate) struct Engine {
    pub(crate) runtime: AsyncRuntime,
    pub(crate) context: AsyncContext,
    rejections: Rejections,
    /// Woken by the JS half when an invocation settles
    /// (`__snapjs_settled()`), so the invocation loop need not poll for it.
    pub(crate) settled: Rc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// The `snap:hooks` module's source: @snap/hooks's own files inside
/// `js/hooks.js`.
fn hooks_source() -> String {
    HOOKS_TEMPLATE
        .replace("/* @snap/hooks lib/state.js */", HOOKS_STATE)
        .replace("/* @snap/hooks index.js */", HOOKS_INDEX)
}

impl Engine {
    /// A runtime with every global a Lambda function expects.
    pub(crate) async fn new() -> Result<Self, EngineError> {
        let runtime = AsyncRuntime::new().map_err(|cause| EngineError::Create {
            what: "runtime",
            cause,
        })?;
        let (resolver, loader, globals) = crate::llrt::builder().build();
        let mut builtins = BuiltinLoader::default().with_module(HOOKS_MODULE, hooks_source());
        let mut own = vec![HOOKS_MODULE.to_owned()];
        for (name, source) in node::MODULES {
            builtins = builtins.with_module(*name, *source);
            own.push((*name).to_owned());
        }
        let modules = Rc::new(Modules::default());
        runtime
            .set_loader(
                (
                    BuiltinResolver::default().with_module(HOOKS_MODULE),
                    node::NodeResolver::default(),
                    resolver,
                    FileResolver(Rc::clone(&modules)),
                ),
                (builtins, loader, FileLoader(Rc::clone(&modules))),
            )
            .await;
        let rejections = Rejections::default();
        let tracked = rejections.clone();
        runtime
            .set_host_promise_rejection_tracker(Some(Box::new(
                move |ctx, promise, reason, is_handled| {
                    tracked.record(&ctx, promise, &reason, is_handled);
                },
            )))
            .await;
        let context = AsyncContext::full(&runtime)
            .await
            .map_err(|cause| EngineError::Create {
                what: "context",
                cause,
            })?;
        let settled = Rc::new(tokio::sync::Notify::new());
        let wake = Rc::clone(&settled);
        context
            .with(|ctx| -> Result<(), EngineError> {
                globals
                    .attach(&ctx)
                    .map_err(|e| install(&ctx, "LLRT's modules", e))?;
                let mut builtins: std::collections::HashSet<String> = ctx
                    .userdata::<ModuleNames>()
                    .map(|names| names.get_list())
                    .unwrap_or_default();
                builtins.extend(own);
                modules::install(&ctx, &modules, builtins)
                    .map_err(|e| install(&ctx, "the module system", e))?;
                let notify = Function::new(ctx.clone(), move || wake.notify_one())
                    .map_err(|e| install(&ctx, "__snapjs_settled", e))?;
                ctx.globals()
                    .set("__snapjs_settled", notify)
                    .map_err(|e| install(&ctx, "__snapjs_settled", e))?;
                reseed::install_math_random(&ctx).map_err(|e| install(&ctx, "Math.random", e))?;
                crate::http::install(&ctx).map_err(|e| install(&ctx, "the http binding", e))?;
                ctx.eval::<(), _>(RUNTIME_JS)
                    .map_err(|e| install(&ctx, "the runtime's JS half", e))?;
                stdio::install(&ctx).map_err(|e| install(&ctx, "process.stdout", e))?;
                for (_, patch) in node::PATCHES {
                    ctx.eval::<(), _>(*patch)
                        .map_err(|e| install(&ctx, "a patch of LLRT's globals", e))?;
                }
                set_pid(&ctx).map_err(|e| install(&ctx, "process.pid", e))?;
                Ok(())
            })
            .await?;
        Ok(Self {
            runtime,
            context,
            rejections,
            settled,
        })
    }

    /// Unhandled rejections recorded since the last call: each reason as
    /// text, as Node's `String(reason)` gives it (`TypeError: lost`).
    pub(crate) fn take_rejections(&self) -> Vec<String> {
        self.rejections
            .0
            .borrow_mut()
            .drain(..)
            .map(|r| r.body)
            .collect()
    }

    /// Runs every job and spawned future until nothing is left.
    pub(crate) async fn idle(&self) {
        self.runtime.idle().await;
    }

    /// Runs the jobs queued now (promise reactions), without waiting on
    /// any future: afterwards a rejection still unhandled is one Node would
    /// report.
    pub(crate) async fn run_jobs(&self) {
        loop {
            match self.runtime.execute_pending_job().await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    let message = e.0.with(|ctx| error_body(&ctx, ctx.catch())).await;
                    tracing::error!(error = %message, "a job threw");
                }
            }
        }
    }
}

impl Rejections {
    fn record<'js>(&self, ctx: &Ctx<'js>, promise: Value<'js>, reason: &Value<'js>, handled: bool) {
        let mut list = self.0.borrow_mut();
        if handled {
            list.retain(|r| r.promise.clone().restore(ctx).is_ok_and(|p| p != promise));
            return;
        }
        // The rejection takes its place in order now; its text comes from
        // JS, which may reject other promises and so re-enter the tracker:
        // no borrow is held while it runs.
        list.push(Rejection {
            promise: Persistent::save(ctx, promise.clone()),
            body: String::new(),
        });
        drop(list);
        let body = reason_text(ctx, reason.clone());
        let mut list = self.0.borrow_mut();
        if let Some(entry) = list
            .iter_mut()
            .find(|r| r.promise.clone().restore(ctx).is_ok_and(|p| p == promise))
        {
            entry.body = body;
        }
    }
}

/// `process.pid` (LLRT's process module has none), set again after a
/// restore: a restored instance is a new process.
pub(crate) fn set_pid(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let process: Object = ctx.globals().get("process")?;
    process.set("pid", std::process::id())
}

/// The Lambda error body (`errorType`, `errorMessage`, `stackTrace`) of a
/// thrown JS value, by the runtime's JS half.
pub(crate) fn error_body<'js>(ctx: &Ctx<'js>, thrown: Value<'js>) -> String {
    let shaped = ctx
        .globals()
        .get::<_, Object>("__snapjs")
        .and_then(|o| o.get::<_, Function>("errorShape"))
        .and_then(|f| f.call::<_, String>((thrown.clone(),)));
    match shaped {
        Ok(body) => body,
        Err(_) => crate::snapshot_point::error_body("Error", &format!("{thrown:?}")),
    }
}

/// `String(reason)`, by the runtime's JS half (which never throws).
fn reason_text<'js>(ctx: &Ctx<'js>, reason: Value<'js>) -> String {
    ctx.globals()
        .get::<_, Object>("__snapjs")
        .and_then(|o| o.get::<_, Function>("reasonText"))
        .and_then(|f| f.call::<_, String>((reason.clone(),)))
        .unwrap_or_else(|_| format!("{reason:?}"))
}

/// The pending exception of a failed call, as a Lambda error body.
pub(crate) fn caught(ctx: &Ctx<'_>, err: rquickjs::Error) -> String {
    match err {
        rquickjs::Error::Exception => error_body(ctx, ctx.catch()),
        other => crate::snapshot_point::error_body(ErrorType::Unknown, &other.to_string()),
    }
}

fn install(ctx: &Ctx<'_>, what: &'static str, err: rquickjs::Error) -> EngineError {
    EngineError::Install {
        what,
        message: caught(ctx, err),
    }
}
