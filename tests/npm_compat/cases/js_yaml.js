// js-yaml: load with the default schema, dump, and a parse error.
const yaml = require("js-yaml");

exports.handler = async () => {
  const value = yaml.load("a: 1\nb: [x, y]\nc:\n  d: true\n  e: ~\nf: 2001-12-14\n");
  let error;
  try {
    yaml.load("a: b: c");
  } catch (e) {
    error = e.name;
  }
  return { value, dump: yaml.dump({ a: [1, 2], b: { c: "d e" }, s: "x: y" }), error };
};
