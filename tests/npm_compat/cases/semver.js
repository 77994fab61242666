// semver: ranges, sorting, coercion.
const semver = require("semver");

exports.handler = async () => ({
  valid: semver.valid("1.2.3-beta.1"),
  satisfies: semver.satisfies("1.4.0", "^1.2.0 || >=2.0.0 <3"),
  maxSatisfying: semver.maxSatisfying(["1.2.3", "1.4.0", "2.0.0"], "~1.2"),
  sorted: semver.sort(["1.10.0", "1.2.0", "1.2.0-rc.1"]),
  inc: semver.inc("1.2.3", "preminor", "beta"),
  coerce: semver.coerce("v3.4 beta").version,
  diff: semver.diff("1.2.3", "1.3.0"),
  range: new semver.Range(">=1.2 <2").toString(),
});
