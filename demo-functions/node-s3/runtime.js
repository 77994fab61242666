"use strict";
// A small Lambda runtime for Node, using only node: core modules.
//
// It speaks the Lambda Runtime API (base http://$AWS_LAMBDA_RUNTIME_API/2018-06-01):
//   GET  /runtime/invocation/next            long poll, no timeout
//   POST /runtime/invocation/{id}/response   handler result (JSON)
//   POST /runtime/invocation/{id}/error      handler error
//   POST /runtime/init/error                 init or before-checkpoint failure
//   GET  /runtime/restore/next               snap-start only: blocks until restored
//   POST /runtime/restore/error              snap-start only: after-restore failure
//
// Connection policy: one keep-alive http.Agent (maxSockets 1). It is destroyed
// and replaced as soon as /runtime/restore/next returns, so every request made
// after a restore uses a new TCP connection; nothing opened before the snapshot
// is reused. A request that fails with ECONNRESET on a reused keep-alive socket
// is retried once on a fresh one (the server closed an idle connection).

const t0 = performance.now(); // ms since process start (performance.timeOrigin)

const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const hooks = require("@snap/hooks");

// The built-in hooks (OpenSSL RAND engine, UUID/randomInt caches, Math.random,
// keep-alive sockets); SNAP_HOOKS_BUILTINS=0 turns them off.
const builtins = hooks.installBuiltins();

const LOG = "runtime:";
const API_PREFIX = "/2018-06-01";
const ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json";

function log(msg) {
  process.stderr.write(`${LOG} ${msg}\n`);
}

const ms = (x) => x.toFixed(1);

// ---------------------------------------------------------------------------
// Runtime API client

const apiAddress = process.env.AWS_LAMBDA_RUNTIME_API;
if (!apiAddress) {
  log("AWS_LAMBDA_RUNTIME_API is not set");
  process.exit(1);
}
const apiUrl = new URL(`http://${apiAddress}`);
const apiHost = apiUrl.hostname.replace(/^\[(.*)\]$/, "$1");
const apiPort = Number(apiUrl.port || 80);

function newAgent() {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

let agent = newAgent();

// Drop every pooled connection; later requests open new ones.
function resetConnections() {
  agent.destroy();
  agent = newAgent();
}

function apiRequest(method, pathname, { body, headers } = {}, retried = false) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: apiHost,
        port: apiPort,
        method,
        path: API_PREFIX + pathname,
        agent,
        headers: {
          ...(payload ? { "Content-Length": payload.length } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", (err) => {
      if (!retried && req.reusedSocket && err.code === "ECONNRESET") {
        apiRequest(method, pathname, { body, headers }, true).then(resolve, reject);
      } else {
        reject(err);
      }
    });
    req.end(payload);
  });
}

function headerSafe(s) {
  return String(s).replace(/[^\x20-\x7e]/g, "_").slice(0, 256) || "Unknown";
}

// An error as AWS's Node runtime client shapes it (Errors.toRapidResponse):
// an Error (or an object with string name, message and stack) keeps its own
// name and message, its stack split into lines; anything else is typed by
// `typeof` with its `toString()` as the message. The client calls the lines
// `trace`; snaprun's Runtime API reads `stackTrace`, so they go there.
function isErrorLike(err) {
  return (
    err instanceof Error ||
    Boolean(err && typeof err.name === "string" && err.name && typeof err.message === "string" && err.message &&
      typeof err.stack === "string" && err.stack)
  );
}

function errorPayload(err) {
  try {
    if (isErrorLike(err)) {
      return {
        errorType: String(err.name),
        errorMessage: String(err.message),
        stackTrace: typeof err.stack === "string" ? err.stack.split("\n").filter((l) => l.length > 0) : [],
      };
    }
    return { errorType: typeof err, errorMessage: err.toString(), stackTrace: [] };
  } catch {
    return {
      errorType: "handled",
      errorMessage:
        "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack",
      stackTrace: [],
    };
  }
}

async function postError(pathname, payload) {
  const res = await apiRequest("POST", pathname, {
    body: JSON.stringify(payload),
    headers: {
      "Content-Type": ERROR_CONTENT_TYPE,
      "Lambda-Runtime-Function-Error-Type": headerSafe(payload.errorType),
    },
  });
  if (res.status < 200 || res.status > 299) {
    log(`POST ${pathname} answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
  }
  return res;
}

async function failInit(payload, exitCode) {
  log(`init failed: ${payload.errorType}: ${payload.errorMessage}`);
  try {
    await postError("/runtime/init/error", payload);
  } catch (err) {
    log(`could not post /runtime/init/error: ${err.message}`);
  }
  process.exit(exitCode);
}

// A hook's failure with the runtime's error type; rollback failures after a
// before-checkpoint failure are appended to the message.
function hookErrorPayload(err, errorType) {
  const payload = { ...errorPayload(err), errorType };
  for (const extra of (err && err.rollbackErrors) || []) {
    payload.errorMessage += `; then ${extra.message}`;
  }
  return payload;
}

// ---------------------------------------------------------------------------
// Process-level failures

let currentRequestId = null;
let phase = "init";

// As the client: an uncaught exception is reported as itself, an unhandled
// rejection as Runtime.UnhandledPromiseRejection with the reason's text;
// during init on /runtime/init/error, during an invocation on its error;
// then the process exits (129, 128).
async function fatal(payload, code) {
  log(`${payload.errorType} during ${phase}: ${payload.errorMessage}`);
  try {
    if (phase === "init") {
      await postError("/runtime/init/error", payload);
    } else if (phase === "invoke" && currentRequestId) {
      await postError(`/runtime/invocation/${encodeURIComponent(currentRequestId)}/error`, payload);
    }
  } catch (postErr) {
    log(`could not report it: ${postErr.message}`);
  }
  process.exit(code);
}

process.on("uncaughtException", (err) => fatal(errorPayload(err), 129));
process.on("unhandledRejection", (reason) => {
  let text;
  try {
    text = String(reason);
  } catch {
    text = Object.prototype.toString.call(reason);
  }
  const err = new Error(text);
  err.name = "Runtime.UnhandledPromiseRejection";
  fatal(errorPayload(err), 128);
});

// ---------------------------------------------------------------------------
// Init: load the handler module, prime it

function namedError(name, message) {
  const err = new Error(message);
  err.name = name;
  return err;
}

// The nearest package.json from `folder` up says "type": "module"; a
// node_modules folder ends the search, and an unreadable package.json
// counts as CommonJS (the client's rule).
function folderTypeIsModule(folder) {
  for (let dir = folder; ; dir = path.dirname(dir)) {
    if (path.basename(dir) === "node_modules") return false;
    const pj = path.join(dir, "package.json");
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}

// The module named by `stem` (an absolute path without extension), tried as
// the client tries it: the extensionless file (require), `.js` (require, or
// import when the package type is module), `.mjs` (import), `.cjs`
// (require), then Node's own resolution of the bare name.
async function loadModule(root, moduleRoot, moduleName, stem) {
  if (fs.existsSync(stem)) return require(stem);
  const js = `${stem}.js`;
  const jsIsEsm = fs.existsSync(js) && folderTypeIsModule(path.dirname(js));
  if (fs.existsSync(js) && !jsIsEsm) return require(js);
  if (jsIsEsm) return import(js);
  if (fs.existsSync(`${stem}.mjs`)) return import(`${stem}.mjs`);
  if (fs.existsSync(`${stem}.cjs`)) return require(`${stem}.cjs`);
  return require(require.resolve(moduleName, { paths: [root, moduleRoot] }));
}

// _HANDLER as AWS's Node runtime client reads it: `..` anywhere is refused;
// the last path segment splits at its first dot into the module and the
// export path (`app.outer.inner.handler`: module app, export
// outer.inner.handler).
async function loadHandler() {
  const spec = process.env._HANDLER || "index.handler";
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  if (spec.includes("..")) {
    throw namedError(
      "Runtime.MalformedHandlerName",
      `'${spec}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(spec);
  const moduleRoot = spec.substring(0, spec.indexOf(base));
  const match = /^([^.]*)\.(.*)$/.exec(base);
  if (!match) {
    throw namedError("Runtime.MalformedHandlerName", `Bad handler '${spec}': expected module.export, e.g. index.handler`);
  }
  const [, moduleName, exportPath] = match;
  const stem = path.resolve(root, moduleRoot, moduleName);
  let mod;
  try {
    mod = await loadModule(root, moduleRoot, moduleName, stem);
  } catch (err) {
    if (err instanceof SyntaxError) throw namedError("Runtime.UserCodeSyntaxError", String(err));
    if (err && err.code === "MODULE_NOT_FOUND") throw namedError("Runtime.ImportModuleError", String(err));
    throw err;
  }
  const handler = exportPath.split(".").reduce((o, key) => o && o[key], mod);
  if (!handler) throw namedError("Runtime.HandlerNotFound", `${spec} is undefined or not exported`);
  if (typeof handler !== "function") throw namedError("Runtime.HandlerNotFound", `${spec} is not a function`);
  const prime = mod && typeof mod.prime === "function" ? mod.prime : null;
  return { handler, prime, spec };
}

// ---------------------------------------------------------------------------
// Invocations

function parseJsonHeader(value) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

// The client's NodeJsExit: an async handler whose promise never settles
// once nothing is left to run.
const NODE_JS_EXIT =
  "The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise " +
  "that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes";

// What Node's `beforeExit` (the event loop ran empty) does for the
// invocation in progress; the client's BeforeExitListener.
let onEmptyLoop = null;
process.on("beforeExit", () => {
  const action = onEmptyLoop;
  onEmptyLoop = null;
  if (action) setImmediate(action);
});

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// Runs the handler as the client does (Runtime.handleOnceNonStreaming with
// CallbackContext and InvokeContext): the context's fields and defaults;
// callback, succeed, fail and done, of which only the first call counts;
// callbackWaitsForEmptyEventLoop (default true) makes a callback's result
// wait until the event loop is empty; a returned promise settles it at
// once; a handler that does neither answers null when the loop runs empty
// (or, if async, fails with Runtime.NodeJsExit). Resolves to [ok, value].
function runHandler(handler, isAsync, event, requestId, h) {
  return new Promise((resolve) => {
    let complete = false;
    const finish = (ok, value) => {
      if (complete) return;
      complete = true;
      onEmptyLoop = null;
      resolve([ok, value]);
    };
    let waitForEmptyEventLoop = true;
    const callbackRaw = (err, result) => {
      onEmptyLoop = null;
      if (err !== undefined && err !== null) finish(false, err);
      else if (!waitForEmptyEventLoop) finish(true, result);
      else onEmptyLoop = () => finish(true, result);
    };
    const doneRaw = (err, result) => {
      onEmptyLoop = null;
      if (err !== undefined && err !== null) finish(false, err);
      else finish(true, result);
    };
    let finished = false;
    const once = (fn) =>
      function (...args) {
        if (!finished) {
          fn(...args);
          finished = true;
        }
      };
    const deadline = h["lambda-runtime-deadline-ms"];
    const env = process.env;
    const callback = once(callbackRaw);
    let context;
    try {
      context = {
        get callbackWaitsForEmptyEventLoop() {
          return waitForEmptyEventLoop;
        },
        set callbackWaitsForEmptyEventLoop(value) {
          waitForEmptyEventLoop = value;
        },
        succeed: once((result) => doneRaw(null, result)),
        fail: once((err) => (err === undefined || err === null ? doneRaw("handled") : doneRaw(err, null))),
        done: once(doneRaw),
        functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
        functionName: env.AWS_LAMBDA_FUNCTION_NAME,
        memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
        logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
        clientContext: parseJsonHeader(h["lambda-runtime-client-context"], "ClientContext"),
        identity: parseJsonHeader(h["lambda-runtime-cognito-identity"], "CognitoIdentity"),
        invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
        awsRequestId: requestId,
        tenantId: h["lambda-runtime-aws-tenant-id"],
        getRemainingTimeInMillis() {
          return deadline - Date.now();
        },
      };
    } catch (err) {
      finish(false, err);
      return;
    }
    onEmptyLoop = () => {
      if (isAsync) {
        finish(false, namedError("Runtime.NodeJsExit", NODE_JS_EXIT));
      } else {
        finish(true, null);
      }
    };
    try {
      const result = handler(event, context, callback);
      if (result && typeof result.then === "function") {
        result.then(context.succeed, context.fail);
      }
    } catch (err) {
      callback(err);
    }
  });
}

async function postInvocationError(requestId, payload) {
  try {
    await postError(`/runtime/invocation/${encodeURIComponent(requestId)}/error`, payload);
  } catch (err) {
    log(`could not post the error of ${requestId}: ${err.message}`);
  }
}

async function handleOne(handler, isAsync, next) {
  const h = next.headers;
  const requestId = h["lambda-runtime-aws-request-id"];
  if (!requestId) {
    log("/runtime/invocation/next answered without Lambda-Runtime-Aws-Request-Id; skipping");
    return;
  }
  if (h["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = h["lambda-runtime-trace-id"];
  else delete process.env._X_AMZN_TRACE_ID;

  let event;
  try {
    event = JSON.parse(next.body.toString("utf8"));
  } catch (err) {
    await postInvocationError(requestId, {
      errorType: "Runtime.UnmarshalError",
      errorMessage: `event is not valid JSON: ${err.message}`,
      stackTrace: [],
    });
    return;
  }

  currentRequestId = requestId;
  phase = "invoke";
  let ok;
  let result;
  try {
    [ok, result] = await runHandler(handler, isAsync, event, requestId, h);
  } finally {
    phase = "idle";
    currentRequestId = null;
  }
  if (!ok) {
    await postInvocationError(requestId, errorPayload(result));
    return;
  }

  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    await postInvocationError(requestId, { ...errorPayload(err), errorType: "Runtime.SerializationError" });
    return;
  }
  const res = await apiRequest("POST", `/runtime/invocation/${encodeURIComponent(requestId)}/response`, {
    body,
    headers: { "Content-Type": "application/json" },
  });
  if (res.status < 200 || res.status > 299) {
    const detail = res.body.toString("utf8").slice(0, 300);
    log(`response of ${requestId} rejected with ${res.status}: ${detail}`);
    await postInvocationError(requestId, {
      errorType: res.status === 413 ? "Function.ResponseSizeTooLarge" : "Runtime.ResponseRejected",
      errorMessage: `the Runtime API rejected the response (${res.status}, ${Buffer.byteLength(body)} bytes): ${detail}`,
      stackTrace: [],
    });
  }
}

// ---------------------------------------------------------------------------

async function main() {
  // Init.
  const tLoad = performance.now();
  let loaded;
  try {
    loaded = await loadHandler();
    loaded.isAsync = loaded.handler.constructor && loaded.handler.constructor.name === "AsyncFunction";
  } catch (err) {
    await failInit(errorPayload(err), 129);
  }
  const tPrime = performance.now();
  if (loaded.prime) {
    try {
      await loaded.prime();
    } catch (err) {
      await failInit(errorPayload(err), 1);
    }
  }
  const tReady = performance.now();
  log(
    `init ${loaded.spec}: ready ${ms(tReady)} ms after process start ` +
      `(runtime ${ms(tLoad - t0)} ms, handler module ${ms(tPrime - tLoad)} ms, prime ${ms(tReady - tPrime)} ms)`,
  );

  // SnapStart protocol.
  if (process.env.AWS_LAMBDA_INITIALIZATION_TYPE === "snap-start") {
    log(`built-in hooks: [${builtins.join(", ")}]`);
    const tHooks = performance.now();
    try {
      const ran = await hooks.runBeforeCheckpoint();
      log(`before-checkpoint hooks [${ran.join(", ")}] done in ${ms(performance.now() - tHooks)} ms`);
    } catch (err) {
      await failInit(hookErrorPayload(err, "Runtime.BeforeSnapshotError"), 64);
    }
    phase = "snapshot";
    log("waiting on /runtime/restore/next");
    let restore;
    try {
      restore = await apiRequest("GET", "/runtime/restore/next");
    } catch (err) {
      log(`/runtime/restore/next failed: ${err.message}`);
      process.exit(1);
    }
    if (restore.status !== 200) {
      log(`/runtime/restore/next answered ${restore.status}: ${restore.body.toString().slice(0, 200)}`);
      process.exit(1);
    }
    resetConnections(); // nothing opened before the snapshot is reused
    phase = "restore";
    const tRestore = performance.now();
    try {
      const ran = await hooks.runAfterRestore();
      log(`after-restore hooks [${ran.join(", ")}] done in ${ms(performance.now() - tRestore)} ms`);
    } catch (err) {
      // A hook over its own timeout is reported like an overrun of the
      // restore limit; any other failure is an AfterRestoreError.
      const payload = hookErrorPayload(
        err,
        err && err.timedOut ? "Runtime.RestoreHookUserTimeout" : "Runtime.AfterRestoreError",
      );
      log(`after-restore failed: ${payload.errorType}: ${payload.errorMessage}`);
      try {
        await postError("/runtime/restore/error", payload);
      } catch (postErr) {
        log(`could not post /runtime/restore/error: ${postErr.message}`);
      }
      process.exit(65);
    }
  }

  // Invocation loop.
  phase = "idle";
  for (;;) {
    const next = await apiRequest("GET", "/runtime/invocation/next");
    if (next.status !== 200) {
      log(`/runtime/invocation/next answered ${next.status}: ${next.body.toString().slice(0, 200)}; exiting`);
      process.exit(1);
    }
    await handleOne(loaded.handler, loaded.isAsync, next);
  }
}

main().catch((err) => {
  log(`fatal: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
