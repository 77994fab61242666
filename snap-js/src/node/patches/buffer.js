// Patch of LLRT's Buffer (the global class, shared with node:buffer),
// applied once at engine start: the encodings LLRT lacks or gets wrong
// (latin1/binary and ascii decode as bytes, base64url), Buffer.compare,
// buf.compare/equals/toJSON/swap16/32/64 and the variable-width integer
// reads and writes.
(() => {
  "use strict";
  const B = globalThis.Buffer;
  if (typeof B !== "function" || B.__snapjsPatched) return;
  const P = B.prototype;

  const codeError = (Base, code, message) => {
    const err = new Base(message);
    Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
    return err;
  };
  const norm = (enc) => (typeof enc === "string" ? enc.toLowerCase() : enc);
  const own = (enc) => {
    switch (norm(enc)) {
      case "latin1":
      case "binary":
        return "latin1";
      case "ascii":
        return "ascii";
      case "base64url":
        return "base64url";
      case "utf16le":
      case "utf-16le":
      case "ucs2":
      case "ucs-2":
        return "utf16le";
    }
    return undefined;
  };

  const fromLatin1 = (str) => {
    const out = B.alloc(str.length);
    for (let i = 0; i < str.length; i++) out[i] = str.charCodeAt(i) & 0xff;
    return out;
  };
  const toB64 = (str) => {
    let s = String(str).replace(/[\s=]+/g, "").replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4 !== 0 && s.length % 4 !== 1) s += "=";
    if (s.length % 4 === 1) s = s.slice(0, -1);
    return s;
  };
  // UTF-16LE code unit by code unit, lone surrogates kept (as Node).
  const fromUtf16 = (str) => {
    const out = B.alloc(str.length * 2);
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      out[2 * i] = c & 0xff;
      out[2 * i + 1] = c >> 8;
    }
    return out;
  };
  const encode = (str, enc) => (enc === "base64url" ? origFrom.call(B, toB64(str), "base64") : enc === "utf16le" ? fromUtf16(str) : fromLatin1(str));
  const decode = (bytes, enc) => {
    if (enc === "base64url") return origToString.call(bytes, "base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    let s = "";
    if (enc === "utf16le") {
      for (let i = 0; i + 1 < bytes.length; i += 8192) {
        const end = Math.min(bytes.length - 1, i + 8192);
        const part = [];
        for (let j = i; j < end; j += 2) part.push(bytes[j] | (bytes[j + 1] << 8));
        s += String.fromCharCode.apply(null, part);
      }
      return s;
    }
    const mask = enc === "ascii" ? 0x7f : 0xff;
    for (let i = 0; i < bytes.length; i += 4096) {
      const end = Math.min(bytes.length, i + 4096);
      const part = new Array(end - i);
      for (let j = i; j < end; j++) part[j - i] = bytes[j] & mask;
      s += String.fromCharCode.apply(null, part);
    }
    return s;
  };

  const origFrom = B.from;
  B.from = function from(value, encOrOffset, length) {
    if (typeof value === "string") {
      const enc = own(encOrOffset);
      if (enc !== undefined) return encode(value, enc);
      if (norm(encOrOffset) === "base64") return origFrom.call(this, toB64(value), "base64");
    }
    return origFrom.apply(this, arguments);
  };

  const origToString = P.toString;
  P.toString = function toString(encoding, start, end) {
    const enc = own(encoding);
    if (enc === undefined) {
      // Node takes an `undefined` encoding as utf8 (`null` is unknown), and
      // missing bounds as the whole buffer; LLRT's toString refuses an
      // `undefined` argument, so only the given ones are passed on.
      if (encoding === null) {
        const err = new TypeError("Unknown encoding: null");
        err.code = "ERR_UNKNOWN_ENCODING";
        throw err;
      }
      if (encoding === undefined && start === undefined && end === undefined) return origToString.call(this);
      const args = [encoding === undefined ? "utf8" : encoding, start, end];
      while (args.length > 1 && args[args.length - 1] === undefined) args.pop();
      if (args.length === 3 && args[1] === undefined) args[1] = 0;
      return origToString.apply(this, args);
    }
    const len = this.length;
    start = start === undefined || start < 0 ? 0 : Math.min(start | 0, len);
    end = end === undefined || end > len ? len : Math.max(end | 0, 0);
    if (end <= start) return "";
    return decode(this.subarray(start, end), enc);
  };

  const origByteLength = B.byteLength;
  B.byteLength = function byteLength(value, encoding) {
    if (typeof value === "string") {
      const e = norm(encoding);
      if (e === "latin1" || e === "binary" || e === "ascii") return value.length;
      if (e === "base64url" || e === "base64") return encode(value, "base64url").length;
      if (e === "utf16le" || e === "utf-16le" || e === "ucs2" || e === "ucs-2") return value.length * 2;
    }
    return origByteLength.apply(this, arguments);
  };

  const origIsEncoding = B.isEncoding;
  B.isEncoding = function isEncoding(enc) {
    return own(enc) !== undefined || origIsEncoding.call(this, enc);
  };

  const origWrite = P.write;
  P.write = function write(string, offset, length, encoding) {
    if (typeof offset === "string") {
      encoding = offset;
      offset = 0;
      length = this.length;
    } else if (typeof length === "string") {
      encoding = length;
      length = this.length - (offset || 0);
    }
    const enc = own(encoding);
    if (enc === undefined) return origWrite.apply(this, arguments);
    offset = offset === undefined ? 0 : offset >>> 0;
    const bytes = encode(string, enc);
    const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length >>> 0);
    for (let i = 0; i < n; i++) this[offset + i] = bytes[i];
    return n;
  };

  const bytesOf = (v, name) => {
    if (v instanceof Uint8Array) return v;
    throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be an instance of Buffer or Uint8Array.${v == null ? ` Received ${v}` : typeof v === "object" ? ` Received an instance of ${v.constructor ? v.constructor.name : "Object"}` : ` Received type ${typeof v} (${typeof v === "string" ? `'${v}'` : String(v)})`}`);
  };
  const cmp = (a, b) => {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
  };
  const define = (target, name, value) => Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });

  define(B, "compare", function compare(a, b) {
    return cmp(bytesOf(a, "buf1"), bytesOf(b, "buf2"));
  });
  define(P, "compare", function compare(target, targetStart = 0, targetEnd, sourceStart = 0, sourceEnd) {
    bytesOf(target, "target");
    if (targetEnd === undefined) targetEnd = target.length;
    if (sourceEnd === undefined) sourceEnd = this.length;
    const range = (v, name, max) => {
      if (v < 0 || v > max) throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be >= 0 and <= ${max}. Received ${v}`);
    };
    range(targetStart, "targetStart", target.length);
    range(targetEnd, "targetEnd", target.length);
    range(sourceStart, "sourceStart", this.length);
    range(sourceEnd, "sourceEnd", this.length);
    if (sourceStart >= sourceEnd) return targetStart >= targetEnd ? 0 : -1;
    if (targetStart >= targetEnd) return 1;
    return cmp(this.subarray(sourceStart, sourceEnd), target.subarray(targetStart, targetEnd));
  });
  define(P, "equals", function equals(other) {
    bytesOf(other, "otherBuffer");
    return this === other || cmp(this, other) === 0;
  });
  if (typeof P.toJSON !== "function") {
    define(P, "toJSON", function toJSON() {
      return { type: "Buffer", data: Array.from(this) };
    });
  }
  const swap = (size) =>
    function () {
      if (this.length % size !== 0) throw codeError(RangeError, "ERR_INVALID_BUFFER_SIZE", `Buffer size must be a multiple of ${size * 8}-bits`);
      for (let i = 0; i < this.length; i += size) {
        for (let j = 0; j < size / 2; j++) {
          const t = this[i + j];
          this[i + j] = this[i + size - 1 - j];
          this[i + size - 1 - j] = t;
        }
      }
      return this;
    };
  define(P, "swap16", swap(2));
  define(P, "swap32", swap(4));
  define(P, "swap64", swap(8));

  const checkWidth = (byteLength) => {
    if (!Number.isInteger(byteLength) || byteLength < 1 || byteLength > 6) {
      throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "byteLength" is out of range. It must be >= 1 and <= 6. Received ${byteLength}`);
    }
  };
  const checkOffset = (buf, offset, byteLength) => {
    if (!Number.isInteger(offset) || offset < 0 || offset + byteLength > buf.length) {
      if (typeof offset !== "number") throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "offset" argument must be of type number. Received type ${typeof offset}`);
      throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "offset" is out of range. It must be >= 0 and <= ${buf.length - byteLength}. Received ${offset}`);
    }
  };
  const readUnsigned = (buf, offset, byteLength, big) => {
    let v = 0;
    for (let i = 0; i < byteLength; i++) v = v * 256 + buf[offset + (big ? i : byteLength - 1 - i)];
    return v;
  };
  if (typeof P.readUIntBE !== "function") {
    for (const big of [true, false]) {
      const end = big ? "BE" : "LE";
      const readU = function (offset, byteLength) {
        checkWidth(byteLength);
        checkOffset(this, offset, byteLength);
        return readUnsigned(this, offset, byteLength, big);
      };
      const readI = function (offset, byteLength) {
        checkWidth(byteLength);
        checkOffset(this, offset, byteLength);
        const v = readUnsigned(this, offset, byteLength, big);
        const limit = 2 ** (8 * byteLength - 1);
        return v >= limit ? v - 2 * limit : v;
      };
      const write = (signed) =>
        function (value, offset, byteLength) {
          checkWidth(byteLength);
          checkOffset(this, offset, byteLength);
          const bits = 8 * byteLength;
          const min = signed ? -(2 ** (bits - 1)) : 0;
          const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
          if (value < min || value > max) {
            throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "value" is out of range. It must be >= ${min} and <= ${max}. Received ${value}`);
          }
          let v = value < 0 ? value + 2 ** bits : value;
          for (let i = 0; i < byteLength; i++) {
            this[offset + (big ? byteLength - 1 - i : i)] = v % 256;
            v = Math.floor(v / 256);
          }
          return offset + byteLength;
        };
      define(P, `readUInt${end}`, readU);
      define(P, `readUint${end}`, readU);
      define(P, `readInt${end}`, readI);
      define(P, `writeUInt${end}`, write(false));
      define(P, `writeUint${end}`, write(false));
      define(P, `writeInt${end}`, write(true));
    }
  }
  // indexOf, lastIndexOf and includes with a string, Buffer or byte
  // (LLRT's find no string).
  const needleOf = (value, encoding) => {
    if (typeof value === "number") return Uint8Array.of(value & 0xff);
    if (typeof value === "string") return B.from(value, encoding || "utf8");
    if (value instanceof Uint8Array) return value;
    throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "value" argument must be one of type number or string or an instance of Buffer or Uint8Array.${value == null ? ` Received ${value}` : ` Received type ${typeof value}`}`);
  };
  const find = (hay, needle, from, backwards) => {
    const last = hay.length - needle.length;
    if (backwards) {
      for (let i = Math.min(from, last); i >= 0; i--) {
        let j = 0;
        while (j < needle.length && hay[i + j] === needle[j]) j++;
        if (j === needle.length) return i;
      }
      return -1;
    }
    for (let i = from; i <= last; i++) {
      let j = 0;
      while (j < needle.length && hay[i + j] === needle[j]) j++;
      if (j === needle.length) return i;
    }
    return -1;
  };
  const startOf = (buf, offset, backwards) => {
    if (typeof offset !== "number" || Number.isNaN(offset)) return backwards ? buf.length : 0;
    offset = Math.trunc(offset);
    if (offset < 0) offset += buf.length;
    return Math.max(0, backwards ? offset : Math.min(offset, buf.length));
  };
  define(P, "indexOf", function indexOf(value, byteOffset, encoding) {
    if (typeof byteOffset === "string") [encoding, byteOffset] = [byteOffset, 0];
    const needle = needleOf(value, encoding);
    const from = startOf(this, byteOffset, false);
    if (needle.length === 0) return Math.min(from, this.length);
    return find(this, needle, from, false);
  });
  define(P, "lastIndexOf", function lastIndexOf(value, byteOffset, encoding) {
    if (typeof byteOffset === "string") [encoding, byteOffset] = [byteOffset, undefined];
    const needle = needleOf(value, encoding);
    const from = startOf(this, byteOffset, true);
    if (from < 0) return -1;
    if (needle.length === 0) return Math.min(from, this.length);
    return find(this, needle, from, true);
  });
  define(P, "includes", function includes(value, byteOffset, encoding) {
    return this.indexOf(value, byteOffset, encoding) !== -1;
  });
  define(B, "__snapjsPatched", true);
})();
