"use strict";
// Test helpers: a fresh registry per test (the registry is process-wide).

function fresh() {
  delete globalThis[Symbol.for("snap.hooks.state.v1")];
  return require("..");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { fresh, sleep };
