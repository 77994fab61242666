// ajv 8 with ajv-formats: compiled schemas (new Function) and errors.
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true });
addFormats(ajv);
const validate = ajv.compile({
  type: "object",
  properties: {
    id: { type: "integer" },
    email: { type: "string", format: "email" },
    at: { type: "string", format: "date-time" },
    level: { type: "string", enum: ["a", "b"], default: "a" },
  },
  required: ["id", "email"],
  additionalProperties: false,
});

exports.handler = async () => {
  const good = { id: "7", email: "x@example.com", at: "2020-01-01T00:00:00Z" };
  const goodOk = validate(good);
  const badOk = validate({ id: "x", email: "no", extra: 1 });
  return {
    goodOk,
    good,
    badOk,
    errors: validate.errors.map((e) => ({ path: e.instancePath, keyword: e.keyword })),
    text: ajv.errorsText(validate.errors),
  };
};
