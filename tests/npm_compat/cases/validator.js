// validator: string validators and sanitizers.
const validator = require("validator");

exports.handler = async () => ({
  email: ["foo@bar.com", "bad@", "a.b+c@sub.example.co.uk"].map((s) => validator.isEmail(s)),
  url: ["https://example.com/a?b=c", "ftp//x", "http://localhost:3000"].map((s) => validator.isURL(s, { require_tld: false })),
  uuid: validator.isUUID("123e4567-e89b-12d3-a456-426614174000"),
  ip: [validator.isIP("10.0.0.1"), validator.isIP("::1", 6), validator.isIP("999.1.1.1")],
  normalized: validator.normalizeEmail("Some.One+tag@GoogleMail.com"),
  escaped: validator.escape("<b>&'\""),
  json: validator.isJSON('{"a":1}'),
  iso: validator.isISO8601("2020-01-01T00:00:00Z"),
  card: validator.isCreditCard("4111111111111111"),
  slug: validator.isSlug("hello-world"),
});
