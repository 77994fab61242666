// Globals Node has and LLRT lacks, defined once at engine start:
// `global`, `structuredClone`, TextDecoder's single-byte labels (latin1,
// ascii, windows-1252...: decoded byte for byte, as Node does, under the
// name "windows-1252") and `process.stdout` /
// `process.stderr` (made on first use, so they cost nothing until then).
(() => {
  "use strict";
  const g = globalThis;
  const define = (target, name, value) => Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });

  if (!("global" in g)) define(g, "global", g);

  // --- structuredClone: the HTML structured clone algorithm (no transfer).
  const cloneError = (message) => {
    if (typeof DOMException === "function") return new DOMException(message, "DataCloneError");
    const err = new Error(message);
    err.name = "DataCloneError";
    return err;
  };
  const describe = (v) => {
    if (typeof v === "symbol") return v.toString();
    if (typeof v === "function") return Function.prototype.toString.call(v);
    return Object.prototype.toString.call(v);
  };
  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const errorNames = new Set(["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"]);
  function structuredClone(value, options) {
    if (arguments.length === 0) throw new TypeError("The \"value\" argument must be specified");
    if (options && options.transfer && options.transfer.length) {
      throw cloneError("snapjs's structuredClone does not transfer objects");
    }
    const memory = new Map();
    const clone = (v) => {
      if (typeof v === "symbol" || typeof v === "function") throw cloneError(`${describe(v)} could not be cloned.`);
      if (v === null || typeof v !== "object") return v;
      const seen = memory.get(v);
      if (seen !== undefined) return seen;
      const tag = Object.prototype.toString.call(v).slice(8, -1);
      let out;
      if (Array.isArray(v)) {
        out = new Array(v.length);
        memory.set(v, out);
        for (const k of Object.keys(v)) out[k] = clone(v[k]);
        return out;
      }
      if (v instanceof Date) out = new Date(v.getTime());
      else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
      else if (tag === "Boolean" || tag === "Number" || tag === "String" || tag === "BigInt") out = Object(v.valueOf());
      else if (v instanceof ArrayBuffer) out = v.slice(0);
      else if (v instanceof TypedArray) {
        const buffer = clone(v.buffer);
        out = new (Object.getPrototypeOf(Object.getPrototypeOf(v)) === TypedArray && Object.getPrototypeOf(v).constructor !== g.Buffer ? Object.getPrototypeOf(v).constructor : Uint8Array)(buffer, v.byteOffset, v.length);
      } else if (v instanceof DataView) out = new DataView(clone(v.buffer), v.byteOffset, v.byteLength);
      else if (v instanceof Map) {
        out = new Map();
        memory.set(v, out);
        for (const [k, x] of v) out.set(clone(k), clone(x));
        return out;
      } else if (v instanceof Set) {
        out = new Set();
        memory.set(v, out);
        for (const x of v) out.add(clone(x));
        return out;
      } else if (v instanceof Error) {
        const name = errorNames.has(v.name) ? v.name : "Error";
        out = new g[name](v.message);
        memory.set(v, out);
        if ("cause" in v) out.cause = clone(v.cause);
        if (typeof v.stack === "string") define(out, "stack", v.stack);
        return out;
      } else if (tag === "Symbol" || v instanceof WeakMap || v instanceof WeakSet || v instanceof Promise || v instanceof WeakRef) {
        throw cloneError(`${describe(v)} could not be cloned.`);
      } else if (typeof Blob === "function" && v instanceof Blob) {
        out = v.slice(0, v.size, v.type);
      } else {
        out = {};
        memory.set(v, out);
        for (const k of Object.keys(v)) out[k] = clone(v[k]);
        return out;
      }
      memory.set(v, out);
      return out;
    };
    return clone(value);
  }
  if (typeof g.structuredClone !== "function") define(g, "structuredClone", structuredClone);

  // --- TextDecoder: windows-1252 (labels latin1, iso-8859-1, ascii, ...).
  const NativeDecoder = g.TextDecoder;
  if (typeof NativeDecoder === "function") {
    const w1252 = new Set(["ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252"]);
    class TextDecoder {
      #native;
      #single = false;
      #fatal;
      #ignoreBOM;
      constructor(label = "utf-8", options = {}) {
        const name = String(label).trim().toLowerCase();
        this.#fatal = Boolean(options && options.fatal);
        this.#ignoreBOM = Boolean(options && options.ignoreBOM);
        if (w1252.has(name)) this.#single = true;
        else this.#native = new NativeDecoder(label, options);
      }
      get encoding() {
        return this.#single ? "windows-1252" : this.#native.encoding;
      }
      get fatal() {
        return this.#single ? this.#fatal : this.#native.fatal;
      }
      get ignoreBOM() {
        return this.#single ? this.#ignoreBOM : this.#native.ignoreBOM;
      }
      decode(input, options) {
        if (!this.#single) return this.#native.decode(input, options);
        if (input === undefined) return "";
        const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
        let s = "";
        for (let i = 0; i < bytes.length; i += 4096) {
          const part = [];
          for (let j = i; j < Math.min(bytes.length, i + 4096); j++) {
            const b = bytes[j];
            part.push(b);
          }
          s += String.fromCharCode.apply(null, part);
        }
        return s;
      }
      get [Symbol.toStringTag]() {
        return "TextDecoder";
      }
    }
    define(g, "TextDecoder", TextDecoder);
  }

  // --- process.stdout / process.stderr: Writable-shaped, made on first use.
  const write = g.__snapjsWrite;
  const makeStream = (fd) => {
    const EventEmitter = g.require("events");
    let Base = EventEmitter;
    try {
      const stream = g.require("stream");
      if (stream && typeof stream.Writable === "function") Base = stream.Writable;
    } catch {}
    let out;
    if (Base !== EventEmitter) {
      out = new Base({
        decodeStrings: false,
        write(chunk, encoding, callback) {
          try {
            write(fd, typeof chunk === "string" ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            callback();
          } catch (err) {
            callback(err);
          }
        },
      });
    } else {
      out = new EventEmitter();
      out.writable = true;
      out.writableEnded = false;
      out.write = function (chunk, encoding, callback) {
        if (typeof encoding === "function") callback = encoding;
        if (typeof chunk === "string") write(fd, chunk);
        else if (ArrayBuffer.isView(chunk)) write(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        else {
          const err = new TypeError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${chunk === null ? "null" : typeof chunk}`);
          err.code = "ERR_INVALID_ARG_TYPE";
          throw err;
        }
        if (typeof callback === "function") queueMicrotask(() => callback(null));
        return true;
      };
      out.end = function (chunk, encoding, callback) {
        if (typeof chunk === "function") [callback, chunk] = [chunk, undefined];
        if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
        this.writableEnded = true;
        if (typeof callback === "function") queueMicrotask(callback);
        queueMicrotask(() => this.emit("finish"));
        return this;
      };
      out.cork = () => {};
      out.uncork = () => {};
      out.setDefaultEncoding = function () {
        return this;
      };
    }
    out.fd = fd;
    out.isTTY = false;
    out._isStdio = true;
    out.destroySoon = out.destroy;
    out.columns = undefined;
    return out;
  };
  const lazy = (name, fd) => {
    let stream;
    Object.defineProperty(g.process, name, {
      configurable: true,
      enumerable: true,
      get() {
        if (stream === undefined) stream = makeStream(fd);
        return stream;
      },
      set(v) {
        stream = v;
      },
    });
  };
  if (g.process && typeof write === "function") {
    lazy("stdout", 1);
    lazy("stderr", 2);
  }

  // --- process as an event emitter (on, once, emit, ...; the emitter is
  // made on first use), emitWarning, uptime, memoryUsage.
  const proc = g.process;
  if (proc && typeof proc.on !== "function") {
    let emitter;
    const events = () => emitter || (emitter = new (g.require("events"))());
    for (const name of ["on", "once", "off", "addListener", "removeListener", "removeAllListeners", "prependListener", "prependOnceListener", "emit", "listeners", "rawListeners", "listenerCount", "eventNames", "setMaxListeners", "getMaxListeners"]) {
      define(proc, name, function (...args) {
        const e = events();
        const result = e[name](...args);
        return result === e ? proc : result;
      });
    }
    define(proc, "emitWarning", function emitWarning(warning, type, code) {
      if (type !== null && typeof type === "object") ({ type, code } = type);
      const w = typeof warning === "string" ? Object.assign(new Error(warning), { name: type || "Warning" }) : warning;
      if (code !== undefined) w.code = code;
      if (w.name === "DeprecationWarning" && proc.noDeprecation) return;
      queueMicrotask(() => {
        events().emit("warning", w);
        g.console.error(`(node:${proc.pid}) ${w.code ? `[${w.code}] ` : ""}${w.name}: ${w.message}`);
      });
    });
    const started = typeof performance === "object" ? performance.now() : 0;
    define(proc, "uptime", () => (performance.now() - started) / 1000);
    define(proc, "memoryUsage", function memoryUsage() {
      let rss = 0;
      try {
        const status = g.require("fs").readFileSync("/proc/self/status", "utf8");
        const m = /VmRSS:\s+(\d+) kB/.exec(status);
        if (m) rss = Number(m[1]) * 1024;
      } catch {}
      return { rss, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
    });
    define(proc.memoryUsage, "rss", () => proc.memoryUsage().rss);
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
