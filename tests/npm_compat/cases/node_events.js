// node:events: EventEmitter's full API and events.once.
const EventEmitter = require("node:events");
const { once } = require("node:events");

exports.handler = async () => {
  const e = new EventEmitter();
  const seen = [];
  e.setMaxListeners(20);
  e.on("x", (v) => seen.push(`on:${v}`));
  e.prependListener("x", (v) => seen.push(`first:${v}`));
  e.once("x", (v) => seen.push(`once:${v}`));
  e.emit("x", 1);
  e.emit("x", 2);
  const counts = [e.listenerCount("x"), e.listeners("x").length, e.eventNames()];
  setTimeout(() => e.emit("ready", "go", 2), 1);
  const args = await once(e, "ready");
  e.removeAllListeners("x");
  let error;
  try {
    e.emit("error", new Error("unhandled"));
  } catch (err) {
    error = err.message;
  }
  return { seen, counts, args, after: e.listenerCount("x"), max: e.getMaxListeners(), error, defaultMax: EventEmitter.defaultMaxListeners };
};
