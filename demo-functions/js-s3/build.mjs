// Bundles index.js for snapjs: dist/index.mjs, one ES module.
//
// - Browser platform: the SDK's fetch-based request handler (snapjs has
//   fetch, not node:http).
// - The one shim: the browser build's default credential provider always
//   rejects ("Credential is missing"); here it is the SDK's own environment
//   provider (@aws-sdk/credential-provider-env), as Lambda's chain starts.
// - @snap/hooks is snapjs's built-in snap:hooks (same API).
// - The entry awaits prime() at top level, so init (and the snapshot) has a
//   warm client, as node-s3's runtime does with an exported prime().
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));

const envCredentials = {
  name: "env-credentials",
  setup(build) {
    build.onLoad({ filter: /client-s3[\\/]dist-es[\\/]runtimeConfig\.browser\.js$/ }, async (args) => {
      const fs = await import("node:fs/promises");
      const source = await fs.readFile(args.path, "utf8");
      const patched = source.replace(
        /credentialDefaultProvider: config\?\.credentialDefaultProvider \?\? [^\n]*\n/,
        "credentialDefaultProvider: config?.credentialDefaultProvider ?? ((init) => fromEnv(init)),\n",
      );
      if (patched === source) throw new Error("runtimeConfig.browser.js changed: the credentials shim no longer applies");
      return { contents: `import { fromEnv } from "@aws-sdk/credential-provider-env";\n${patched}`, loader: "js" };
    });
  },
};

const snapHooks = {
  name: "snap-hooks",
  setup(build) {
    build.onResolve({ filter: /^@snap\/hooks$/ }, () => ({ path: "snap-hooks", namespace: "snapjs" }));
    build.onLoad({ filter: /.*/, namespace: "snapjs" }, () => ({
      contents: 'export { beforeCheckpoint, afterRestore, register } from "snap:hooks";',
      loader: "js",
    }));
  },
};

await esbuild.build({
  stdin: {
    contents: 'import mod from "./index.js";\nawait mod.prime();\nexport const handler = mod.handler;\n',
    resolveDir: here,
    sourcefile: "snapjs-entry.mjs",
  },
  bundle: true,
  format: "esm",
  platform: "browser",
  // ES builds everywhere (the handler's require() calls too): their package.json
  // "browser" maps pick the fetch handler.
  conditions: ["import", "browser"],
  mainFields: ["browser", "module", "main"],
  target: "es2023",
  external: ["snap:hooks"],
  plugins: [envCredentials, snapHooks],
  outfile: path.join(here, "dist", "index.mjs"),
  logLevel: "warning",
});
