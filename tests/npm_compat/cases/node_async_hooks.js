// node:async_hooks AsyncLocalStorage across awaits, timers and promises
// (what Lambda tracing and logging libraries use).
const { AsyncLocalStorage } = require("node:async_hooks");

const als = new AsyncLocalStorage();

exports.handler = async () => {
  const seen = await Promise.all(
    ["a", "b"].map((id) =>
      als.run({ id }, async () => {
        await new Promise((r) => setTimeout(r, id === "a" ? 10 : 1));
        const inner = await Promise.resolve().then(() => als.getStore().id);
        return `${id}:${als.getStore().id}:${inner}`;
      }),
    ),
  );
  return { seen, outside: als.getStore() === undefined };
};
