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
  const load = (name) => g.__snapjs_cjs.builtin(`snapjs:internal/${name}`);
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
  // `Object.prototype.toString.call(process)` is "[object process]" in
  // Node: libraries (axios among them) test it to tell Node from a browser.
  if (g.process && !Object.prototype.hasOwnProperty.call(g.process, Symbol.toStringTag)) {
    Object.defineProperty(g.process, Symbol.toStringTag, { value: "process", writable: true, enumerable: false, configurable: false });
  }
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
  if (proc && typeof proc.nextTick !== "function") {
    define(proc, "nextTick", function nextTick(fn, ...args) {
      if (typeof fn !== "function") {
        const err = new TypeError(`The "callback" argument must be of type function. Received ${fn === null ? "null" : typeof fn}`);
        err.code = "ERR_INVALID_ARG_TYPE";
        throw err;
      }
      // Inside a job (a handler is always in one), Node runs ticks after
      // the microtasks already queued: one more hop gives that order.
      g.queueMicrotask(() => g.queueMicrotask(() => fn(...args)));
    });
  }
  if (g.console && !Object.prototype.hasOwnProperty.call(g.console, "Console")) {
    Object.defineProperty(g.console, "Console", {
      configurable: true,
      enumerable: false,
      get: () => g.__snapjs_cjs.builtin("console").Console,
    });
  }
})();
