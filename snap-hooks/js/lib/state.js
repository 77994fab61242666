"use strict";
// The process-wide state of @snap/hooks. It lives on a global symbol so that
// every copy of the package (one per node_modules directory) shares it.

const KEY = Symbol.for("snap.hooks.state.v1");

/**
 * @returns {{
 *   entries: {name: string, priority: number, timeoutMs: number, index: number,
 *             before?: Function, after?: Function}[],
 *   nextIndex: number,
 *   running: string | null,
 *   builtins: string[] | null,
 *   agents: Set<WeakRef<object>>,
 *   clients: Set<WeakRef<object>>,
 *   randEngine: string | null,
 *   beforeRuns: number,
 * }}
 */
function state() {
  let s = globalThis[KEY];
  if (!s) {
    s = {
      entries: [],
      nextIndex: 0,
      running: null,
      builtins: null,
      agents: new Set(),
      clients: new Set(),
      randEngine: null,
      // How many times a runtime ran the before-checkpoint phase: one that
      // did drives the hooks itself (preload.js then leaves them to it).
      beforeRuns: 0,
    };
    Object.defineProperty(globalThis, KEY, { value: s, enumerable: false, configurable: true });
  }
  return s;
}

module.exports = { state };
