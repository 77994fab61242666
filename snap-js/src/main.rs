//! `snapjs`: a JavaScript Lambda runtime (QuickJS, LLRT's Node-compatible
//! modules) whose functions restore from a native snapshot taken after init.
//!
//! ```text
//! snaprun run --handler index.handler -- snapjs path/to/task-root
//! ```
//!
//! Lifecycle of one process:
//! 1. `snapshot_point::init()`: the native engine's fixed layout (and the
//!    restore itself in a restored process, which resumes in step 5).
//! 2. A current-thread tokio runtime for init only; the QuickJS engine.
//! 3. The handler's module is loaded and evaluated, its jobs, timers and
//!    fetches drained; when a snapshot is being made, the JS
//!    before-checkpoint hooks run and no timer may be left armed.
//! 4. The init runtime is dropped: its epoll and eventfd descriptors, its
//!    blocking-pool threads (DNS lookups), and every pooled fetch and
//!    `http.Agent` connection (their tasks) go with it; the `http` pool is
//!    emptied first.
//! 5. The snapshot point. After it, restored or cold, a fresh tokio runtime;
//!    a restored process reseeds its random sources, takes the restoring
//!    environment into `process.env` and runs the after-restore hooks.
//! 6. The invocation loop.
//!
//! Dependencies, and why: `rquickjs` (QuickJS-ng, the engine LLRT uses) and
//! `llrt_modules`/`llrt_fetch` (LLRT's own `buffer`, `crypto`, `timers`,
//! `url`, `fetch`, ... instead of hand-written ones); `tokio` current-thread
//! (the native engine snapshots one thread); `hyper` (the Runtime API client,
//! already in the workspace); `rand` (the generator behind `Math.random`,
//! the same thread RNG llrt_crypto draws from); `clap`, `thiserror`,
//! `tracing` as in the rest of the workspace.

mod api;
mod bytecode;
mod crypto;
mod detach;
mod engine;
mod first_invocation;
mod handler;
mod http;
mod init;
mod invoke;
mod llrt;
mod modules;
mod node;
mod reseed;
mod snapshot_point;
mod stdio;
mod sys;

use snap::lambda::ErrorType;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::engine::Engine;
use crate::handler::HandlerSpec;
use crate::init::{Failure, Phase};
use crate::snapshot_point::Point;

/// snapjs: run a JavaScript Lambda function, snapshotted after init when
/// snaprun asks for it.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The function's directory. Default: $LAMBDA_TASK_ROOT (snaprun sets
    /// it to the bootstrap's directory, so name the function's here).
    task_root: Option<PathBuf>,
}

/// What stops the runtime.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("cannot build the tokio runtime")]
    Tokio(#[source] std::io::Error),
    #[error("cannot start the JavaScript engine")]
    Engine(#[from] engine::EngineError),
    #[error("init failed: {0}")]
    Init(Failure),
    #[error(transparent)]
    SnapshotPoint(#[from] snapshot_point::SnapshotPointError),
    #[error(transparent)]
    SelfPipe(#[from] snap::tokio::SelfPipeError),
    #[error("after restore: {0}")]
    Restore(Failure),
    #[error("the Runtime API failed")]
    Api(#[from] api::ApiError),
}

fn main() -> ExitCode {
    // First thing: the native engine's layout, and a restore if asked.
    snapshot_point::init();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNAPJS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            tracing::error!("snapjs: {message}");
            ExitCode::FAILURE
        }
    }
}

fn current_thread() -> Result<tokio::runtime::Runtime, RunError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Tokio)
}

fn run(args: &Args) -> Result<(), RunError> {
    let snapshotting = snapshot_point::snapshotting();
    let init_runtime = current_thread()?;
    let proxy = detach::Detachable::default();
    // Never dropped: the process ends with it, and QuickJS asserts (aborts)
    // on freeing a runtime that objects held from Rust still reference.
    let engine = std::mem::ManuallyDrop::new(init_runtime.block_on(proxy.run(Engine::new()))?);
    if let Err(failure) = init_runtime.block_on(proxy.run(init_phase(&engine, args, snapshotting)))
    {
        init_runtime.block_on(report_init_failure(&failure, snapshotting));
        return Err(RunError::Init(failure));
    }
    if !snapshotting {
        // A cold start: no snapshot point, the init runtime carries on (with
        // whatever init left running).
        let mut api = api::RuntimeApi::from_env()?;
        init_runtime.block_on(proxy.run(invoke::serve(&engine, &mut api, None)))?;
        return Ok(());
    }
    // Step 4: nothing of the init runtime survives into the snapshot, not
    // even a waker the JS scheduler kept, nor an idle `http.Agent`
    // connection (its task and socket go with the runtime; its pool entry
    // goes here, so a restored instance connects anew).
    let closed = http::close_all();
    if closed > 0 {
        tracing::info!(
            closed,
            "closed idle http connections before the snapshot point"
        );
    }
    // What init left for the collector (compiling a bundle from source
    // leaves megabytes) would otherwise be restored into every instance
    // and collected there, on the clock, by each.
    init_runtime.block_on(proxy.run(async {
        engine.runtime.run_gc().await;
        Ok::<(), RunError>(())
    }))?;
    proxy.detach();
    drop(init_runtime);
    let parked = snap::tokio::SelfPipe::park()?;
    let point = snapshot_point::take()?;
    let resumed = std::time::Instant::now();
    // A restored instance's first invocation, by stage, when asked for.
    let mut first = (matches!(point, Point::Restored { .. }) && first_invocation::wanted())
        .then(first_invocation::FirstInvocation::start);
    parked.unpark()?;
    let runtime = current_thread()?;
    if let Point::Restored { generation } = point {
        runtime
            .block_on(after_restore(&engine, generation))
            .map_err(|failure| {
                if let Err(err) =
                    snapshot_point::report_restore_error(&failure.error_type, &failure.message)
                {
                    tracing::error!(%err, "cannot post /runtime/restore/error");
                }
                RunError::Restore(failure)
            })?;
    }
    let mut api = api::RuntimeApi::from_env()?;
    tracing::info!(
        ms = resumed.elapsed().as_secs_f64() * 1000.0,
        "ready to serve (ms since the snapshot point)"
    );
    if let Some(clock) = &mut first {
        clock.end(first_invocation::Stage::AfterRestore);
    }
    runtime.block_on(invoke::serve(&engine, &mut api, first))?;
    Ok(())
}

async fn init_phase(engine: &Engine, args: &Args, snapshotting: bool) -> Result<(), Failure> {
    let task_root = args
        .task_root
        .clone()
        .or_else(|| std::env::var_os("LAMBDA_TASK_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let handler = std::env::var("_HANDLER").unwrap_or_default();
    let spec = HandlerSpec::resolve(&task_root, &handler)
        .map_err(|e| Failure::new(e.error_type(), e.to_string()))?;
    init::load(engine, &spec).await?;
    if snapshotting {
        init::run_hooks(engine, Phase::BeforeCheckpoint).await?;
        init::refuse_armed_timers(engine).await?;
    }
    Ok(())
}

async fn report_init_failure(failure: &Failure, snapshotting: bool) {
    tracing::error!(error_type = %failure.error_type, message = %failure.message, "init failed");
    if snapshotting {
        if let Err(err) = snapshot_point::report_snapshot_init_error(&failure.body) {
            tracing::error!(%err, "cannot hand the init error to snaprun");
        }
        return;
    }
    let posted = match api::RuntimeApi::from_env() {
        Ok(mut api) => {
            api.init_error(
                &failure.error_type,
                bytes::Bytes::from(failure.body.clone()),
            )
            .await
        }
        Err(err) => Err(err),
    };
    if let Err(err) = posted {
        tracing::error!(%err, "cannot post /runtime/init/error");
    }
}

async fn after_restore(engine: &Engine, generation: u64) -> Result<(), Failure> {
    if reseed::enabled() {
        reseed::after_restore()
            .map_err(|e| Failure::new(ErrorType::AfterRestoreError, e.to_string()))?;
    } else {
        tracing::warn!("{}=0: random sources are NOT reseeded", reseed::RESEED_ENV);
    }
    init::refresh_env(engine).await?;
    init::run_hooks(engine, Phase::AfterRestore).await?;
    tracing::info!(generation, "restored");
    Ok(())
}
