"use strict";
// js-heavy-init demo function: an init that builds real npm libraries, the
// work a snapshot skips. It compiles SCHEMAS JSON Schemas with ajv (each a
// generated validator function) and loads highlight.js with every language
// it ships registered. The same file runs under Node (through
// demo-functions/node-s3's runtime) and, bundled by build.mjs, under snapjs.
//
// Event fields (all optional):
//   schema    index of the schema to validate `document` against (default 0)
//   document  the value to validate (default a valid one)
//   code      source to highlight (default a small JS snippet)
//   language  its language (default "javascript")

const Ajv = require("ajv");
const hljs = require("highlight.js");

const SCHEMAS = 120;
const started = performance.now();

// Schemas of a few shapes, made distinct by their field names and limits.
function schemaFor(i) {
  const props = {};
  for (let f = 0; f < 3 + (i % 4); f++) {
    const name = `field_${i}_${f}`;
    switch ((i + f) % 4) {
      case 0:
        props[name] = { type: "string", minLength: 1, maxLength: 10 + f, pattern: `^[a-z]{1,${10 + f}}$` };
        break;
      case 1:
        props[name] = { type: "integer", minimum: -i, maximum: 1000 + i };
        break;
      case 2:
        props[name] = { type: "array", items: { type: "number" }, maxItems: 5 + f };
        break;
      default:
        props[name] = {
          type: "object",
          properties: { id: { type: "string" }, n: { type: "number", multipleOf: 0.5 } },
          required: ["id"],
          additionalProperties: false,
        };
    }
  }
  return {
    $id: `urn:snap:demo:schema:${i}`,
    type: "object",
    properties: props,
    required: Object.keys(props).slice(0, 3),
    additionalProperties: false,
  };
}

const ajv = new Ajv({ allErrors: true });
const validators = [];
for (let i = 0; i < SCHEMAS; i++) validators.push(ajv.compile(schemaFor(i)));

function validDocument(i) {
  const schema = schemaFor(i);
  const doc = {};
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (prop.type === "string") doc[name] = "abc";
    else if (prop.type === "integer") doc[name] = 7;
    else if (prop.type === "array") doc[name] = [1, 2.5];
    else doc[name] = { id: "x", n: 1.5 };
  }
  return doc;
}

// Warm both paths once, so the first invocation finds compiled code.
validators[0](validDocument(0));
hljs.highlight("const x = 1;", { language: "javascript" });

const initMs = performance.now() - started;
let invocations = 0;

async function handler(event) {
  const ev = event && typeof event === "object" ? event : {};
  invocations += 1;
  const index = Number.isInteger(ev.schema) ? ev.schema % SCHEMAS : 0;
  const document = ev.document ?? validDocument(index);
  const validate = validators[index];
  const valid = validate(document);
  const code = typeof ev.code === "string" ? ev.code : "function add(a, b) { return a + b; }";
  const highlighted = hljs.highlight(code, { language: ev.language || "javascript" });
  return {
    schemas: validators.length,
    languages: hljs.listLanguages().length,
    schema: index,
    valid,
    errors: valid ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`),
    highlighted: highlighted.value,
    initMs: Math.round(initMs),
    invocations,
  };
}

module.exports = { handler };
