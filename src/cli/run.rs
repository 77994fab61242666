//! `snaprun run`: host the Runtime API for a bootstrap and invoke it.

use std::net::SocketAddr;

use anyhow::Context;
use snaprun::pool::Launcher;
use snaprun::{frontdoor, pool};

use super::function_args::FunctionArgs;

/// Run a Lambda-style bootstrap behind the Runtime API and an invoke endpoint.
///
/// With the CRIU engine (the default where it works), snaprun runs the
/// bootstrap's init once in a sandbox with AWS_LAMBDA_INITIALIZATION_TYPE=snap-start,
/// snapshots it when it calls GET /runtime/restore/next (or its first
/// /invocation/next), and starts every instance by restoring that snapshot.
/// A valid snapshot from an earlier run is reused. With --engine none every
/// instance is a plain cold start. With --engine auto (the default) and a
/// snapshot engine, the first four starts alternate cold and restore, one at
/// a time; once each has answered its first invocation, instances start
/// whichever way reached its first response sooner (a line on stderr says
/// which), and now and then a start tries the other way again.
///
/// Invocations arrive at the emulator-compatible front door,
/// POST /2015-03-31/functions/function/invocations on --listen, and queue when
/// every instance is busy. Logs (the function's own and INIT_REPORT/REPORT
/// lines) go to stderr.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    function: FunctionArgs,
    /// Address of the invoke front door.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// How many instances serve invocations at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let function = args.function.resolve()?;
    let engine_name = function.engine_name();
    let launcher = match function.snapshot {
        None => Launcher::Cold(function.spec),
        Some(engine) if function.adaptive => Launcher::adaptive(engine),
        Some(engine) => Launcher::restore(engine),
    };
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(async move {
        let listener = frontdoor::bind(args.listen)
            .await
            .with_context(|| format!("listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let queue = pool::start(launcher, args.concurrency as usize);
        eprintln!(
            "snaprun: listening on http://{addr} (engine {engine_name}, concurrency {})",
            args.concurrency
        );
        tokio::select! {
            () = frontdoor::serve(listener, queue) => {}
            _ = tokio::signal::ctrl_c() => eprintln!("snaprun: interrupted, shutting down"),
        }
        Ok(())
    })
}
