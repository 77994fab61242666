// superjson 2 (ESM-only), from CommonJS: Dates, Maps, Sets, BigInt, undefined.
exports.handler = async () => {
  const { default: superjson } = await import("superjson");
  const value = { d: new Date(Date.UTC(2020, 0, 1)), m: new Map([["a", 1]]), s: new Set([1, 2]), b: 10n, u: undefined, r: /x+/g };
  const { json, meta } = superjson.serialize(value);
  const back = superjson.parse(superjson.stringify(value));
  return {
    json,
    meta,
    roundTrip: back.d instanceof Date && back.m.get("a") === 1 && back.s.has(2) && back.b === 10n && "u" in back && back.r.flags === "g",
  };
};
