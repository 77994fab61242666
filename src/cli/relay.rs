//! `snaprun relay`: the in-sandbox end of the Runtime API (internal).

use std::net::SocketAddr;
use std::path::PathBuf;

use snaprun::relay::inside;

/// Internal: serve the Runtime API inside a sandbox over the control pipes on
/// fds 0 and 1, and run the bootstrap. Started by `snaprun run --engine criu`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the Runtime API listens inside the sandbox.
    #[arg(long)]
    listen: SocketAddr,
    /// Host services to make reachable at the same address inside.
    #[arg(long)]
    forward: Vec<SocketAddr>,
    /// The bootstrap and its arguments.
    #[arg(required = true, last = true)]
    command: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let (bootstrap, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no bootstrap"))?;
    let mut listen = vec![args.listen];
    listen.extend(args.forward);
    let code = inside::run(inside::Config {
        listen,
        bootstrap: PathBuf::from(bootstrap),
        args: rest.to_vec(),
    })?;
    std::process::exit(code)
}
