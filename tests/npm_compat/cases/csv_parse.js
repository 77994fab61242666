// csv-parse 7: the "sync" exports subpath, and the stream API (node:stream).
const { parse: parseSync } = require("csv-parse/sync");
const { parse } = require("csv-parse");

const csv = 'name,age,note\nada,36,"likes, commas"\nbob,25,"says ""hi"""\n';

exports.handler = async () => {
  const records = parseSync(csv, { columns: true, cast: true });
  const streamed = await new Promise((resolve, reject) => {
    const rows = [];
    const parser = parse({ from_line: 2 });
    parser.on("readable", () => {
      let r;
      while ((r = parser.read()) !== null) rows.push(r);
    });
    parser.on("error", reject);
    parser.on("end", () => resolve(rows));
    parser.write(csv);
    parser.end();
  });
  return { records, streamed };
};
