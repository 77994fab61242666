// yaml 2: anchors, tags, comments kept through a document, and stringify.
const YAML = require("yaml");

const src = `# config
defaults: &defaults
  adapter: postgres
  host: localhost
development:
  <<: *defaults
  database: dev
list: [1, 2.5, "three", null, true]
when: 2001-12-14
`;

exports.handler = async () => {
  const value = YAML.parse(src, { merge: true });
  const doc = YAML.parseDocument(src);
  doc.set("added", { nested: [1, 2] });
  return {
    value,
    out: doc.toString(),
    stringified: YAML.stringify({ a: [1, { b: "c" }], s: "multi\nline" }),
    error: (() => { try { YAML.parse("a: [1, 2"); } catch (e) { return e.name; } })(),
  };
};
