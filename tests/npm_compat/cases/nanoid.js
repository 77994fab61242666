// nanoid 5 (ESM-only, crypto.getRandomValues / node:crypto), from CommonJS.
exports.handler = async () => {
  const { nanoid, customAlphabet, urlAlphabet } = await import("nanoid");
  const id = nanoid();
  const hex = customAlphabet("0123456789abcdef", 12)();
  return {
    length: id.length,
    urlSafe: /^[A-Za-z0-9_-]+$/.test(id),
    short: nanoid(5).length,
    hex: /^[0-9a-f]{12}$/.test(hex),
    alphabet: urlAlphabet.length,
    distinct: nanoid() !== nanoid(),
  };
};
