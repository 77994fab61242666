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

function errorPayload(err, fallbackType) {
  if (err instanceof Error) {
    return {
      errorType: err.name && err.name !== "Error" ? err.name : fallbackType,
      errorMessage: err.message,
      stackTrace: (err.stack || "")
        .split("\n")
        .slice(1)
        .map((l) => l.trim())
        .filter(Boolean),
    };
  }
  let message;
  try {
    message = typeof err === "string" ? err : JSON.stringify(err);
  } catch {
    message = String(err);
  }
  return { errorType: fallbackType, errorMessage: String(message), stackTrace: [] };
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
  const payload = { ...errorPayload(err, errorType), errorType };
  for (const extra of (err && err.rollbackErrors) || []) {
    payload.errorMessage += `; then ${extra.message}`;
  }
  return payload;
}

// ---------------------------------------------------------------------------
// Process-level failures

let currentRequestId = null;
let phase = "init";

async function fatal(err, type) {
  const payload = errorPayload(err, type);
  log(`${type} during ${phase}: ${payload.errorType}: ${payload.errorMessage}`);
  try {
    if (phase === "init") {
      await postError("/runtime/init/error", payload);
    } else if (phase === "invoke" && currentRequestId) {
      await postError(`/runtime/invocation/${encodeURIComponent(currentRequestId)}/error`, payload);
    }
  } catch (postErr) {
    log(`could not report it: ${postErr.message}`);
  }
  process.exit(1);
}

process.on("uncaughtException", (err) => fatal(err, "Runtime.UncaughtException"));
process.on("unhandledRejection", (reason) => fatal(reason, "Runtime.UnhandledPromiseRejection"));

// ---------------------------------------------------------------------------
// Init: load the handler module, prime it

function namedError(name, message, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.name = name;
  if (cause && cause.stack) err.stack = `${name}: ${message}\n${cause.stack.split("\n").slice(1).join("\n")}`;
  return err;
}

function loadHandler() {
  const spec = process.env._HANDLER || "index.handler";
  const root = process.env.LAMBDA_TASK_ROOT || __dirname;
  const dot = spec.lastIndexOf(".");
  if (dot <= 0 || dot === spec.length - 1) {
    throw namedError("Runtime.MalformedHandlerName", `bad handler "${spec}": expected <module>.<export>`);
  }
  const modulePath = path.resolve(root, spec.slice(0, dot));
  const exportName = spec.slice(dot + 1);
  let resolved;
  try {
    resolved = require.resolve(modulePath);
  } catch (err) {
    throw namedError("Runtime.ImportModuleError", `cannot find module "${modulePath}"`, err);
  }
  const mod = require(resolved); // errors thrown by the module propagate unchanged
  const handler = mod[exportName];
  if (typeof handler !== "function") {
    throw namedError("Runtime.HandlerNotFound", `${resolved} does not export a function "${exportName}"`);
  }
  return { handler, prime: typeof mod.prime === "function" ? mod.prime : null, spec };
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

function makeContext(requestId, h) {
  const deadlineMs = Number(h["lambda-runtime-deadline-ms"]);
  const env = process.env;
  return {
    awsRequestId: requestId,
    invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parseJsonHeader(h["lambda-runtime-cognito-identity"]),
    clientContext: parseJsonHeader(h["lambda-runtime-client-context"]),
    tenantId: h["lambda-runtime-aws-tenant-id"],
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis() {
      return Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : 0;
    },
  };
}

// Async handlers, promise-returning handlers and (event, context, callback) handlers.
function callHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (failed, value) => {
      if (settled) return;
      settled = true;
      if (failed) reject(value);
      else resolve(value);
    };
    const callback = (err, value) => (err != null ? settle(true, err) : settle(false, value));
    let ret;
    try {
      ret = handler(event, context, callback);
    } catch (err) {
      settle(true, err);
      return;
    }
    if (ret && typeof ret.then === "function") {
      ret.then(
        (v) => settle(false, v),
        (e) => settle(true, e === undefined || e === null ? new Error("handler rejected") : e),
      );
    } else if (handler.length < 3) {
      settle(false, ret);
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

async function handleOne(handler, next) {
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
  let result;
  try {
    result = await callHandler(handler, event, makeContext(requestId, h));
  } catch (err) {
    await postInvocationError(requestId, errorPayload(err, "Error"));
    return;
  } finally {
    phase = "idle";
    currentRequestId = null;
  }

  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    await postInvocationError(requestId, {
      ...errorPayload(err, "Runtime.SerializationError"),
      errorType: "Runtime.SerializationError",
    });
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
    loaded = loadHandler();
  } catch (err) {
    await failInit(errorPayload(err, "Runtime.InitError"), 1);
  }
  const tPrime = performance.now();
  if (loaded.prime) {
    try {
      await loaded.prime();
    } catch (err) {
      await failInit(errorPayload(err, "Runtime.InitError"), 1);
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
    await handleOne(loaded.handler, next);
  }
}

main().catch((err) => {
  log(`fatal: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
