"use strict";
/**
 * The reseeding preload: snaprun loads it into every Node process of a
 * function it snapshots with CRIU (`NODE_OPTIONS=--require <this file>`), so
 * that restored instances of a runtime that knows nothing of snapshots
 * (AWS's aws-lambda-ric included) never share a random value.
 *
 * At load, before any of the function's code:
 * - the built-in hooks are registered (lib/builtins.js; `SNAP_HOOKS_BUILTINS`
 *   and `SNAP_HOOKS_BUILTINS_EXCLUDE` apply);
 * - OpenSSL's randomness is routed through the stateless getrandom engine
 *   (`SNAP_HOOKS_RAND_ENGINE`, which snaprun sets), unless that built-in is
 *   left out: there is then no DRBG state for the snapshot to copy;
 * - this file is held open, which is how snaprun finds this process in a
 *   restored tree;
 * - a handler for the restore signal (SIGURG) is installed.
 *
 * After each restore snaprun sends the signal and holds the function's first
 * event back. The handler runs on the event loop, runs the after-restore
 * hooks (the built-ins reseed Math.random and use up Node's random caches)
 * and tells snaprun with `POST {RESTORED_PATH}`; only then is the event
 * delivered. A runtime that drives the hooks itself (it ran the
 * before-checkpoint phase, as one using @snap/hooks with `restore/next`
 * does) is not reseeded twice: the handler only reports.
 *
 * SIGURG is ignored by default, so a process that is sent it by mistake
 * does nothing; Node uses it for nothing else.
 */

const fs = require("node:fs");
const net = require("node:net");

const hooks = require("./index.js");
const { loadRandEngine, OPENSSL_RAND } = require("./lib/builtins");
const { state } = require("./lib/state");

/** The Runtime API path this preload reports a restore's outcome to. */
const RESTORED_PATH = "/2018-06-01/runtime/snap/restored";
/** The signal snaprun sends each restored process that holds this file. */
const RESTORE_SIGNAL = "SIGURG";

const builtins = hooks.installBuiltins();
if (builtins.includes(OPENSSL_RAND)) loadRandEngine(process.env);
// Never closed: the descriptor marks this process for snaprun.
fs.openSync(__filename, "r");

/**
 * Posts the outcome; snaprun delivers the first event once it has it. One
 * request written by hand on a plain socket: Node's HTTP client is not
 * loaded in a runtime that never used it, and loading it first in a
 * restored process is what would cost the restore most.
 */
function report(outcome) {
  const api = process.env.AWS_LAMBDA_RUNTIME_API;
  if (!api) return;
  const body = JSON.stringify({ pid: process.pid, ...outcome });
  const colon = api.lastIndexOf(":");
  const socket = net.connect(Number(api.slice(colon + 1)), api.slice(0, colon));
  socket.on("error", () => {}); // snaprun times the restore out if the report never arrives
  // Closed once answered: a half-close before the answer would end the
  // request on its way through the relay of a CRIU tree.
  socket.on("data", () => socket.destroy());
  socket.write(
    `POST ${RESTORED_PATH} HTTP/1.1\r\nHost: ${api}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function restored() {
  if (state().beforeRuns > 0) {
    report({ by: "runtime", ran: [] });
    return;
  }
  try {
    report({ by: "preload", ran: await hooks.runAfterRestore() });
  } catch (err) {
    // As a runtime reports it (docs/hooks.md): a hook over its own timeout
    // like an overrun of the restore limit, any other failure as such.
    const errorType = err && err.timedOut ? "Runtime.RestoreHookUserTimeout" : "Runtime.AfterRestoreError";
    report({ by: "preload", error: { errorType, errorMessage: err.message } });
  }
}

process.on(RESTORE_SIGNAL, () => {
  restored();
});
