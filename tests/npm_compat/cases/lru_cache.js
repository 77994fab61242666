// lru-cache 11 (ESM package with a CommonJS build): eviction order, sizes.
const { LRUCache } = require("lru-cache");

exports.handler = async () => {
  const evicted = [];
  const cache = new LRUCache({ max: 3, dispose: (value, key) => evicted.push(key) });
  cache.set("a", 1).set("b", 2).set("c", 3);
  cache.get("a");
  cache.set("d", 4);
  const sized = new LRUCache({ maxSize: 10, sizeCalculation: (v) => v.length });
  sized.set("x", "12345").set("y", "123456");
  const fetching = new LRUCache({ max: 2, fetchMethod: async (k) => `v:${k}` });
  return {
    keys: [...cache.keys()],
    evicted,
    has: [cache.has("b"), cache.has("a")],
    sizedKeys: [...sized.keys()],
    fetched: await fetching.fetch("k"),
  };
};
