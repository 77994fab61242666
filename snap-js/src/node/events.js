// node:events: Node's EventEmitter in JS (LLRT's Rust one has no
// listenerCount, removeAllListeners, max listeners, rawListeners, error
// monitor or captureRejections), with events.once and events.on.

import { abortError, describe } from "snapjs:internal/errors";
const kCapture = Symbol("kCapture");
const errorMonitor = Symbol("events.errorMonitor");
const captureRejectionSymbol = Symbol.for("nodejs.rejection");
let defaultMaxListeners = 10;

function codeError(Base, code, message) {
  const err = new Base(message);
  Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}
function checkListener(listener) {
  if (typeof listener !== "function") {
    throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "listener" argument must be of type function.${describe(listener)}`);
  }
}
function checkMax(n, name) {
  if (typeof n !== "number") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be of type number.${describe(n)}`);
  if (n < 0 || Number.isNaN(n)) throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be >= 0. Received ${n}`);
}

function EventEmitter(opts) {
  EventEmitter.init.call(this, opts);
}
EventEmitter.prototype._events = undefined;
EventEmitter.prototype._eventsCount = 0;
EventEmitter.prototype._maxListeners = undefined;

EventEmitter.init = function (opts) {
  if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) {
    this._events = Object.create(null);
    this._eventsCount = 0;
  }
  this._maxListeners = this._maxListeners || undefined;
  if (opts && opts.captureRejections) {
    if (typeof opts.captureRejections !== "boolean") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "options.captureRejections" property must be of type boolean.${describe(opts.captureRejections)}`);
    this[kCapture] = true;
  } else {
    this[kCapture] = EventEmitter.prototype[kCapture];
  }
};
EventEmitter.prototype[kCapture] = false;

Object.defineProperty(EventEmitter, "defaultMaxListeners", {
  enumerable: true,
  get: () => defaultMaxListeners,
  set(n) {
    checkMax(n, "defaultMaxListeners");
    defaultMaxListeners = n;
  },
});
Object.defineProperty(EventEmitter, "captureRejections", {
  enumerable: true,
  get: () => EventEmitter.prototype[kCapture],
  set(v) {
    if (typeof v !== "boolean") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "EventEmitter.captureRejections" property must be of type boolean.${describe(v)}`);
    EventEmitter.prototype[kCapture] = v;
  },
});
EventEmitter.errorMonitor = errorMonitor;
EventEmitter.captureRejectionSymbol = captureRejectionSymbol;

EventEmitter.prototype.setMaxListeners = function setMaxListeners(n) {
  checkMax(n, "setMaxListeners");
  this._maxListeners = n;
  return this;
};
EventEmitter.prototype.getMaxListeners = function getMaxListeners() {
  return this._maxListeners === undefined ? defaultMaxListeners : this._maxListeners;
};

function addCatch(that, promise, type, args) {
  try {
    const then = promise.then;
    if (typeof then === "function") {
      then.call(promise, undefined, (err) => {
        setTimeout(() => {
          if (typeof that[captureRejectionSymbol] === "function") that[captureRejectionSymbol](err, type, ...args);
          else {
            const prev = that[kCapture];
            try {
              that[kCapture] = false;
              that.emit("error", err);
            } finally {
              that[kCapture] = prev;
            }
          }
        }, 0);
      });
    }
  } catch (err) {
    that.emit("error", err);
  }
}

EventEmitter.prototype.emit = function emit(type, ...args) {
  let doError = type === "error";
  const events = this._events;
  if (events !== undefined) {
    if (doError && events[errorMonitor] !== undefined) this.emit(errorMonitor, ...args);
    doError = doError && events.error === undefined;
  } else if (!doError) return false;
  if (doError) {
    const er = args[0];
    if (er instanceof Error) throw er;
    let shown;
    try {
      shown = typeof er === "string" ? `'${er}'` : String(er);
    } catch {
      shown = "[object]";
    }
    const err = codeError(Error, "ERR_UNHANDLED_ERROR", `Unhandled error. (${shown})`);
    err.context = er;
    throw err;
  }
  const handler = events[type];
  if (handler === undefined) return false;
  const listeners = typeof handler === "function" ? [handler] : handler.slice();
  for (const listener of listeners) {
    const result = listener.apply(this, args);
    if (result !== undefined && result !== null && this[kCapture]) addCatch(this, result, type, args);
  }
  return true;
};

function addListener(target, type, listener, prepend) {
  checkListener(listener);
  let events = target._events;
  if (events === undefined) {
    events = target._events = Object.create(null);
    target._eventsCount = 0;
  } else if (events.newListener !== undefined) {
    target.emit("newListener", type, listener.listener ? listener.listener : listener);
    events = target._events;
  }
  let existing = events[type];
  if (existing === undefined) {
    events[type] = listener;
    target._eventsCount += 1;
  } else {
    if (typeof existing === "function") existing = events[type] = prepend ? [listener, existing] : [existing, listener];
    else if (prepend) existing.unshift(listener);
    else existing.push(listener);
    const m = target.getMaxListeners();
    if (m > 0 && existing.length > m && !existing.warned) {
      existing.warned = true;
      const w = new Error(`Possible EventEmitter memory leak detected. ${existing.length} ${String(type)} listeners added to ${target.constructor.name === "EventEmitter" ? "[EventEmitter]" : `[${target.constructor.name}]`}. MaxListeners is ${m}. Use emitter.setMaxListeners() to increase limit`);
      w.name = "MaxListenersExceededWarning";
      w.emitter = target;
      w.type = type;
      w.count = existing.length;
      if (typeof process === "object" && typeof process.emitWarning === "function") process.emitWarning(w);
      else console.error(`(node) ${w.name}: ${w.message}`);
    }
  }
  return target;
}

EventEmitter.prototype.addListener = function addListener_(type, listener) {
  return addListener(this, type, listener, false);
};
EventEmitter.prototype.on = EventEmitter.prototype.addListener;
EventEmitter.prototype.prependListener = function prependListener(type, listener) {
  return addListener(this, type, listener, true);
};

function onceWrapper(...args) {
  if (!this.fired) {
    this.target.removeListener(this.type, this.wrapFn);
    this.fired = true;
    return this.listener.apply(this.target, args);
  }
}
function onceWrap(target, type, listener) {
  const state = { fired: false, wrapFn: undefined, target, type, listener };
  const wrapped = onceWrapper.bind(state);
  wrapped.listener = listener;
  state.wrapFn = wrapped;
  return wrapped;
}
EventEmitter.prototype.once = function once(type, listener) {
  checkListener(listener);
  this.on(type, onceWrap(this, type, listener));
  return this;
};
EventEmitter.prototype.prependOnceListener = function prependOnceListener(type, listener) {
  checkListener(listener);
  this.prependListener(type, onceWrap(this, type, listener));
  return this;
};

EventEmitter.prototype.removeListener = function removeListener(type, listener) {
  checkListener(listener);
  const events = this._events;
  if (events === undefined) return this;
  const list = events[type];
  if (list === undefined) return this;
  if (list === listener || list.listener === listener) {
    if (--this._eventsCount === 0) this._events = Object.create(null);
    else delete events[type];
    if (events.removeListener) this.emit("removeListener", type, list.listener || listener);
  } else if (typeof list !== "function") {
    let position = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i] === listener || list[i].listener === listener) {
        position = i;
        break;
      }
    }
    if (position < 0) return this;
    const [removed] = list.splice(position, 1);
    if (list.length === 1) events[type] = list[0];
    if (events.removeListener !== undefined) this.emit("removeListener", type, removed.listener || listener);
  }
  return this;
};
EventEmitter.prototype.off = EventEmitter.prototype.removeListener;

EventEmitter.prototype.removeAllListeners = function removeAllListeners(type) {
  const events = this._events;
  if (events === undefined) return this;
  if (events.removeListener === undefined) {
    if (arguments.length === 0) {
      this._events = Object.create(null);
      this._eventsCount = 0;
    } else if (events[type] !== undefined) {
      if (--this._eventsCount === 0) this._events = Object.create(null);
      else delete events[type];
    }
    return this;
  }
  if (arguments.length === 0) {
    for (const key of Reflect.ownKeys(events)) {
      if (key === "removeListener") continue;
      this.removeAllListeners(key);
    }
    this.removeAllListeners("removeListener");
    this._events = Object.create(null);
    this._eventsCount = 0;
    return this;
  }
  const listeners = events[type];
  if (typeof listeners === "function") this.removeListener(type, listeners);
  else if (listeners !== undefined) for (let i = listeners.length - 1; i >= 0; i--) this.removeListener(type, listeners[i]);
  return this;
};

function listenersOf(target, type, unwrap) {
  const events = target._events;
  if (events === undefined) return [];
  const l = events[type];
  if (l === undefined) return [];
  if (typeof l === "function") return unwrap ? [l.listener || l] : [l];
  return unwrap ? l.map((x) => x.listener || x) : l.slice();
}
EventEmitter.prototype.listeners = function listeners(type) {
  return listenersOf(this, type, true);
};
EventEmitter.prototype.rawListeners = function rawListeners(type) {
  return listenersOf(this, type, false);
};
EventEmitter.prototype.listenerCount = function listenerCount(type, listener) {
  const events = this._events;
  if (events === undefined) return 0;
  const l = events[type];
  if (l === undefined) return 0;
  if (typeof l === "function") return listener == null || l === listener || l.listener === listener ? 1 : 0;
  if (listener == null) return l.length;
  return l.filter((x) => x === listener || x.listener === listener).length;
};
EventEmitter.listenerCount = (emitter, type) => (typeof emitter.listenerCount === "function" ? emitter.listenerCount(type) : 0);
EventEmitter.prototype.eventNames = function eventNames() {
  return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : [];
};

// --- events.once, events.on and the helpers ------------------------------------

function addAny(emitter, name, listener, flags) {
  if (typeof emitter.on === "function") {
    if (flags && flags.once) emitter.once(name, listener);
    else emitter.on(name, listener);
  } else if (typeof emitter.addEventListener === "function") {
    emitter.addEventListener(name, listener, flags);
  } else {
    throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "emitter" argument must be an instance of EventEmitter or EventTarget.${describe(emitter)}`);
  }
}
function removeAny(emitter, name, listener) {
  if (typeof emitter.removeListener === "function") emitter.removeListener(name, listener);
  else if (typeof emitter.removeEventListener === "function") emitter.removeEventListener(name, listener);
}

export function once(emitter, name, options = {}) {
  const signal = options ? options.signal : undefined;
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const errorListener = (err) => {
      removeAny(emitter, name, resolver);
      if (signal) signal.removeEventListener("abort", abortListener);
      reject(err);
    };
    const resolver = (...args) => {
      if (typeof emitter.removeListener === "function") emitter.removeListener("error", errorListener);
      if (signal) signal.removeEventListener("abort", abortListener);
      resolve(args);
    };
    const abortListener = () => {
      removeAny(emitter, name, resolver);
      removeAny(emitter, "error", errorListener);
      reject(abortError(signal));
    };
    addAny(emitter, name, resolver, { once: true });
    if (name !== "error" && typeof emitter.on === "function") emitter.once("error", errorListener);
    if (signal) signal.addEventListener("abort", abortListener, { once: true });
  });
}

export function on(emitter, event, options = {}) {
  const signal = options ? options.signal : undefined;
  if (signal && signal.aborted) throw abortError(signal);
  const unconsumedEvents = [];
  const unconsumedPromises = [];
  let error = null;
  let finished = false;
  const closeEvents = options && options.close ? options.close : [];
  const iterator = {
    next() {
      const value = unconsumedEvents.shift();
      if (value) return Promise.resolve({ value, done: false });
      if (error) {
        const p = Promise.reject(error);
        error = null;
        return p;
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => unconsumedPromises.push({ resolve, reject }));
    },
    return() {
      cleanup();
      finished = true;
      for (const p of unconsumedPromises) p.resolve({ value: undefined, done: true });
      unconsumedPromises.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err) {
      error = err;
      cleanup();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  const eventHandler = (...args) => {
    const p = unconsumedPromises.shift();
    if (p) p.resolve({ value: args, done: false });
    else unconsumedEvents.push(args);
  };
  const errorHandler = (err) => {
    finished = true;
    const p = unconsumedPromises.shift();
    if (p) p.reject(err);
    else error = err;
    iterator.return();
  };
  const closeHandler = () => iterator.return();
  const abortListener = () => errorHandler(abortError(signal));
  function cleanup() {
    removeAny(emitter, event, eventHandler);
    if (event !== "error") removeAny(emitter, "error", errorHandler);
    for (const c of closeEvents) removeAny(emitter, c, closeHandler);
    if (signal) signal.removeEventListener("abort", abortListener);
  }
  addAny(emitter, event, eventHandler);
  if (event !== "error" && typeof emitter.on === "function") emitter.on("error", errorHandler);
  for (const c of closeEvents) addAny(emitter, c, closeHandler);
  if (signal) signal.addEventListener("abort", abortListener, { once: true });
  return iterator;
}

export function getEventListeners(emitter, type) {
  if (typeof emitter.listeners === "function") return emitter.listeners(type);
  return [];
}
export function setMaxListeners(n = defaultMaxListeners, ...targets) {
  checkMax(n, "n");
  if (targets.length === 0) defaultMaxListeners = n;
  else for (const t of targets) if (typeof t.setMaxListeners === "function") t.setMaxListeners(n);
}
export function getMaxListeners(emitter) {
  return typeof emitter.getMaxListeners === "function" ? emitter.getMaxListeners() : defaultMaxListeners;
}
export function listenerCount(emitter, type) {
  return EventEmitter.listenerCount(emitter, type);
}
export function addAbortListener(signal, listener) {
  if (signal.aborted) queueMicrotask(() => listener());
  else signal.addEventListener("abort", listener, { once: true });
  return { [Symbol.dispose || Symbol.for("nodejs.dispose")]: () => signal.removeEventListener("abort", listener) };
}

Object.assign(EventEmitter, { once, on, getEventListeners, setMaxListeners, getMaxListeners, listenerCount: EventEmitter.listenerCount, addAbortListener, EventEmitter });
EventEmitter.usingDomains = false;
export { EventEmitter, errorMonitor, captureRejectionSymbol };
export const EventTarget = globalThis.EventTarget;
export const Event = globalThis.Event;
EventEmitter.EventTarget = EventTarget;
EventEmitter.Event = Event;
export default EventEmitter;
