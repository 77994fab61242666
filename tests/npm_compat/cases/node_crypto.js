// node:crypto directly: hashes, HMAC, KDFs, AES-GCM with fixed inputs,
// timingSafeEqual, randomBytes/randomUUID shapes.
const crypto = require("node:crypto");

exports.handler = async () => {
  const key = Buffer.alloc(32, 7);
  const iv = Buffer.alloc(12, 1);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const enc = Buffer.concat([cipher.update("attack at dawn", "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAuthTag(tag);
  const dec = Buffer.concat([decipher.update(enc), decipher.final()]).toString();
  return {
    sha256: crypto.createHash("sha256").update("hello").digest("hex"),
    md5: crypto.createHash("md5").update("hello").digest("base64"),
    sha1: crypto.createHash("sha1").update("a").update("b").digest("hex"),
    hmac: crypto.createHmac("sha256", "key").update("msg").digest("hex"),
    pbkdf2: crypto.pbkdf2Sync("pw", "salt", 1000, 16, "sha256").toString("hex"),
    scrypt: crypto.scryptSync("pw", "salt", 16).toString("hex"),
    gcm: enc.toString("hex"),
    tag: tag.toString("hex"),
    dec,
    equal: crypto.timingSafeEqual(Buffer.from("abc"), Buffer.from("abc")),
    random: crypto.randomBytes(16).length,
    uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
    hashes: ["sha256", "md5", "sha512"].every((h) => crypto.getHashes().includes(h)),
  };
};
