"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fresh, sleep } = require("../testing/helpers");

test("a hook that overruns its timeout fails the phase as timed out and is abandoned", async () => {
  const hooks = fresh();
  const seen = [];
  hooks.afterRestore("quick", () => seen.push("quick"));
  hooks.afterRestore(
    "hangs",
    async () => {
      await sleep(2_000);
      seen.push("hangs finished");
    },
    { timeoutMs: 100 },
  );
  hooks.afterRestore("never", () => seen.push("never"));
  const started = performance.now();
  const err = await hooks.runAfterRestore().catch((e) => e);
  const took = performance.now() - started;
  assert.ok(err instanceof hooks.HookError);
  assert.equal(err.hook, "hangs");
  assert.equal(err.timedOut, true);
  assert.match(err.message, /afterRestore hook "hangs" timed out: did not finish within 100 ms/);
  assert.ok(took >= 95 && took < 1_500, `gave up after ${took} ms`);
  assert.deepEqual(seen, ["quick"]);
});

test("a before-checkpoint hook that never settles times out and the completed ones are undone", async () => {
  const hooks = fresh();
  const seen = [];
  // Before order is LIFO: "completed" runs first, then "forever".
  hooks.beforeCheckpoint("forever", () => new Promise(() => {}), { timeoutMs: 50 });
  hooks.register("completed", {
    beforeCheckpoint: () => seen.push("before:completed"),
    afterRestore: () => seen.push("after:completed"),
  });
  const err = await hooks.runBeforeCheckpoint().catch((e) => e);
  assert.equal(err.phase, "beforeCheckpoint");
  assert.equal(err.hook, "forever");
  assert.equal(err.timedOut, true);
  assert.deepEqual(seen, ["before:completed", "after:completed"]);
});

test("hooks that finish in time are not affected by the timeout, and timers do not linger", async () => {
  const hooks = fresh();
  assert.equal(hooks.DEFAULT_TIMEOUT_MS, 10_000);
  // Timers alive now (an earlier test's abandoned hook may still sleep).
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
  const before = timers();
  hooks.afterRestore("fine", () => sleep(10), { timeoutMs: 1_000 });
  hooks.afterRestore("default limit", () => sleep(10));
  assert.deepEqual(await hooks.runAfterRestore(), ["fine", "default limit"]);
  // Neither limit's timer (1 s, and the 10 s default) is left behind, nor
  // the hooks' own sleeps.
  assert.equal(timers(), before);
});
