// xml2js (sax, events, timers): parse with attributes, and build.
const xml2js = require("xml2js");

exports.handler = async () => {
  const parsed = await xml2js.parseStringPromise('<root a="1"><item>x</item><item>y</item><empty/></root>', { explicitArray: false });
  const strict = await new Promise((resolve) => xml2js.parseString("<a><b></a>", (err) => resolve(err ? "error" : "ok")));
  const built = new xml2js.Builder({ headless: true, renderOpts: { pretty: false } }).buildObject({ root: { $: { id: "7" }, child: ["a", "b"] } });
  return { parsed, strict, built };
};
