//! The checkout's demo functions as `snaprun bench --all-demos` measures
//! them: each one's bootstrap, flags and engines, written as the
//! `snaprun bench` command line a user would type, and parsed by the same
//! flags.

use std::path::Path;

use clap::Parser;

use super::function_args::{Function, FunctionArgs};

/// One demo, ready to measure.
#[derive(Debug)]
pub(super) struct Demo {
    /// Its name, as the chart and the JSON name it.
    pub(super) name: &'static str,
    /// Its function under each engine it is measured with.
    pub(super) functions: Vec<Function>,
}

/// A demo's function flags, parsed as `snaprun bench` parses them.
#[derive(Debug, Parser)]
struct DemoFlags {
    #[command(flatten)]
    function: FunctionArgs,
}

/// Where a local S3-compatible server (moto) holds the `snap-demo` bucket
/// with `hello.txt`, for the S3 demos.
#[derive(Debug, Clone)]
pub(super) struct S3 {
    /// `http://127.0.0.1:PORT`.
    pub(super) endpoint: String,
}

/// What one demo needs: its name, engines, bootstrap (relative to the
/// checkout), arguments and whether it reads S3.
struct Entry {
    name: &'static str,
    engines: &'static str,
    bootstrap: &'static str,
    args: &'static [&'static str],
    /// `LAMBDA_TASK_ROOT` for Node's runtime, relative to the checkout.
    task_root: Option<&'static str>,
    s3: bool,
    /// What else must be there (installed packages), relative to the
    /// checkout.
    needs: &'static [&'static str],
    /// How to build what is missing.
    build: &'static str,
}

/// Stands for the snapjs built with this snaprun (beside it), or else the
/// checkout's release build.
const SNAPJS: &str = "snapjs";

const ENTRIES: &[Entry] = &[
    Entry {
        name: "rust-hello",
        engines: "all",
        bootstrap: "demo-functions/rust-hello/target/release/bootstrap",
        args: &[],
        task_root: None,
        s3: false,
        needs: &[],
        build: "cd demo-functions/rust-hello && cargo build --release",
    },
    Entry {
        name: "rust-heavy-init",
        engines: "all",
        bootstrap: "demo-functions/rust-heavy-init/target/x86_64-unknown-linux-gnu/release/bootstrap",
        args: &[],
        task_root: None,
        s3: false,
        needs: &[],
        build: "cd demo-functions/rust-heavy-init && cargo build --release",
    },
    Entry {
        name: "rust-data-heavy",
        engines: "all",
        bootstrap: "demo-functions/rust-data-heavy/target/release/bootstrap",
        args: &[],
        task_root: None,
        s3: false,
        needs: &[],
        build: "cd demo-functions/rust-data-heavy && cargo build --release",
    },
    Entry {
        name: "node-s3",
        engines: "all",
        bootstrap: "demo-functions/node-s3/bootstrap",
        args: &[],
        task_root: None,
        s3: true,
        needs: &["demo-functions/node-s3/node_modules"],
        build: "cd demo-functions/node-s3 && npm ci",
    },
    Entry {
        name: "rust-s3",
        engines: "none,criu",
        bootstrap: "demo-functions/rust-s3/target/release/bootstrap",
        args: &[],
        task_root: None,
        s3: true,
        needs: &[],
        build: "cd demo-functions/rust-s3 && cargo build --release",
    },
    Entry {
        name: "rust-s3 (native)",
        engines: "none,native",
        bootstrap: "demo-functions/rust-s3/target/release/bootstrap-native",
        args: &[],
        task_root: None,
        s3: true,
        needs: &[],
        build: "cd demo-functions/rust-s3 && cargo build --release",
    },
    Entry {
        name: "js-heavy-init (node)",
        engines: "all",
        bootstrap: "demo-functions/node-s3/bootstrap",
        args: &[],
        task_root: Some("demo-functions/js-heavy-init"),
        s3: false,
        needs: &[
            "demo-functions/node-s3/node_modules",
            "demo-functions/js-heavy-init/node_modules",
        ],
        build: "cd demo-functions/js-heavy-init && npm ci",
    },
    Entry {
        name: "js-s3 (snapjs)",
        engines: "none,native",
        bootstrap: SNAPJS,
        args: &["demo-functions/js-s3/dist"],
        task_root: None,
        s3: true,
        needs: &[],
        build: "cargo build --release; cd demo-functions/js-s3 && npm ci && node build.mjs",
    },
    Entry {
        name: "js-heavy-init (snapjs)",
        engines: "none,native",
        bootstrap: SNAPJS,
        args: &["demo-functions/js-heavy-init/dist"],
        task_root: None,
        s3: false,
        needs: &[],
        build: "cargo build --release; cd demo-functions/js-heavy-init && npm ci && node build.mjs",
    },
];

/// Every demo in the checkout at `root` that can run here, with its
/// snapshots under `bench-demos/` in the snapshot home (made anew with
/// `fresh`);
/// says on stderr which it leaves out and why.
pub(super) fn all(root: &Path, s3: Option<&S3>, fresh: bool) -> anyhow::Result<Vec<Demo>> {
    let home = snaprun::snapshot_home::snapshot_home()
        .map_err(|e| anyhow::anyhow!(e).context("the demos' snapshot directory"))?;
    let mut demos = Vec::new();
    for entry in ENTRIES {
        let bootstrap = if entry.bootstrap == SNAPJS {
            snapjs(root)
        } else {
            root.join(entry.bootstrap)
        };
        let missing = std::iter::once(bootstrap.clone())
            .chain(entry.args.iter().map(|a| root.join(a)))
            .chain(entry.needs.iter().map(|n| root.join(n)))
            .find(|p| !p.exists());
        if let Some(missing) = missing {
            eprintln!(
                "snaprun: --all-demos: leaving out {} ({} is missing; build it: {})",
                entry.name,
                missing.display(),
                entry.build
            );
            continue;
        }
        let mut argv: Vec<String> = vec![
            "bench".into(),
            "--engine".into(),
            entry.engines.into(),
            "--function-name".into(),
            entry.name.split(' ').next().unwrap_or(entry.name).into(),
            "--snapshot-dir".into(),
            home.join("bench-demos")
                .join(entry.name.replace([' ', '(', ')'], ""))
                .display()
                .to_string(),
        ];
        if fresh {
            argv.push("--fresh".into());
        }
        if let Some(task_root) = entry.task_root {
            argv.push("--env".into());
            argv.push(format!(
                "LAMBDA_TASK_ROOT={}",
                root.join(task_root).display()
            ));
        }
        if entry.s3 {
            let Some(s3) = s3 else {
                eprintln!(
                    "snaprun: --all-demos: leaving out {} (it reads S3: give --s3-endpoint)",
                    entry.name
                );
                continue;
            };
            argv.extend(s3_flags(s3, entry.engines != "none,native")?);
        }
        argv.push("--".into());
        argv.push(bootstrap.display().to_string());
        argv.extend(
            entry
                .args
                .iter()
                .map(|a| root.join(a).display().to_string()),
        );
        let flags = DemoFlags::try_parse_from(&argv)?;
        demos.push(Demo {
            name: entry.name,
            functions: flags.function.resolve_each()?,
        });
    }
    Ok(demos)
}

/// The snapjs beside this snaprun (built with it), or else the checkout's
/// release build.
fn snapjs(root: &Path) -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(SNAPJS)))
        .filter(|beside| beside.is_file())
        .unwrap_or_else(|| root.join("target/release").join(SNAPJS))
}

/// The flags that point an S3 demo at `s3`: its endpoint, credentials
/// (the caller's, or moto's `test`), and with CRIU a forward into the
/// instances' network namespace.
fn s3_flags(s3: &S3, forward: bool) -> anyhow::Result<Vec<String>> {
    let url = s3.endpoint.trim_end_matches('/');
    let host = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--s3-endpoint {url}: give http://127.0.0.1:PORT"))?;
    let credential = |name: &str| std::env::var(name).unwrap_or_else(|_| "test".into());
    let mut flags = vec![
        "--env".into(),
        format!("S3_ENDPOINT={url}"),
        "--env".into(),
        format!("AWS_ACCESS_KEY_ID={}", credential("AWS_ACCESS_KEY_ID")),
        "--env".into(),
        format!(
            "AWS_SECRET_ACCESS_KEY={}",
            credential("AWS_SECRET_ACCESS_KEY")
        ),
    ];
    if forward {
        flags.extend(["--forward".into(), host.to_owned()]);
    }
    Ok(flags)
}
