// node:zlib: round trips, and inflating bytes Node made (compressors may
// differ byte for byte, so compressed output itself is not compared).
const zlib = require("node:zlib");
const { promisify } = require("node:util");

const text = "hello hello hello zlib ".repeat(20);
const fromNode = "H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==";

exports.handler = async () => {
  const gz = zlib.gzipSync(text);
  const gunzip = promisify(zlib.gunzip);
  return {
    gzipRoundTrip: zlib.gunzipSync(gz).toString() === text,
    deflateRoundTrip: zlib.inflateSync(zlib.deflateSync(text)).toString() === text,
    rawRoundTrip: zlib.inflateRawSync(zlib.deflateRawSync(text)).toString() === text,
    brotliRoundTrip: zlib.brotliDecompressSync(zlib.brotliCompressSync(text)).toString() === text,
    fromNode: (await gunzip(Buffer.from(fromNode, "base64"))).toString(),
    smaller: gz.length < text.length,
    magic: gz.subarray(0, 2).toString("hex"),
  };
};
