// dotenv: parse a .env file shipped with the function (node:fs, node:path)
// into an object, never touching process.env.
const fs = require("node:fs");
const path = require("node:path");
const dotenv = require("dotenv");

exports.handler = async () => {
  const file = path.join(__dirname, "..", "templates", "app.env");
  const parsed = dotenv.parse(fs.readFileSync(file));
  const target = {};
  const result = dotenv.config({ path: file, processEnv: target, quiet: true });
  return { parsed, target, error: result.error ? result.error.code : null, notInEnv: process.env.COMPAT_NAME === undefined };
};
