// iconv-lite: legacy encodings to and from Buffers.
const iconv = require("iconv-lite");

exports.handler = async () => ({
  win1252: iconv.encode("café €", "win1252").toString("hex"),
  sjis: iconv.encode("日本語", "shift_jis").toString("hex"),
  utf16: iconv.encode("hé", "utf16le").toString("hex"),
  decoded: iconv.decode(Buffer.from([0x63, 0x61, 0x66, 0xe9]), "latin1"),
  koi8: iconv.decode(Buffer.from("f0d2c9d7c5d4", "hex"), "koi8-r"),
  exists: iconv.encodingExists("cp437"),
});
