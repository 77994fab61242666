// node:stream: Readable.from, Transform, pipeline (promise), Writable,
// and async iteration.
const { Readable, Transform, Writable, PassThrough } = require("node:stream");
const { pipeline } = require("node:stream/promises");

exports.handler = async () => {
  const out = [];
  await pipeline(
    Readable.from(["a", "b", "c"]),
    new Transform({
      transform(chunk, _enc, cb) {
        cb(null, chunk.toString().toUpperCase());
      },
    }),
    new Writable({
      write(chunk, _enc, cb) {
        out.push(chunk.toString());
        cb();
      },
    }),
  );
  const pass = new PassThrough();
  pass.end("x-y-z");
  const iterated = [];
  for await (const chunk of pass) iterated.push(chunk.toString());
  const objects = [];
  for await (const o of Readable.from([{ n: 1 }, { n: 2 }])) objects.push(o.n);
  return { out, iterated, objects };
};
