// Everyday node: modules: querystring, string_decoder, url, os,
// timers/promises, assert, structuredClone, process.stdout.
const querystring = require("node:querystring");
const { StringDecoder } = require("node:string_decoder");
const url = require("node:url");
const os = require("node:os");
const assert = require("node:assert");
const { setTimeout: sleep } = require("node:timers/promises");

exports.handler = async () => {
  const decoder = new StringDecoder("utf8");
  const euro = Buffer.from("€");
  const partial = decoder.write(euro.subarray(0, 1)) + decoder.write(euro.subarray(1));
  let assertion;
  try {
    assert.deepStrictEqual({ a: 1 }, { a: 2 });
  } catch (err) {
    assertion = err.code;
  }
  const clone = structuredClone({ d: new Date(0), m: new Map([[1, 2]]) });
  return {
    qs: querystring.parse("a=1&b=2&b=3&c=%20x"),
    qsOut: querystring.stringify({ a: [1, 2], b: "c d" }),
    partial,
    parsed: url.parse("https://u:p@example.com:8080/p/a?x=1#h").pathname,
    fileUrl: url.pathToFileURL("/tmp/a b.txt").href,
    fromFileUrl: url.fileURLToPath("file:///tmp/a%20b.txt"),
    eol: os.EOL,
    platform: os.platform(),
    slept: await sleep(2, "done"),
    assertion,
    clone: [clone.d instanceof Date, clone.m.get(1)],
    stdout: typeof process.stdout.write,
  };
};
