// node:console: the global console, with a Console class that writes to
// the streams it is given (LLRT's Console ignores them), as loggers such as
// `new console.Console({ stdout: process.stdout })` expect.
import { formatWithOptions, inspect } from "util";

const kWrite = Symbol("write");
const kGroup = Symbol("group");

export class Console {
  constructor(options, stderr, ignoreErrors) {
    if (!new.target) return new Console(options, stderr, ignoreErrors);
    if (!options || typeof options.write === "function") options = { stdout: options, stderr, ignoreErrors };
    const { stdout, stderr: err = options.stdout, inspectOptions = {} } = options;
    if (!stdout || typeof stdout.write !== "function") {
      const e = new TypeError('The "stdout" argument must be an instance of Writable.');
      e.code = "ERR_CONSOLE_WRITABLE_STREAM";
      throw e;
    }
    this[kGroup] = "";
    const counts = new Map();
    const timers = new Map();
    const write = (stream, args) => {
      let text = formatWithOptions(inspectOptions, ...args);
      if (this[kGroup]) text = this[kGroup] + text.replaceAll("\n", `\n${this[kGroup]}`);
      stream.write(`${text}\n`);
    };
    this[kWrite] = write;
    const methods = {
      log: (...a) => write(stdout, a),
      info: (...a) => write(stdout, a),
      debug: (...a) => write(stdout, a),
      dirxml: (...a) => write(stdout, a),
      warn: (...a) => write(err, a),
      error: (...a) => write(err, a),
      trace: (...a) => {
        const e = new Error(formatWithOptions(inspectOptions, ...a));
        e.name = "Trace";
        write(err, [e.stack ? `Trace: ${e.message}\n${e.stack}` : `Trace: ${e.message}`]);
      },
      dir: (obj, opts) => write(stdout, [inspect(obj, { ...inspectOptions, ...opts })]),
      assert: (cond, ...a) => {
        if (!cond) {
          if (typeof a[0] === "string") a[0] = `Assertion failed: ${a[0]}`;
          else a.unshift("Assertion failed");
          write(err, a);
        }
      },
      count: (label = "default") => {
        const n = (counts.get(String(label)) || 0) + 1;
        counts.set(String(label), n);
        write(stdout, [`${label}: ${n}`]);
      },
      countReset: (label = "default") => counts.delete(String(label)),
      time: (label = "default") => timers.set(String(label), performance.now()),
      timeLog: (label = "default", ...a) => {
        const start = timers.get(String(label));
        if (start !== undefined) write(stdout, [`${label}: ${(performance.now() - start).toFixed(3)}ms`, ...a]);
      },
      timeEnd: (label = "default") => {
        const start = timers.get(String(label));
        if (start !== undefined) {
          timers.delete(String(label));
          write(stdout, [`${label}: ${(performance.now() - start).toFixed(3)}ms`]);
        }
      },
      group: (...a) => {
        if (a.length > 0) write(stdout, a);
        this[kGroup] += "  ";
      },
      groupCollapsed: (...a) => methods.group(...a),
      groupEnd: () => {
        this[kGroup] = this[kGroup].slice(0, -2);
      },
      table: (data) => write(stdout, [data]),
    };
    Object.assign(this, methods);
  }
}

const console = globalThis.console;
try {
  Object.defineProperty(console, "Console", { value: Console, writable: true, configurable: true, enumerable: false });
} catch {}
export default console;
