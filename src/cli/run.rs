//! `snaprun run`: host the Runtime API for a bootstrap and invoke it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use snaprun::function::FunctionSpec;
use snaprun::runtime::FunctionConfig;
use snaprun::{frontdoor, pool};

/// Which engine starts instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EngineChoice {
    /// A plain cold start for every instance: the baseline.
    None,
}

/// Run a Lambda-style bootstrap behind the Runtime API and an invoke endpoint.
///
/// snaprun starts the bootstrap with the documented Lambda environment and
/// serves the Runtime API (2018-06-01) to it. Invocations arrive at the
/// emulator-compatible front door, `POST /2015-03-31/functions/function/invocations`
/// on --listen, and queue when every instance is busy. Logs (the function's
/// own and INIT_REPORT/REPORT lines) go to stderr.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How instances start.
    #[arg(long, value_enum, default_value_t = EngineChoice::None)]
    engine: EngineChoice,
    /// Address of the invoke front door.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// How many instances serve invocations at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
    /// Per-invocation limit, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    timeout: f64,
    /// Limit on init, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    init_timeout: f64,
    /// Extra environment for the bootstrap (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// The handler, passed as _HANDLER.
    #[arg(long, default_value = "index.handler")]
    handler: String,
    /// Memory size reported to the function, in MB.
    #[arg(long, default_value_t = 128)]
    memory_size: u32,
    /// The function's name.
    #[arg(long, default_value = "function")]
    function_name: String,
    /// The bootstrap and its arguments.
    #[arg(required = true, last = true, value_name = "BOOTSTRAP [ARGS]")]
    command: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not K=V")),
    }
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("--{name} must be a positive number of seconds, not {value}"))
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let (bootstrap, rest) = args.command.split_first().context("no bootstrap given")?;
    let bootstrap = PathBuf::from(bootstrap);
    let meta = std::fs::metadata(&bootstrap)
        .with_context(|| format!("bootstrap {}", bootstrap.display()))?;
    anyhow::ensure!(
        meta.is_file() && std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
        "bootstrap {} is not an executable file",
        bootstrap.display()
    );
    let spec = FunctionSpec {
        bootstrap,
        args: rest.to_vec(),
        env: args.env,
        config: FunctionConfig {
            name: args.function_name,
            memory_mb: args.memory_size,
            handler: args.handler,
            timeout: seconds("timeout", args.timeout)?,
        },
        init_timeout: seconds("init-timeout", args.init_timeout)?,
    };
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    runtime.block_on(async move {
        let listener = frontdoor::bind(args.listen)
            .await
            .with_context(|| format!("listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let queue = pool::start(spec, args.concurrency as usize);
        eprintln!(
            "snaprun: listening on http://{addr} (engine none, concurrency {})",
            args.concurrency
        );
        tokio::select! {
            () = frontdoor::serve(listener, queue) => {}
            _ = tokio::signal::ctrl_c() => eprintln!("snaprun: interrupted, shutting down"),
        }
        Ok(())
    })
}
