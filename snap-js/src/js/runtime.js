// snapjs's JavaScript half, evaluated once as a script before the handler
// loads. It keeps its state on a hidden global, `__snapjs`, that the Rust
// side calls: the invocation wrapper (context object, Lambda error shape),
// the timer registry behind the snapshot point's timer policy, the hooks'
// two phases, and the refresh of `process.env` after a restore.
(() => {
  "use strict";

  // --- Timers: every pending one is known, with a description, so that the
  // snapshot point can name those still armed.
  const pending = new Map();
  // A throw from a timer callback fails the invocation in progress (there is
  // no caller to catch it); outside one, it is logged.
  let failCurrent = null;
  const uncaught = (err) => {
    if (failCurrent) failCurrent(err);
    else console.error("snapjs: uncaught exception in a timer callback:", err);
  };
  const describe = (kind, fn, delay) => `${kind}(${(fn && fn.name) || "<anonymous>"}, ${Number(delay) || 0})`;
  const wrapTimer = (kind, set, repeating) =>
    function (fn, delay, ...args) {
      let id;
      const run = typeof fn === "function"
        ? function () {
            if (!repeating) pending.delete(id);
            try {
              return fn.apply(this, args);
            } catch (err) {
              uncaught(err);
            }
          }
        : fn;
      id = set(run, delay);
      pending.set(id, describe(kind, fn, delay));
      return id;
    };
  const wrapClear = (clear) => (id) => {
    pending.delete(id);
    return clear(id);
  };
  const g = globalThis;
  const timers = {
    setTimeout: wrapTimer("setTimeout", g.setTimeout, false),
    setInterval: wrapTimer("setInterval", g.setInterval, true),
    setImmediate: g.setImmediate ? wrapTimer("setImmediate", g.setImmediate, false) : undefined,
    clearTimeout: wrapClear(g.clearTimeout),
    clearInterval: wrapClear(g.clearInterval),
    clearImmediate: g.clearImmediate ? wrapClear(g.clearImmediate) : undefined,
  };
  for (const [name, fn] of Object.entries(timers)) {
    if (fn) Object.defineProperty(g, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }

  // --- TransformStream: LLRT's stream-web has ReadableStream,
  // WritableStream and pipeThrough but no TransformStream, which the AWS
  // SDK's response checksum validation builds on. A minimal one over those
  // two (no backpressure between its sides).
  if (typeof g.TransformStream !== "function" && typeof WritableStream === "function") {
    class TransformStream {
      constructor(transformer = {}) {
        let out;
        this.readable = new ReadableStream({ start: (c) => void (out = c) });
        let closed = false;
        const close = () => {
          if (!closed) {
            closed = true;
            out.close();
          }
        };
        const controller = {
          enqueue: (chunk) => out.enqueue(chunk),
          error: (reason) => {
            closed = true;
            out.error(reason);
          },
          terminate: close,
          get desiredSize() {
            return out.desiredSize;
          },
        };
        this.writable = new WritableStream({
          start: () => (transformer.start ? transformer.start(controller) : undefined),
          write: (chunk) => (transformer.transform ? transformer.transform(chunk, controller) : controller.enqueue(chunk)),
          close: async () => {
            if (transformer.flush) await transformer.flush(controller);
            close();
          },
          abort: (reason) => controller.error(reason),
        });
      }
    }
    Object.defineProperty(g, "TransformStream", { value: TransformStream, writable: true, configurable: true });
  }

  // --- fetch: network failures are TypeErrors, and LLRT's Response has no `body` stream (the getter gives
  // undefined), so web code such as the AWS SDK falls back to a Blob, which
  // the SDK's checksum validation cannot read. Every response from `fetch`
  // gets a lazily made ReadableStream over its bytes.
  if (typeof g.fetch === "function" && typeof ReadableStream === "function") {
    const nativeFetch = g.fetch;
    const withBody = (response) => {
      let stream;
      Object.defineProperty(response, "body", {
        configurable: true,
        enumerable: true,
        get() {
          if (stream === undefined) {
            stream = new ReadableStream({
              async pull(controller) {
                const bytes = new Uint8Array(await response.arrayBuffer());
                if (bytes.byteLength > 0) controller.enqueue(bytes);
                controller.close();
              },
            });
          }
          return stream;
        },
      });
      return response;
    };
    Object.defineProperty(g, "fetch", {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function fetch(input, init) {
        return nativeFetch(input, init).then(withBody, (err) => {
          // As in browsers, a network failure (LLRT: "client error (...)",
          // e.g. a keep-alive connection the server had just closed) is a
          // TypeError; clients such as the AWS SDK retry those.
          if (err instanceof TypeError || (err && err.name === "AbortError")) throw err;
          throw new TypeError("Failed to fetch", { cause: err });
        });
      },
    });
  }

  // --- Errors in the Lambda shape, as Node's runtime formats them.
  function errorShape(err) {
    if (err instanceof Error || (err && typeof err === "object" && typeof err.message === "string" && typeof err.stack === "string")) {
      const stack = typeof err.stack === "string" ? err.stack.split("\n").map((l) => l.trim()).filter(Boolean) : [];
      return {
        errorType: err.name || (err.constructor && err.constructor.name) || "Error",
        errorMessage: String(err.message),
        stackTrace: stack,
      };
    }
    let message;
    try {
      message = typeof err === "string" ? err : JSON.stringify(err);
    } catch {
      message = undefined;
    }
    if (message === undefined) message = String(err);
    return { errorType: err === null ? "null" : typeof err, errorMessage: message, stackTrace: [] };
  }

  let handler = null;

  function context(meta) {
    const env = process.env;
    return {
      awsRequestId: meta.requestId,
      invokedFunctionArn: meta.functionArn,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      deadline: meta.deadlineMs,
      identity: meta.cognitoIdentity ? JSON.parse(meta.cognitoIdentity) : undefined,
      clientContext: meta.clientContext ? JSON.parse(meta.clientContext) : undefined,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis() {
        return Math.max(0, meta.deadlineMs - Date.now());
      },
    };
  }

  // Runs the handler once; resolves to [ok, body] with the JSON text of
  // the result or of the Lambda error. Never rejects.
  async function invoke(eventText, meta) {
    try {
      if (meta.traceId) process.env._X_AMZN_TRACE_ID = meta.traceId;
      else delete process.env._X_AMZN_TRACE_ID;
      const event = eventText.length > 0 ? JSON.parse(eventText) : null;
      const ctx = context(meta);
      const thrown = new Promise((_, reject) => {
        failCurrent = reject;
      });
      let run;
      if (handler.length >= 3) {
        // Callback style: the callback or a returned promise, whichever first.
        run = new Promise((resolve, reject) => {
          const returned = handler(event, ctx, (err, value) => (err ? reject(err) : resolve(value)));
          if (returned && typeof returned.then === "function") returned.then(resolve, reject);
        });
      } else {
        run = Promise.resolve().then(() => handler(event, ctx));
      }
      const result = await Promise.race([run, thrown]);
      const body = JSON.stringify(result);
      return [true, body === undefined ? "null" : body];
    } catch (err) {
      return [false, JSON.stringify(errorShape(err))];
    } finally {
      failCurrent = null;
    }
  }

  function refreshEnv(pairs) {
    const env = process.env;
    for (const key of Object.keys(env)) delete env[key];
    for (const [key, value] of pairs) env[key] = value;
  }

  const HOOKS = Symbol.for("snapjs.hooks");
  async function runHooks(phase) {
    const hooks = globalThis[HOOKS];
    if (!hooks) return [];
    return phase === "before" ? hooks.runBeforeCheckpoint() : hooks.runAfterRestore();
  }

  Object.defineProperty(globalThis, "__snapjs", {
    enumerable: false,
    value: Object.freeze({
      setHandler(fn) {
        handler = fn;
      },
      invoke,
      errorShape: (err) => JSON.stringify(errorShape(err)),
      pendingTimers: () => [...pending.values()],
      refreshEnv,
      runHooks,
    }),
  });
})();
