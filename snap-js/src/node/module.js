// node:module: the CommonJS loader's own `Module` (modules/cjs.js), with
// createRequire, builtinModules and isBuiltin.
const { Module } = globalThis.__snapjs_cjs;
export default Module;
export const { builtinModules, createRequire, isBuiltin, syncBuiltinESMExports, wrap } = Module;
export { Module };
