// immer: produce with patches, frozen results, Map and Set support.
const { produce, produceWithPatches, enablePatches, enableMapSet, isDraft, freeze } = require("immer");

enablePatches();
enableMapSet();

exports.handler = async () => {
  const base = { todos: [{ id: 1, done: false }], tags: new Set(["a"]), byId: new Map([[1, "x"]]) };
  const [next, patches, inverse] = produceWithPatches(base, (draft) => {
    draft.todos[0].done = true;
    draft.todos.push({ id: 2, done: false });
    draft.tags.add("b");
    draft.byId.set(2, "y");
  });
  return {
    todos: next.todos,
    tags: [...next.tags],
    byId: [...next.byId],
    patches,
    inverse,
    unchanged: produce(base, () => {}) === base,
    frozen: Object.isFrozen(next.todos[0]),
    sharedUntouched: next.byId !== base.byId,
    draft: isDraft(freeze({})),
  };
};
