// node:querystring: Node's parse/stringify/escape/unescape (legacy, not
// URLSearchParams: `+` is a space, repeated keys become arrays, values
// that are not strings, numbers, bigints or booleans become "").

const noEscape = /[A-Za-z0-9\-_.!~*'()]/;

export function escape(str) {
  if (typeof str !== "string") {
    if (typeof str === "object") str = String(str);
    else str += "";
  }
  let out = "";
  for (const ch of str) out += noEscape.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}

export function unescapeBuffer(s, decodeSpaces) {
  const bytes = Buffer.from(String(s));
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  const hex = (c) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 43 && decodeSpaces) out[n++] = 32;
    else if (c === 37 && i + 2 < bytes.length && hex(bytes[i + 1]) >= 0 && hex(bytes[i + 2]) >= 0) {
      out[n++] = hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]);
      i += 2;
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

export function unescape(s, decodeSpaces) {
  try {
    return decodeURIComponent(s);
  } catch {
    return unescapeBuffer(s, decodeSpaces).toString();
  }
}

function stringifyPrimitive(v) {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return `${v}`;
  if (typeof v === "bigint") return `${v}`;
  if (typeof v === "boolean") return v ? "true" : "false";
  return "";
}

export function stringify(obj, sep = "&", eq = "=", options) {
  sep = sep || "&";
  eq = eq || "=";
  const encode = options && typeof options.encodeURIComponent === "function" ? options.encodeURIComponent : escape;
  if (obj === null || typeof obj !== "object") return "";
  const fields = [];
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const ks = encode(stringifyPrimitive(k)) + eq;
    if (Array.isArray(v)) {
      for (const item of v) fields.push(ks + encode(stringifyPrimitive(item)));
    } else {
      fields.push(ks + encode(stringifyPrimitive(v)));
    }
  }
  return fields.join(sep);
}

export function parse(qs, sep = "&", eq = "=", options) {
  const obj = Object.create(null);
  if (typeof qs !== "string" || qs.length === 0) return obj;
  sep = sep || "&";
  eq = eq || "=";
  const maxKeys = options && typeof options.maxKeys === "number" ? options.maxKeys : 1000;
  const decode = options && typeof options.decodeURIComponent === "function" ? options.decodeURIComponent : unescape;
  let parts = qs.split(sep);
  if (maxKeys > 0) parts = parts.slice(0, maxKeys);
  for (const part of parts) {
    if (part.length === 0 && parts.length > 1) continue;
    const idx = part.indexOf(eq);
    let k;
    let v;
    if (idx >= 0) {
      k = part.slice(0, idx);
      v = part.slice(idx + eq.length);
    } else {
      k = part;
      v = "";
    }
    const dk = decodeComponent(k.replace(/\+/g, " "), decode);
    const dv = decodeComponent(v.replace(/\+/g, " "), decode);
    if (dk in obj) {
      const cur = obj[dk];
      if (Array.isArray(cur)) cur.push(dv);
      else obj[dk] = [cur, dv];
    } else {
      obj[dk] = dv;
    }
  }
  return obj;
}

function decodeComponent(s, decode) {
  try {
    return decode(s);
  } catch {
    return unescape(s, true);
  }
}

export const decode = parse;
export const encode = stringify;
export default { escape, unescape, unescapeBuffer, stringify, parse, decode, encode };
