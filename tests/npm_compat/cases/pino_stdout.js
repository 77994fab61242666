// pino 10 with its default destination (sonic-boom on fd 1, process.stdout).
const pino = require("pino");

const logger = pino({ name: "compat" });

exports.handler = async () => {
  logger.info({ case: "pino_stdout" }, "written to stdout");
  logger.flush();
  return { level: logger.level, isLevelEnabled: logger.isLevelEnabled("debug"), version: typeof pino.version };
};
