"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fresh } = require("../testing/helpers");

test("the first after-restore failure stops the rest and names the hook", async () => {
  const hooks = fresh();
  const seen = [];
  hooks.afterRestore("one", () => seen.push("one"));
  hooks.afterRestore("two", async () => {
    throw new Error("boom");
  });
  hooks.afterRestore("three", () => seen.push("three"));
  const err = await hooks.runAfterRestore().then(
    () => assert.fail("should reject"),
    (e) => e,
  );
  assert.ok(err instanceof hooks.HookError);
  assert.equal(err.name, "HookError");
  assert.equal(err.phase, "afterRestore");
  assert.equal(err.hook, "two");
  assert.equal(err.timedOut, false);
  assert.equal(err.cause.message, "boom");
  assert.match(err.message, /afterRestore hook "two" failed: boom/);
  assert.deepEqual(seen, ["one"]);
  assert.equal(hooks.running(), null, "the phase is over");
});

test("a failing before-checkpoint hook runs the after-hooks of the ones passed, in after order, then rejects", async () => {
  const hooks = fresh();
  const seen = [];
  const both = (name, { failBefore = false, failAfter = false } = {}) => ({
    beforeCheckpoint() {
      seen.push(`before:${name}`);
      if (failBefore) throw new Error(`${name} cannot checkpoint`);
    },
    afterRestore() {
      seen.push(`after:${name}`);
      if (failAfter) throw new Error(`${name} cannot undo`);
    },
  });
  // Before order: e, d, c, b, a (all priority 0, LIFO).
  hooks.register("a", both("a"));
  hooks.register("b", both("b"));
  hooks.register("c", both("c", { failBefore: true }));
  hooks.register("d", both("d", { failAfter: true }));
  hooks.afterRestore("only-after", () => seen.push("after:only-after"));
  hooks.register("e", both("e"));

  const err = await hooks.runBeforeCheckpoint().then(
    () => assert.fail("should reject"),
    (e) => e,
  );
  assert.equal(err.phase, "beforeCheckpoint");
  assert.equal(err.hook, "c");
  assert.equal(err.cause.message, "c cannot checkpoint");
  // e, only-after (nothing to do before) and d passed; their after-hooks run
  // in after order, and a failing one does not stop the others. a and b
  // never ran, c failed: not undone.
  assert.deepEqual(seen, [
    "before:e",
    "before:d",
    "before:c",
    "after:d",
    "after:only-after",
    "after:e",
  ]);
  assert.equal(err.rollbackErrors.length, 1);
  assert.equal(err.rollbackErrors[0].hook, "d");
  assert.equal(err.rollbackErrors[0].phase, "afterRestore");
  assert.equal(hooks.running(), null);
});

test("a synchronous throw and a rejection with a non-Error both count as failures", async () => {
  const hooks = fresh();
  hooks.beforeCheckpoint("sync", () => {
    throw new TypeError("sync boom");
  });
  let err = await hooks.runBeforeCheckpoint().catch((e) => e);
  assert.equal(err.hook, "sync");
  assert.ok(err.cause instanceof TypeError);

  const again = fresh();
  again.afterRestore("reject-string", () => Promise.reject("just a string"));
  err = await again.runAfterRestore().catch((e) => e);
  assert.equal(err.hook, "reject-string");
  assert.match(err.message, /just a string/);
});
