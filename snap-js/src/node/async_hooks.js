// node:async_hooks: AsyncLocalStorage, AsyncResource, and the id functions.
// The context travels as described in patches/globals.js (the
// "snapjs.asyncContext" state): exact through then/catch/finally, timers,
// queueMicrotask and nextTick; `await` continuations see the innermost
// unsettled `run`. createHook gives hooks that are never called (no async
// resources are tracked).

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
