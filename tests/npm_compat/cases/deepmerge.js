// deepmerge: arrays, custom merge and clone.
const deepmerge = require("deepmerge");

exports.handler = async () => {
  const a = { x: [1, 2], y: { z: 1, w: [{ a: 1 }] } };
  const b = { x: [3], y: { q: 2, w: [{ b: 2 }] } };
  return {
    merged: deepmerge(a, b),
    overwrite: deepmerge(a, b, { arrayMerge: (_d, s) => s }),
    all: deepmerge.all([{ a: 1 }, { b: 2 }, { a: 3 }]),
  };
};
