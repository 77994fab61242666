//! `snaprun`: run Lambda-style functions from process snapshots.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // SAFETY: first thing in main: snaprun has opened nothing that a child
    // should inherit (its own descriptors are close-on-exec anyway).
    unsafe { snaprun::child::close_inherited_descriptors() };
    let args = cli::Cli::parse();
    for (key, var) in [
        (&args.signing_key, snap::snapshot::SIGNING_KEY_ENV),
        (&args.encrypt_key, snap::snapshot::ENCRYPT_KEY_ENV),
    ] {
        if let Some(key) = key {
            let key = std::path::absolute(key).unwrap_or_else(|_| key.clone());
            // SAFETY: still single-threaded: nothing has started a thread yet.
            unsafe { std::env::set_var(var, key) };
        }
    }
    cli::init_logging(args.verbose);
    match cli::run(args.command) {
        Ok(code) => code,
        Err(err) => {
            // One line: the error and its causes, joined.
            eprintln!("snaprun: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
