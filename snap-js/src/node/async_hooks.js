// node:async_hooks: AsyncLocalStorage, AsyncResource, and the id functions.
// createHook gives hooks that are never called (no async resources are
// tracked).

// --- Async context, installed when this module is first loaded (before
// that no AsyncLocalStorage exists, so there is no context to carry). QuickJS has
// no hook around promise reaction jobs (quickjs-ng's promise hook fires
// `before`/`after` only for thenable jobs), so the context is carried by
// every callback snapjs can see being registered: Promise#then (and so
// catch/finally), setTimeout, setInterval, setImmediate, queueMicrotask,
// process.nextTick. An `await` continuation is not visible: it runs in the
// context of the innermost `AsyncLocalStorage#run` whose async callback
// has not settled yet ("ambient"), which is Node's answer unless two
// `run`s interleave.
{
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
  Object.defineProperty(g, Symbol.for("snapjs.asyncContext"), { value: state, configurable: true });

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
}
const state = globalThis[Symbol.for("snapjs.asyncContext")];
const empty = new Map();

function frameWith(key, value) {
  const next = new Map(state.effective() || empty);
  if (value === undefined) next.delete(key);
  else next.set(key, value);
  return next;
}

const runIn = (frame, fn, thisArg, args) => state.runIn(frame, fn, thisArg, args);

export class AsyncLocalStorage {
  #enabled = true;
  constructor() {
    state.enabled = true;
  }
  static bind(fn) {
    return AsyncResource.bind(fn);
  }
  static snapshot() {
    const frame = state.effective();
    return (fn, ...args) => runIn(frame, fn, undefined, args);
  }
  getStore() {
    if (!this.#enabled) return undefined;
    const frame = state.effective();
    return frame === undefined ? undefined : frame.get(this);
  }
  run(store, callback, ...args) {
    this.#enabled = true;
    return runIn(frameWith(this, store), callback, undefined, args);
  }
  exit(callback, ...args) {
    return runIn(frameWith(this, undefined), callback, undefined, args);
  }
  enterWith(store) {
    this.#enabled = true;
    const frame = frameWith(this, store);
    if (state.depth > 0) state.current = frame;
    const armed = state.ambient.filter((e) => e.armed);
    if (armed.length > 0) armed[armed.length - 1].frame = frame;
    else if (state.depth === 0) state.base = frame;
  }
  disable() {
    this.#enabled = false;
    if (state.base) state.base = frameWith(this, undefined);
  }
}

let nextId = 1;
export class AsyncResource {
  #frame;
  #id = ++nextId;
  #trigger;
  constructor(type, opts = {}) {
    if (typeof type !== "string") {
      const err = new TypeError(`The "type" argument must be of type string. Received ${type === null ? "null" : typeof type}`);
      err.code = "ERR_INVALID_ARG_TYPE";
      throw err;
    }
    this.type = type;
    this.#frame = state.effective();
    this.#trigger = typeof opts === "number" ? opts : (opts && opts.triggerAsyncId) || 1;
  }
  runInAsyncScope(fn, thisArg, ...args) {
    return runIn(this.#frame, fn, thisArg, args);
  }
  bind(fn, thisArg) {
    const resource = this;
    const bound = function (...args) {
      return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
    };
    Object.defineProperty(bound, "length", { value: fn.length });
    bound.asyncResource = this;
    return bound;
  }
  static bind(fn, type, thisArg) {
    return new AsyncResource(type || fn.name || "bound-anonymous-fn").bind(fn, thisArg);
  }
  emitDestroy() {
    return this;
  }
  asyncId() {
    return this.#id;
  }
  triggerAsyncId() {
    return this.#trigger;
  }
}

export function executionAsyncId() {
  return 1;
}
export function triggerAsyncId() {
  return 0;
}
export function executionAsyncResource() {
  return {};
}
export function createHook() {
  const hook = {
    enable: () => hook,
    disable: () => hook,
  };
  return hook;
}
export const asyncWrapProviders = Object.freeze({ NONE: 0 });

export default { AsyncLocalStorage, AsyncResource, executionAsyncId, triggerAsyncId, executionAsyncResource, createHook, asyncWrapProviders };
