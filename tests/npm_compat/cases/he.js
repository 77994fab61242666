// he: HTML entities.
const he = require("he");

exports.handler = async () => ({
  encoded: he.encode("foo © bar ≠ baz 𝌆 <qux>"),
  named: he.encode("<a href=\"x\">é</a>", { useNamedReferences: true }),
  decoded: he.decode("&lt;p&gt;&copy; &#x1D306; &amp;amp; &eacute;&notin;"),
  escaped: he.escape("<img src='x'>"),
});
