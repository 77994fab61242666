// Node's ES module loader: import.meta, createRequire, CommonJS interop
// (default and named), ESM-only packages whose exports lack "import", and
// dynamic import of a relative file.
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import counter from "../lib/counter.js";
import { named } from "../lib/named.cjs";
import Queue from "yocto-queue";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");

export const handler = async () => {
  const require = createRequire(import.meta.url);
  const queue = new Queue();
  queue.enqueue(1);
  queue.enqueue(2);
  const dynamic = await import("../lib/dir/index.js");
  return {
    url: import.meta.url.startsWith("file:///") && import.meta.url.endsWith("/cases/esm_module.mjs"),
    dirname: path.relative(root, import.meta.dirname),
    filename: path.relative(root, import.meta.filename),
    json: require("../lib/data.json").name,
    cjsDefault: typeof counter.loads,
    named,
    queue: [...queue],
    dynamicDefault: dynamic.default.indexOf,
  };
};
