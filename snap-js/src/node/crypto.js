// node:crypto: LLRT's crypto with timingSafeEqual, which Node has and
// LLRT lacks.
import llrt from "snapjs:llrt/crypto";
export * from "snapjs:llrt/crypto";

function codeError(Base, code, message) {
  const err = new Base(message);
  Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}
function bytesOf(v, name) {
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be an instance of ArrayBuffer, Buffer, TypedArray, or DataView.`);
}

export function timingSafeEqual(a, b) {
  const x = bytesOf(a, "buf1");
  const y = bytesOf(b, "buf2");
  if (x.byteLength !== y.byteLength) {
    throw codeError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
  }
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

llrt.timingSafeEqual = timingSafeEqual;
export default llrt;
