//! `snaprun spawn`: start a process tree snapshot-ready.

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context;
use snap::sandbox::SandboxCommand;

/// Start a process tree snapshot-ready and print its pid.
///
/// The program runs as PID 1 of a new PID namespace, as session leader, in a
/// new network namespace with loopback up. Its snapshots can then be restored
/// many times at once. Needs root (CAP_SYS_ADMIN). The tree keeps running
/// after snaprun exits; stdio defaults to /dev/null.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Read stdin from this file.
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// Append stdout to this file (created if missing).
    #[arg(long, value_name = "FILE")]
    stdout: Option<PathBuf>,
    /// Append stderr to this file (created if missing).
    #[arg(long, value_name = "FILE")]
    stderr: Option<PathBuf>,
    /// The program to run and its arguments.
    #[arg(required = true, last = true, value_name = "PROGRAM [ARGS]")]
    command: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let (program, rest) = args.command.split_first().context("no program given")?;
    let mut cmd = SandboxCommand::new(program).args(rest);
    if let Some(path) = &args.stdin {
        let file = File::open(path).with_context(|| format!("open {}", path.display()))?;
        cmd = cmd.stdin(file);
    }
    for (path, is_stdout) in [(&args.stdout, true), (&args.stderr, false)] {
        let Some(path) = path else { continue };
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("open {}", path.display()))?;
        cmd = if is_stdout {
            cmd.stdout(file)
        } else {
            cmd.stderr(file)
        };
    }
    let tree = cmd
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    // It is meant to outlive this command.
    let pid = tree.detach();
    super::output::print(&format!("{pid}\n"))
}
