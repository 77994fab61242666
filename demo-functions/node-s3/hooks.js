"use strict";
// Tiny SnapStart-style hook registry.
//
//   const hooks = require("./hooks");
//   hooks.beforeCheckpoint("name", async () => { ... });  // run before the snapshot, LIFO
//   hooks.afterRestore("name", async () => { ... });      // run after restore, FIFO
//
// Semantics follow the Python and .NET runtimes: before-checkpoint hooks run in
// reverse registration order, after-restore hooks in registration order, hooks
// run one at a time (async hooks are awaited), and the first failure stops the
// rest. The runtime (runtime.js) only runs them when
// AWS_LAMBDA_INITIALIZATION_TYPE is "snap-start".
//
// The registry lives on a global symbol so that a handler module loaded from
// another directory (LAMBDA_TASK_ROOT) with its own copy of this file still
// registers into the runtime's registry.

const REGISTRY_KEY = Symbol.for("snap.node-s3.hooks.registry");

function registry() {
  if (!globalThis[REGISTRY_KEY]) {
    globalThis[REGISTRY_KEY] = { before: [], after: [] };
  }
  return globalThis[REGISTRY_KEY];
}

function check(kind, name, fn) {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`${kind}: name must be a non-empty string`);
  }
  if (typeof fn !== "function") {
    throw new TypeError(`${kind}(${name}): hook must be a function`);
  }
}

function beforeCheckpoint(name, fn) {
  check("beforeCheckpoint", name, fn);
  registry().before.push({ name, fn });
}

function afterRestore(name, fn) {
  check("afterRestore", name, fn);
  registry().after.push({ name, fn });
}

class HookError extends Error {
  constructor(phase, name, cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${phase} hook "${name}" failed: ${detail}`, { cause });
    this.name = "HookError";
    this.phase = phase;
    this.hook = name;
    if (cause instanceof Error && cause.stack) {
      this.stack = `${this.name}: ${this.message}\nCaused by: ${cause.stack}`;
    }
  }
}

async function runList(phase, list) {
  const ran = [];
  for (const { name, fn } of list) {
    try {
      await fn();
    } catch (err) {
      throw new HookError(phase, name, err);
    }
    ran.push(name);
  }
  return ran;
}

// Runs the before-checkpoint hooks, newest first. Resolves to the names run;
// rejects with a HookError on the first failure.
function runBeforeCheckpoint() {
  return runList("beforeCheckpoint", registry().before.slice().reverse());
}

// Runs the after-restore hooks, oldest first. Resolves to the names run;
// rejects with a HookError on the first failure.
function runAfterRestore() {
  return runList("afterRestore", registry().after.slice());
}

function counts() {
  const r = registry();
  return { before: r.before.length, after: r.after.length };
}

module.exports = {
  beforeCheckpoint,
  afterRestore,
  runBeforeCheckpoint,
  runAfterRestore,
  counts,
  HookError,
};
