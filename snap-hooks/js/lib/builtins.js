"use strict";
// The built-in hooks: after a restore nothing random is shared between
// instances, and no connection opened before the snapshot is reused.

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const path = require("node:path");

const { state } = require("./state");

/** Built-ins run first after restore and last before checkpoint. */
const BUILTIN_PRIORITY = 1_000_000;

const OPENSSL_RAND = "snap.openssl-rand";
const CRYPTO_CACHES = "snap.crypto-caches";
const MATH_RANDOM = "snap.math-random";
const KEEP_ALIVE = "snap.keep-alive-sockets";
const NAMES = [OPENSSL_RAND, CRYPTO_CACHES, MATH_RANDOM, KEEP_ALIVE];

const UNDICI_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

/** The engine library that scripts/test.sh (or native/build.sh) builds. */
function randEnginePath(env) {
  return (
    env.SNAP_HOOKS_RAND_ENGINE ||
    path.join(__dirname, "..", "native", "build", "snap_getrandom_engine.so")
  );
}

/**
 * Routes all of OpenSSL's randomness (crypto.randomBytes, randomFill,
 * getRandomValues, randomUUID's refills, TLS, key generation) through the
 * stateless getrandom(2) RAND engine, once per process. Throws, naming what
 * is missing, if it cannot.
 */
function loadRandEngine(env) {
  const s = state();
  if (s.randEngine) return;
  const lib = randEnginePath(env);
  if (!fs.existsSync(lib)) {
    throw new Error(
      `the getrandom RAND engine ${lib} is not built (run snap-hooks/js/native/build.sh); ` +
        "without it every restored copy would produce the same crypto.randomBytes, UUIDs and TLS randoms",
    );
  }
  if (typeof crypto.setEngine !== "function") {
    throw new Error("this Node has no crypto.setEngine, so OpenSSL's random state cannot be made per-instance");
  }
  try {
    crypto.setEngine(lib, crypto.constants.ENGINE_METHOD_RAND);
  } catch (err) {
    throw new Error(`cannot load the getrandom RAND engine ${lib}: ${err.message}`, { cause: err });
  }
  s.randEngine = lib;
}

/**
 * OpenSSL's DRBGs are process memory; OpenSSL reseeds them when getpid()
 * changes, and CRIU restores the same pid. Before the checkpoint, the
 * getrandom engine takes over ({@link loadRandEngine}), so there is no state
 * left to duplicate.
 */
function opensslRand(env) {
  return {
    beforeCheckpoint() {
      loadRandEngine(env);
    },
    afterRestore() {
      if (!state().randEngine) {
        throw new Error("the getrandom RAND engine was not loaded before the snapshot");
      }
    },
  };
}

/**
 * Node keeps random bytes in JavaScript memory: 128 UUIDs for randomUUID
 * (node:crypto, webcrypto and globalThis.crypto share them) and 6 KiB for
 * randomInt. Using them up after restore makes the next values come from a
 * refill, which reads OpenSSL (already per-instance). Twice the cache sizes,
 * for margin.
 */
function cryptoCaches() {
  return {
    afterRestore() {
      for (let i = 0; i < 2 * 128; i++) crypto.randomUUID();
      for (let i = 0; i < 2 * 1024; i++) crypto.randomInt(0xffffffffffff);
    },
  };
}

function kernelBytes(n) {
  const buf = Buffer.alloc(n);
  const fd = fs.openSync("/dev/urandom", "r");
  try {
    let done = 0;
    while (done < n) done += fs.readSync(fd, buf, done, n - done, null);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

/**
 * A Math.random replacement: xoshiro128** seeded with 16 bytes of kernel
 * entropy, 53 bits per double. Not cryptographic, like V8's own.
 */
function seededRandom(seed) {
  let s0 = seed.readInt32LE(0);
  let s1 = seed.readInt32LE(4);
  let s2 = seed.readInt32LE(8);
  let s3 = seed.readInt32LE(12);
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  function next() {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  }
  return function random() {
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  };
}

/**
 * V8's Math.random state (and its cache of 64 values) cannot be reseeded
 * from JavaScript; after restore Math.random is replaced by a generator
 * seeded from /dev/urandom, read in this instance.
 */
function mathRandom() {
  return {
    afterRestore() {
      Math.random = seededRandom(kernelBytes(16));
    },
  };
}

function liveRefs(set) {
  const out = [];
  for (const ref of set) {
    const value = ref.deref();
    if (value === undefined) set.delete(ref);
    else out.push(value);
  }
  return out;
}

/** Destroys an http.Agent's idle sockets; returns how many are busy. */
function dropIdle(agent) {
  for (const list of Object.values(agent.freeSockets ?? {})) {
    for (const socket of list.slice()) socket.destroy();
  }
  let busy = 0;
  for (const list of Object.values(agent.sockets ?? {})) busy += list.length;
  return busy;
}

/**
 * Connections opened before the snapshot are dead in every restored copy.
 * Before the checkpoint: idle keep-alive sockets of http.globalAgent,
 * https.globalAgent and tracked agents are destroyed, tracked clients
 * (AWS SDK v3 clients: their request handler's agents) are destroyed, and
 * fetch's global dispatcher is replaced by a fresh one.
 */
function keepAlive() {
  return {
    async beforeCheckpoint() {
      const s = state();
      let busy = 0;
      for (const agent of [http.globalAgent, https.globalAgent, ...liveRefs(s.agents)]) {
        busy += dropIdle(agent);
      }
      for (const client of liveRefs(s.clients)) client.destroy();
      const dispatcher = globalThis[UNDICI_DISPATCHER];
      if (dispatcher && dispatcher.constructor && dispatcher.constructor.name === "Agent") {
        globalThis[UNDICI_DISPATCHER] = new dispatcher.constructor();
        await dispatcher.destroy();
      }
      if (busy > 0) {
        process.emitWarning(
          `${busy} socket(s) still busy at checkpoint time; they will be dead after restore`,
          { code: "SNAP_HOOKS_BUSY_SOCKETS" },
        );
      }
    },
  };
}

const FACTORIES = {
  [OPENSSL_RAND]: opensslRand,
  [CRYPTO_CACHES]: cryptoCaches,
  [MATH_RANDOM]: mathRandom,
  [KEEP_ALIVE]: keepAlive,
};

function splitList(value) {
  return (value ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * Registers the built-in hooks, once per process (later calls return the
 * first call's list). `SNAP_HOOKS_BUILTINS=0` installs none;
 * `SNAP_HOOKS_BUILTINS_EXCLUDE=name,...` and `opts.exclude` leave some out.
 * @param {Function} register the package's register()
 * @param {{exclude?: string[], env?: NodeJS.ProcessEnv}} [opts]
 * @returns {string[]} the names registered
 */
function installBuiltins(register, opts = {}) {
  const s = state();
  if (s.builtins) return s.builtins.slice();
  const env = opts.env ?? process.env;
  const exclude = [...(opts.exclude ?? []), ...splitList(env.SNAP_HOOKS_BUILTINS_EXCLUDE)];
  for (const name of exclude) {
    if (!NAMES.includes(name)) {
      throw new Error(`unknown built-in hook "${name}"; the built-ins are ${NAMES.join(", ")}`);
    }
  }
  const names = env.SNAP_HOOKS_BUILTINS === "0" ? [] : NAMES.filter((n) => !exclude.includes(n));
  for (const name of names) {
    register(name, FACTORIES[name](env), { priority: BUILTIN_PRIORITY });
  }
  s.builtins = names;
  return names.slice();
}

/**
 * Tracks an http.Agent or https.Agent: its idle keep-alive sockets are
 * destroyed before the checkpoint. Held weakly.
 * @template {import("node:http").Agent} T
 * @param {T} agent
 * @returns {T}
 */
function trackAgent(agent) {
  if (!agent || typeof agent !== "object" || typeof agent.freeSockets !== "object") {
    throw new TypeError("trackAgent: expected an http.Agent or https.Agent");
  }
  state().agents.add(new WeakRef(agent));
  return agent;
}

/**
 * Tracks a client with a destroy() method, such as an AWS SDK v3 client:
 * destroy() is called before the checkpoint. For SDK clients that closes the
 * request handler's sockets and the client stays usable; it opens new
 * connections after restore. Held weakly.
 * @template {{destroy(): unknown}} T
 * @param {T} client
 * @returns {T}
 */
function trackClient(client) {
  if (!client || typeof client.destroy !== "function") {
    throw new TypeError("trackClient: expected an object with a destroy() method");
  }
  state().clients.add(new WeakRef(client));
  return client;
}

module.exports = {
  installBuiltins,
  trackAgent,
  trackClient,
  seededRandom,
  loadRandEngine,
  OPENSSL_RAND,
  BUILTIN_PRIORITY,
  BUILTIN_NAMES: NAMES,
};
