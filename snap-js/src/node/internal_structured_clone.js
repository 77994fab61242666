// structuredClone (the HTML structured clone algorithm, no transfer),
// loaded on the first use of the global (patches/globals.js).
const g = globalThis;
const define = (target, name, value) => Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
// --- structuredClone: the HTML structured clone algorithm (no transfer).
const cloneError = (message) => {
  if (typeof DOMException === "function") return new DOMException(message, "DataCloneError");
  const err = new Error(message);
  err.name = "DataCloneError";
  return err;
};
const describe = (v) => {
  if (typeof v === "symbol") return v.toString();
  if (typeof v === "function") return Function.prototype.toString.call(v);
  return Object.prototype.toString.call(v);
};
const TypedArray = Object.getPrototypeOf(Uint8Array);
const errorNames = new Set(["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"]);
function structuredClone(value, options) {
  if (arguments.length === 0) throw new TypeError("The \"value\" argument must be specified");
  if (options && options.transfer && options.transfer.length) {
    throw cloneError("snapjs's structuredClone does not transfer objects");
  }
  const memory = new Map();
  const clone = (v) => {
    if (typeof v === "symbol" || typeof v === "function") throw cloneError(`${describe(v)} could not be cloned.`);
    if (v === null || typeof v !== "object") return v;
    const seen = memory.get(v);
    if (seen !== undefined) return seen;
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    let out;
    if (Array.isArray(v)) {
      out = new Array(v.length);
      memory.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    if (v instanceof Date) out = new Date(v.getTime());
    else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
    else if (tag === "Boolean" || tag === "Number" || tag === "String" || tag === "BigInt") out = Object(v.valueOf());
    else if (v instanceof ArrayBuffer) out = v.slice(0);
    else if (v instanceof TypedArray) {
      const buffer = clone(v.buffer);
      out = new (Object.getPrototypeOf(Object.getPrototypeOf(v)) === TypedArray && Object.getPrototypeOf(v).constructor !== g.Buffer ? Object.getPrototypeOf(v).constructor : Uint8Array)(buffer, v.byteOffset, v.length);
    } else if (v instanceof DataView) out = new DataView(clone(v.buffer), v.byteOffset, v.byteLength);
    else if (v instanceof Map) {
      out = new Map();
      memory.set(v, out);
      for (const [k, x] of v) out.set(clone(k), clone(x));
      return out;
    } else if (v instanceof Set) {
      out = new Set();
      memory.set(v, out);
      for (const x of v) out.add(clone(x));
      return out;
    } else if (v instanceof Error) {
      const name = errorNames.has(v.name) ? v.name : "Error";
      out = new g[name](v.message);
      memory.set(v, out);
      if ("cause" in v) out.cause = clone(v.cause);
      if (typeof v.stack === "string") define(out, "stack", v.stack);
      return out;
    } else if (tag === "Symbol" || v instanceof WeakMap || v instanceof WeakSet || v instanceof Promise || v instanceof WeakRef) {
      throw cloneError(`${describe(v)} could not be cloned.`);
    } else if (typeof Blob === "function" && v instanceof Blob) {
      out = v.slice(0, v.size, v.type);
    } else {
      out = {};
      memory.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    memory.set(v, out);
    return out;
  };
  return clone(value);
}


export default structuredClone;
