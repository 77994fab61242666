"use strict";
// preload.js, as snaprun loads it (`node --require preload.js`), in child
// processes: at load it routes OpenSSL through the getrandom engine and
// marks the process; on SIGURG it runs the after-restore hooks and reports
// to the Runtime API (here a server of the test's own), or only reports
// when the runtime drives the hooks itself.
const test = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const path = require("node:path");
const { spawn } = require("node:child_process");

const PRELOAD = path.join(__dirname, "..", "preload.js");
const LIB = path.join(__dirname, "..", "native", "build", "snap_getrandom_engine.so");

/** A Runtime API stand-in that collects `POST /2018-06-01/runtime/snap/restored`. */
async function api() {
  const reports = [];
  let arrived;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      reports.push({ path: req.url, method: req.method, body: JSON.parse(body) });
      res.writeHead(202).end();
      if (arrived) arrived();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    reports,
    next: () => new Promise((resolve) => (arrived = resolve)),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Starts `node --require preload.js -e script` and waits for its first line
 * on stdout (the script prints once it is set up). Returns the child.
 */
async function start(script, env) {
  const child = spawn(process.execPath, ["--require", PRELOAD, "-e", script], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const line = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d)));
    child.once("exit", (code) => reject(new Error(`exited ${code} before it was ready: ${stderr}`)));
  });
  return { child, line, stderr: () => stderr };
}

/**
 * Runs `script` under the preload against a stand-in Runtime API, sends it
 * the restore signal once it is set up, and returns its first line and the
 * report it posted.
 */
async function restoreOnce(script, env) {
  const server = await api();
  const { child, line } = await start(script, { AWS_LAMBDA_RUNTIME_API: server.address, ...env });
  try {
    const reported = server.next();
    child.kill("SIGURG");
    await reported;
    assert.equal(server.reports.length, 1);
    return { line, report: server.reports[0], pid: child.pid };
  } finally {
    child.kill("SIGKILL");
    await server.close();
  }
}

// Prints whether the preload's state is there, then stays alive.
const WAIT = `
  const s = globalThis[Symbol.for("snap.hooks.state.v1")];
  console.log(JSON.stringify({ engine: s.randEngine, builtins: s.builtins }));
  setInterval(() => {}, 1000);
`;
const HOOKS = JSON.stringify(path.join(__dirname, ".."));

test("loaded, it routes OpenSSL through the engine; restored, it reseeds and reports what ran", async () => {
  const { line, report, pid } = await restoreOnce(WAIT, { SNAP_HOOKS_RAND_ENGINE: LIB });
  const state = JSON.parse(line);
  assert.equal(state.engine, LIB);
  assert.deepEqual(state.builtins, [
    "snap.openssl-rand",
    "snap.crypto-caches",
    "snap.math-random",
    "snap.keep-alive-sockets",
  ]);
  assert.equal(report.method, "POST");
  assert.equal(report.path, "/2018-06-01/runtime/snap/restored");
  assert.equal(report.body.pid, pid);
  assert.equal(report.body.by, "preload");
  assert.deepEqual(report.body.ran, ["snap.openssl-rand", "snap.crypto-caches", "snap.math-random"]);
});

test("a runtime that ran the before-checkpoint hooks drives them: the preload only reports", async () => {
  const script = `
    const hooks = require(${HOOKS});
    hooks.afterRestore("mine", () => {});
    hooks.runBeforeCheckpoint().then(() => {
      console.log("ready");
      setInterval(() => {}, 1000);
    });
  `;
  const { report } = await restoreOnce(script, { SNAP_HOOKS_RAND_ENGINE: LIB });
  assert.equal(report.body.by, "runtime");
  assert.deepEqual(report.body.ran, []);
});

test("a failing after-restore hook is reported as Runtime.AfterRestoreError, naming it", async () => {
  const script = `
    require(${HOOKS}).afterRestore("db", () => { throw new Error("no db"); });
    console.log("ready");
    setInterval(() => {}, 1000);
  `;
  const { report } = await restoreOnce(script, { SNAP_HOOKS_RAND_ENGINE: LIB });
  assert.equal(report.body.error.errorType, "Runtime.AfterRestoreError");
  assert.match(report.body.error.errorMessage, /afterRestore hook "db" failed: no db/);
});

test("a hook over its own timeout is reported as Runtime.RestoreHookUserTimeout, as a runtime reports it", async () => {
  const script = `
    require(${HOOKS}).afterRestore("slow", () => new Promise(() => {}), { timeoutMs: 50 });
    console.log("ready");
    setInterval(() => {}, 1000);
  `;
  const { report } = await restoreOnce(script, { SNAP_HOOKS_RAND_ENGINE: LIB });
  assert.equal(report.body.error.errorType, "Runtime.RestoreHookUserTimeout");
  assert.match(report.body.error.errorMessage, /afterRestore hook "slow" timed out: did not finish within 50 ms/);
});

test("without its engine the preload stops Node at once, naming the file, rather than let OpenSSL's state be copied", async () => {
  const child = spawn(process.execPath, ["--require", PRELOAD, "-e", "console.log('ran')"], {
    env: { PATH: process.env.PATH, SNAP_HOOKS_RAND_ENGINE: "/nonexistent/engine.so" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.notEqual(code, 0);
  assert.equal(out, "", "the function's code never ran");
  assert.match(err, /the getrandom RAND engine \/nonexistent\/engine.so is not built/);
});

test("with the built-ins off (SNAP_HOOKS_BUILTINS=0) it loads no engine and registers nothing", async () => {
  const { line, report } = await restoreOnce(WAIT, {
    SNAP_HOOKS_RAND_ENGINE: "/nonexistent/engine.so",
    SNAP_HOOKS_BUILTINS: "0",
  });
  const state = JSON.parse(line);
  assert.equal(state.engine, null);
  assert.deepEqual(state.builtins, []);
  assert.deepEqual(report.body.ran, []);
});
