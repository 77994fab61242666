// Globals Node has and LLRT lacks, defined once at engine start: `global`,
// and accessors that load the rest from snapjs's internal modules on first
// use, so an instance pays nothing for what it does not use:
// `structuredClone`, TextDecoder's single-byte labels, `process.stdout` /
// `process.stderr`, process's event and warning methods, and LLRT's Buffer
// patched (patches/buffer.js).
(() => {
  "use strict";
  const g = globalThis;
  const define = (target, name, value) => Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  const load = (name) => g.require(`snapjs:internal/${name}`).default;
  // `name` on `target` is made by `make` on first read (then a plain value).
  const lazy = (target, name, make, enumerable = false) => {
    Object.defineProperty(target, name, {
      configurable: true,
      enumerable,
      get() {
        const value = make();
        define(target, name, value);
        return value;
      },
      set(value) {
        define(target, name, value);
      },
    });
  };

  if (!("global" in g)) define(g, "global", g);
  if (typeof g.structuredClone !== "function") lazy(g, "structuredClone", () => load("structured_clone"));
  if (typeof g.TextDecoder === "function") {
    const native = g.TextDecoder;
    define(g, Symbol.for("snapjs.nativeTextDecoder"), native);
    lazy(g, "TextDecoder", () => load("text_decoder"));
  }
  if (g.process && typeof g.__snapjsWrite === "function") {
    lazy(g.process, "stdout", () => load("stdio")(1), true);
    lazy(g.process, "stderr", () => load("stdio")(2), true);
  }
  const proc = g.process;
  if (proc && typeof proc.on !== "function") {
    const names = ["on", "once", "off", "addListener", "removeListener", "removeAllListeners", "prependListener", "prependOnceListener", "emit", "listeners", "rawListeners", "listenerCount", "eventNames", "setMaxListeners", "getMaxListeners", "emitWarning", "uptime", "memoryUsage"];
    let installed = false;
    const install = () => {
      if (!installed) {
        installed = true;
        for (const name of names) delete proc[name];
        load("process")();
      }
    };
    for (const name of names) {
      Object.defineProperty(proc, name, {
        configurable: true,
        enumerable: false,
        get() {
          install();
          return proc[name];
        },
      });
    }
  }
})();

// --- Async context, for node:async_hooks's AsyncLocalStorage. QuickJS has
// no hook around promise reaction jobs (quickjs-ng's promise hook fires
// `before`/`after` only for thenable jobs), so the context is carried by
// every callback snapjs can see being registered: Promise#then (and so
// catch/finally), setTimeout, setInterval, setImmediate, queueMicrotask,
// process.nextTick. An `await` continuation is not visible: it runs in the
// context of the innermost `AsyncLocalStorage#run` whose async callback
// has not settled yet ("ambient"), which is Node's answer unless two
// `run`s interleave. Nothing of this costs anything until the first
// AsyncLocalStorage is made (`state.enabled`).
(() => {
  "use strict";
  const g = globalThis;
  const then = Promise.prototype.then;
  const rawMicrotask = g.queueMicrotask;
  const state = {
    enabled: false,
    depth: 0,
    current: undefined,
    ambient: [],
    base: undefined,
  };
  state.effective = () => {
    if (state.depth > 0) return state.current;
    for (let i = state.ambient.length - 1; i >= 0; i--) if (state.ambient[i].armed) return state.ambient[i].frame;
    return state.base;
  };
  // Runs fn in `frame`; if it returns a promise, `frame` stays the ambient
  // context of await continuations until that promise settles.
  // The ambient entry is pushed before fn runs, so outer runs sit below
  // inner ones, and armed by a microtask queued before any of fn's await
  // continuations, so the synchronous code after `run` returns does not
  // see it.
  state.runIn = (frame, fn, thisArg, args) => {
    const entry = { frame, armed: false };
    state.ambient.push(entry);
    rawMicrotask(() => {
      entry.armed = true;
    });
    const remove = () => {
      const i = state.ambient.lastIndexOf(entry);
      if (i >= 0) state.ambient.splice(i, 1);
    };
    const saved = state.current;
    state.current = frame;
    state.depth++;
    let result;
    try {
      result = Reflect.apply(fn, thisArg, args);
    } catch (err) {
      remove();
      throw err;
    } finally {
      state.depth--;
      state.current = saved;
    }
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      try {
        then.call(result instanceof Promise ? result : Promise.resolve(result), remove, remove);
      } catch {
        remove();
      }
    } else {
      remove();
    }
    return result;
  };
  state.bind = (frame, fn) =>
    function (...args) {
      return state.runIn(frame, fn, this, args);
    };
  state.capture = (fn) => (state.enabled && typeof fn === "function" ? state.bind(state.effective(), fn) : fn);
  Object.defineProperty(g, Symbol.for("snapjs.asyncContext"), { value: state });

  state.then = then;
  Object.defineProperty(Promise.prototype, "then", {
    configurable: true,
    writable: true,
    value: function then_(onFulfilled, onRejected) {
      if (!state.enabled) return then.call(this, onFulfilled, onRejected);
      return then.call(this, state.capture(onFulfilled), state.capture(onRejected));
    },
  });
  Object.defineProperty(Promise.prototype.then, "name", { value: "then" });
  for (const name of ["setTimeout", "setInterval", "setImmediate", "queueMicrotask"]) {
    const original = g[name];
    if (typeof original !== "function") continue;
    const wrapped = {
      [name](fn, ...rest) {
        return original.call(this, state.capture(fn), ...rest);
      },
    }[name];
    Object.defineProperty(g, name, { value: wrapped, writable: true, configurable: true, enumerable: false });
  }
  if (g.process && typeof g.process.nextTick !== "function") {
    g.process.nextTick = function nextTick(fn, ...args) {
      if (typeof fn !== "function") {
        const err = new TypeError(`The "callback" argument must be of type function. Received ${fn === null ? "null" : typeof fn}`);
        err.code = "ERR_INVALID_ARG_TYPE";
        throw err;
      }
      // Inside a job (a handler is always in one), Node runs ticks after
      // the microtasks already queued: one more hop gives that order.
      const run = state.capture(() => fn(...args));
      rawMicrotask(() => rawMicrotask(run));
    };
  }
  if (g.console && !Object.prototype.hasOwnProperty.call(g.console, "Console")) {
    Object.defineProperty(g.console, "Console", {
      configurable: true,
      enumerable: false,
      get: () => g.require("console").Console,
    });
  }
})();
