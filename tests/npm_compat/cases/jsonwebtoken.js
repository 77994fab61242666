// jsonwebtoken: HS256 (deterministic token), RS256 with a fresh key pair,
// and the errors of a bad signature and an expired token.
const jwt = require("jsonwebtoken");
const crypto = require("node:crypto");

exports.handler = async () => {
  const token = jwt.sign({ sub: "42", role: "admin", iat: 1700000000 }, "s3cret", { algorithm: "HS256", expiresIn: 3600 });
  const decoded = jwt.verify(token, "s3cret", { clockTimestamp: 1700000100 });
  const errors = {};
  try {
    jwt.verify(token, "wrong");
  } catch (err) {
    errors.bad = `${err.name}: ${err.message}`;
  }
  try {
    jwt.verify(token, "s3cret", { clockTimestamp: 1800000000 });
  } catch (err) {
    errors.expired = `${err.name}: ${err.message}`;
  }
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rs = jwt.sign({ sub: "x" }, privateKey, { algorithm: "RS256", noTimestamp: true });
  return {
    token,
    decoded,
    errors,
    rs256: jwt.verify(rs, publicKey),
    header: jwt.decode(rs, { complete: true }).header,
  };
};
