//! snapjs's module system against Node's: each fixture handler in
//! `tests/fixtures/modules/` records one answer per rule (CommonJS cache,
//! cycles, `exports` conditions and subpaths, `import.meta`, ...), which
//! must equal the answer Node 20 gives for the same files
//! (`node-run.mjs`) and the values Node is known to give. snapjs serves
//! them restored from its native snapshot, so the module state it built
//! at init is checked after a restore.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{RunningFunction, json, snapjs_function, snapjs_restored};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/modules")
}

/// `snaprun run EXTRA --handler HANDLER -- snapjs tests/fixtures/modules`.
fn start(extra: &[&str], handler: &str) -> RunningFunction {
    snapjs_function(&fixtures(), extra, handler)
}

/// The same, snapshotted by the native engine and served restored.
fn start_restored(tmp: &tempfile::TempDir, handler: &str) -> RunningFunction {
    snapjs_restored(&fixtures(), tmp, handler)
}

/// Node's answer for the fixture `file` (its `handler` export awaited), or
/// its load error as `{"loadError": {name, code, message}}`.
fn node_answer(file: &str) -> serde_json::Value {
    let root = fixtures();
    let out = Command::new("node")
        .arg(root.join("node-run.mjs"))
        .arg(root.join(file))
        .arg("handler")
        .current_dir(&root)
        .output()
        .expect("node (Node 20) must be on PATH: these tests compare snapjs with it");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(String::from_utf8_lossy(&out.stdout).trim())
}

/// snapjs's answer, restored, next to Node's; both returned after the
/// check that they are equal.
fn restored_and_node(handler: &str, file: &str) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let run = start_restored(&tmp, handler);
    let snapjs = run.invoke_ok(b"{}");
    let node = node_answer(file);
    assert_eq!(
        snapjs,
        node,
        "snapjs (left) and Node (right) differ:\n{}\n{}",
        serde_json::to_string_pretty(&snapjs).unwrap(),
        serde_json::to_string_pretty(&node).unwrap()
    );
    snapjs
}

#[test]
fn commonjs_rules_match_node_restored() {
    let v = restored_and_node("cjs.handler", "cjs.js");
    // __filename, __dirname, module.id/filename/loaded/paths.
    assert_eq!(v["filenames"]["filename"], "./cjs.js");
    assert_eq!(v["moduleFields"]["loadedDuringEvaluation"], false);
    assert_eq!(v["moduleFields"]["loadedLater"], true);
    assert_eq!(v["moduleFields"]["firstPath"], "./node_modules");
    // A cycle hands back the partial module.exports.
    assert_eq!(v["cycle"]["b"]["sawEarly"], "a: before requiring b");
    assert_eq!(v["cycle"]["b"]["sawLate"], "not yet");
    // Cached by real path: two paths and a symlink give one evaluation.
    assert_eq!(
        v["sameFile"],
        serde_json::json!({"twoPaths": true, "symlink": true, "evaluations": 1})
    );
    assert_eq!(
        v["cache"],
        serde_json::json!({"resolved": "./lib/counter.js", "cached": true, "reloaded": true})
    );
    assert_eq!(
        v["children"],
        serde_json::json!({"child": true, "parentIsHandler": true, "childLoaded": true})
    );
    assert_eq!(v["json"]["list"], serde_json::json!([1, 2]));
    assert_eq!(v["directories"]["index"], "dir/index.js");
    // Packages: main not browser, deep paths, conditions, patterns, imports.
    let p = &v["packages"];
    assert_eq!(p["mainNotBrowser"], "browserpkg main (node)");
    assert_eq!(p["deepPath"], "plain/sub/file.js (a deep path)");
    assert_eq!(p["requireCondition"], "dual: require condition (cjs.js)");
    assert_eq!(
        p["subpathPattern"],
        "dual/feature/one via the ./feature/* pattern"
    );
    assert_eq!(p["imports"], "#cfg from the package imports");
    assert_eq!(p["notExported"]["code"], "ERR_PACKAGE_PATH_NOT_EXPORTED");
    assert_eq!(
        p["esmOnly"],
        serde_json::json!(["__esModule", "default", "kind"])
    );
    assert_eq!(v["resolve"]["withPaths"], "./lib/counter.js");
    assert_eq!(v["resolve"]["builtin"], "path");
    assert_eq!(v["resolve"]["missing"]["code"], "MODULE_NOT_FOUND");
    // A missing module deep down is catchable, with Node's message.
    let deep = &v["errors"]["deepMissing"];
    assert_eq!(deep["code"], "MODULE_NOT_FOUND");
    assert_eq!(
        deep["message"],
        "Cannot find module 'not-a-module-anywhere'\nRequire stack:\n- /chain/second.js\n- /chain/first.js\n- /cjs.js"
    );
    assert_eq!(v["errors"]["unknownBuiltin"], "ERR_UNKNOWN_BUILTIN_MODULE");
    assert_eq!(v["errors"]["exportInCjs"], "SyntaxError");
    // require(esm), as Node 20.19+ does; top-level await refused.
    assert_eq!(v["requireEsm"]["esModule"], true);
    assert_eq!(v["requireEsm"]["tla"], "ERR_REQUIRE_ASYNC_MODULE");
    assert_eq!(v["createRequire"]["type"], "function");
    assert_eq!(
        v["dynamicImport"]["importCondition"],
        "dual: import condition (esm.mjs)"
    );
    assert_eq!(
        v["dynamicImport"]["cjsNamed"],
        serde_json::json!(["a", "b"])
    );
}

#[test]
fn esm_rules_match_node_restored() {
    let v = restored_and_node("esm.handler", "esm.mjs");
    assert_eq!(
        v["meta"],
        serde_json::json!({
            "url": "./esm.mjs",
            "filename": "./esm.mjs",
            "dirname": ".",
            "resolve": "./node_modules/dual/esm.mjs"
        })
    );
    assert_eq!(v["noCommonJsGlobals"]["require"], "undefined");
    assert_eq!(
        v["noCommonJsGlobals"]["requireCall"]["name"],
        "ReferenceError"
    );
    assert_eq!(
        v["packages"]["esmOnly"],
        serde_json::json!(["function", "esm-only package"])
    );
    assert_eq!(v["commonJs"]["named"], serde_json::json!(["a", "b"]));
    assert_eq!(
        v["createRequire"]["requireCondition"],
        "dual: require condition (cjs.js)"
    );
    assert_eq!(
        v["sameModule"],
        serde_json::json!({"twoPaths": true, "evaluations": 1})
    );
    for case in ["relative", "bare", "noExtension"] {
        assert_eq!(v["missing"][case]["code"], "ERR_MODULE_NOT_FOUND", "{case}");
    }
}

#[test]
fn json_modules_match_node() {
    let run = start(&["--engine", "none"], "json-import.handler");
    let snapjs = run.invoke_ok(b"{}");
    assert_eq!(snapjs, node_answer("json-import.mjs"));
    assert_eq!(snapjs["data"]["kind"], "json");
}

#[test]
fn a_missing_module_fails_init_as_the_client_reports_it_naming_it() {
    let cases = [
        (
            "missing-cjs.handler",
            "missing-cjs.js",
            "MODULE_NOT_FOUND",
            "Runtime.ImportModuleError",
            [
                "Cannot find module 'not-a-module-anywhere'",
                "/chain/second.js",
            ],
        ),
        (
            "missing-esm.handler",
            "missing-esm.mjs",
            "ERR_MODULE_NOT_FOUND",
            // As Lambda's Node runtime client reports it: only `require`'s
            // MODULE_NOT_FOUND becomes Runtime.ImportModuleError.
            "Error",
            [
                "Cannot find package 'not-a-package-anywhere'",
                "imported from ",
            ],
        ),
    ];
    for (handler, file, code, error_type, needles) in cases {
        let node = node_answer(file);
        assert_eq!(node["loadError"]["code"], code, "{node}");
        let run = start(&["--engine", "none"], handler);
        let message = run.invoke_failing(b"{}", error_type);
        for needle in needles {
            assert!(message.contains(needle), "{handler}: {message}");
            assert!(
                node["loadError"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(needle),
                "Node: {node}"
            );
        }
        assert!(
            message.contains(file),
            "{handler} names its file: {message}"
        );
    }
}
