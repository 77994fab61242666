// node:string_decoder: Node's StringDecoder for every encoding Node has
// (utf8, utf16le/ucs2, latin1/binary, base64, base64url, hex, ascii); LLRT's
// has no latin1. Multi-byte characters split across writes are kept until
// complete.

const names = {
  utf8: "utf8", "utf-8": "utf8", ucs2: "utf16le", "ucs-2": "utf16le", utf16le: "utf16le", "utf-16le": "utf16le",
  latin1: "latin1", binary: "latin1", base64: "base64", base64url: "base64url", hex: "hex", ascii: "ascii",
};

function normalizeEncoding(enc) {
  if (enc === undefined || enc === null || enc === "") return "utf8";
  const n = names[String(enc).toLowerCase()];
  if (n === undefined) {
    const err = new TypeError(`Unknown encoding: ${enc}`);
    err.code = "ERR_UNKNOWN_ENCODING";
    throw err;
  }
  return n;
}

function toBuffer(buf) {
  if (typeof buf === "string") return buf;
  if (Buffer.isBuffer(buf)) return buf;
  if (ArrayBuffer.isView(buf)) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const err = new TypeError(`The "buf" argument must be an instance of Buffer, TypedArray, or DataView.${buf == null ? ` Received ${buf}` : ` Received type ${typeof buf} (${String(buf)})`}`);
  err.code = "ERR_INVALID_ARG_TYPE";
  throw err;
}

// How many bytes at the end of `buf` start a UTF-8 character that is not
// complete yet.
function utf8Pending(buf) {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back];
    if ((b & 0xc0) === 0x80) continue;
    let need = 0;
    if (b >= 0xf0 && b <= 0xf4) need = 4;
    else if (b >= 0xe0) need = 3;
    else if (b >= 0xc2 && b < 0xe0) need = 2;
    else return 0;
    return need > back ? back : 0;
  }
  return 0;
}

export class StringDecoder {
  constructor(encoding) {
    this.encoding = normalizeEncoding(encoding);
    this.pending = Buffer.alloc(0);
  }

  write(buf) {
    buf = toBuffer(buf);
    if (typeof buf === "string") return buf;
    if (buf.length === 0 && this.pending.length === 0) return "";
    let all = this.pending.length > 0 ? Buffer.concat([this.pending, buf]) : buf;
    let keep = 0;
    switch (this.encoding) {
      case "utf8":
        keep = utf8Pending(all);
        break;
      case "utf16le":
        keep = all.length % 2;
        break;
      case "base64":
      case "base64url":
        keep = all.length % 3;
        break;
    }
    this.pending = keep > 0 ? Buffer.from(all.subarray(all.length - keep)) : Buffer.alloc(0);
    return all.toString(this.encoding, 0, all.length - keep);
  }

  end(buf) {
    let out = buf === undefined ? "" : this.write(buf);
    if (this.pending.length > 0) {
      const rest = this.pending;
      this.pending = Buffer.alloc(0);
      if (this.encoding === "utf8") out += "\ufffd";
      else if (this.encoding === "utf16le") out += rest.toString("utf16le", 0, rest.length - (rest.length % 2));
      else out += rest.toString(this.encoding);
    }
    return out;
  }

  text(buf, offset) {
    return this.write(buf.subarray(offset));
  }

  get lastNeed() {
    return this.pending.length;
  }
}

export default { StringDecoder };
