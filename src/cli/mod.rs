//! Command-line interface.

mod bench;
mod check;
mod checkpoint;
mod demo;
mod demos;
mod function_args;
mod inspect;
mod invoke;
mod output;
mod pull;
mod push;
mod relay;
mod restore;
mod run;
mod spawn;
mod store_args;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Run Lambda-style functions from process snapshots.
///
/// snaprun checkpoints a running process tree with CRIU and restores as many
/// copies of it as needed, side by side. Start the tree with `snaprun spawn`
/// so that it owns its PID and network namespaces; a snapshot of such a tree
/// restores any number of times at once.
#[derive(Debug, Parser)]
#[command(
    name = "snaprun",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    /// Sign every snapshot written with this key file (HMAC-SHA256, a
    /// regular file of 32 bytes to 4 KiB), and refuse to open any snapshot it did not sign.
    /// Same as SNAP_SIGNING_KEY=FILE, which bootstraps also get.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) signing_key: Option<std::path::PathBuf>,

    /// Encrypt every snapshot written with this key file (ChaCha20-Poly1305,
    /// a regular file of 32 bytes to 4 KiB), and decrypt snapshots once per machine into a
    /// private cache on tmpfs to restore from. Same as SNAP_ENCRYPT_KEY=FILE,
    /// which bootstraps also get.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) encrypt_key: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Demo(demo::Args),
    Run(run::Args),
    Invoke(invoke::Args),
    Bench(bench::Args),
    CheckUnique(check::Args),
    Spawn(spawn::Args),
    Checkpoint(checkpoint::Args),
    Restore(restore::Args),
    Inspect(inspect::Args),
    Push(push::Args),
    Pull(pull::Args),
    #[command(hide = true)]
    Relay(relay::Args),
}

/// Sends `tracing` output to stderr at the level `-v` asks for.
pub(crate) fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Runs `command`; the exit code it asks for, if it succeeds.
pub(crate) fn run(command: Command) -> anyhow::Result<std::process::ExitCode> {
    let done = match command {
        Command::Run(args) => return run::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Invoke(args) => invoke::run(args),
        Command::Bench(args) => bench::run(args),
        Command::CheckUnique(args) => check::run(args),
        Command::Spawn(args) => spawn::run(args),
        Command::Checkpoint(args) => checkpoint::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Push(args) => push::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Relay(args) => relay::run(args),
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}
