// Bundles index.js for snapjs: dist/index.mjs, one ES module (browser
// platform: neither library needs a Node API).
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));

await esbuild.build({
  stdin: {
    contents: 'import mod from "./index.js";\nexport const handler = mod.handler;\n',
    resolveDir: here,
    sourcefile: "snapjs-entry.mjs",
  },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2023",
  outfile: path.join(here, "dist", "index.mjs"),
  logLevel: "warning",
});
