// node:punycode (deprecated in Node, still shipped): RFC 3492 Punycode and
// IDNA's ToASCII/ToUnicode on domain labels and e-mail domains, with
// Node's RangeError messages for bad input.

const maxInt = 2147483647;
const base = 36;
const tMin = 1;
const tMax = 26;
const skew = 38;
const damp = 700;
const initialBias = 72;
const initialN = 128;
const delimiter = "-";

const errors = {
  overflow: "Overflow: input needs wider integers to process",
  "not-basic": "Illegal input >= 0x80 (not a basic code point)",
  "invalid-input": "Invalid input",
};

function fail(type) {
  throw new RangeError(errors[type]);
}

function ucs2decode(string) {
  const out = [];
  let i = 0;
  while (i < string.length) {
    const value = string.charCodeAt(i++);
    if (value >= 0xd800 && value <= 0xdbff && i < string.length) {
      const next = string.charCodeAt(i++);
      if ((next & 0xfc00) === 0xdc00) {
        out.push(((value & 0x3ff) << 10) + (next & 0x3ff) + 0x10000);
      } else {
        out.push(value);
        i--;
      }
    } else {
      out.push(value);
    }
  }
  return out;
}

function ucs2encode(codePoints) {
  return String.fromCodePoint(...codePoints);
}

// RFC 3492 6.1
function adapt(delta, numPoints, firstTime) {
  delta = firstTime ? Math.floor(delta / damp) : delta >> 1;
  delta += Math.floor(delta / numPoints);
  let k = 0;
  while (delta > ((base - tMin) * tMax) >> 1) {
    delta = Math.floor(delta / (base - tMin));
    k += base;
  }
  return Math.floor(k + ((base - tMin + 1) * delta) / (delta + skew));
}

function basicToDigit(cp) {
  if (cp >= 0x30 && cp < 0x3a) return 26 + (cp - 0x30);
  if (cp >= 0x41 && cp < 0x5b) return cp - 0x41;
  if (cp >= 0x61 && cp < 0x7b) return cp - 0x61;
  return base;
}

function digitToBasic(digit) {
  // 0..25 -> a..z, 26..35 -> 0..9
  return digit + 22 + 75 * (digit < 26);
}

function threshold(k, bias) {
  if (k <= bias) return tMin;
  if (k >= bias + tMax) return tMax;
  return k - bias;
}

// RFC 3492 6.2
export function decode(input) {
  input = String(input);
  const output = [];
  let n = initialN;
  let i = 0;
  let bias = initialBias;
  let basic = input.lastIndexOf(delimiter);
  if (basic < 0) basic = 0;
  for (let j = 0; j < basic; j++) {
    if (input.charCodeAt(j) >= 0x80) fail("not-basic");
    output.push(input.charCodeAt(j));
  }
  for (let index = basic > 0 ? basic + 1 : 0; index < input.length; ) {
    const oldi = i;
    for (let w = 1, k = base; ; k += base) {
      if (index >= input.length) fail("invalid-input");
      const digit = basicToDigit(input.charCodeAt(index++));
      if (digit >= base) fail("invalid-input");
      if (digit > Math.floor((maxInt - i) / w)) fail("overflow");
      i += digit * w;
      const t = threshold(k, bias);
      if (digit < t) break;
      if (w > Math.floor(maxInt / (base - t))) fail("overflow");
      w *= base - t;
    }
    const out = output.length + 1;
    bias = adapt(i - oldi, out, oldi === 0);
    if (Math.floor(i / out) > maxInt - n) fail("overflow");
    n += Math.floor(i / out);
    i %= out;
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

// RFC 3492 6.3
export function encode(input) {
  const codePoints = ucs2decode(String(input));
  const output = [];
  let n = initialN;
  let delta = 0;
  let bias = initialBias;
  for (const cp of codePoints) {
    if (cp < 0x80) output.push(String.fromCharCode(cp));
  }
  const basicLength = output.length;
  let handled = basicLength;
  if (basicLength) output.push(delimiter);
  while (handled < codePoints.length) {
    let m = maxInt;
    for (const cp of codePoints) {
      if (cp >= n && cp < m) m = cp;
    }
    if (m - n > Math.floor((maxInt - delta) / (handled + 1))) fail("overflow");
    delta += (m - n) * (handled + 1);
    n = m;
    for (const cp of codePoints) {
      if (cp < n && ++delta > maxInt) fail("overflow");
      if (cp === n) {
        let q = delta;
        for (let k = base; ; k += base) {
          const t = threshold(k, bias);
          if (q < t) break;
          const qMinusT = q - t;
          const baseMinusT = base - t;
          output.push(String.fromCharCode(digitToBasic(t + (qMinusT % baseMinusT))));
          q = Math.floor(qMinusT / baseMinusT);
        }
        output.push(String.fromCharCode(digitToBasic(q)));
        bias = adapt(delta, handled + 1, handled === basicLength);
        delta = 0;
        handled++;
      }
    }
    delta++;
    n++;
  }
  return output.join("");
}

const separators = /[\x2E\u3002\uFF0E\uFF61]/g;

// Applies fn to each label of a domain, keeping an e-mail's local part.
function mapDomain(domain, fn) {
  const parts = String(domain).split("@");
  let result = "";
  if (parts.length > 1) {
    result = parts[0] + "@";
    domain = parts[1];
  } else {
    domain = parts[0];
  }
  const labels = domain.replace(separators, ".").split(".");
  return result + labels.map(fn).join(".");
}

export function toUnicode(input) {
  return mapDomain(input, (label) => (/^xn--/.test(label) ? decode(label.slice(4).toLowerCase()) : label));
}

export function toASCII(input) {
  return mapDomain(input, (label) => (/[^\0-\x7F]/.test(label) ? "xn--" + encode(label) : label));
}

export const ucs2 = { decode: ucs2decode, encode: ucs2encode };
export const version = "2.1.0";

const punycode = { version, ucs2, decode, encode, toASCII, toUnicode };
export default punycode;
