// qs: nested query strings both ways.
const qs = require("qs");

exports.handler = async () => ({
  parsed: qs.parse("a[b][c]=1&list[]=x&list[]=y&e=%20z&arr[1]=b&arr[0]=a"),
  stringified: qs.stringify({ a: { b: [1, 2] }, c: "d e", f: null }, { encodeValuesOnly: true }),
  brackets: qs.stringify({ x: [1, 2] }, { arrayFormat: "brackets" }),
  dots: qs.parse("a.b=c", { allowDots: true }),
});
