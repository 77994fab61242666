// TextDecoder with the single-byte labels (latin1, ascii,
// windows-1252...: byte for byte, as Node, named "windows-1252") over
// LLRT's, loaded on the first use of the global (patches/globals.js).
const NativeDecoder = globalThis[Symbol.for("snapjs.nativeTextDecoder")];
let result;
// --- TextDecoder: windows-1252 (labels latin1, iso-8859-1, ascii, ...).
{
  const w1252 = new Set(["ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252"]);
  class TextDecoder {
    #native;
    #single = false;
    #fatal;
    #ignoreBOM;
    constructor(label = "utf-8", options = {}) {
      const name = String(label).trim().toLowerCase();
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
      if (w1252.has(name)) this.#single = true;
      else this.#native = new NativeDecoder(label, options);
    }
    get encoding() {
      return this.#single ? "windows-1252" : this.#native.encoding;
    }
    get fatal() {
      return this.#single ? this.#fatal : this.#native.fatal;
    }
    get ignoreBOM() {
      return this.#single ? this.#ignoreBOM : this.#native.ignoreBOM;
    }
    decode(input, options) {
      if (!this.#single) return this.#native.decode(input, options);
      if (input === undefined) return "";
      const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
      let s = "";
      for (let i = 0; i < bytes.length; i += 4096) {
        const part = [];
        for (let j = i; j < Math.min(bytes.length, i + 4096); j++) {
          const b = bytes[j];
          part.push(b);
        }
        s += String.fromCharCode.apply(null, part);
      }
      return s;
    }
    get [Symbol.toStringTag]() {
      return "TextDecoder";
    }
  }
  result = TextDecoder;
}

export default result;
