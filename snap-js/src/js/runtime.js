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

  // --- Errors in the Lambda shape, as AWS's Node runtime client shapes
  // them (Errors.toRapidResponse): an Error (or an object with string
  // name, message and stack) keeps its own name and message, and its stack
  // split into lines; anything else is typed by `typeof`, with its
  // `toString()` as the message. The client calls that field `trace`;
  // snaprun's Runtime API reads `stackTrace`, so it goes there.
  const isErrorLike = (err) =>
    err instanceof Error ||
    Boolean(err && typeof err.name === "string" && err.name && typeof err.message === "string" && err.message &&
      typeof err.stack === "string" && err.stack);
  function errorShape(err) {
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

  let handler = null;
  let handlerIsAsync = false;

  // Wakes the Rust invocation loop (installed by engine.rs, taken off the
  // global object here).
  const settledHook = typeof g.__snapjs_settled === "function" ? g.__snapjs_settled : () => {};
  delete g.__snapjs_settled;

  // The invocation in progress: `finish(ok, value)` settles it once;
  // `onEmptyLoop` is what Node's `beforeExit` would run (see loopEmpty).
  let current = null;

  // The client's NodeJsExit: an async handler whose promise never settles
  // once nothing is left to run.
  const NODE_JS_EXIT =
    "The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise " +
    "that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes";

  // The context object: the client's fields and defaults (InvokeContext),
  // and its callback half (CallbackContext): callbackWaitsForEmptyEventLoop
  // (true by default), succeed, fail and done, of which (with the callback)
  // only the first call counts.
  function buildInvocation(meta) {
    const invocation = { done: false, onEmptyLoop: null };
    let resolve;
    invocation.promise = new Promise((r) => (resolve = r));
    const finish = (ok, value) => {
      if (invocation.done) return;
      invocation.done = true;
      invocation.onEmptyLoop = null;
      resolve([ok, value]);
      settledHook();
    };
    invocation.finish = finish;
    let waitForEmptyEventLoop = true;
    const succeedWith = (result) => finish(true, result);
    const failWith = (err) => finish(false, err);
    const callback = (err, result) => {
      invocation.onEmptyLoop = null;
      if (err !== undefined && err !== null) failWith(err);
      else if (!waitForEmptyEventLoop) succeedWith(result);
      else invocation.onEmptyLoop = () => succeedWith(result);
    };
    const done = (err, result) => {
      invocation.onEmptyLoop = null;
      if (err !== undefined && err !== null) failWith(err);
      else succeedWith(result);
    };
    let finished = false;
    const once = (fn) =>
      function (...args) {
        if (!finished) {
          fn(...args);
          finished = true;
        }
      };
    const env = process.env;
    const parse = (text, name) => {
      if (text === undefined || text === null || text === "") return undefined;
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
      }
    };
    const deadline = meta.deadlineMs;
    const context = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
      succeed: once((result) => done(null, result)),
      fail: once((err) => (err === undefined || err === null ? done("handled") : done(err, null))),
      done: once(done),
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parse(meta.clientContext, "ClientContext"),
      identity: parse(meta.cognitoIdentity, "CognitoIdentity"),
      invokedFunctionArn: meta.functionArn,
      awsRequestId: meta.requestId,
      tenantId: meta.tenantId || undefined,
      getRemainingTimeInMillis() {
        return deadline - Date.now();
      },
    };
    // Not in the client's context: the deadline itself, kept for snapjs's
    // own tests and hooks (non-enumerable, so JSON.stringify(context)
    // shows the client's fields only).
    Object.defineProperty(context, "deadline", { value: deadline, enumerable: false });
    invocation.context = context;
    invocation.callback = once(callback);
    // As the client: a handler that neither settles nor calls back by the
    // time nothing is left to run answers null, or (async) fails.
    invocation.onEmptyLoop = () => {
      if (handlerIsAsync) {
        const err = new Error(NODE_JS_EXIT);
        err.name = "Runtime.NodeJsExit";
        failWith(err);
      } else {
        succeedWith(null);
      }
    };
    return invocation;
  }

  // Runs the handler once; resolves to [ok, body] with the JSON text of
  // the result or of the Lambda error. Never rejects.
  async function invoke(eventText, meta) {
    if (meta.traceId) process.env._X_AMZN_TRACE_ID = meta.traceId;
    else delete process.env._X_AMZN_TRACE_ID;
    let invocation;
    try {
      invocation = buildInvocation(meta);
    } catch (err) {
      return [false, JSON.stringify(errorShape(err))];
    }
    current = invocation;
    failCurrent = (err) => invocation.finish(false, err);
    try {
      const event = JSON.parse(eventText.length > 0 ? eventText : "null");
      const returned = handler(event, invocation.context, invocation.callback);
      if (returned && typeof returned.then === "function") {
        returned.then(invocation.context.succeed, invocation.context.fail);
      }
    } catch (err) {
      invocation.callback(err);
    }
    const [ok, value] = await invocation.promise;
    if (current === invocation) {
      current = null;
      failCurrent = null;
    }
    if (!ok) return [false, JSON.stringify(errorShape(value))];
    try {
      const body = JSON.stringify(value === undefined ? null : value);
      return [true, body === undefined ? "null" : body];
    } catch (err) {
      return [false, JSON.stringify(errorShape(err))];
    }
  }

  // Nothing is left to run (no job, timer or fetch) while an invocation
  // waits: what Node's `beforeExit` does under the client. Returns whether
  // something ran.
  function loopEmpty() {
    const action = current && current.onEmptyLoop;
    if (!action) return false;
    current.onEmptyLoop = null;
    action();
    return true;
  }

  // The invocation was failed from outside (an unhandled rejection): a
  // later callback or settle of it is ignored.
  function abandon() {
    if (current) current.finish(false, undefined);
    current = null;
    failCurrent = null;
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
        try {
          handlerIsAsync = Boolean(fn.constructor && fn.constructor.name === "AsyncFunction");
        } catch {
          handlerIsAsync = false;
        }
      },
      loopEmpty,
      abandon,
      invoke,
      errorShape: (err) => JSON.stringify(errorShape(err)),
      reasonText: (reason) => {
        try {
          return String(reason);
        } catch {
          return Object.prototype.toString.call(reason);
        }
      },
      pendingTimers: () => [...pending.values()],
      refreshEnv,
      runHooks,
    }),
  });
})();
