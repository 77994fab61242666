"use strict";
// The getrandom RAND engine (native/build.sh builds it; scripts/test.sh runs
// that first). Loading it is irreversible, so this file has its own process.
const test = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { fresh } = require("../testing/helpers");

const LIB = path.join(__dirname, "..", "native", "build", "snap_getrandom_engine.so");

test("a missing engine fails the checkpoint instead of snapshotting OpenSSL's state", async () => {
  const hooks = fresh();
  hooks.installBuiltins({ env: { SNAP_HOOKS_RAND_ENGINE: "/nonexistent/engine.so" } });
  const err = await hooks.runBeforeCheckpoint().catch((e) => e);
  assert.equal(err.hook, "snap.openssl-rand");
  assert.match(err.message, /is not built \(run snap-hooks\/js\/native\/build.sh\)/);
});

// That the bytes then come from getrandom(2) is the strace test's to prove:
// distinct values alone would pass without the engine too.
test("the engine loads once, and OpenSSL still gives distinct random values through it", async () => {
  assert.ok(fs.existsSync(LIB), `${LIB} is not built: run snap-hooks/js/native/build.sh`);
  const hooks = fresh();
  hooks.installBuiltins({ env: {}, exclude: ["snap.keep-alive-sockets"] });
  await hooks.runBeforeCheckpoint();
  await hooks.runBeforeCheckpoint(); // a second checkpoint does not load it twice
  await hooks.runAfterRestore();
  const values = new Set(Array.from({ length: 1000 }, () => crypto.randomBytes(16).toString("hex")));
  assert.equal(values.size, 1000);
  crypto.randomFillSync(Buffer.alloc(1 << 20));
  assert.equal(new Set(Array.from({ length: 300 }, () => crypto.randomUUID())).size, 300);

});

test("each randomBytes(N) after loading is one getrandom(N) syscall (strace)", (t) => {
  const probe = spawnSync("strace", ["-V"]);
  if (probe.error) {
    // scripts/test.sh installs strace and sets SNAP_REQUIRE_CRIU=1: there a
    // missing strace is a failure, never a skip.
    assert.notEqual(process.env.SNAP_REQUIRE_CRIU, "1", `strace is required: ${probe.error.message}`);
    t.skip("strace is not installed");
    return;
  }
  const script =
    `const c = require("node:crypto"); c.randomBytes(8);` +
    `c.setEngine(${JSON.stringify(LIB)}, c.constants.ENGINE_METHOD_RAND); c.randomBytes(4243);`;
  const run = spawnSync("strace", ["-f", "-e", "trace=getrandom", process.execPath, "-e", script], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /getrandom\(.*, 4243, 0\) = 4243/);
});
