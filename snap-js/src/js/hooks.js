// The `snap:hooks` module: @snap/hooks's own registry, ordering, failure and
// timeout rules (snap-hooks/js/index.js and lib/state.js, evaluated as
// CommonJS below), without its Node built-ins: snapjs reseeds its random
// sources natively after every restore.
const load = (body, require) => {
  const module = { exports: {} };
  body(module.exports, require, module);
  return module.exports;
};
const state = load(function (exports, require, module) {
/* @snap/hooks lib/state.js */
});
const builtins = {
  BUILTIN_PRIORITY: 1_000_000,
  installBuiltins() {},
  trackAgent() {},
  trackClient() {},
};
const hooks = load(function (exports, require, module) {
/* @snap/hooks index.js */
}, (name) => {
  if (name === "./lib/state") return state;
  if (name === "./lib/builtins") return builtins;
  throw new Error(`snap:hooks: unexpected require(${name})`);
});
Object.defineProperty(globalThis, Symbol.for("snapjs.hooks"), { value: hooks, enumerable: false });
export const { beforeCheckpoint, afterRestore, register, registrations, running, HookError, DEFAULT_TIMEOUT_MS } = hooks;
export default hooks;
