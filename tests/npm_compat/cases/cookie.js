// cookie 1: parse and serialize.
const cookie = require("cookie");

exports.handler = async () => ({
  parsed: cookie.parse("foo=bar; equation=E%3Dmc%5E2; empty=; quoted=\"x y\""),
  serialized: cookie.serialize("session", "a b;c", {
    httpOnly: true,
    maxAge: 3600,
    path: "/",
    sameSite: "strict",
    secure: true,
    expires: new Date(Date.UTC(2030, 0, 1)),
  }),
});
