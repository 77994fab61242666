// node:crypto: LLRT's crypto (hashes, HMAC, random, webcrypto) with what
// Node has and LLRT lacks outside crypto.subtle: Cipheriv/Decipheriv,
// PBKDF2, scrypt, HKDF, KeyObject, Sign/Verify, generateKeyPair and
// timingSafeEqual. The OpenSSL work is snapjs:native/crypto
// (src/crypto/); this file gives it Node's API and errors.
import llrt from "snapjs:llrt/crypto";
import * as native from "snapjs:native/crypto";
export * from "snapjs:llrt/crypto";

const B = globalThis.Buffer;
const llrtCreateHmac = llrt.createHmac;
const llrtCreateHash = llrt.createHash;

function codeError(Base, code, message) {
  const err = new Base(message);
  Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}
function typeName(v) {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "function") return `function ${v.name}`;
  if (typeof v === "object") return v.constructor && v.constructor.name ? `an instance of ${v.constructor.name}` : "an object";
  let shown = String(v);
  if (typeof v === "string") shown = `'${v.length > 25 ? v.slice(0, 25) + "..." : v}'`;
  return `type ${typeof v} (${shown})`;
}
function invalidArg(name, expected, v) {
  return codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be ${expected}. Received ${typeName(v)}`);
}
function bytesOf(v, name) {
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw codeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be an instance of ArrayBuffer, Buffer, TypedArray, or DataView.`);
}
// A string (in `enc`) or bytes, as a Uint8Array.
function dataOf(v, enc, name, expected) {
  if (typeof v === "string") return new Uint8Array(B.from(v, enc || "utf8"));
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw invalidArg(name, expected || "of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView", v);
}
function toBuffer(u8) {
  return B.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
function encoded(buf, enc) {
  return enc && enc !== "buffer" ? buf.toString(enc) : buf;
}
function concat(chunks) {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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

// ---- hashes ----

const HASHES = [
  "RSA-MD5", "RSA-SHA1", "RSA-SHA224", "RSA-SHA256", "RSA-SHA384", "RSA-SHA512",
  "md5", "md5WithRSAEncryption", "sha1", "sha1WithRSAEncryption", "sha224", "sha224WithRSAEncryption",
  "sha256", "sha256WithRSAEncryption", "sha384", "sha384WithRSAEncryption", "sha512", "sha512WithRSAEncryption",
];
export function getHashes() {
  return HASHES.slice();
}
export function getCiphers() {
  return native.ciphers();
}
export function getCurves() {
  return ["prime256v1", "secp256k1", "secp384r1", "secp521r1"];
}
// Node's digest names (and the RSA-SHA256 style) as OpenSSL's.
function digestName(name) {
  const n = String(name).toLowerCase();
  const m = /^(?:rsa-)?(sha\d+|md5|sha1)(?:withrsaencryption)?$/.exec(n);
  return m ? m[1] : n.replace(/^sha-/, "sha");
}

export function createHmac(algorithm, key, options) {
  if (key instanceof KeyObject) {
    if (key.type !== "secret") throw codeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", `Invalid key object type ${key.type}, expected secret.`);
    key = toBuffer(key[SECRET]);
  }
  return llrtCreateHmac(algorithm, key, options);
}
// `Hash#copy` (LLRT's hash has none; the AWS SDK's SigV4 signer calls
// it): the hash keeps what it was fed, up to COPY_LIMIT bytes, and a copy
// replays that into a new LLRT hash. A hash fed more than that can no
// longer be copied (an Error naming the limit), so a long streaming hash
// holds no more than COPY_LIMIT.
const COPY_LIMIT = 8 * 1024 * 1024;
export class Hash {
  #algorithm;
  #options;
  #inner;
  #fed = [];
  #size = 0;
  #done = false;
  constructor(algorithm, options) {
    this.#algorithm = algorithm;
    this.#options = options;
    this.#inner = llrtCreateHash(algorithm, options);
  }
  update(data, encoding) {
    if (this.#done) throw codeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    const chunk = typeof data === "string" ? B.from(data, encoding) : B.from(data.buffer ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data);
    this.#inner.update(chunk);
    if (this.#fed !== null) {
      this.#size += chunk.length;
      if (this.#size > COPY_LIMIT) this.#fed = null;
      else this.#fed.push(B.from(chunk));
    }
    return this;
  }
  digest(encoding) {
    if (this.#done) throw codeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    this.#done = true;
    this.#fed = [];
    return encoding === undefined ? this.#inner.digest() : this.#inner.digest(encoding);
  }
  copy(options) {
    if (this.#done) throw codeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    if (this.#fed === null) {
      throw codeError(Error, "ERR_NOT_SUPPORTED", `snapjs copies a hash only while it has been fed at most ${COPY_LIMIT} bytes`);
    }
    const copy = new Hash(this.#algorithm, options ?? this.#options);
    for (const chunk of this.#fed) copy.update(chunk);
    return copy;
  }
}
export function createHash(algorithm, options) {
  return new Hash(algorithm, options);
}

// ---- KDFs ----

function checkInt(v, name, min, max) {
  if (typeof v !== "number") throw invalidArg(name, "of type number", v);
  if (!Number.isInteger(v)) throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be an integer. Received ${v}`);
  if (v < min || v > max) throw codeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. Received ${v}`);
}
function keyBytes(v, name) {
  if (v instanceof KeyObject) return v[SECRET];
  return dataOf(v, "utf8", name);
}

export function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  const pw = keyBytes(password, "password");
  const s = dataOf(salt, "utf8", "salt");
  checkInt(iterations, "iterations", 1, 2147483647);
  checkInt(keylen, "keylen", 0, 2147483647);
  if (typeof digest !== "string") throw invalidArg("digest", "of type string", digest);
  let out;
  try {
    out = native.pbkdf2(pw, s, iterations, keylen, digestName(digest));
  } catch {
    throw codeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", `Invalid digest: ${digest}`);
  }
  return toBuffer(out);
}
function deferred(fn, callback, args) {
  if (typeof callback !== "function") throw invalidArg("callback", "of type function", callback);
  const result = fn(...args);
  queueMicrotask(() => callback(null, result));
}
export function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  deferred(pbkdf2Sync, callback, [password, salt, iterations, keylen, digest]);
}

export function scryptSync(password, salt, keylen, options = {}) {
  const pw = keyBytes(password, "password");
  const s = dataOf(salt, "utf8", "salt");
  checkInt(keylen, "keylen", 0, 2147483647);
  const o = options || {};
  const N = o.N ?? o.cost ?? 16384;
  const r = o.r ?? o.blockSize ?? 8;
  const p = o.p ?? o.parallelization ?? 1;
  const maxmem = o.maxmem ?? 32 << 20;
  let out;
  try {
    out = native.scrypt(pw, s, [N, r, p, maxmem], keylen);
  } catch (err) {
    throw codeError(RangeError, "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", `Invalid scrypt params: ${err.message}`);
  }
  return toBuffer(out);
}
export function scrypt(password, salt, keylen, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  deferred(scryptSync, callback, [password, salt, keylen, options]);
}

export function hkdfSync(digest, ikm, salt, info, keylen) {
  if (typeof digest !== "string") throw invalidArg("digest", "of type string", digest);
  const k = keyBytes(ikm, "ikm");
  checkInt(keylen, "length", 0, 2147483647);
  let out;
  try {
    out = native.hkdf(digestName(digest), k, dataOf(salt, "utf8", "salt"), dataOf(info, "utf8", "info"), keylen);
  } catch {
    throw codeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", `Invalid digest: ${digest}`);
  }
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}
export function hkdf(digest, ikm, salt, info, keylen, callback) {
  deferred(hkdfSync, callback, [digest, ikm, salt, info, keylen]);
}

// ---- ciphers ----

class CipherBase {
  constructor(encrypt, algorithm, key, iv, options) {
    if (typeof algorithm !== "string") throw invalidArg("cipher", "of type string", algorithm);
    const info = native.cipherInfo(algorithm);
    if (!info) throw codeError(Error, "ERR_CRYPTO_UNKNOWN_CIPHER", "Unknown cipher");
    const [keyLen, ivLen, aead] = info;
    const k = key instanceof KeyObject ? key[SECRET] : dataOf(key, "utf8", "key", "of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey");
    const v = iv === null || iv === undefined ? null : dataOf(iv, "utf8", "iv", "of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView");
    if (k.length !== keyLen) throw codeError(RangeError, "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length");
    if (aead ? !v || v.length === 0 || (algorithm.toLowerCase() === "chacha20-poly1305" && v.length !== 12) : (ivLen || 0) !== (v ? v.length : 0)) {
      throw codeError(TypeError, "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector");
    }
    this._encrypt = encrypt;
    this._name = algorithm;
    this._key = k.slice();
    this._iv = v && v.slice();
    this._aead = !!aead;
    this._chunks = [];
    this._padding = true;
    this._aad = undefined;
    this._tag = undefined;
    this._tagLength = (options && options.authTagLength) || 16;
    this._done = false;
    this._decoder = null;
  }
  update(data, inputEncoding, outputEncoding) {
    if (this._done) throw codeError(Error, "ERR_CRYPTO_INVALID_STATE", "Invalid state for operation update");
    this._chunks.push(dataOf(data, inputEncoding, "data").slice());
    return encoded(B.alloc(0), outputEncoding);
  }
  final(outputEncoding) {
    if (this._done) throw codeError(Error, "ERR_CRYPTO_INVALID_STATE", "Invalid state for operation final");
    this._done = true;
    let result;
    try {
      result = native.crypt(this._name, this._key, this._iv ?? undefined, this._encrypt, {
        padding: this._padding,
        aad: this._aad,
        tag: this._encrypt ? undefined : this._tag,
        tagLength: this._tagLength,
      }, concat(this._chunks));
    } catch (err) {
      if (this._aead && !this._encrypt) throw new Error("Unsupported state or unable to authenticate data");
      const e = new Error(err.message);
      if (/bad decrypt/.test(err.message)) e.code = "ERR_OSSL_BAD_DECRYPT";
      else if (/wrong final block length/.test(err.message)) e.code = "ERR_OSSL_WRONG_FINAL_BLOCK_LENGTH";
      throw e;
    }
    if (this._encrypt && this._aead) this._authTag = toBuffer(result.tag);
    return encoded(toBuffer(result.out), outputEncoding);
  }
  setAutoPadding(autoPadding = true) {
    this._padding = !!autoPadding;
    return this;
  }
  setAAD(buffer, options) {
    this._aad = dataOf(buffer, "utf8", "buffer").slice();
    return this;
  }
}
class Cipheriv extends CipherBase {
  constructor(algorithm, key, iv, options) {
    super(true, algorithm, key, iv, options);
  }
  getAuthTag() {
    if (!this._authTag) throw codeError(Error, "ERR_CRYPTO_INVALID_STATE", "Invalid state for operation getAuthTag");
    return this._authTag;
  }
}
class Decipheriv extends CipherBase {
  constructor(algorithm, key, iv, options) {
    super(false, algorithm, key, iv, options);
  }
  setAuthTag(tag) {
    if (!this._aead || this._done) throw codeError(Error, "ERR_CRYPTO_INVALID_STATE", "Invalid state for operation setAuthTag");
    const t = dataOf(tag, "utf8", "buffer");
    if (t.length < 4 || t.length > 16) throw codeError(TypeError, "ERR_CRYPTO_INVALID_AUTH_TAG", `Invalid authentication tag length: ${t.length}`);
    this._tag = t.slice();
    return this;
  }
}
export function createCipheriv(algorithm, key, iv, options) {
  return new Cipheriv(algorithm, key, iv, options);
}
export function createDecipheriv(algorithm, key, iv, options) {
  return new Decipheriv(algorithm, key, iv, options);
}

// ---- keys ----

const SECRET = Symbol("snapjs.secret");
const DER = Symbol("snapjs.der");

export class KeyObject {
  constructor(type, handle) {
    if (type !== "secret" && type !== "public" && type !== "private") {
      throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", `The argument 'type' is invalid. Received '${type}'`);
    }
    if (!handle || !(SECRET in handle || DER in handle)) throw invalidArg("handle", "of type object", handle);
    this._type = type;
    if (type === "secret") this[SECRET] = handle[SECRET];
    else {
      this[DER] = handle[DER];
      this._asym = handle.asym;
    }
  }
  get type() {
    return this._type;
  }
  get asymmetricKeyType() {
    return this._type === "secret" ? undefined : this._asym;
  }
  get asymmetricKeyDetails() {
    if (this._type === "secret") return undefined;
    const d = native.keyDetails(this[DER], this._type === "private");
    if (d.publicExponent !== undefined) d.publicExponent = BigInt(d.publicExponent);
    return d;
  }
  get symmetricKeySize() {
    return this._type === "secret" ? this[SECRET].length : undefined;
  }
  equals(other) {
    if (!(other instanceof KeyObject)) throw invalidArg("otherKeyObject", "an instance of KeyObject", other);
    if (other.type !== this.type) return false;
    const a = this.type === "secret" ? this[SECRET] : this[DER];
    const b = other.type === "secret" ? other[SECRET] : other[DER];
    return a.length === b.length && timingSafeEqual(a, b);
  }
  export(options) {
    if (this._type === "secret") {
      if (options && options.format === "jwk") return { kty: "oct", k: toBuffer(this[SECRET]).toString("base64url") };
      return B.from(this[SECRET]);
    }
    if (!options || typeof options !== "object") throw invalidArg("options", "of type object", options);
    const { format = "pem", type } = options;
    if (format !== "pem" && format !== "der") {
      throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", `The property 'options.format' is invalid. Received '${format}'`);
    }
    const ok = this._type === "private" ? ["pkcs1", "pkcs8", "sec1"] : ["pkcs1", "spki"];
    if (!ok.includes(type)) {
      throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", `The property 'options.type' is invalid. Received ${typeName(type) === "undefined" ? "undefined" : `'${type}'`}`);
    }
    if (type === "pkcs1" && this._asym !== "rsa") {
      throw codeError(Error, "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS", `The selected key encoding ${type} can only be used for RSA keys.`);
    }
    if (type === "sec1" && this._asym !== "ec") {
      throw codeError(Error, "ERR_CRYPTO_INCOMPATIBLE_KEY_OPTIONS", `The selected key encoding ${type} can only be used for EC keys.`);
    }
    const out = toBuffer(native.keyExport(this[DER], this._type === "private", format, type));
    return format === "pem" ? out.toString("latin1") : out;
  }
}

function secretKey(bytes) {
  return new KeyObject("secret", { [SECRET]: bytes });
}
function asymKey(type, asym, der) {
  return new KeyObject(type, { [DER]: der, asym });
}

export function createSecretKey(key, encoding) {
  if (typeof key === "string") return secretKey(new Uint8Array(B.from(key, encoding || "utf8")));
  return secretKey(dataOf(key, undefined, "key", "of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView").slice());
}

// A KeyObject (of `want`) from what Node's createPublicKey/createPrivateKey take.
function asymmetric(key, want) {
  const name = "key";
  if (key instanceof KeyObject) {
    if (want === "private") {
      if (key.type !== "private") throw codeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", `Invalid key object type ${key.type}, expected private.`);
      return key;
    }
    if (key.type === "secret") throw codeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", "Invalid key object type secret, expected private.");
    if (key.type === "public") return key;
    const parsed = native.keyParse(native.keyExport(key[DER], true, "der", "pkcs8"), false, false);
    return asymKey("public", parsed.type, parsed.der);
  }
  let data = key;
  let format = "pem";
  let type;
  if (key && typeof key === "object" && !ArrayBuffer.isView(key) && !(key instanceof ArrayBuffer)) {
    if (key.key instanceof KeyObject) return asymmetric(key.key, want);
    if (key.format === "jwk") throw codeError(Error, "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM", "JWK keys are not available in snapjs");
    data = key.key;
    format = key.format || "pem";
    type = key.type;
    if (typeof data === "string" && key.encoding) data = B.from(data, key.encoding);
  }
  if (typeof data !== "string" && !ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer)) {
    throw invalidArg(name, "of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey", data);
  }
  const bytes = dataOf(data, "utf8", name);
  let parsed;
  try {
    parsed = native.keyParse(bytes, format === "pem", want === "private");
  } catch (err) {
    if (format === "pem") {
      const e = new Error("error:1E08010C:DECODER routines::unsupported");
      e.code = "ERR_OSSL_UNSUPPORTED";
      e.library = "DECODER routines";
      e.reason = "unsupported";
      throw e;
    }
    throw err;
  }
  void type;
  return asymKey(want, parsed.type, parsed.der);
}
export function createPublicKey(key) {
  return asymmetric(key, "public");
}
export function createPrivateKey(key) {
  return asymmetric(key, "private");
}

function encodePair(privateDer, publicDer, asym, options) {
  const priv = asymKey("private", asym, privateDer);
  const pub = asymKey("public", asym, publicDer);
  const pe = options && options.publicKeyEncoding;
  const ke = options && options.privateKeyEncoding;
  return {
    publicKey: pe ? pub.export(pe) : pub,
    privateKey: ke ? priv.export(ke) : priv,
  };
}
export function generateKeyPairSync(type, options = {}) {
  if (typeof type !== "string") throw invalidArg("type", "of type string", type);
  const o = options || {};
  let pair;
  if (type === "rsa") {
    checkInt(o.modulusLength, "options.modulusLength", 0, 4294967295);
    pair = native.generate("rsa", o.modulusLength, o.publicExponent ?? 65537, undefined);
  } else if (type === "ec") {
    if (typeof o.namedCurve !== "string") throw invalidArg("options.namedCurve", "of type string", o.namedCurve);
    try {
      pair = native.generate("ec", undefined, undefined, o.namedCurve);
    } catch {
      throw codeError(TypeError, "ERR_CRYPTO_INVALID_CURVE", "Invalid EC curve name");
    }
  } else if (type === "ed25519" || type === "x25519") {
    pair = native.generate(type, undefined, undefined, undefined);
  } else {
    throw codeError(TypeError, "ERR_INVALID_ARG_VALUE", `The argument 'type' must be a supported key type. Received '${type}'`);
  }
  return encodePair(pair.private, pair.public, type, o);
}
export function generateKeyPair(type, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = undefined;
  }
  if (typeof callback !== "function") throw invalidArg("callback", "of type function", callback);
  const { publicKey, privateKey } = generateKeyPairSync(type, options);
  queueMicrotask(() => callback(null, publicKey, privateKey));
}
export function generateKeySync(type, options) {
  const length = options && options.length;
  checkInt(length, "options.length", type === "hmac" ? 8 : 128, 2147483647);
  return secretKey(new Uint8Array(llrt.randomBytes(length >> 3)));
}

// ---- signatures ----

const RSA_PKCS1_PADDING = 1;
const RSA_PKCS1_PSS_PADDING = 6;

// The key and options of a sign/verify call.
function signingKey(key, want) {
  let opts = {};
  let keyObject;
  if (key && typeof key === "object" && !(key instanceof KeyObject) && !ArrayBuffer.isView(key) && "key" in key) {
    opts = key;
  }
  if (want === "private") keyObject = createPrivateKey(key);
  else if (key instanceof KeyObject && key.type === "private") keyObject = key;
  else {
    // A private key's PEM verifies too.
    try {
      keyObject = createPublicKey(key);
    } catch (err) {
      keyObject = createPrivateKey(key);
    }
  }
  const padding = opts.padding ?? RSA_PKCS1_PADDING;
  const saltLength = opts.saltLength ?? -2;
  const p1363 = opts.dsaEncoding === "ieee-p1363";
  return { keyObject, options: { padding, saltLength, p1363, private: keyObject.type === "private" } };
}
function signWith(algorithm, data, key) {
  const { keyObject, options } = signingKey(key, "private");
  const sig = native.sign(algorithm ? digestName(algorithm) : undefined, keyObject[DER], data, options);
  return toBuffer(sig);
}
function verifyWith(algorithm, data, key, signature) {
  const { keyObject, options } = signingKey(key, "public");
  return native.verify(algorithm ? digestName(algorithm) : undefined, keyObject[DER], data, signature, options);
}

class Sign {
  constructor(algorithm) {
    this._algorithm = algorithm;
    this._chunks = [];
  }
  update(data, inputEncoding) {
    this._chunks.push(dataOf(data, inputEncoding, "data").slice());
    return this;
  }
  sign(privateKey, outputEncoding) {
    return encoded(signWith(this._algorithm, concat(this._chunks), privateKey), outputEncoding);
  }
}
class Verify {
  constructor(algorithm) {
    this._algorithm = algorithm;
    this._chunks = [];
  }
  update(data, inputEncoding) {
    this._chunks.push(dataOf(data, inputEncoding, "data").slice());
    return this;
  }
  verify(publicKey, signature, signatureEncoding) {
    const sig = dataOf(signature, signatureEncoding, "signature");
    return verifyWith(this._algorithm, concat(this._chunks), publicKey, sig);
  }
}
function checkDigest(algorithm) {
  if (typeof algorithm !== "string") throw invalidArg("algorithm", "of type string", algorithm);
  const n = digestName(algorithm);
  if (!HASHES.includes(n)) throw codeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", "Invalid digest");
}
export function createSign(algorithm) {
  checkDigest(algorithm);
  return new Sign(algorithm);
}
export function createVerify(algorithm) {
  checkDigest(algorithm);
  return new Verify(algorithm);
}
export function sign(algorithm, data, key, callback) {
  const sig = signWith(algorithm ?? undefined, dataOf(data, undefined, "data", "an instance of Buffer, TypedArray, or DataView"), key);
  if (typeof callback === "function") {
    queueMicrotask(() => callback(null, sig));
    return undefined;
  }
  return sig;
}
export function verify(algorithm, data, key, signature, callback) {
  const ok = verifyWith(algorithm ?? undefined, dataOf(data, undefined, "data", "an instance of Buffer, TypedArray, or DataView"), key, dataOf(signature, undefined, "signature"));
  if (typeof callback === "function") {
    queueMicrotask(() => callback(null, ok));
    return undefined;
  }
  return ok;
}

export const constants = {
  RSA_PKCS1_PADDING,
  RSA_NO_PADDING: 3,
  RSA_PKCS1_OAEP_PADDING: 4,
  RSA_PKCS1_PSS_PADDING,
  RSA_PSS_SALTLEN_DIGEST: -1,
  RSA_PSS_SALTLEN_MAX_SIGN: -2,
  RSA_PSS_SALTLEN_AUTO: -2,
};

Object.assign(llrt, {
  timingSafeEqual, getHashes, getCiphers, getCurves, createHash, Hash, createHmac, pbkdf2, pbkdf2Sync, scrypt, scryptSync,
  hkdf, hkdfSync, createCipheriv, createDecipheriv, KeyObject, createSecretKey, createPublicKey, createPrivateKey,
  generateKeyPair, generateKeyPairSync, generateKeySync, createSign, createVerify, sign, verify, constants,
});
export default llrt;
