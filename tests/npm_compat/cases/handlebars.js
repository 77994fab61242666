// handlebars: a template shipped with the function, read with node:fs from
// __dirname, with a helper and a partial.
const fs = require("node:fs");
const path = require("node:path");
const Handlebars = require("handlebars");

const source = fs.readFileSync(path.join(__dirname, "..", "templates", "invoice.hbs"), "utf8");
Handlebars.registerHelper("money", (n) => `$${Number(n).toFixed(2)}`);
Handlebars.registerPartial("line", "{{name}} x{{qty}} = {{money total}}");
const template = Handlebars.compile(source);

exports.handler = async () => {
  const html = template({
    customer: "<Ada & co>",
    lines: [
      { name: "Widget", qty: 2, total: 9.5 },
      { name: "Gadget", qty: 1, total: 20 },
    ],
    paid: false,
  });
  return { html, precompiled: Handlebars.precompile("{{a}}").length > 0 };
};
