// joi: validation with conversions and every error's details.
const Joi = require("joi");

const schema = Joi.object({
  username: Joi.string().alphanum().min(3).max(30).required(),
  birth: Joi.number().integer().min(1900).max(2013),
  email: Joi.string().email({ tlds: { allow: false } }),
  when: Joi.date().iso(),
  tags: Joi.array().items(Joi.string()).unique(),
});

exports.handler = async () => {
  const good = schema.validate({ username: "abc123", birth: "1994", when: "2020-01-02T03:04:05Z" });
  const bad = schema.validate({ username: "a!", birth: 1800, email: "x@", tags: ["a", "a"] }, { abortEarly: false });
  return {
    value: { ...good.value, when: good.value.when.toISOString() },
    goodError: good.error === undefined,
    details: bad.error.details.map((d) => ({ path: d.path, type: d.type, message: d.message })),
  };
};
