// Node's CommonJS module system (`Module`), evaluated once as a script at
// engine start, over natives from `modules/mod.rs` (resolution, compiling a
// file in Node's wrapper, reading a file, loading a built-in or an ES module
// synchronously).
//
// As in Node: a module is cached by its resolved real path before it runs
// (so a cycle gets the partial `module.exports`) and dropped from the cache
// when it throws; `require`, `require.resolve` (with `paths`),
// `require.cache`, `module.{id,filename,loaded,parent,children,paths}`,
// `__filename`, `__dirname`; `require` of an ES module gives its namespace
// (Node 20.19+), refused when it awaits at top level. ES modules that import
// a CommonJS file reach it through `importCommonJs`, so both share one cache.
(() => {
  "use strict";
  const g = globalThis;
  const native = g.__snapjs_modules_native;
  delete g.__snapjs_modules_native;
  // LLRT's global require/module/exports: Node has none in ES module scope.
  for (const name of ["require", "exports", "module"]) {
    try {
      delete g[name];
    } catch {
      // a non-configurable global stays
    }
  }

  const dirname = (p) => {
    const i = p.lastIndexOf("/");
    return i > 0 ? p.slice(0, i) : "/";
  };
  const isAbsolute = (p) => typeof p === "string" && p.startsWith("/");
  const coded = (message, code, Kind = Error) => {
    const err = new Kind(message);
    err.code = code;
    return err;
  };
  const validateString = (value, name) => {
    if (typeof value !== "string") {
      throw coded(`The "${name}" argument must be of type string. Received ${value === null ? "null" : typeof value}`, "ERR_INVALID_ARG_TYPE", TypeError);
    }
  };

  const builtinModules = native.builtinNames.filter((n) => !n.includes(":")).sort();
  const isBuiltin = (name) => typeof name === "string" && (name.startsWith("node:") ? builtinModules.includes(name.slice(5)) : builtinModules.includes(name));

  // Node's Module._nodeModulePaths: node_modules in the directory and each one above.
  function nodeModulePaths(from) {
    const parts = from.split("/");
    const out = [];
    for (let i = parts.length; i > 0; i--) {
      if (parts[i - 1] === "node_modules") continue;
      out.push(`${parts.slice(0, i).join("/")}/node_modules`);
    }
    return out;
  }

  // The format of each resolved file ("commonjs", "module", "json", "addon").
  const formats = new Map();
  const parents = new WeakMap();

  function updateChildren(parent, child, scan) {
    const children = parent && parent.children;
    if (children && !(scan && children.includes(child))) children.push(child);
  }

  class Module {
    constructor(id = "", parent) {
      this.id = id;
      this.path = dirname(id);
      this.exports = {};
      parents.set(this, parent);
      updateChildren(parent, this, false);
      this.filename = null;
      this.loaded = false;
      this.children = [];
      this.paths = [];
    }

    get parent() {
      return parents.get(this);
    }

    set parent(value) {
      parents.set(this, value);
    }

    require(id) {
      validateString(id, "id");
      if (id === "") throw coded("The argument 'id' must be a non-empty string. Received ''", "ERR_INVALID_ARG_VALUE", TypeError);
      return Module._load(id, this, false);
    }

    load(filename) {
      this.filename = filename;
      this.paths = nodeModulePaths(dirname(filename));
      const base = filename.slice(filename.lastIndexOf("/") + 1);
      const dot = base.lastIndexOf(".");
      const ext = dot > 0 ? base.slice(dot) : "";
      (Module._extensions[ext] || Module._extensions[".js"])(this, filename);
      this.loaded = true;
    }

    _compile(content, filename) {
      const wrapper = native.compile(filename, content);
      const require = makeRequire(this);
      return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
    }
  }

  Module.Module = Module;
  Module._cache = Object.create(null);
  Module.builtinModules = builtinModules;
  Module.isBuiltin = isBuiltin;
  Module._nodeModulePaths = nodeModulePaths;
  Module.wrapper = ["(function (exports, require, module, __filename, __dirname) { ", "\n});"];
  Module.wrap = (script) => Module.wrapper[0] + script + Module.wrapper[1];
  Module.syncBuiltinESMExports = () => {};

  function formatOf(filename) {
    const known = formats.get(filename);
    if (known) return known;
    const found = native.resolve(filename, null, "require");
    return found[0] === null ? "commonjs" : found[1];
  }

  function notFound(request, parent) {
    const stack = [];
    for (let cursor = parent; cursor; cursor = parents.get(cursor)) stack.push(cursor.filename || cursor.id);
    let message = `Cannot find module '${request}'`;
    if (stack.length > 0) message += `\nRequire stack:\n- ${stack.join("\n- ")}`;
    const err = coded(message, "MODULE_NOT_FOUND");
    err.requireStack = stack;
    return err;
  }

  Module._resolveFilename = function (request, parent, isMain, options) {
    if (isBuiltin(request) || native.isBuiltin(request)) return request;
    let from = [parent && parent.filename ? parent.filename : null];
    if (options && Array.isArray(options.paths)) {
      const base = parent && parent.filename ? dirname(parent.filename) : process.cwd();
      from = options.paths.map((p) => `${isAbsolute(p) ? p : `${base}/${p}`}/[paths]`);
    }
    let failure = null;
    for (const file of from) {
      const found = native.resolve(request, file, "require");
      if (found[0] !== null) {
        formats.set(found[0], found[1]);
        return found[0];
      }
      if (found[1] !== "MODULE_NOT_FOUND") {
        failure = found;
        break;
      }
    }
    if (failure) throw coded(failure[2], failure[1]);
    throw notFound(request, parent);
  };

  Module._load = function (request, parent, isMain) {
    if (request.startsWith("node:")) {
      const name = request.slice(5);
      if (!native.isBuiltin(name)) throw coded(`No such built-in module: ${request}`, "ERR_UNKNOWN_BUILTIN_MODULE");
      return native.builtin(name);
    }
    if (native.isBuiltin(request)) return native.builtin(request);
    const filename = Module._resolveFilename(request, parent, isMain);
    const cached = Module._cache[filename];
    if (cached !== undefined) {
      updateChildren(parent, cached, true);
      return cached.exports;
    }
    const module = new Module(filename, parent);
    if (isMain) module.id = ".";
    Module._cache[filename] = module;
    let threw = true;
    try {
      module.load(filename);
      threw = false;
    } finally {
      if (threw) {
        delete Module._cache[filename];
        const siblings = parent && parent.children;
        const at = siblings ? siblings.indexOf(module) : -1;
        if (at !== -1) siblings.splice(at, 1);
      }
    }
    return module.exports;
  };

  // `require` of an ES module (Node 20.19+): its namespace, with
  // `__esModule: true` when it has a default export.
  function loadEsm(module, filename) {
    const namespace = native.importSync(filename);
    if ("module.exports" in namespace) {
      module.exports = namespace["module.exports"];
      return;
    }
    const keys = Object.keys(namespace);
    if (!("default" in namespace) || keys.includes("__esModule")) {
      module.exports = namespace;
      return;
    }
    const out = Object.create(null);
    for (const key of ["__esModule", ...keys].sort()) {
      Object.defineProperty(out, key, {
        enumerable: true,
        get: key === "__esModule" ? () => true : () => namespace[key],
      });
    }
    module.exports = out;
  }

  Module._extensions = Object.create(null);
  Module._extensions[".js"] = function (module, filename) {
    if (formatOf(filename) === "module") {
      loadEsm(module, filename);
      return;
    }
    module._compile(native.readFile(filename), filename);
  };
  Module._extensions[".json"] = function (module, filename) {
    const content = native.readFile(filename);
    try {
      module.exports = JSON.parse(content.charCodeAt(0) === 0xfeff ? content.slice(1) : content);
    } catch (err) {
      err.message = `${filename}: ${err.message}`;
      throw err;
    }
  };
  Module._extensions[".node"] = function (module, filename) {
    throw coded(`Cannot load native addon ${filename}: snapjs runs JavaScript only`, "ERR_DLOPEN_FAILED");
  };

  function makeRequire(module) {
    const require = function require(id) {
      return module.require(id);
    };
    function resolve(request, options) {
      validateString(request, "request");
      return Module._resolveFilename(request, module, false, options);
    }
    resolve.paths = (request) => {
      if (isBuiltin(request)) return null;
      if (request.startsWith("./") || request.startsWith("../") || request === "." || request === "..") return [module.path];
      return module.paths.length > 0 ? module.paths : nodeModulePaths(module.path);
    };
    require.resolve = resolve;
    require.main = undefined;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    return require;
  }

  function pathOf(filename) {
    if (filename instanceof URL) filename = filename.href;
    if (typeof filename === "string" && filename.startsWith("file:")) {
      return decodeURIComponent(new URL(filename).pathname);
    }
    if (isAbsolute(filename)) return filename;
    throw coded(
      `The argument 'filename' must be a file URL object, file URL string, or absolute path string. Received ${JSON.stringify(filename)}`,
      "ERR_INVALID_ARG_VALUE",
      TypeError,
    );
  }

  Module.createRequire = function createRequire(filename) {
    const path = pathOf(filename);
    const proxy = path.endsWith("/") ? `${path}noop.js` : path;
    const module = new Module(proxy);
    module.filename = proxy;
    module.paths = nodeModulePaths(dirname(proxy));
    return makeRequire(module);
  };

  Object.defineProperty(g, "__snapjs_cjs", {
    value: Object.freeze({
      Module,
      // An ES module's import of a CommonJS file: its module.exports.
      importCommonJs: (filename) => Module._load(filename, undefined, false),
      // A built-in as `require` returns it, for snapjs's own JS built-ins
      // and start-up patches (there is no global `require`).
      builtin: (name) => native.builtin(name),
      // The handler, when it is CommonJS.
      loadHandler: (filename) => Module._load(filename, undefined, false),
      // import.meta.resolve for the module at `filename`.
      metaResolve: (filename) =>
        function resolve(specifier) {
          validateString(specifier, "specifier");
          if (specifier.startsWith("node:")) return specifier;
          if (isBuiltin(specifier)) return `node:${specifier}`;
          const found = native.resolve(specifier, filename, "import");
          if (found[0] === null) throw coded(found[2], found[1]);
          return native.fileUrl(found[0]);
        },
    }),
    enumerable: false,
  });
})();
