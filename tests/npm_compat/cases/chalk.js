// chalk 5 (ESM-only), from CommonJS, with a fixed colour level.
exports.handler = async () => {
  const { Chalk, supportsColor } = await import("chalk");
  const chalk = new Chalk({ level: 1 });
  const truecolor = new Chalk({ level: 3 });
  return {
    red: chalk.red("x"),
    nested: chalk.bold.blue(`a ${chalk.underline("b")} c`),
    hex: truecolor.hex("#ff8800")("o"),
    none: new Chalk({ level: 0 }).green("plain"),
    supportsColor: typeof supportsColor,
  };
};
