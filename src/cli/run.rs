//! `snaprun run`: host the Runtime API for a bootstrap and invoke it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use snaprun::pool::Launcher;
use snaprun::{frontdoor, pool};
use tokio::signal::unix::{Signal, SignalKind, signal};

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
///
/// SIGTERM or SIGINT stops snaprun: it refuses new invocations, lets those
/// in flight finish within --shutdown-grace, ends every instance (SIGTERM,
/// then SIGKILL), and exits with 128 + the signal's number (143, 130).
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
    /// On SIGTERM or SIGINT, how long invocations in flight may take to
    /// finish, in seconds, before every instance is killed.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    shutdown_grace: f64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let grace = Duration::try_from_secs_f64(args.shutdown_grace).with_context(|| {
        format!(
            "--shutdown-grace must be zero or a positive number of seconds, not {}",
            args.shutdown_grace
        )
    })?;
    let function = args.function.resolve()?;
    let engine_name = function.engine_name();
    let launcher = match function.snapshot {
        None => Launcher::Cold(function.spec),
        Some(engine) if function.adaptive => Launcher::adaptive(engine),
        Some(engine) => Launcher::restore(engine),
    };
    let runtime = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let code = runtime.block_on(async move {
        // Before anything starts: a signal from now on is a stop, not death.
        let mut stops = Stops::new()?;
        let listener = frontdoor::bind(args.listen)
            .await
            .with_context(|| format!("listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let pool = pool::start(launcher, args.concurrency as usize);
        let (stop_door, door_stop) = tokio::sync::watch::channel(false);
        let mut door = tokio::spawn(frontdoor::serve_until(listener, pool.queue(), door_stop));
        eprintln!(
            "snaprun: listening on http://{addr} (engine {engine_name}, concurrency {})",
            args.concurrency
        );
        let signal = stops.next().await;
        stop_door.send_replace(true);
        // New invocations are refused from here on.
        let stopped = pool.stop(grace);
        eprintln!(
            "snaprun: {}, stopping: invocations in flight have {:.1} s to finish",
            signal.name,
            grace.as_secs_f64()
        );
        let in_time = stopped.await;
        // The front door writes the last answers and closes its connections.
        if tokio::time::timeout(DOOR_CLOSE, &mut door).await.is_err() {
            door.abort();
        }
        if in_time {
            eprintln!("snaprun: stopped");
        } else {
            eprintln!(
                "snaprun: stopped: the shutdown grace ran out, so instances still busy were killed"
            );
        }
        anyhow::Ok(ExitCode::from(128 + signal.number))
    })?;
    // A CRIU dump or restore under way on a blocking thread is not waited
    // for long: its processes die with snaprun.
    runtime.shutdown_timeout(DOOR_CLOSE);
    Ok(code)
}

/// How long the front door may take to write its last answers.
const DOOR_CLOSE: Duration = Duration::from_secs(1);

/// The signals that stop `snaprun run`.
struct Stops {
    term: Signal,
    int: Signal,
}

/// A signal that stopped snaprun.
struct Stop {
    name: &'static str,
    number: u8,
}

impl Stops {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate()).context("handle SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("handle SIGINT")?,
        })
    }

    async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.term.recv() => Stop { name: "SIGTERM", number: libc::SIGTERM as u8 },
            _ = self.int.recv() => Stop { name: "SIGINT", number: libc::SIGINT as u8 },
        }
    }
}
