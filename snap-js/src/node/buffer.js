// node:buffer: LLRT's buffer; the Buffer class itself is patched at engine
// start (patches/buffer.js), so the global and this module's agree.
import llrt from "snapjs:llrt/buffer";
export * from "snapjs:llrt/buffer";

export const kMaxLength = 2 ** 32 - 1;
export const kStringMaxLength = 2 ** 29 - 24;
export const Blob = globalThis.Blob;
export const File = globalThis.File;
export function isUtf8(input) {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(input);
    return true;
  } catch {
    return false;
  }
}
export function isAscii(input) {
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  for (const b of bytes) if (b > 0x7f) return false;
  return true;
}
Object.assign(llrt, { kMaxLength, kStringMaxLength, Blob, File, isUtf8, isAscii });
export default llrt;
