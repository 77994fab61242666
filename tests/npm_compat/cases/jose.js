// jose 6 (WebCrypto): HS256 with fixed claims, ES256 with a generated key,
// a JWK thumbprint, and a verification failure.
const jose = require("jose");

exports.handler = async () => {
  const secret = new TextEncoder().encode("a-string-secret-at-least-256-bits-long");
  const token = await new jose.SignJWT({ role: "admin" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("42")
    .setIssuedAt(1700000000)
    .setExpirationTime(1700003600)
    .sign(secret);
  const { payload } = await jose.jwtVerify(token, secret, { currentDate: new Date(1700000100000) });
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256");
  const es = await new jose.SignJWT({ a: 1 }).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
  const verified = await jose.jwtVerify(es, publicKey);
  let failure;
  try {
    await jose.jwtVerify(token, new TextEncoder().encode("another-secret-that-is-long-enough-too"));
  } catch (err) {
    failure = err.code;
  }
  const thumbprint = await jose.calculateJwkThumbprint({ kty: "oct", k: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow" });
  return { token, payload, es256: verified.payload, alg: verified.protectedHeader.alg, failure, thumbprint };
};
