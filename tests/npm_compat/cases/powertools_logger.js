// @aws-lambda-powertools/logger 2: structured logs on process.stdout
// (its own node:console Console); the answer is the logger's state.
const { Logger } = require("@aws-lambda-powertools/logger");

const logger = new Logger({ serviceName: "compat", logLevel: "DEBUG", persistentKeys: { team: "snap" } });

exports.handler = async (event, context) => {
  logger.addContext(context);
  logger.appendKeys({ request: "one" });
  logger.info("hello", { extra: 1 });
  logger.debug("debugging");
  const child = logger.createChild({ serviceName: "child" });
  child.warn("from child");
  return {
    level: logger.getLevelName(),
    persistent: logger.getPersistentLogAttributes(),
    childLevel: child.getLevelName(),
    sampled: typeof logger.isSampled === "function" ? typeof logger.isSampled() : "none",
  };
};
