// ms: durations both ways.
const ms = require("ms");

exports.handler = async () => ({
  parsed: ["2 days", "1d", "10h", "2.5 hrs", "1m", "5s", "100", "-3 days", "1y"].map((s) => ms(s)),
  long: ms(60000, { long: true }),
  short: [1000, 3600000, 86400000 * 3].map((n) => ms(n)),
  invalid: ms("nope") === undefined,
});
