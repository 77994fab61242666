// Intl.ListFormat, which QuickJS lacks (packages such as
// @sindresorhus/is build one when they load): English list patterns for
// every locale (snapjs has no locale data), Node's (CLDR's) "en" output
// for the conjunction, disjunction and unit types in each style.
(() => {
  "use strict";
  const g = globalThis;
  if (typeof g.Intl !== "object" || g.Intl === null) {
    Object.defineProperty(g, "Intl", { value: {}, writable: true, configurable: true, enumerable: false });
  }
  if (typeof g.Intl.ListFormat === "function") return;
  // [separator between all but the last two, separator of a pair, separator before the last of 3+]
  const patterns = {
    conjunction: { long: [", ", " and ", ", and "], short: [", ", " & ", ", & "], narrow: [", ", ", ", ", "] },
    disjunction: { long: [", ", " or ", ", or "], short: [", ", " or ", ", or "], narrow: [", ", " or ", ", or "] },
    unit: { long: [", ", ", ", ", "], short: [", ", ", ", ", "], narrow: [" ", " ", " "] },
  };
  const option = (options, name, allowed, fallback) => {
    const value = options[name];
    if (value === undefined) return fallback;
    const text = String(value);
    if (!allowed.includes(text)) throw new RangeError(`Value ${text} out of range for Intl.ListFormat options property ${name}`);
    return text;
  };
  const strings = (list) => {
    if (list === undefined) return [];
    const out = [];
    for (const item of list) {
      if (typeof item !== "string") throw new TypeError(`Iterable yielded ${typeof item === "symbol" ? "Symbol()" : String(item)} which is not a string`);
      out.push(item);
    }
    return out;
  };
  // A function, not a class: calling it without `new` is Node's TypeError.
  const state = new WeakMap();
  const own = (self) => {
    const s = state.get(self);
    if (!s) throw new TypeError("Method called on incompatible receiver: not an Intl.ListFormat");
    return s;
  };
  function ListFormat(locales, options) {
    if (new.target === undefined) throw new TypeError("Constructor Intl.ListFormat requires 'new'");
    const opts = options === undefined ? {} : Object(options);
    state.set(this, {
      type: option(opts, "type", ["conjunction", "disjunction", "unit"], "conjunction"),
      style: option(opts, "style", ["long", "short", "narrow"], "long"),
    });
  }
  const methods = {
    formatToParts(list) {
      const { type, style } = own(this);
      const items = strings(list);
      const [middle, pair, last] = patterns[type][style];
      const parts = [];
      items.forEach((value, i) => {
        if (i > 0) {
          const literal = items.length === 2 ? pair : i === items.length - 1 ? last : middle;
          parts.push({ type: "literal", value: literal });
        }
        parts.push({ type: "element", value });
      });
      return parts;
    },
    format(list) {
      return this.formatToParts(list)
        .map((p) => p.value)
        .join("");
    },
    resolvedOptions() {
      const { type, style } = own(this);
      return { locale: "en-US", type, style };
    },
  };
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(ListFormat.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(ListFormat, "supportedLocalesOf", { value: () => ["en-US"], writable: true, configurable: true, enumerable: false });
  Object.defineProperty(ListFormat.prototype, Symbol.toStringTag, { value: "Intl.ListFormat", configurable: true });
  Object.defineProperty(g.Intl, "ListFormat", { value: ListFormat, writable: true, configurable: true, enumerable: false });
})();
