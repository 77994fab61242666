// pino 10 to a destination stream the handler reads back: levels, child
// loggers, serializers and redaction (time, pid and hostname left out).
const pino = require("pino");

exports.handler = async () => {
  const lines = [];
  const dest = { write: (s) => lines.push(s) };
  const logger = pino(
    { level: "debug", base: undefined, timestamp: false, redact: ["password"], serializers: { err: pino.stdSerializers.err } },
    dest,
  );
  logger.info("hello");
  logger.debug({ user: "ada", password: "x" }, "with object");
  logger.child({ req: 7 }).warn("from child %s", "arg");
  logger.trace("not logged");
  const err = logger.error({ err: new TypeError("boom") }, "failed");
  const parsed = lines.map((l) => JSON.parse(l));
  for (const p of parsed) if (p.err) p.err = { type: p.err.type, message: p.err.message, hasStack: typeof p.err.stack === "string" };
  return { parsed, levels: pino.levels.values, err };
};
