//! The compatibility suite: every handler in tests/npm_compat/cases loads
//! real, unbundled npm packages (tests/npm_compat/package-lock.json, `npm
//! ci`) or Node built-ins, and answers deterministically. Each runs under
//! Node (demo-functions/node-s3's bootstrap) and under snapjs, cold and
//! restored from its native snapshot; snapjs restored must give Node's
//! answer, except for the cases in [`KNOWN_DIFFERENCES`], which must still
//! differ (so the list stays true). `--nocapture` prints the matrix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use common::{Moto, RunningFunction, json, npm_compat_root, snapjs, tiny_http_server};
use serde_json::Value;

/// Each case (a file in tests/npm_compat/cases) and the package it
/// exercises (`node:` for a Node built-in alone).
const CASES: &[(&str, &str)] = &[
    ("ajv", "ajv"),
    ("aws_dynamodb", "@aws-sdk/lib-dynamodb"),
    ("aws_sqs", "@aws-sdk/client-sqs"),
    ("axios", "axios"),
    ("bcryptjs", "bcryptjs"),
    ("bignumber", "bignumber.js"),
    ("chalk", "chalk"),
    ("cjs_module", "node:module"),
    ("cookie", "cookie"),
    ("crypto_js", "crypto-js"),
    ("csv_parse", "csv-parse"),
    ("date_fns", "date-fns"),
    ("dayjs", "dayjs"),
    ("debug", "debug"),
    ("deepmerge", "deepmerge"),
    ("dotenv", "dotenv"),
    ("esm_module", "node:module"),
    ("fast_xml_parser", "fast-xml-parser"),
    ("got", "got"),
    ("handlebars", "handlebars"),
    ("he", "he"),
    ("iconv_lite", "iconv-lite"),
    ("immer", "immer"),
    ("joi", "joi"),
    ("jose", "jose"),
    ("js_yaml", "js-yaml"),
    ("jsonwebtoken", "jsonwebtoken"),
    ("lodash", "lodash"),
    ("lru_cache", "lru-cache"),
    ("luxon", "luxon"),
    ("marked", "marked"),
    ("middy", "@middy/core"),
    ("mime_types", "mime-types"),
    ("ms", "ms"),
    ("nanoid", "nanoid"),
    ("node_async_hooks", "node:async_hooks"),
    ("node_buffer", "node:buffer"),
    ("node_crypto", "node:crypto"),
    ("node_events", "node:events"),
    ("node_fetch2", "node-fetch"),
    ("node_fetch3", "node-fetch3"),
    ("node_fs_path", "node:fs"),
    ("node_misc", "node:querystring"),
    ("node_stream", "node:stream"),
    ("node_util", "node:util"),
    ("node_zlib", "node:zlib"),
    ("p_limit", "p-limit"),
    ("pino", "pino"),
    ("pino_stdout", "pino"),
    ("powertools_logger", "@aws-lambda-powertools/logger"),
    ("qs", "qs"),
    ("ramda", "ramda"),
    ("semver", "semver"),
    ("superjson", "superjson"),
    ("ulid", "ulid"),
    ("uuid", "uuid"),
    ("validator", "validator"),
    ("xml2js", "xml2js"),
    ("yaml", "yaml"),
    ("zod", "zod"),
];

/// Cases where snapjs (restored) does not give Node's answer yet, each with
/// the reason. The test fails if one of these now gives Node's answer:
/// take it off the list then (and update docs/snapjs.md's matrix).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "got",
        "got loads (node:tls, node:http2, Intl.ListFormat are there) but its request over node:http never completes: TimeoutError after 5000 ms",
    ),
    (
        "pino_stdout",
        "sonic-boom writes to fd 1 with fs.write/fs.writeSync(fd): node:fs has no file-descriptor API",
    ),
];

/// The fewest cases that must give Node's answer on snapjs, restored.
const MIN_EQUAL: usize = 58;

/// Cases run at once (each runs its three runtimes one after another).
const WORKERS: usize = 3;

/// What one runtime answered.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Answer(Value),
    /// `errorType: errorMessage` of a function error, or what went wrong.
    Failed(String),
}

impl Outcome {
    fn cell(&self, node: &Outcome) -> String {
        match (self, node) {
            (Outcome::Answer(a), Outcome::Answer(n)) if a == n => "ok".to_owned(),
            (Outcome::Answer(_), Outcome::Answer(_)) => "differs".to_owned(),
            (Outcome::Answer(_), Outcome::Failed(_)) => "answered".to_owned(),
            (Outcome::Failed(e), _) => {
                let kind = e.split(':').next().unwrap_or(e);
                format!("FAIL {kind}")
            }
        }
    }
}

/// The runtimes a case runs under.
#[derive(Clone, Copy, Debug)]
enum Runtime {
    Node,
    SnapjsCold,
    SnapjsRestored,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Node => "node",
            Runtime::SnapjsCold => "cold",
            Runtime::SnapjsRestored => "restored",
        }
    }
}

/// What every case's run shares.
struct Suite {
    root: PathBuf,
    node_bootstrap: PathBuf,
    snapjs: PathBuf,
    /// The test's HTTP server (`http://ADDR`).
    url: String,
    moto: Moto,
    snapshots: tempfile::TempDir,
}

impl Suite {
    /// Runs `case` under `runtime` (one snaprun, one invocation).
    fn run(&self, case: &str, runtime: Runtime) -> Outcome {
        let handler = format!("cases/{case}.handler");
        let task_root = format!("LAMBDA_TASK_ROOT={}", self.root.display());
        let snapshot = self.snapshots.path().join(case);
        let mut args: Vec<String> = vec!["--engine".into()];
        args.push(match runtime {
            Runtime::SnapjsRestored => "native".into(),
            _ => "none".into(),
        });
        if let Runtime::SnapjsRestored = runtime {
            args.extend(["--snapshot-dir".into(), snapshot.display().to_string()]);
        }
        args.extend(["--init-timeout".into(), "60".into()]);
        args.extend(["--handler".into(), handler]);
        for kv in [
            task_root.as_str(),
            "TZ=UTC",
            "AWS_REGION=us-east-1",
            "AWS_ACCESS_KEY_ID=test",
            "AWS_SECRET_ACCESS_KEY=test",
        ] {
            args.extend(["--env".into(), kv.to_owned()]);
        }
        args.push("--".into());
        match runtime {
            Runtime::Node => args.push(self.node_bootstrap.display().to_string()),
            Runtime::SnapjsCold | Runtime::SnapjsRestored => {
                args.push(self.snapjs.display().to_string());
                args.push(self.root.display().to_string());
            }
        }
        let event = serde_json::json!({
            "url": self.url,
            "endpoint": self.moto.endpoint,
            "suffix": format!("{}-{}", runtime.name(), case.replace('_', "-")),
        })
        .to_string();
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = RunningFunction::start(&args);
            run.invoke(event.as_bytes())
        }));
        match attempt {
            Ok((200, false, body)) => match serde_json::from_str(&body) {
                Ok(v) => Outcome::Answer(v),
                Err(e) => Outcome::Failed(format!("NotJson: {e}: {body}")),
            },
            Ok((status, _, body)) => {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let kind = v["errorType"].as_str().unwrap_or("Unknown");
                let message = v["errorMessage"].as_str().unwrap_or(&body);
                Outcome::Failed(format!("{kind}: {message} (HTTP {status})"))
            }
            Err(panic) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Outcome::Failed(format!("Harness: {text}"))
            }
        }
    }
}

/// One case's results.
struct Row {
    case: &'static str,
    package: String,
    node: Outcome,
    cold: Outcome,
    restored: Outcome,
}

impl Row {
    fn equal(&self) -> bool {
        matches!(self.node, Outcome::Answer(_)) && self.restored == self.node
    }
}

/// Each installed package's `name@version`, from the suite's package-lock.json.
fn package_versions(root: &Path) -> BTreeMap<String, String> {
    let lock = json(&std::fs::read_to_string(root.join("package-lock.json")).unwrap());
    let packages = lock["packages"].as_object().unwrap();
    packages
        .iter()
        .filter_map(|(path, meta)| {
            let name = path.strip_prefix("node_modules/")?;
            if name.contains("/node_modules/") {
                return None;
            }
            // An alias (`node-fetch3` for node-fetch 3) names the real package.
            let real = meta["name"].as_str().unwrap_or(name);
            Some((
                name.to_owned(),
                format!("{real}@{}", meta["version"].as_str()?),
            ))
        })
        .collect()
}

fn case_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
            stem.to_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn snapjs_gives_nodes_answer_for_real_npm_packages() {
    let Some(root) = npm_compat_root() else {
        return;
    };
    let started = Instant::now();

    // The lists name exactly the cases there are.
    let listed: Vec<String> = CASES.iter().map(|(c, _)| (*c).to_owned()).collect();
    assert_eq!(
        case_files(&root),
        listed,
        "CASES lists every file in tests/npm_compat/cases"
    );
    for (case, reason) in KNOWN_DIFFERENCES {
        assert!(
            listed.iter().any(|c| c == case),
            "KNOWN_DIFFERENCES names {case}, which is no case"
        );
        assert!(
            !reason.is_empty(),
            "KNOWN_DIFFERENCES gives {case} no reason"
        );
    }
    let versions = package_versions(&root);

    let suite = Suite {
        node_bootstrap: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("demo-functions/node-s3/bootstrap"),
        snapjs: snapjs(),
        url: format!(
            "http://{}",
            tiny_http_server(r#"{"greeting":"hello","n":42}"#)
        ),
        moto: Moto::start("compat"),
        snapshots: tempfile::tempdir().unwrap(),
        root,
    };

    let next = Mutex::new(CASES.iter());
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let Some(&(case, package)) = next.lock().unwrap().next() else {
                        return;
                    };
                    let package = match versions.get(package) {
                        Some(versioned) => versioned.clone(),
                        None if package.starts_with("node:") => package.to_owned(),
                        None => panic!(
                            "{package} (case {case}) is not in tests/npm_compat/package-lock.json"
                        ),
                    };
                    let row = Row {
                        case,
                        package,
                        node: suite.run(case, Runtime::Node),
                        cold: suite.run(case, Runtime::SnapjsCold),
                        restored: suite.run(case, Runtime::SnapjsRestored),
                    };
                    rows.lock().unwrap().push(row);
                }
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|r| r.case);

    println!(
        "{:<18} {:<40} {:<8} {:<30} {:<30} equal",
        "case", "package", "node", "snapjs cold", "snapjs restored"
    );
    for row in &rows {
        let node = match &row.node {
            Outcome::Answer(_) => "ok".to_owned(),
            failed => failed.cell(&Outcome::Failed(String::new())),
        };
        println!(
            "{:<18} {:<40} {:<8} {:<30} {:<30} {}",
            row.case,
            row.package,
            node,
            row.cold.cell(&row.node),
            row.restored.cell(&row.node),
            if row.equal() { "yes" } else { "no" }
        );
    }
    println!("\ndetails of every case that is not equal:");
    for row in rows.iter().filter(|r| !r.equal()) {
        println!("- {}", row.case);
        for (name, outcome) in [
            ("node", &row.node),
            ("cold", &row.cold),
            ("restored", &row.restored),
        ] {
            let text = match outcome {
                Outcome::Answer(v) => format!("answer {v}"),
                Outcome::Failed(e) => e.clone(),
            };
            let text: String = text.chars().take(600).collect();
            println!("    {name}: {text}");
        }
    }
    let equal = rows.iter().filter(|r| r.equal()).count();
    let cold_equal = rows
        .iter()
        .filter(|r| matches!(r.node, Outcome::Answer(_)) && r.cold == r.node)
        .count();
    let node_ok = rows
        .iter()
        .filter(|r| matches!(r.node, Outcome::Answer(_)))
        .count();
    println!(
        "\nNode answered {node_ok}/{n}; snapjs gave Node's answer in {cold_equal}/{n} cold, {equal}/{n} restored ({:.1} s, {WORKERS} at a time)",
        started.elapsed().as_secs_f64(),
        n = rows.len()
    );

    let known = |case: &str| KNOWN_DIFFERENCES.iter().any(|(c, _)| *c == case);
    let unexpected: Vec<&str> = rows
        .iter()
        .filter(|r| !r.equal() && !known(r.case))
        .map(|r| r.case)
        .collect();
    let now_equal: Vec<&str> = rows
        .iter()
        .filter(|r| r.equal() && known(r.case))
        .map(|r| r.case)
        .collect();
    assert!(
        unexpected.is_empty(),
        "these cases differ from Node on snapjs (restored) and are not in KNOWN_DIFFERENCES: {unexpected:?}"
    );
    assert!(
        now_equal.is_empty(),
        "these cases now give Node's answer: take them off KNOWN_DIFFERENCES (and docs/snapjs.md): {now_equal:?}"
    );
    assert!(
        equal >= MIN_EQUAL,
        "only {equal} cases give Node's answer on snapjs, restored; at least {MIN_EQUAL} must"
    );
}
