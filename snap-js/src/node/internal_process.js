// process as an event emitter (on, once, emit, ...), emitWarning, uptime
// and memoryUsage: installed on the first use of one of them
// (patches/globals.js).
const g = globalThis;
const proc = g.process;
const define = (target, name, value) => Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
export default function install() {
  let emitter;
  const events = () => emitter || (emitter = new (g.__snapjs_cjs.builtin("events"))());
  for (const name of ["on", "once", "off", "addListener", "removeListener", "removeAllListeners", "prependListener", "prependOnceListener", "emit", "listeners", "rawListeners", "listenerCount", "eventNames", "setMaxListeners", "getMaxListeners"]) {
    define(proc, name, function (...args) {
      const e = events();
      const result = e[name](...args);
      return result === e ? proc : result;
    });
  }
  define(proc, "emitWarning", function emitWarning(warning, type, code) {
    if (type !== null && typeof type === "object") ({ type, code } = type);
    const w = typeof warning === "string" ? Object.assign(new Error(warning), { name: type || "Warning" }) : warning;
    if (code !== undefined) w.code = code;
    if (w.name === "DeprecationWarning" && proc.noDeprecation) return;
    queueMicrotask(() => {
      events().emit("warning", w);
      g.console.error(`(node:${proc.pid}) ${w.code ? `[${w.code}] ` : ""}${w.name}: ${w.message}`);
    });
  });
  const started = typeof performance === "object" ? performance.now() : 0;
  define(proc, "uptime", () => (performance.now() - started) / 1000);
  define(proc, "memoryUsage", function memoryUsage() {
    let rss = 0;
    try {
      const status = g.__snapjs_cjs.builtin("fs").readFileSync("/proc/self/status", "utf8");
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) rss = Number(m[1]) * 1024;
    } catch {}
    return { rss, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  });
  define(proc.memoryUsage, "rss", () => proc.memoryUsage().rss);

}
