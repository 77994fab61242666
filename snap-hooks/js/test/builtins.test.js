"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const { fresh } = require("../testing/helpers");
const { seededRandom, BUILTIN_NAMES } = require("../lib/builtins");

const NO_ENGINE = ["snap.openssl-rand"]; // loaded once per process: see openssl-engine.test.js

test("installBuiltins registers the named built-ins once, first after restore", () => {
  const hooks = fresh();
  hooks.afterRestore("user", () => {}, { priority: 100 });
  const names = hooks.installBuiltins({ env: {} });
  assert.deepEqual(names, BUILTIN_NAMES);
  assert.deepEqual(hooks.installBuiltins({ env: {} }), names, "idempotent");
  assert.deepEqual(
    hooks.registrations().map((r) => r.name),
    [...BUILTIN_NAMES, "user"],
  );
});

test("SNAP_HOOKS_BUILTINS=0 installs none; exclusions by env or option; unknown names are refused", () => {
  assert.deepEqual(fresh().installBuiltins({ env: { SNAP_HOOKS_BUILTINS: "0" } }), []);
  assert.deepEqual(
    fresh().installBuiltins({
      env: { SNAP_HOOKS_BUILTINS_EXCLUDE: "snap.math-random, snap.crypto-caches" },
      exclude: ["snap.keep-alive-sockets"],
    }),
    ["snap.openssl-rand"],
  );
  assert.throws(() => fresh().installBuiltins({ env: {}, exclude: ["snap.nope"] }), /unknown built-in hook "snap.nope"/);
});

test("Math.random is replaced after restore by a generator seeded in this process", async () => {
  const hooks = fresh();
  const original = Math.random;
  try {
    hooks.installBuiltins({ env: {}, exclude: NO_ENGINE });
    await hooks.runAfterRestore();
    assert.notEqual(Math.random, original);
    const values = Array.from({ length: 10_000 }, () => Math.random());
    assert.ok(values.every((v) => v >= 0 && v < 1 && Number.isFinite(v)));
    assert.equal(new Set(values).size, values.length);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    // Two restores of the same snapshot read different seeds.
    const first = Math.random;
    await hooks.runAfterRestore();
    assert.notEqual(Math.random(), first());
  } finally {
    Math.random = original;
  }
  // Same seed, same sequence: the generator has no hidden input.
  const seed = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
  const a = seededRandom(seed);
  const b = seededRandom(seed);
  assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
});

/** A keep-alive HTTP server that counts the connections it accepted. */
async function countingServer(t) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  let connections = 0;
  server.on("connection", () => (connections += 1));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${server.address().port}/`, connections: () => connections };
}

function get(url, agent) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      })
      .on("error", reject);
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("before checkpoint, idle keep-alive sockets of the global agent and tracked agents are closed", async (t) => {
  const server = await countingServer(t);
  const hooks = fresh();
  hooks.installBuiltins({ env: {}, exclude: NO_ENGINE });
  const mine = hooks.trackAgent(new http.Agent({ keepAlive: true }));
  for (const agent of [undefined, mine]) {
    const before = server.connections();
    await get(server.url, agent);
    await tick();
    await get(server.url, agent);
    assert.equal(server.connections(), before + 1, "the second request reused the keep-alive socket");
    await hooks.runBeforeCheckpoint();
    await get(server.url, agent);
    assert.equal(server.connections(), before + 2, "after the hooks, a new connection");
  }
  mine.destroy();
});

test("before checkpoint, tracked clients are destroyed and fetch gets a fresh dispatcher", async (t) => {
  const server = await countingServer(t);
  const hooks = fresh();
  hooks.installBuiltins({ env: {}, exclude: NO_ENGINE });
  let destroyed = 0;
  hooks.trackClient({ destroy: () => (destroyed += 1) });
  assert.throws(() => hooks.trackClient({}), TypeError);
  assert.throws(() => hooks.trackAgent({}), TypeError);

  await (await fetch(server.url)).text();
  await tick();
  await (await fetch(server.url)).text();
  assert.equal(server.connections(), 1, "fetch keeps its connection alive");
  await hooks.runBeforeCheckpoint();
  assert.equal(destroyed, 1);
  await (await fetch(server.url)).text();
  assert.equal(server.connections(), 2, "fetch after the hooks opens a new connection");
});
