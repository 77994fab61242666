// node:util: inspect, format, promisify, callbackify, isDeepStrictEqual, types.
const util = require("node:util");

exports.handler = async () => {
  const sleep = util.promisify((ms, cb) => setTimeout(() => cb(null, ms), ms));
  const cb = util.callbackify(async (x) => x * 2);
  const doubled = await new Promise((resolve) => cb(21, (err, v) => resolve(v)));
  return {
    inspect: util.inspect({ a: [1, 2, { b: "c" }], d: new Map([["k", 1]]), s: new Set([1]), n: null, u: undefined }, { depth: 4 }),
    inspectShallow: util.inspect({ a: { b: { c: { d: 1 } } } }, { depth: 1 }),
    format: util.format("%s=%d %j %o", "x", 42, { a: 1 }, [1]),
    slept: await sleep(5),
    doubled,
    deep: util.isDeepStrictEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }),
    notDeep: util.isDeepStrictEqual({ a: 1 }, { a: "1" }),
    types: [util.types.isPromise(Promise.resolve()), util.types.isDate(new Date()), util.types.isRegExp(/x/)],
    inherits: typeof util.inherits,
    textDecoder: new util.TextDecoder().decode(new Uint8Array([104, 105])),
  };
};
