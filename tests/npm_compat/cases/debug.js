// debug 4 (its node build: tty, util.inspect, process.env.DEBUG), its
// output captured through debug.log.
const util = require("node:util");
const createDebug = require("debug");

exports.handler = async () => {
  const lines = [];
  createDebug.enable("compat:*,-compat:skip");
  createDebug.inspectOpts.hideDate = true;
  const log = createDebug("compat:main");
  log.useColors = false;
  log.log = (...args) => lines.push(util.format(...args));
  log("hello %s %d %o", "world", 42, { a: [1, 2] });
  const skipped = createDebug("compat:skip");
  return {
    lines: lines.map((l) => l.replace(/ \+\d+ms$/, "")),
    enabled: log.enabled,
    skipped: skipped.enabled,
    namespaces: createDebug.disable(),
  };
};
