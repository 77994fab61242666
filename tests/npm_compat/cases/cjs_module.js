// Node's CommonJS module system: cycles, __filename/__dirname,
// require.resolve/cache, createRequire, JSON, directory indexes, one
// instance per real path, sloppy mode, deep package paths, exports
// subpaths, and a missing module caught by the caller.
const path = require("node:path");
const { createRequire } = require("node:module");

const root = path.join(__dirname, "..");
const rel = (p) => path.relative(root, p);

exports.handler = async () => {
  const a = require("../lib/cycle_a");
  const counter1 = require("../lib/counter.js");
  const counter2 = require("../lib/dir/../counter");
  const resolved = require.resolve("../lib/dir");
  let missing;
  try {
    require("../lib/does-not-exist");
  } catch (err) {
    missing = err.code;
  }
  let missingDeep;
  try {
    require("some-package-that-is-not-installed");
  } catch (err) {
    missingDeep = err.code;
  }
  const requireFromLib = createRequire(path.join(root, "lib", "x.js"));
  return {
    cycle: { fromB: a.fromB, bLater: a.bLater(), late: a.late },
    filename: rel(__filename),
    dirname: rel(__dirname),
    resolved: rel(resolved),
    cached: Object.keys(require.cache).some((k) => k === path.join(root, "lib", "counter.js")),
    createRequire: typeof createRequire,
    viaCreateRequire: requireFromLib("./data.json").name,
    json: require("../lib/data.json").list,
    dirIndex: require("../lib/dir").indexOf,
    sameInstance: counter1 === counter2,
    loads: counter1.loads(),
    topThis: counter1.topThis,
    sloppyThis: (function () { return this === globalThis; })(),
    deepPath: typeof require("ajv/dist/compile/codegen").operators,
    packageJson: require("semver/package.json").name,
    exportsSubpath: typeof require("csv-parse/sync").parse,
    mainNotBrowser: typeof require("debug").inspectOpts,
    missing,
    missingDeep,
  };
};
