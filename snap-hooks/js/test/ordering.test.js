"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { fresh, sleep } = require("../testing/helpers");

test("after-restore: priority descending, then registration order; before-checkpoint: the exact reverse", async () => {
  const hooks = fresh();
  const seen = [];
  const both = (name) => ({
    beforeCheckpoint: () => seen.push(`before:${name}`),
    afterRestore: async () => {
      await sleep(1);
      seen.push(`after:${name}`);
    },
  });
  hooks.register("a", both("a"));
  hooks.register("b", both("b"), { priority: 10 });
  hooks.register("c", both("c"));
  hooks.register("d", both("d"), { priority: -5 });
  hooks.register("e", both("e"), { priority: 10 });
  hooks.register("f", both("f"));

  const before = await hooks.runBeforeCheckpoint();
  assert.deepEqual(before, ["d", "f", "c", "a", "e", "b"]);
  const after = await hooks.runAfterRestore();
  assert.deepEqual(after, ["b", "e", "a", "c", "f", "d"]);
  assert.deepEqual(seen, [...before.map((n) => `before:${n}`), ...after.map((n) => `after:${n}`)]);
  assert.deepEqual(
    hooks.registrations().map((r) => r.name),
    ["b", "e", "a", "c", "f", "d"],
  );
});

test("one-sided hooks keep their place; async hooks run one at a time", async () => {
  const hooks = fresh();
  const seen = [];
  let inFlight = 0;
  const slow = (label) => async () => {
    inFlight += 1;
    assert.equal(inFlight, 1, "hooks never overlap");
    await sleep(5);
    seen.push(label);
    inFlight -= 1;
  };
  hooks.beforeCheckpoint("x", slow("before:x"));
  hooks.afterRestore("y", slow("after:y"));
  hooks.beforeCheckpoint("z", slow("before:z"), { priority: 1 });
  hooks.afterRestore("w", slow("after:w"), { priority: 1 });
  assert.deepEqual(await hooks.runBeforeCheckpoint(), ["x", "z"]);
  assert.deepEqual(await hooks.runAfterRestore(), ["w", "y"]);
  assert.deepEqual(seen, ["before:x", "before:z", "after:w", "after:y"]);
});

test("bad registrations are refused", () => {
  const hooks = fresh();
  assert.throws(() => hooks.beforeCheckpoint("", () => {}), TypeError);
  assert.throws(() => hooks.afterRestore("x", "not a function"), TypeError);
  assert.throws(() => hooks.register("x", {}), TypeError);
  assert.throws(() => hooks.register("x", { afterRestore: () => {} }, { priority: NaN }), TypeError);
  assert.throws(() => hooks.register("x", { afterRestore: () => {} }, { timeoutMs: 0 }), TypeError);
  assert.deepEqual(hooks.registrations(), []);
});

test("copies of the package in different node_modules share one registry", async () => {
  const hooks = fresh();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "snap-hooks-copy-"));
  try {
    const copy = path.join(dir, "node_modules", "@snap", "hooks");
    fs.cpSync(path.join(__dirname, ".."), copy, {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}test`) && !src.includes(`${path.sep}native`),
    });
    const other = require(copy);
    assert.notEqual(other, hooks, "really a second copy");
    const seen = [];
    hooks.afterRestore("from-first", () => seen.push("first"));
    other.afterRestore("from-copy", () => seen.push("copy"));
    assert.deepEqual(await other.runAfterRestore(), ["from-first", "from-copy"]);
    assert.deepEqual(seen, ["first", "copy"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
