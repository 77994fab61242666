//! The handler-loading rules of AWS's Node runtime client, run against both
//! of snap's JavaScript runtimes through the real snaprun: the Node
//! bootstrap (`demo-functions/node-s3/bootstrap`, `--engine none`, real
//! Node) and snapjs restored from a native snapshot. One table of cases
//! (`tests/fixtures/handlers/`, one task root per sub-directory); every case
//! must give the same answer (or error type and message fragment) on both.
//!
//! `cargo test --test handler_loading -- --nocapture` prints the pass count
//! for each runtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::{RunningFunction, json, snapjs};

/// What a case must answer.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// A success with this JSON body.
    Answer(&'static str),
    /// A function error of this type whose message contains the fragment.
    Error(&'static str, &'static str),
}

use Want::{Answer, Error};

/// One rule: a handler of a task root, an event, and the outcome.
#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    root: &'static str,
    handler: &'static str,
    event: &'static str,
    want: Want,
}

const fn case(
    name: &'static str,
    root: &'static str,
    handler: &'static str,
    event: &'static str,
    want: Want,
) -> Case {
    Case {
        name,
        root,
        handler,
        event,
        want,
    }
}

/// The table. Cases that share a task root and handler share one snaprun
/// (in table order), so the invocation cases go through one router handler.
const CASES: &[Case] = &[
    // Extension precedence: extensionless, .js, .mjs, .cjs.
    case(
        "extensionless file first",
        "precedence",
        "app.handler",
        "{}",
        Answer(r#""extensionless""#),
    ),
    case(
        ".js before .mjs and .cjs",
        "precedence",
        "second.handler",
        "{}",
        Answer(r#""js""#),
    ),
    case(
        ".mjs before .cjs",
        "precedence",
        "third.handler",
        "{}",
        Answer(r#""mjs""#),
    ),
    case(
        ".cjs last",
        "precedence",
        "fourth.handler",
        "{}",
        Answer(r#""cjs""#),
    ),
    // Nesting and the first dot.
    case(
        "nested export path",
        "precedence",
        "nested.outer.inner.handler",
        "{}",
        Answer(r#""nested""#),
    ),
    case(
        "module split at the first dot",
        "precedence",
        "dotted.name.handler",
        "{}",
        Answer(r#""first dot""#),
    ),
    case(
        "a bare name from node_modules last",
        "precedence",
        "frompkg.handler",
        "{}",
        Answer(r#""a package in node_modules""#),
    ),
    case(
        "module in a sub-directory",
        "precedence",
        "sub/dir/app.handler",
        "{}",
        Answer(r#""subdir""#),
    ),
    case(
        "./ prefix",
        "precedence",
        "./sub/dir/app.handler",
        "{}",
        Answer(r#""subdir""#),
    ),
    // Package type.
    case(
        "type module: .js is ESM",
        "typemodule",
        "index.handler",
        "{}",
        Answer(r#""esm .js""#),
    ),
    case(
        "type module reaches sub-folders",
        "typemodule",
        "lib/deep.handler",
        "{}",
        Answer(r#""esm .js in a sub-folder""#),
    ),
    case(
        "node_modules ends the package search",
        "typemodule",
        "node_modules/inner/app.handler",
        "{}",
        Answer(r#""cjs under node_modules""#),
    ),
    case(
        "extensionless is CommonJS under type module",
        "typemodule",
        "plain.handler",
        "{}",
        Answer(r#""extensionless is cjs""#),
    ),
    case(
        "CommonJS code in a type-module .js",
        "typemodule",
        "cjs-code.handler",
        "{}",
        Error("ReferenceError", "is not defined"),
    ),
    case(
        "type commonjs: .js is CommonJS",
        "typecommonjs",
        "index.handler",
        "{}",
        Answer(r#""cjs .js""#),
    ),
    case(
        "ESM syntax in a CommonJS .js",
        "typecommonjs",
        "esm-code.handler",
        "{}",
        Error("Runtime.UserCodeSyntaxError", "SyntaxError"),
    ),
    case(
        "the nearest package.json wins",
        "typemodule",
        "cjsdir/index.handler",
        "{}",
        Answer(r#""the nearest package.json wins""#),
    ),
    // Top-level await and interop.
    case(
        "top-level await",
        "typemodule",
        "tla.handler",
        "{}",
        Answer(r#"{"value":42}"#),
    ),
    case(
        "ESM imports CommonJS",
        "interop",
        "esm-imports-cjs.handler",
        "{}",
        Answer(r#"["hello default","hello named"]"#),
    ),
    case(
        "CommonJS requires CommonJS",
        "interop",
        "cjs-requires-cjs.handler",
        "{}",
        Answer(r#""hello require""#),
    ),
    case(
        "CommonJS imports ESM dynamically",
        "interop",
        "dynamic-import.handler",
        "{}",
        Answer(r#""hi dynamic""#),
    ),
    case(
        "require in an ES module",
        "interop",
        "require-in-mjs.handler",
        "{}",
        Error("ReferenceError", "require is not defined"),
    ),
    case(
        "export in a .cjs",
        "interop",
        "export-in-cjs.handler",
        "{}",
        Error("Runtime.UserCodeSyntaxError", "SyntaxError"),
    ),
    case(
        "static import in a .cjs",
        "interop",
        "import-in-cjs.handler",
        "{}",
        Error("Runtime.UserCodeSyntaxError", "SyntaxError"),
    ),
    // Bad names.
    case(
        "../ escapes the task root",
        "errors",
        "../precedence/app.handler",
        "{}",
        Error(
            "Runtime.MalformedHandlerName",
            "is not a valid handler name",
        ),
    ),
    case(
        ".. inside the path",
        "errors",
        "sub/../ok.handler",
        "{}",
        Error(
            "Runtime.MalformedHandlerName",
            "is not a valid handler name",
        ),
    ),
    case(
        "no dot",
        "errors",
        "ok",
        "{}",
        Error("Runtime.MalformedHandlerName", "Bad handler"),
    ),
    // Every init error type.
    case(
        "missing module",
        "errors",
        "missing.handler",
        "{}",
        Error("Runtime.ImportModuleError", "Cannot find module 'missing'"),
    ),
    case(
        "missing export",
        "errors",
        "ok.nothere",
        "{}",
        Error(
            "Runtime.HandlerNotFound",
            "ok.nothere is undefined or not exported",
        ),
    ),
    case(
        "export not a function",
        "errors",
        "ok.notfn",
        "{}",
        Error("Runtime.HandlerNotFound", "ok.notfn is not a function"),
    ),
    case(
        "init throws a TypeError",
        "errors",
        "init-type.handler",
        "{}",
        Error("TypeError", "null"),
    ),
    case(
        "init throws a custom class",
        "errors",
        "init-custom.handler",
        "{}",
        Error("ConfigError", "missing setting TABLE_NAME"),
    ),
    case(
        "top-level await rejects",
        "errors",
        "init-reject.handler",
        "{}",
        Error(
            "AsyncInitRejectionException",
            "Oh noes! something bad happened",
        ),
    ),
    case(
        "syntax error",
        "errors",
        "syntax.handler",
        "{}",
        Error("Runtime.UserCodeSyntaxError", "SyntaxError"),
    ),
    case(
        "SyntaxError thrown at init",
        "errors",
        "json-syntax.handler",
        "{}",
        Error("Runtime.UserCodeSyntaxError", "SyntaxError"),
    ),
    case(
        "require of a missing package",
        "errors",
        "missing-require.handler",
        "{}",
        Error("Runtime.ImportModuleError", "no-such-package-for-snap"),
    ),
    case(
        "import of a missing package",
        "errors",
        "missing-import.handler",
        "{}",
        Error("Error", "no-such-package-for-snap"),
    ),
    // Callback and promise handlers (one plain three-parameter handler).
    case(
        "callback answers",
        "behave",
        "sync.handler",
        r#"{"case":"callback"}"#,
        Answer(r#"{"via":"callback"}"#),
    ),
    case(
        "callback error",
        "behave",
        "sync.handler",
        r#"{"case":"callbackError"}"#,
        Error("TypeError", "callback failed"),
    ),
    case(
        "callback with a string error",
        "behave",
        "sync.handler",
        r#"{"case":"callbackString"}"#,
        Error("string", "a plain string"),
    ),
    case(
        "only the first call counts",
        "behave",
        "sync.handler",
        r#"{"case":"callbackTwice"}"#,
        Answer(r#""first""#),
    ),
    case(
        "callback waits for the empty event loop",
        "behave",
        "sync.handler",
        r#"{"case":"waits"}"#,
        Answer(r#"{"waited":true,"timerRan":true}"#),
    ),
    case(
        "callbackWaitsForEmptyEventLoop false",
        "behave",
        "sync.handler",
        r#"{"case":"noWait"}"#,
        Answer(r#"{"waited":false,"timerRan":false}"#),
    ),
    case(
        "a non-async return value is ignored",
        "behave",
        "sync.handler",
        r#"{"case":"returnValue"}"#,
        Answer("null"),
    ),
    case(
        "no callback, no promise: null",
        "behave",
        "sync.handler",
        r#"{"case":"neverCalls"}"#,
        Answer("null"),
    ),
    case(
        "returned promise answers",
        "behave",
        "sync.handler",
        r#"{"case":"returnPromise"}"#,
        Answer(r#""from a promise""#),
    ),
    case(
        "returned promise rejects",
        "behave",
        "sync.handler",
        r#"{"case":"returnRejected"}"#,
        Error("RangeError", "rejected promise"),
    ),
    case(
        "rejection with undefined",
        "behave",
        "sync.handler",
        r#"{"case":"rejectUndefined"}"#,
        Error("string", "handled"),
    ),
    case(
        "context.succeed",
        "behave",
        "sync.handler",
        r#"{"case":"succeed"}"#,
        Answer(r#"{"via":"succeed"}"#),
    ),
    case(
        "context.fail",
        "behave",
        "sync.handler",
        r#"{"case":"fail"}"#,
        Error("CustomError", "failed via context.fail"),
    ),
    case(
        "context.fail()",
        "behave",
        "sync.handler",
        r#"{"case":"failEmpty"}"#,
        Error("string", "handled"),
    ),
    case(
        "context.done",
        "behave",
        "sync.handler",
        r#"{"case":"done"}"#,
        Answer(r#""done""#),
    ),
    case(
        "context.done with an error",
        "behave",
        "sync.handler",
        r#"{"case":"doneError"}"#,
        Error("SyntaxError", "done with an error"),
    ),
    case(
        "handler throws its own type",
        "behave",
        "sync.handler",
        r#"{"case":"throwError"}"#,
        Error("RangeError", "thrown by the handler"),
    ),
    case(
        "handler throws a custom class",
        "behave",
        "sync.handler",
        r#"{"case":"throwCustom"}"#,
        Error("CustomError", "a custom class"),
    ),
    case(
        "handler throws a string",
        "behave",
        "sync.handler",
        r#"{"case":"throwString"}"#,
        Error("string", "thrown string"),
    ),
    case(
        "handler throws a number",
        "behave",
        "sync.handler",
        r#"{"case":"throwNumber"}"#,
        Error("number", "42"),
    ),
    case(
        "handler throws an object",
        "behave",
        "sync.handler",
        r#"{"case":"throwObject"}"#,
        Error("object", "[object Object]"),
    ),
    case(
        "every context field with its default",
        "behave",
        "sync.handler",
        r#"{"case":"context"}"#,
        Answer(concat!(
            r#"{"keys":["awsRequestId","callbackWaitsForEmptyEventLoop","clientContext","done","fail","functionName","#,
            r#""functionVersion","getRemainingTimeInMillis","identity","invokedFunctionArn","logGroupName","logStreamName","#,
            r#""memoryLimitInMB","succeed","tenantId"],"functionName":"function","functionVersion":"$LATEST","#,
            r#""memoryLimitInMB":"128","logGroupName":"/aws/lambda/function","logStreamName":"snaprun","#,
            r#""arn":"arn:aws:lambda:us-east-1:000000000000:function:function","requestIdLength":36,"#,
            r#""remainingInRange":true,"identity":"undefined","clientContext":"undefined","tenantId":"undefined","#,
            r#""callbackWaitsForEmptyEventLoop":true,"functions":["function","function","function","function"]}"#
        )),
    ),
    case(
        "caught errors are never reported",
        "behave",
        "sync.handler",
        r#"{"case":"caught"}"#,
        Answer(
            r#"["try/catch TypeError",".catch TypeError","all TypeError","allSettled rejected","sync SyntaxError"]"#,
        ),
    ),
    case(
        "a rejection handled microtasks later is not reported",
        "behave",
        "sync.handler",
        r#"{"case":"lateCatch"}"#,
        Answer(r#""caught TypeError""#),
    ),
    case(
        "async handler answers",
        "behave",
        "async.handler",
        r#"{"case":"value"}"#,
        Answer(r#"{"async":true}"#),
    ),
    case(
        "async handler throws",
        "behave",
        "async.handler",
        r#"{"case":"throw"}"#,
        Error("TypeError", "async handler failed"),
    ),
    case(
        "async handler never settles",
        "behave",
        "async.handler",
        r#"{"case":"never"}"#,
        Error("Runtime.NodeJsExit", "never settled"),
    ),
    case(
        "unhandled rejection reported once",
        "behave",
        "unhandled.handler",
        "{}",
        Error(
            "Runtime.UnhandledPromiseRejection",
            "TypeError: nobody handles this",
        ),
    ),
    case(
        "a rejection reason that rejects when printed",
        "behave",
        "reentrant.handler",
        "{}",
        Error(
            "Runtime.UnhandledPromiseRejection",
            "a reason with a busy toString",
        ),
    ),
    case(
        "a throw in a timer",
        "behave",
        "timer-throw.handler",
        "{}",
        Error("EvalError", "thrown in a timer"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Node,
    Snapjs,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Node bootstrap, whose dependencies (`@snap/hooks`) must be installed.
fn node_bootstrap() -> PathBuf {
    let demo = root().join("demo-functions/node-s3");
    assert!(
        demo.join("node_modules/@snap/hooks").exists(),
        "{} has no node_modules: run `npm ci` there (scripts/test.sh does)",
        demo.display()
    );
    demo.join("bootstrap")
}

/// One snaprun serving `handler` of the task root `task_root`.
fn start(runtime: Runtime, task_root: &Path, handler: &str, tmp: &Path) -> RunningFunction {
    let task_root = task_root.to_str().unwrap();
    match runtime {
        Runtime::Node => {
            let bootstrap = node_bootstrap();
            let env = format!("LAMBDA_TASK_ROOT={task_root}");
            RunningFunction::start(&[
                "--engine",
                "none",
                "--handler",
                handler,
                "--env",
                &env,
                "--",
                bootstrap.to_str().unwrap(),
            ])
        }
        Runtime::Snapjs => {
            let snapjs = snapjs();
            RunningFunction::start(&[
                "--engine",
                "native",
                "--snapshot-dir",
                tmp.to_str().unwrap(),
                "--handler",
                handler,
                "--",
                snapjs.to_str().unwrap(),
                task_root,
            ])
        }
    }
}

/// Whether the answer is the one wanted; the difference if not.
fn check(want: Want, (status, failed, body): (u16, bool, String)) -> Result<(), String> {
    match want {
        Answer(expected) => {
            let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
            if status == 200
                && !failed
                && serde_json::from_str::<serde_json::Value>(&body).ok() == Some(expected.clone())
            {
                Ok(())
            } else {
                Err(format!(
                    "wanted {expected}, got {status} (function error: {failed}) {body}"
                ))
            }
        }
        Error(error_type, fragment) => {
            let v = if failed {
                json(&body)
            } else {
                serde_json::Value::Null
            };
            let message = v["errorMessage"].as_str().unwrap_or_default();
            if status == 200 && v["errorType"] == error_type && message.contains(fragment) {
                Ok(())
            } else {
                Err(format!(
                    "wanted {error_type} with {fragment:?}, got {status} (function error: {failed}) {body}"
                ))
            }
        }
    }
}

/// One case's outcome on one runtime.
type Outcome = (Runtime, &'static str, Result<(), String>);

/// The cases grouped by (task root, handler), in table order.
fn groups() -> Vec<Vec<Case>> {
    let mut groups: Vec<Vec<Case>> = Vec::new();
    for c in CASES {
        match groups
            .iter_mut()
            .find(|g| g[0].root == c.root && g[0].handler == c.handler)
        {
            Some(g) => g.push(*c),
            None => groups.push(vec![*c]),
        }
    }
    groups
}

#[test]
fn every_handler_loading_rule_holds_in_both_runtimes() {
    assert!(CASES.len() >= 30, "{} cases", CASES.len());
    let fixtures = root().join("tests/fixtures/handlers");
    // Build snapjs before the workers start, once.
    snapjs();
    let work: Vec<(Runtime, Vec<Case>)> = groups()
        .into_iter()
        .flat_map(|g| [(Runtime::Node, g.clone()), (Runtime::Snapjs, g)])
        .collect();
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                loop {
                    let index = {
                        let mut next = next.lock().unwrap();
                        *next += 1;
                        *next - 1
                    };
                    let Some((runtime, group)) = work.get(index) else {
                        return;
                    };
                    let tmp = tempfile::tempdir().unwrap();
                    let run = start(
                        *runtime,
                        &fixtures.join(group[0].root),
                        group[0].handler,
                        tmp.path(),
                    );
                    for c in group {
                        let outcome = check(c.want, run.invoke(c.event.as_bytes()));
                        results.lock().unwrap().push((*runtime, c.name, outcome));
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let mut problems = Vec::new();
    for runtime in [Runtime::Node, Runtime::Snapjs] {
        let mine: Vec<_> = results.iter().filter(|(r, _, _)| *r == runtime).collect();
        let passed = mine.iter().filter(|(_, _, o)| o.is_ok()).count();
        println!(
            "handler loading, {runtime:?}: {passed}/{} cases pass",
            mine.len()
        );
        for (_, name, outcome) in &mine {
            if let Err(e) = outcome {
                problems.push(format!("{runtime:?} {name}: {e}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} failing:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
