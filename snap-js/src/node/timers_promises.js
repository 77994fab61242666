// node:timers/promises: setTimeout, setImmediate and setInterval (an async
// iterator) as promises, with AbortSignal support and Node's errors.

import { abortError } from "snapjs:internal/errors";
function checkOptions(options) {
  if (options === null || typeof options !== "object") {
    const err = new TypeError(`The "options" argument must be of type object. Received ${options === null ? "null" : `type ${typeof options} (${String(options)})`}`);
    err.code = "ERR_INVALID_ARG_TYPE";
    throw err;
  }
  const { signal } = options;
  if (signal !== undefined && (signal === null || typeof signal !== "object" || !("aborted" in signal))) {
    const err = new TypeError(`The "options.signal" property must be an instance of AbortSignal. Received ${signal === null ? "null" : typeof signal}`);
    err.code = "ERR_INVALID_ARG_TYPE";
    throw err;
  }
  return signal;
}

function later(schedule, cancel, value, options) {
  let signal;
  try {
    signal = checkOptions(options);
  } catch (err) {
    return Promise.reject(err);
  }
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    let onAbort;
    const id = schedule(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve(value);
    });
    if (signal) {
      onAbort = () => {
        cancel(id);
        reject(abortError(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
}

export function setTimeout(delay, value, options = {}) {
  return later((fn) => globalThis.setTimeout(fn, delay), globalThis.clearTimeout, value, options);
}

export function setImmediate(value, options = {}) {
  return later((fn) => globalThis.setImmediate(fn), globalThis.clearImmediate, value, options);
}

export function setInterval(delay, value, options = {}) {
  const signal = checkOptions(options);
  let id;
  let ticks = 0;
  let waiting = null;
  let done = false;
  let failed = null;
  const onAbort = () => {
    done = true;
    failed = abortError(signal);
    if (id !== undefined) globalThis.clearInterval(id);
    if (waiting) {
      waiting.reject(failed);
      waiting = null;
    }
  };
  if (signal && signal.aborted) onAbort();
  else if (signal) signal.addEventListener("abort", onAbort, { once: true });
  const start = () => {
    if (id === undefined && !done) {
      id = globalThis.setInterval(() => {
        ticks++;
        if (waiting) {
          ticks--;
          waiting.resolve({ value, done: false });
          waiting = null;
        }
      }, delay);
    }
  };
  return {
    next() {
      if (failed) {
        const err = failed;
        failed = null;
        return Promise.reject(err);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      start();
      if (ticks > 0) {
        ticks--;
        return Promise.resolve({ value, done: false });
      }
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      done = true;
      if (id !== undefined) globalThis.clearInterval(id);
      if (signal) signal.removeEventListener("abort", onAbort);
      if (waiting) {
        waiting.resolve({ value: undefined, done: true });
        waiting = null;
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export const scheduler = {
  wait: (delay, options) => setTimeout(delay, undefined, options),
  yield: () => setImmediate(),
};

export default { setTimeout, setImmediate, setInterval, scheduler };
