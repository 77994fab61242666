// node:buffer: encodings (base64url, latin1, hex, utf16le), compare,
// integer reads and writes.
const { Buffer } = require("node:buffer");

exports.handler = async () => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(0xdeadbeef, 0);
  b.writeInt16BE(-2, 4);
  return {
    base64url: Buffer.from("hello??>>").toString("base64url"),
    fromBase64url: Buffer.from("aGVsbG8_Pz4-", "base64url").toString(),
    latin1: Buffer.from([0xe9, 0x41]).toString("latin1"),
    utf16: Buffer.from("hé", "utf16le").toString("hex"),
    compare: Buffer.compare(Buffer.from("a"), Buffer.from("b")),
    equals: Buffer.from("x").equals(Buffer.from("x")),
    ints: [b.readUInt32LE(0), b.readInt16BE(4), b.toString("hex")],
    concat: Buffer.concat([Buffer.from("ab"), Buffer.from("cd")]).toString(),
    byteLength: Buffer.byteLength("héllo"),
    json: Buffer.from("hi").toJSON(),
    isBuffer: Buffer.isBuffer(new Uint8Array(1)),
  };
};
