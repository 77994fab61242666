// ramda: curried, point-free pipelines and lenses.
const R = require("ramda");

exports.handler = async () => {
  const lens = R.lensPath(["a", "b"]);
  const obj = { a: { b: 1 } };
  const pipeline = R.pipe(R.filter(R.propEq(true, "active")), R.map(R.prop("n")), R.sum);
  return {
    sum: pipeline([{ n: 1, active: true }, { n: 2, active: false }, { n: 5, active: true }]),
    over: R.over(lens, R.inc, obj),
    view: R.view(lens, obj),
    grouped: R.groupBy(R.prop("k"), [{ k: "x", v: 1 }, { k: "y", v: 2 }, { k: "x", v: 3 }]),
    curried: R.add(2)(3),
    zip: R.zipObj(["a", "b"], [1, 2]),
    uniq: R.uniq([1, 1, "1", [2], [2]]),
    equals: R.equals({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }),
  };
};
