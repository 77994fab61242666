"use strict";
/**
 * @snap/hooks: before-checkpoint and after-restore hooks for Node functions
 * that snaprun snapshots and restores (SnapStart style).
 *
 *   const hooks = require("@snap/hooks");
 *   hooks.beforeCheckpoint("db", async () => pool.end());
 *   hooks.afterRestore("db", async () => { pool = makePool(); });
 *   hooks.register("cache", { beforeCheckpoint: flush, afterRestore: reload }, { priority: 5 });
 *
 * Ordering: every registration has a priority (default 0) and a registration
 * index. After restore, hooks run by priority, highest first, then in
 * registration order (FIFO). Before a checkpoint they run in exactly the
 * reverse order (lowest priority first, LIFO within a priority).
 *
 * Failure: hooks run one at a time and the first failure (a throw, a
 * rejection, or a timeout) stops the phase with a {@link HookError}. When a
 * before-checkpoint hook fails, the after-restore hooks of the registrations
 * already passed in before-checkpoint order (their before-checkpoint hook
 * completed, or they have none) run first, in after-restore order, so the
 * process keeps working; the runtime then reports the error
 * and no snapshot is taken. When an after-restore hook fails the runtime
 * discards the instance.
 *
 * The registry lives on a global symbol, so copies of this package loaded
 * from different node_modules directories share one registry.
 */

const { installBuiltins, trackAgent, trackClient, BUILTIN_PRIORITY } = require("./lib/builtins");
const { state } = require("./lib/state");

/** Default per-hook timeout in milliseconds. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** The two phases, as they appear in {@link HookError#phase}. */
const BEFORE = "beforeCheckpoint";
const AFTER = "afterRestore";

/**
 * A hook failed or timed out.
 * @property {"beforeCheckpoint"|"afterRestore"} phase the phase it ran in
 * @property {string} hook the registration's name
 * @property {unknown} cause what the hook threw or rejected with (for a
 *   timeout, an Error saying so)
 * @property {boolean} timedOut whether the hook overran its timeout
 * @property {HookError[]} rollbackErrors after a before-checkpoint failure,
 *   failures of the after-restore hooks that ran to undo it
 */
class HookError extends Error {
  constructor(phase, hook, cause, timedOut) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${phase} hook "${hook}" ${timedOut ? "timed out" : "failed"}: ${detail}`, { cause });
    this.name = "HookError";
    this.phase = phase;
    this.hook = hook;
    this.timedOut = timedOut;
    this.rollbackErrors = [];
    if (cause instanceof Error && cause.stack && !timedOut) {
      this.stack = `${this.name}: ${this.message}\nCaused by: ${cause.stack}`;
    }
  }
}

function checkName(kind, name) {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`${kind}: the hook name must be a non-empty string`);
  }
}

function checkOptions(kind, name, opts) {
  const { priority = 0, timeoutMs = DEFAULT_TIMEOUT_MS } = opts ?? {};
  if (typeof priority !== "number" || !Number.isFinite(priority)) {
    throw new TypeError(`${kind}(${name}): priority must be a finite number`);
  }
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new TypeError(`${kind}(${name}): timeoutMs must be a positive finite number`);
  }
  return { priority, timeoutMs };
}

/**
 * Registers a resource with a before-checkpoint hook, an after-restore hook,
 * or both. Each hook may be sync or async.
 * @param {string} name shown in logs and errors
 * @param {{beforeCheckpoint?: () => unknown, afterRestore?: () => unknown}} hooks
 * @param {{priority?: number, timeoutMs?: number}} [opts] priority (default
 *   0; higher runs earlier after restore and later before checkpoint) and the
 *   timeout of each of its hooks (default 10000 ms)
 * @throws {Error} while hooks are running (registration is refused then)
 */
function register(name, hooks, opts) {
  checkName("register", name);
  const s = state();
  if (s.running) {
    throw new Error(
      `cannot register hook "${name}" while ${s.running} hooks are running; register it before or after`,
    );
  }
  const { beforeCheckpoint: before, afterRestore: after } = hooks ?? {};
  for (const [label, fn] of [
    [BEFORE, before],
    [AFTER, after],
  ]) {
    if (fn !== undefined && typeof fn !== "function") {
      throw new TypeError(`register(${name}): ${label} must be a function`);
    }
  }
  if (!before && !after) {
    throw new TypeError(`register(${name}): give beforeCheckpoint, afterRestore or both`);
  }
  const { priority, timeoutMs } = checkOptions("register", name, opts);
  s.entries.push({ name, priority, timeoutMs, index: s.nextIndex++, before, after });
}

/**
 * Registers a hook that runs before the snapshot is taken.
 * @param {string} name
 * @param {() => unknown} fn sync or async
 * @param {{priority?: number, timeoutMs?: number}} [opts]
 */
function beforeCheckpoint(name, fn, opts) {
  checkName("beforeCheckpoint", name);
  if (typeof fn !== "function") throw new TypeError(`beforeCheckpoint(${name}): hook must be a function`);
  register(name, { beforeCheckpoint: fn }, opts);
}

/**
 * Registers a hook that runs in every instance restored from the snapshot.
 * @param {string} name
 * @param {() => unknown} fn sync or async
 * @param {{priority?: number, timeoutMs?: number}} [opts]
 */
function afterRestore(name, fn, opts) {
  checkName("afterRestore", name);
  if (typeof fn !== "function") throw new TypeError(`afterRestore(${name}): hook must be a function`);
  register(name, { afterRestore: fn }, opts);
}

/** Registrations in after-restore order: priority descending, then FIFO. */
function afterOrder() {
  return state()
    .entries.slice()
    .sort((a, b) => b.priority - a.priority || a.index - b.index);
}

/**
 * The registrations, in after-restore order.
 * @returns {{name: string, priority: number, timeoutMs: number, beforeCheckpoint: boolean, afterRestore: boolean}[]}
 */
function registrations() {
  return afterOrder().map((e) => ({
    name: e.name,
    priority: e.priority,
    timeoutMs: e.timeoutMs,
    beforeCheckpoint: Boolean(e.before),
    afterRestore: Boolean(e.after),
  }));
}

const TIMED_OUT = Symbol("timed out");

/** Runs one hook under its timeout; throws a HookError on failure. */
async function runOne(phase, entry, fn) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), entry.timeoutMs);
  });
  let outcome;
  try {
    // A sync throw becomes a rejection; a sync hook that never returns
    // cannot be interrupted (JavaScript has one thread).
    outcome = await Promise.race([Promise.resolve().then(fn), timeout]);
  } catch (err) {
    throw new HookError(phase, entry.name, err, false);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === TIMED_OUT) {
    // The hook is abandoned: it may still be running, nobody waits for it.
    const cause = new Error(`did not finish within ${entry.timeoutMs} ms; abandoned`);
    throw new HookError(phase, entry.name, cause, true);
  }
}

async function inPhase(phase, body) {
  const s = state();
  if (s.running) {
    throw new Error(`cannot run ${phase} hooks while ${s.running} hooks are running`);
  }
  s.running = phase;
  try {
    return await body();
  } finally {
    s.running = null;
  }
}

/**
 * Runs the before-checkpoint hooks (the runtime calls this once, before it
 * asks for the snapshot). On the first failure it runs the after-restore
 * hooks of the registrations already passed (before-checkpoint hook
 * completed, or none), in after-restore order, all of them even if one
 * fails, then rejects.
 * @returns {Promise<string[]>} the names of the hooks run, in order
 * @throws {HookError}
 */
function runBeforeCheckpoint() {
  return inPhase(BEFORE, async () => {
    state().beforeRuns += 1;
    const ran = [];
    const completed = [];
    for (const entry of afterOrder().reverse()) {
      if (!entry.before) {
        // Nothing to do before the checkpoint: passed, so undone on failure.
        completed.push(entry);
        continue;
      }
      try {
        await runOne(BEFORE, entry, entry.before);
      } catch (err) {
        // Undo: the newest completed first is the after-restore order.
        for (const done of completed.reverse()) {
          if (!done.after) continue;
          try {
            await runOne(AFTER, done, done.after);
          } catch (rollbackErr) {
            err.rollbackErrors.push(rollbackErr);
          }
        }
        throw err;
      }
      ran.push(entry.name);
      completed.push(entry);
    }
    return ran;
  });
}

/**
 * Runs the after-restore hooks (the runtime calls this once, right after the
 * restore). The first failure stops the rest.
 * @returns {Promise<string[]>} the names of the hooks run, in order
 * @throws {HookError}
 */
function runAfterRestore() {
  return inPhase(AFTER, async () => {
    const ran = [];
    for (const entry of afterOrder()) {
      if (!entry.after) continue;
      await runOne(AFTER, entry, entry.after);
      ran.push(entry.name);
    }
    return ran;
  });
}

/** The phase running now (`"beforeCheckpoint"`, `"afterRestore"`) or null. */
function running() {
  return state().running;
}

module.exports = {
  beforeCheckpoint,
  afterRestore,
  register,
  runBeforeCheckpoint,
  runAfterRestore,
  registrations,
  running,
  installBuiltins: (opts) => installBuiltins(register, opts),
  trackAgent,
  trackClient,
  HookError,
  DEFAULT_TIMEOUT_MS,
  BUILTIN_PRIORITY,
};
