// fast-xml-parser 5: parse with attributes, validate, and build back.
const { XMLParser, XMLBuilder, XMLValidator } = require("fast-xml-parser");

const xml = `<?xml version="1.0"?>
<catalog>
  <book id="bk101" lang="en"><author>Gambardella, Matthew</author><title>XML Developer's Guide</title><price>44.95</price></book>
  <book id="bk102"><author>Ralls, Kim</author><title>Midnight Rain</title><price>5.95</price><![CDATA[<raw>&]]></book>
</catalog>`;

exports.handler = async () => {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", cdataPropName: "cdata" });
  const doc = parser.parse(xml);
  const built = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@", format: false }).build({ root: { "@a": "1", item: ["x", "y"] } });
  return { doc, valid: XMLValidator.validate(xml), invalid: XMLValidator.validate("<a><b></a>").err.code, built };
};
