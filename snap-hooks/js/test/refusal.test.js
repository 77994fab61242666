"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fresh } = require("../testing/helpers");

for (const phase of ["beforeCheckpoint", "afterRestore"]) {
  test(`registration while ${phase} hooks run is refused with an error naming the hook`, async () => {
    const hooks = fresh();
    let refusal;
    let seenPhase;
    hooks.register("registers-late", {
      [phase]: () => {
        seenPhase = hooks.running();
        try {
          hooks.afterRestore("late-hook", () => {});
        } catch (err) {
          refusal = err;
        }
      },
    });
    const run = phase === "beforeCheckpoint" ? hooks.runBeforeCheckpoint : hooks.runAfterRestore;
    assert.deepEqual(await run(), ["registers-late"]);
    assert.equal(seenPhase, phase);
    assert.ok(refusal instanceof Error, "refused");
    assert.match(refusal.message, /cannot register hook "late-hook" while .* hooks are running/);
    assert.deepEqual(
      hooks.registrations().map((r) => r.name),
      ["registers-late"],
      "the late hook was not added",
    );
    // Once the phase is over, registration works again.
    assert.equal(hooks.running(), null);
    hooks.afterRestore("later", () => {});
    assert.equal(hooks.registrations().length, 2);
  });
}

test("a phase cannot start while another runs", async () => {
  const hooks = fresh();
  let inner;
  hooks.afterRestore("nested", async () => {
    inner = await hooks.runBeforeCheckpoint().catch((e) => e);
  });
  await hooks.runAfterRestore();
  assert.match(inner.message, /cannot run beforeCheckpoint hooks while afterRestore hooks are running/);
});
