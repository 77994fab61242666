// crypto-js: pure JS hashes, HMAC and AES with a fixed key and IV.
const CryptoJS = require("crypto-js");

exports.handler = async () => {
  const key = CryptoJS.enc.Hex.parse("000102030405060708090a0b0c0d0e0f");
  const iv = CryptoJS.enc.Hex.parse("0f0e0d0c0b0a09080706050403020100");
  const enc = CryptoJS.AES.encrypt("secret message", key, { iv });
  return {
    sha256: CryptoJS.SHA256("hello").toString(),
    md5: CryptoJS.MD5("hello").toString(CryptoJS.enc.Base64),
    hmac: CryptoJS.HmacSHA512("msg", "key").toString(),
    aes: enc.toString(),
    dec: CryptoJS.AES.decrypt(enc.toString(), key, { iv }).toString(CryptoJS.enc.Utf8),
    pbkdf2: CryptoJS.PBKDF2("pw", "salt", { keySize: 4, iterations: 10 }).toString(),
  };
};
