// lodash: collections, objects, strings, and _.template (new Function).
const _ = require("lodash");

exports.handler = async () => {
  const users = [
    { name: "ada", age: 36, team: "a" },
    { name: "bob", age: 25, team: "b" },
    { name: "cy", age: 36, team: "a" },
  ];
  const obj = { a: { b: [1, { c: 3 }] } };
  const merged = _.merge({ x: { y: 1 } }, { x: { z: 2 } });
  _.set(obj, "a.d.e", 5);
  return {
    grouped: _.groupBy(users, "team"),
    sorted: _.map(_.sortBy(users, ["age", "name"]), "name"),
    chunk: _.chunk([1, 2, 3, 4, 5], 2),
    get: _.get(obj, "a.b[1].c"),
    obj,
    merged,
    deep: _.isEqual(_.cloneDeep(obj), obj),
    camel: _.camelCase("Foo Bar-baz"),
    template: _.template("hello <%= user %>! <% _.forEach(xs, function(x) { %><%- x %>,<% }); %>")({ user: "ada", xs: ["<a>", "b"] }),
    uniq: _.uniqBy([2.1, 1.2, 2.3], Math.floor),
    debounced: typeof _.debounce(() => {}, 10).cancel,
  };
};
