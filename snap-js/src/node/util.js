// node:util: LLRT's util (format, inherits, TextEncoder, TextDecoder) with
// what Node has and LLRT lacks: inspect with Node's layout, a complete
// format, promisify, callbackify, deprecate, isDeepStrictEqual, types.
import llrt from "snapjs:llrt/util";
import types from "util/types";

const customInspect = Symbol.for("nodejs.util.inspect.custom");
const customPromisify = Symbol.for("nodejs.util.promisify.custom");

// --- inspect ---------------------------------------------------------------
const defaults = { depth: 2, colors: false, compact: 3, breakLength: 80, showHidden: false, maxArrayLength: 100, maxStringLength: 10000, sorted: false, getters: false, customInspect: true };

const identifier = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
const meta = ["\\x00", "\\x01", "\\x02", "\\x03", "\\x04", "\\x05", "\\x06", "\\x07", "\\b", "\\t", "\\n", "\\x0B", "\\f", "\\r", "\\x0E", "\\x0F", "\\x10", "\\x11", "\\x12", "\\x13", "\\x14", "\\x15", "\\x16", "\\x17", "\\x18", "\\x19", "\\x1A", "\\x1B", "\\x1C", "\\x1D", "\\x1E", "\\x1F"];

function quote(str) {
  let q = "'";
  if (str.includes("'")) {
    if (!str.includes('"')) q = '"';
    else if (!str.includes("`") && !str.includes("${")) q = "`";
  }
  let out = "";
  for (const ch of str) {
    const c = ch.codePointAt(0);
    if (ch === q || ch === "\\") out += "\\" + ch;
    else if (c < 32) out += meta[c];
    else if (c === 0x7f) out += "\\x7F";
    else out += ch;
  }
  return q + out + q;
}

function formatNumber(n) {
  return Object.is(n, -0) ? "-0" : String(n);
}

function formatPrimitive(v) {
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      return formatNumber(v);
    case "bigint":
      return `${v}n`;
    case "boolean":
      return String(v);
    case "undefined":
      return "undefined";
    case "symbol":
      return v.toString();
  }
  return String(v);
}

function constructorName(obj) {
  let o = obj;
  while (o !== null && o !== undefined) {
    const d = Object.getOwnPropertyDescriptor(o, "constructor");
    if (d && typeof d.value === "function" && d.value.name !== "") return d.value.name;
    o = Object.getPrototypeOf(o);
  }
  return null;
}

function prefix(ctor, tagName, fallback, size) {
  const sz = size === undefined ? "" : `(${size})`;
  if (ctor === null) {
    if (tagName !== "" && fallback !== tagName) return `[${fallback}${sz}: null prototype] [${tagName}] `;
    return `[${fallback}${sz}: null prototype] `;
  }
  if (tagName !== "" && ctor !== tagName) return `${ctor}${sz} [${tagName}] `;
  return `${ctor}${sz} `;
}

function formatKey(key) {
  if (typeof key === "symbol") return `[${key.toString()}]`;
  if (identifier.test(key)) return key;
  return quote(key);
}

function functionBase(fn, ctor, tagName) {
  const src = Function.prototype.toString.call(fn);
  if (src.startsWith("class") && /^class\b/.test(src)) {
    let base = `[class ${fn.name || "(anonymous)"}`;
    const sup = Object.getPrototypeOf(fn);
    if (sup && sup !== Function.prototype && sup.name) base += ` extends ${sup.name}`;
    else if (sup === null) base += " extends [null prototype]";
    return base + "]";
  }
  let type = "Function";
  if (types.isGeneratorFunction(fn)) type = `Generator${type}`;
  if (types.isAsyncFunction(fn)) type = `Async${type}`;
  let base = `[${type}`;
  if (ctor === null) base += " (null prototype)";
  base += fn.name === "" ? " (anonymous)" : `: ${fn.name}`;
  base += "]";
  if (ctor !== type && ctor !== null) base += ` ${ctor}`;
  if (tagName !== "" && ctor !== tagName) base += ` [${tagName}]`;
  return base;
}

function errorBase(err) {
  const stack = typeof err.stack === "string" && err.stack !== "" ? err.stack : null;
  const head = err.message ? `${err.name}: ${err.message}` : String(err.name);
  if (stack === null) return `[${head}]`;
  // QuickJS's stack has only the frames; Node's starts with `Name: message`.
  const frames = stack.startsWith(head) ? stack.slice(head.length) : "\n" + stack.replace(/\n$/, "");
  return head + frames.replace(/\n$/, "");
}

function isBelowBreakLength(ctx, output, start, base) {
  let total = output.length + start;
  if (total + output.length > ctx.breakLength) return false;
  for (const entry of output) {
    total += entry.length;
    if (total > ctx.breakLength) return false;
  }
  return base === "" || !base.includes("\n");
}

function groupArrayElements(ctx, output, value) {
  let totalLength = 0;
  let maxLength = 0;
  let outputLength = output.length;
  if (ctx.extraItems) outputLength--;
  const separatorSpace = 2;
  const dataLen = new Array(outputLength);
  for (let i = 0; i < outputLength; i++) {
    const len = output[i].length;
    dataLen[i] = len;
    totalLength += len + separatorSpace;
    if (maxLength < len) maxLength = len;
  }
  const actualMax = maxLength + separatorSpace;
  if (actualMax * 3 + ctx.indentationLvl < ctx.breakLength && (totalLength / actualMax > 5 || maxLength <= 6)) {
    const averageBias = Math.sqrt(actualMax - totalLength / output.length);
    const biasedMax = Math.max(actualMax - 3 - averageBias, 1);
    const columns = Math.min(
      Math.round(Math.sqrt(2.5 * biasedMax * outputLength) / biasedMax),
      Math.floor((ctx.breakLength - ctx.indentationLvl) / actualMax),
      ctx.compact * 4,
      15,
    );
    if (columns <= 1) return output;
    const tmp = [];
    const maxLineLength = [];
    for (let i = 0; i < columns; i++) {
      let lineLength = 0;
      for (let j = i; j < output.length; j += columns) if (dataLen[j] > lineLength) lineLength = dataLen[j];
      maxLineLength.push(lineLength + separatorSpace);
    }
    let padStart = true;
    if (value !== undefined) {
      for (let i = 0; i < output.length; i++) {
        if (typeof value[i] !== "number" && typeof value[i] !== "bigint") {
          padStart = false;
          break;
        }
      }
    }
    for (let i = 0; i < outputLength; i += columns) {
      const max = Math.min(i + columns, outputLength);
      let str = "";
      let j = i;
      for (; j < max - 1; j++) {
        const padding = maxLineLength[j - i];
        str += padStart ? `${output[j]}, `.padStart(padding, " ") : `${output[j]}, `.padEnd(padding, " ");
      }
      if (padStart) str += output[j].padStart(maxLineLength[j - i] - separatorSpace, " ");
      else str += output[j];
      tmp.push(str);
    }
    if (ctx.extraItems) tmp.push(output[outputLength]);
    output = tmp;
  }
  return output;
}

function reduceToSingleString(ctx, output, base, braces, isArrayType, recurseTimes, value) {
  if (ctx.compact !== true) {
    if (typeof ctx.compact === "number" && ctx.compact >= 1) {
      const entries = output.length;
      if (isArrayType && entries > 6) output = groupArrayElements(ctx, output, value);
      if (ctx.currentDepth - recurseTimes < ctx.compact && entries === output.length) {
        const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
        if (isBelowBreakLength(ctx, output, start, base)) {
          const joined = output.join(", ");
          if (!joined.includes("\n")) return `${base ? `${base} ` : ""}${braces[0]} ${joined} ${braces[1]}`;
        }
      }
    }
    const ind = `\n${" ".repeat(ctx.indentationLvl)}`;
    return `${base ? `${base} ` : ""}${braces[0]}${ind}  ${output.join(`,${ind}  `)}${ind}${braces[1]}`;
  }
  if (isBelowBreakLength(ctx, output, 0, base)) return `${braces[0]}${base ? ` ${base}` : ""} ${output.join(", ")} ${braces[1]}`;
  const ind = " ".repeat(ctx.indentationLvl);
  return `${base ? `${base} ` : ""}${braces[0]} ${output.join(`,\n${ind}  `)} ${braces[1]}`;
}

function formatProperty(ctx, value, recurseTimes, key, isArrayType) {
  const desc = Object.getOwnPropertyDescriptor(value, key) || { value: value[key], enumerable: true };
  let str;
  if (desc.value !== undefined || !("get" in desc || "set" in desc)) {
    ctx.indentationLvl += 2;
    str = formatValue(ctx, desc.value, recurseTimes);
    ctx.indentationLvl -= 2;
  } else if (desc.get !== undefined) {
    str = desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
  } else {
    str = desc.set !== undefined ? "[Setter]" : "undefined";
  }
  if (isArrayType) return str;
  const name = desc.enumerable === false ? `[${formatKey(key)}]` : formatKey(key);
  return `${name}: ${str}`;
}

function formatValue(ctx, value, recurseTimes, typedArray) {
  if (value === null) return "null";
  if (typeof value !== "object" && typeof value !== "function") return formatPrimitive(value);
  if (ctx.customInspect) {
    const custom = value[customInspect];
    if (typeof custom === "function" && custom !== inspect && !(Object.getOwnPropertyDescriptor(value, "constructor") && value.constructor.prototype === value)) {
      const depth = ctx.depth === null ? null : ctx.depth - recurseTimes;
      const ret = custom.call(value, depth, { ...ctx, depth, stylize: (s) => s }, inspect);
      if (ret !== value) {
        if (typeof ret !== "string") return formatValue(ctx, ret, recurseTimes);
        return ret.replaceAll("\n", `\n${" ".repeat(ctx.indentationLvl)}`);
      }
    }
  }
  if (ctx.seen.includes(value)) {
    let index = 1;
    if (ctx.circular === undefined) {
      ctx.circular = new Map([[value, index]]);
    } else {
      index = ctx.circular.get(value);
      if (index === undefined) {
        index = ctx.circular.size + 1;
        ctx.circular.set(value, index);
      }
    }
    return `[Circular *${index}]`;
  }
  return formatRaw(ctx, value, recurseTimes, typedArray);
}

function ownKeys(value, showHidden) {
  const keys = showHidden ? Object.getOwnPropertyNames(value) : Object.keys(value);
  const symbols = Object.getOwnPropertySymbols(value);
  for (const s of symbols) if (showHidden || Object.prototype.propertyIsEnumerable.call(value, s)) keys.push(s);
  return keys;
}

function hexBytes(bytes, max) {
  let s = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += (i ? " " : "") + bytes[i].toString(16).padStart(2, "0");
  if (bytes.length > max) s += ` ... ${bytes.length - max} more byte${bytes.length - max > 1 ? "s" : ""}`;
  return s;
}

function formatRaw(ctx, value, recurseTimes) {
  let keys;
  const ctor = constructorName(value);
  let tagName = value[Symbol.toStringTag];
  if (typeof tagName !== "string" || (tagName !== "" && (ctx.showHidden ? Object.prototype.hasOwnProperty : Object.prototype.propertyIsEnumerable).call(value, Symbol.toStringTag))) tagName = "";
  let base = "";
  let formatter = null;
  let braces;
  let isArrayType = false;
  let extra = [];
  ctx.extraItems = false;
  const filterIndices = (ks) => ks.filter((k) => typeof k === "symbol" || !/^(0|[1-9][0-9]*)$/.test(k) || Number(k) >= 2 ** 32 - 1);

  let noIterator = true;
  if (Symbol.iterator in value || ctor === null) {
    noIterator = false;
    if (Array.isArray(value)) {
      keys = filterIndices(ownKeys(value, ctx.showHidden));
      const p = ctor !== "Array" || tagName !== "" ? prefix(ctor, tagName, "Array", value.length) : "";
      braces = [`${p}[`, "]"];
      if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
      isArrayType = true;
      formatter = formatArray;
    } else if (types.isSet(value)) {
      const size = Set.prototype[Symbol.iterator] ? value.size : 0;
      keys = ownKeys(value, ctx.showHidden);
      const p = prefix(ctor, tagName, "Set", size);
      formatter = formatSet;
      if (size === 0 && keys.length === 0) return `${p}{}`;
      braces = [`${p}{`, "}"];
    } else if (types.isMap(value)) {
      const size = value.size;
      keys = ownKeys(value, ctx.showHidden);
      const p = prefix(ctor, tagName, "Map", size);
      formatter = formatMap;
      if (size === 0 && keys.length === 0) return `${p}{}`;
      braces = [`${p}{`, "}"];
    } else if (types.isTypedArray(value)) {
      keys = filterIndices(ownKeys(value, ctx.showHidden));
      const fallback = value[Symbol.toStringTag];
      if (typeof Buffer === "function" && value instanceof Buffer && ctor === "Buffer") {
        const s = hexBytes(value, 50);
        if (keys.length === 0) return `<Buffer${s ? " " + s : ""}>`;
      }
      const size = value.length;
      braces = [`${prefix(ctor, tagName === fallback ? "" : tagName, fallback, size)}[`, "]"];
      if (value.length === 0 && keys.length === 0 && !ctx.showHidden) return `${braces[0]}]`;
      formatter = formatTypedArray;
      isArrayType = true;
    } else if (types.isMapIterator(value) || types.isSetIterator(value)) {
      keys = ownKeys(value, ctx.showHidden);
      braces = [`[${tagName || (types.isMapIterator(value) ? "Map Iterator" : "Set Iterator")}] {`, "}"];
      formatter = () => ["..."];
    } else {
      noIterator = true;
    }
  }
  if (noIterator) {
    keys = ownKeys(value, ctx.showHidden);
    braces = ["{", "}"];
    formatter = formatObjectEntries;
    if (ctor === "Object" && tagName === "" && !types.isArgumentsObject(value)) {
      if (types.isArgumentsObject(value)) braces[0] = "[Arguments] [";
      if (keys.length === 0) return "{}";
    } else if (typeof value === "function") {
      base = functionBase(value, ctor, tagName);
      keys = keys.filter((k) => !(ctx.showHidden && ["length", "name", "prototype"].includes(k)));
      if (keys.length === 0) return base;
    } else if (types.isRegExp(value)) {
      base = RegExp.prototype.toString.call(value);
      const p = prefix(ctor, tagName, "RegExp");
      if (p !== "RegExp ") base = `${p}${base}`;
      keys = keys.filter((k) => k !== "lastIndex");
      if (keys.length === 0 || recurseTimes > ctx.depth) return base;
    } else if (types.isDate(value)) {
      base = Number.isNaN(value.getTime()) ? Date.prototype.toString.call(value) : Date.prototype.toISOString.call(value);
      const p = prefix(ctor, tagName, "Date");
      if (p !== "Date ") base = `${p}${base}`;
      if (keys.length === 0) return base;
    } else if (value instanceof Error) {
      base = errorBase(value);
      if (ctx.indentationLvl !== 0) base = base.replaceAll("\n", `\n${" ".repeat(ctx.indentationLvl)}`);
      keys = keys.filter((k) => k !== "stack" && k !== "message");
      if (keys.length === 0) return base;
    } else if (types.isAnyArrayBuffer(value)) {
      const name = types.isArrayBuffer(value) ? "ArrayBuffer" : "SharedArrayBuffer";
      const p = prefix(ctor, tagName, name);
      if (recurseTimes > ctx.depth && ctx.depth !== null) return `[${p.trim()}]`;
      braces[0] = `${p}{`;
      extra.push(`[Uint8Contents]: <${hexBytes(new Uint8Array(value), 50)}>`, `byteLength: ${formatNumber(value.byteLength)}`);
    } else if (types.isDataView(value)) {
      braces[0] = `${prefix(ctor, tagName, "DataView")}{`;
      extra.push(`byteLength: ${value.byteLength}`, `byteOffset: ${value.byteOffset}`, `buffer: ${formatValue(ctx, value.buffer, recurseTimes)}`);
    } else if (types.isPromise(value)) {
      braces[0] = `${prefix(ctor, tagName, "Promise")}{`;
      extra.push("<pending>");
    } else if (types.isWeakSet(value)) {
      braces[0] = `${prefix(ctor, tagName, "WeakSet")}{`;
      extra.push("<items unknown>");
    } else if (types.isWeakMap(value)) {
      braces[0] = `${prefix(ctor, tagName, "WeakMap")}{`;
      extra.push("<items unknown>");
    } else if (types.isBoxedPrimitive(value)) {
      let type;
      let prim;
      if (types.isNumberObject(value)) [type, prim] = ["Number", formatNumber(Number.prototype.valueOf.call(value))];
      else if (types.isStringObject(value)) {
        [type, prim] = ["String", quote(String.prototype.valueOf.call(value))];
        keys = keys.filter((k) => !/^(0|[1-9][0-9]*)$/.test(k) && k !== "length");
      } else if (types.isBooleanObject(value)) [type, prim] = ["Boolean", String(Boolean.prototype.valueOf.call(value))];
      else if (types.isBigIntObject(value)) [type, prim] = ["BigInt", `${BigInt.prototype.valueOf.call(value)}n`];
      else [type, prim] = ["Symbol", Symbol.prototype.toString.call(value)];
      base = `[${type}`;
      if (type !== ctor) base += ctor === null ? " (null prototype)" : ` (${ctor})`;
      base += `: ${prim}]`;
      if (tagName !== "" && tagName !== ctor) base += ` [${tagName}]`;
      if (keys.length === 0) return base;
    } else {
      if (types.isModuleNamespaceObject(value)) braces[0] = "[Module: null prototype] {";
      else braces[0] = `${prefix(ctor, tagName, "Object")}{`;
      if (keys.length === 0 && extra.length === 0) return `${braces[0]}}`;
    }
  }

  if (ctx.depth !== null && recurseTimes > ctx.depth) {
    let name = ctor || tagName || "Object";
    if (ctor === null) name = `${isArrayType || Array.isArray(value) ? "Array" : "Object"}: null prototype`;
    return `[${Array.isArray(value) ? (ctor && ctor !== "Array" ? ctor : "Array") : name}]`;
  }
  recurseTimes += 1;
  ctx.seen.push(value);
  ctx.currentDepth = recurseTimes;
  let output;
  try {
    output = formatter ? formatter(ctx, value, recurseTimes) : [];
    output = extra.concat(output);
    for (const key of keys) output.push(formatProperty(ctx, value, recurseTimes, key, false));
  } finally {
    ctx.seen.pop();
  }
  if (ctx.sorted) output.sort(typeof ctx.sorted === "function" ? ctx.sorted : undefined);
  if (ctx.circular !== undefined) {
    const index = ctx.circular.get(value);
    if (index !== undefined) {
      const ref = `<ref *${index}>`;
      if (base === "") braces[0] = `${ref} ${braces[0]}`;
      else base = `${ref} ${base}`;
    }
  }
  const res = reduceToSingleString(ctx, output, base, braces, isArrayType, recurseTimes, value);
  const newLength = ctx.indentationLvl + res.length;
  if (newLength > ctx.breakLength * 16 * 2 ** 13) ctx.depth = -1;
  return res;
}

function formatArray(ctx, value, recurseTimes) {
  const len = value.length;
  const max = Math.min(Math.max(0, ctx.maxArrayLength), len);
  const remaining = len - max;
  const output = [];
  for (let i = 0; i < max; i++) {
    if (!Object.prototype.hasOwnProperty.call(value, i)) {
      let j = i;
      while (j < len && !Object.prototype.hasOwnProperty.call(value, j)) j++;
      const holes = j - i;
      output.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
      i = j - 1;
      continue;
    }
    output.push(formatProperty(ctx, value, recurseTimes, String(i), true));
  }
  if (remaining > 0) {
    output.push(`... ${remaining} more item${remaining > 1 ? "s" : ""}`);
    ctx.extraItems = true;
  }
  return output;
}

function formatTypedArray(ctx, value) {
  const len = value.length;
  const max = Math.min(Math.max(0, ctx.maxArrayLength), len);
  const output = [];
  for (let i = 0; i < max; i++) output.push(typeof value[i] === "bigint" ? `${value[i]}n` : formatNumber(value[i]));
  if (len > max) {
    output.push(`... ${len - max} more item${len - max > 1 ? "s" : ""}`);
    ctx.extraItems = true;
  }
  if (ctx.showHidden) {
    ctx.indentationLvl += 2;
    for (const key of ["BYTES_PER_ELEMENT", "length", "byteLength", "byteOffset", "buffer"]) output.push(`[${key}]: ${formatValue(ctx, value[key], 1, true)}`);
    ctx.indentationLvl -= 2;
  }
  return output;
}

function formatSet(ctx, value, recurseTimes) {
  const output = [];
  ctx.indentationLvl += 2;
  for (const v of value) output.push(formatValue(ctx, v, recurseTimes));
  ctx.indentationLvl -= 2;
  return output;
}

function formatMap(ctx, value, recurseTimes) {
  const output = [];
  ctx.indentationLvl += 2;
  for (const [k, v] of value) output.push(`${formatValue(ctx, k, recurseTimes)} => ${formatValue(ctx, v, recurseTimes)}`);
  ctx.indentationLvl -= 2;
  return output;
}

function formatObjectEntries() {
  return [];
}

export function inspect(value, opts) {
  const ctx = { ...defaults, ...inspect.defaultOptions, seen: [], indentationLvl: 0, currentDepth: 0, circular: undefined };
  if (arguments.length > 2) {
    if (arguments[2] !== undefined) ctx.depth = arguments[2];
    if (arguments.length > 3 && arguments[3] !== undefined) ctx.colors = arguments[3];
  }
  if (typeof opts === "boolean") ctx.showHidden = opts;
  else if (opts) for (const key of Object.keys(opts)) if (key in defaults || key === "stylize") ctx[key] = opts[key];
  if (ctx.depth === Infinity) ctx.depth = null;
  if (ctx.maxArrayLength === null) ctx.maxArrayLength = Infinity;
  return formatValue(ctx, value, 0);
}
inspect.custom = customInspect;
inspect.defaultOptions = { ...defaults };
inspect.colors = Object.assign(Object.create(null), { bold: [1, 22], italic: [3, 23], underline: [4, 24], inverse: [7, 27], white: [37, 39], grey: [90, 39], black: [30, 39], blue: [34, 39], cyan: [36, 39], green: [32, 39], magenta: [35, 39], red: [31, 39], yellow: [33, 39] });
inspect.styles = Object.assign(Object.create(null), { special: "cyan", number: "yellow", bigint: "yellow", boolean: "yellow", undefined: "grey", null: "bold", string: "green", symbol: "green", date: "magenta", regexp: "red", module: "underline" });

// --- format ----------------------------------------------------------------
const builtIns = new Set(Object.getOwnPropertyNames(globalThis).filter((n) => /^[A-Z]/.test(n) && typeof globalThis[n] === "function"));
// Whether `v`'s toString is a built-in one (then %s inspects it, as Node).
function hasBuiltInToString(v) {
  if (Object.prototype.hasOwnProperty.call(v, "toString")) return false;
  let o = v;
  while (o !== null && !Object.prototype.hasOwnProperty.call(o, "toString")) o = Object.getPrototypeOf(o);
  if (o === null) return true;
  const c = o.constructor;
  return typeof c === "function" && builtIns.has(c.name) && globalThis[c.name] === c;
}

function formatWithOptionsInternal(inspectOptions, args) {
  const first = args[0];
  let a = 0;
  let str = "";
  let join = "";
  if (typeof first === "string") {
    if (args.length === 1) return first;
    let tempStr;
    let lastPos = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first.charCodeAt(i) === 37) {
        const nextChar = first.charCodeAt(++i);
        if (a + 1 !== args.length) {
          switch (nextChar) {
            case 115: {
              const arg = args[++a];
              if (typeof arg === "number") tempStr = formatNumber(arg);
              else if (typeof arg === "bigint") tempStr = `${arg}n`;
              else if (typeof arg !== "object" || arg === null || !hasBuiltInToString(arg)) tempStr = String(arg);
              else tempStr = inspect(arg, { ...inspectOptions, depth: 0, colors: false, compact: 3 });
              break;
            }
            case 106:
              try {
                tempStr = JSON.stringify(args[++a]);
              } catch (err) {
                if (err instanceof TypeError && /circular|cyclic/i.test(err.message)) tempStr = "[Circular]";
                else throw err;
              }
              break;
            case 100: {
              const n = args[++a];
              if (typeof n === "bigint") tempStr = `${n}n`;
              else if (typeof n === "symbol") tempStr = "NaN";
              else tempStr = formatNumber(Number(n));
              break;
            }
            case 79:
              tempStr = inspect(args[++a], inspectOptions);
              break;
            case 111:
              tempStr = inspect(args[++a], { ...inspectOptions, showHidden: true, showProxy: true, depth: 4 });
              break;
            case 105: {
              const n = args[++a];
              if (typeof n === "bigint") tempStr = `${n}n`;
              else if (typeof n === "symbol") tempStr = "NaN";
              else tempStr = formatNumber(Number.parseInt(n));
              break;
            }
            case 102: {
              const n = args[++a];
              tempStr = typeof n === "symbol" ? "NaN" : formatNumber(Number.parseFloat(n));
              break;
            }
            case 99:
              a += 1;
              tempStr = "";
              break;
            case 37:
              str += first.slice(lastPos, i);
              lastPos = i + 1;
              continue;
            default:
              continue;
          }
          if (lastPos !== i - 1) str += first.slice(lastPos, i - 1);
          str += tempStr;
          lastPos = i + 1;
        } else if (nextChar === 37) {
          str += first.slice(lastPos, i);
          lastPos = i + 1;
        }
      }
    }
    if (lastPos !== 0) {
      a++;
      join = " ";
      if (lastPos < first.length) str += first.slice(lastPos);
    }
  }
  while (a < args.length) {
    const value = args[a];
    str += join;
    str += typeof value !== "string" ? inspect(value, inspectOptions) : value;
    join = " ";
    a++;
  }
  return str;
}

export function format(...args) {
  return formatWithOptionsInternal(undefined, args);
}
export function formatWithOptions(inspectOptions, ...args) {
  if (typeof inspectOptions !== "object" || inspectOptions === null) {
    throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "inspectOptions" argument must be of type object.${received(inspectOptions)}`);
  }
  return formatWithOptionsInternal(inspectOptions, args);
}

// --- errors in Node's shape --------------------------------------------------
function received(v) {
  if (v == null) return ` Received ${v}`;
  if (typeof v === "function") return ` Received function ${v.name}`;
  if (typeof v === "object") {
    const c = constructorName(v);
    return c ? ` Received an instance of ${c}` : ` Received ${inspect(v, { depth: -1 })}`;
  }
  let shown = inspect(v, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof v} (${shown})`;
}
function codeError(Base, code, message) {
  const err = new Base(message);
  Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}
function requireFunction(name, v) {
  if (typeof v !== "function") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be of type function.${received(v)}`);
}

// --- promisify, callbackify, deprecate, inherits --------------------------------
export function promisify(original) {
  requireFunction("original", original);
  if (original[customPromisify]) {
    const fn = original[customPromisify];
    requireFunction("util.promisify.custom", fn);
    return Object.defineProperty(fn, customPromisify, { value: fn, enumerable: false, writable: false, configurable: true });
  }
  function fn(...args) {
    return new Promise((resolve, reject) => {
      Reflect.apply(original, this, [
        ...args,
        (err, ...values) => {
          if (err) return reject(err);
          resolve(values[0]);
        },
      ]);
    });
  }
  Object.setPrototypeOf(fn, Object.getPrototypeOf(original));
  Object.defineProperty(fn, customPromisify, { value: fn, enumerable: false, writable: false, configurable: true });
  const descriptors = Object.getOwnPropertyDescriptors(original);
  for (const key of Reflect.ownKeys(descriptors)) {
    if (key === "length" || key === "name" || key === "prototype" || key === customPromisify) continue;
    try {
      Object.defineProperty(fn, key, descriptors[key]);
    } catch {}
  }
  return fn;
}
promisify.custom = customPromisify;

export function callbackify(original) {
  requireFunction("original", original);
  function callbackified(...args) {
    const cb = args.pop();
    requireFunction("last argument", cb);
    const onRejected = (reason) => {
      if (!reason) {
        const err = new Error("Promise was rejected with falsy value");
        err.code = "ERR_FALSY_VALUE_REJECTION";
        err.reason = reason;
        reason = err;
      }
      return cb(reason);
    };
    Reflect.apply(original, this, args).then(
      (ret) => queueMicrotask(() => cb(null, ret)),
      (rej) => queueMicrotask(() => onRejected(rej)),
    );
  }
  Object.defineProperty(callbackified, "name", { value: `${original.name}Callbackified` });
  return callbackified;
}

const deprecationsWarned = new Set();
export function deprecate(fn, msg, code) {
  requireFunction("fn", fn);
  let warned = false;
  function deprecated(...args) {
    if (!warned && !(typeof process === "object" && process.noDeprecation)) {
      warned = true;
      if (code === undefined || !deprecationsWarned.has(code)) {
        if (code !== undefined) deprecationsWarned.add(code);
        if (typeof process === "object" && typeof process.emitWarning === "function") process.emitWarning(msg, "DeprecationWarning", code);
        else console.error(`${code ? `[${code}] ` : ""}DeprecationWarning: ${msg}`);
      }
    }
    return new.target ? Reflect.construct(fn, args, new.target) : Reflect.apply(fn, this, args);
  }
  Object.setPrototypeOf(deprecated, fn);
  if (fn.prototype) deprecated.prototype = fn.prototype;
  return deprecated;
}

export function inherits(ctor, superCtor) {
  if (ctor === undefined || ctor === null) throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "ctor" argument must be of type function.${received(ctor)}`);
  if (superCtor === undefined || superCtor === null) throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "superCtor" argument must be of type function.${received(superCtor)}`);
  if (superCtor.prototype === undefined) throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "superCtor.prototype" property must be of type object.${received(superCtor.prototype)}`);
  Object.defineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

// --- isDeepStrictEqual ---------------------------------------------------------
function deepEqual(a, b, memo) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const tagA = Object.prototype.toString.call(a);
  if (tagA !== Object.prototype.toString.call(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const pair = memo.get(a);
  if (pair !== undefined && pair.has(b)) return true;
  if (pair === undefined) memo.set(a, new Set([b]));
  else pair.add(b);
  if (types.isDate(a)) {
    if (!Object.is(a.getTime(), b.getTime())) return false;
  } else if (types.isRegExp(a)) {
    if (a.source !== b.source || a.flags !== b.flags || a.lastIndex !== b.lastIndex) return false;
  } else if (types.isBoxedPrimitive(a)) {
    if (!Object.is(a.valueOf(), b.valueOf())) return false;
  } else if (a instanceof Error) {
    if (a.message !== b.message || a.name !== b.name) return false;
  } else if (ArrayBuffer.isView(a)) {
    if (a.byteLength !== b.byteLength) return false;
    if (types.isTypedArray(a)) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    } else {
      const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    }
  } else if (types.isAnyArrayBuffer(a)) {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a);
    const y = new Uint8Array(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  if (types.isWeakMap(a) || types.isWeakSet(a)) return false;
  const keysA = ownEnumerable(a);
  const keysB = ownEnumerable(b);
  if (keysA.length !== keysB.length) return false;
  const setB = new Set(keysB);
  for (const k of keysA) if (!setB.has(k)) return false;
  if (types.isSet(a)) {
    if (a.size !== b.size) return false;
    outer: for (const x of a) {
      if (b.has(x)) continue;
      if (typeof x !== "object" || x === null) return false;
      for (const y of b) if (typeof y === "object" && y !== null && deepEqual(x, y, memo)) continue outer;
      return false;
    }
  } else if (types.isMap(a)) {
    if (a.size !== b.size) return false;
    outer: for (const [k, v] of a) {
      if (b.has(k)) {
        if (!deepEqual(v, b.get(k), memo)) return false;
        continue;
      }
      if (typeof k !== "object" || k === null) return false;
      for (const [k2, v2] of b) if (typeof k2 === "object" && k2 !== null && deepEqual(k, k2, memo) && deepEqual(v, v2, memo)) continue outer;
      return false;
    }
  }
  for (const k of keysA) if (!deepEqual(a[k], b[k], memo)) return false;
  return true;
}
function ownEnumerable(o) {
  const keys = Object.keys(o);
  for (const s of Object.getOwnPropertySymbols(o)) if (Object.prototype.propertyIsEnumerable.call(o, s)) keys.push(s);
  if (ArrayBuffer.isView(o)) return keys.filter((k) => typeof k === "symbol" || !/^(0|[1-9][0-9]*)$/.test(k));
  return keys;
}
export function isDeepStrictEqual(a, b) {
  return deepEqual(a, b, new Map());
}

// --- the rest ----------------------------------------------------------------
export const TextEncoder = llrt.TextEncoder || globalThis.TextEncoder;
export const TextDecoder = llrt.TextDecoder || globalThis.TextDecoder;
export { types };
export const isArray = Array.isArray;
export function stripVTControlCharacters(str) {
  return String(str).replace(/[\u001B\u009B][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g, "");
}
export function toUSVString(str) {
  return String(str).toWellFormed ? String(str).toWellFormed() : String(str);
}
export function debuglog() {
  const log = () => {};
  log.enabled = false;
  return log;
}
export const debug = debuglog;
export function getSystemErrorName(code) {
  return `Unknown system error ${code}`;
}

const util = llrt;
Object.assign(util, {
  inspect, format, formatWithOptions, promisify, callbackify, deprecate, inherits, isDeepStrictEqual,
  types, TextEncoder, TextDecoder, isArray, stripVTControlCharacters, toUSVString, debuglog, debug,
  getSystemErrorName,
});
export default util;
