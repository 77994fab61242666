// node:assert: Node's assertions in JS (LLRT's has only ok), with
// AssertionError (code ERR_ASSERTION, actual, expected, operator). The
// generated messages are shorter than Node's diffs.
import { inspect, isDeepStrictEqual } from "util";

export class AssertionError extends Error {
  constructor(options = {}) {
    const { message, actual, expected, operator } = options;
    super(message !== undefined ? String(message) : `${inspect(actual)} ${operator} ${inspect(expected)}`);
    this.name = "AssertionError";
    this.code = "ERR_ASSERTION";
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
    this.generatedMessage = message === undefined;
  }
}

function fail(actual, expected, message, operator, defaultMessage) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message: message === undefined ? defaultMessage : message, actual, expected, operator });
}

function looseEqual(a, b, memo = new Map()) {
  if (a == b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (memo.get(a) === b) return true;
  memo.set(a, b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !looseEqual(v, b.get(k), memo)) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !looseEqual(a[k], b[k], memo)) return false;
  return true;
}

function ok(value, message) {
  if (arguments.length === 0) fail(value, true, "No value argument passed to `assert.ok()`", "==");
  if (!value) fail(value, true, message, "==", "The expression evaluated to a falsy value:\n\n  assert.ok(" + inspect(value) + ")\n");
}
const assert = function assert(value, message) {
  if (arguments.length === 0) fail(value, true, "No value argument passed to `assert.ok()`", "==");
  if (!value) fail(value, true, message, "==", "The expression evaluated to a falsy value:\n\n  assert(" + inspect(value) + ")\n");
};

assert.ok = ok;
assert.AssertionError = AssertionError;
assert.fail = (message = "Failed") => {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message, operator: "fail" });
};
assert.equal = (a, b, message) => {
  if (!(a == b || (Number.isNaN(a) && Number.isNaN(b)))) fail(a, b, message, "==", `${inspect(a)} == ${inspect(b)}`);
};
assert.notEqual = (a, b, message) => {
  if (a == b || (Number.isNaN(a) && Number.isNaN(b))) fail(a, b, message, "!=", `${inspect(a)} != ${inspect(b)}`);
};
assert.strictEqual = (a, b, message) => {
  if (!Object.is(a, b)) fail(a, b, message, "strictEqual", `Expected values to be strictly equal:\n\n${inspect(a)} !== ${inspect(b)}\n`);
};
assert.notStrictEqual = (a, b, message) => {
  if (Object.is(a, b)) fail(a, b, message, "notStrictEqual", `Expected "actual" to be strictly unequal to: ${inspect(b)}`);
};
assert.deepEqual = (a, b, message) => {
  if (!looseEqual(a, b)) fail(a, b, message, "deepEqual", `Expected values to be loosely deep-equal:\n\n${inspect(a)}\n\nshould loosely deep-equal\n\n${inspect(b)}`);
};
assert.notDeepEqual = (a, b, message) => {
  if (looseEqual(a, b)) fail(a, b, message, "notDeepEqual", `"actual" should not loosely deep-equal "expected": ${inspect(b)}`);
};
assert.deepStrictEqual = (a, b, message) => {
  if (!isDeepStrictEqual(a, b)) fail(a, b, message, "deepStrictEqual", `Expected values to be strictly deep-equal:\n${inspect(a)}\n\nshould equal\n\n${inspect(b)}`);
};
assert.notDeepStrictEqual = (a, b, message) => {
  if (isDeepStrictEqual(a, b)) fail(a, b, message, "notDeepStrictEqual", `Expected "actual" not to be strictly deep-equal to: ${inspect(b)}`);
};

function matches(err, expected, message, fnName) {
  if (expected === undefined) return;
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && err instanceof expected) return;
    if (Error.isPrototypeOf(expected) || expected === Error) fail(err, expected, message, fnName, `The error is expected to be an instance of "${expected.name}". Received "${err && err.constructor && err.constructor.name}"`);
    if (expected.call({}, err) === true) return;
    fail(err, expected, message, fnName, `The ${expected.name ? `"${expected.name}" ` : ""}validation function is expected to return "true". Received ${inspect(expected.call({}, err))}`);
  }
  if (expected instanceof RegExp) {
    if (expected.test(String(err))) return;
    fail(err, expected, message, fnName, `The input did not match the regular expression ${inspect(expected)}. Input:\n\n${inspect(String(err))}\n`);
  }
  if (typeof expected === "object" && expected !== null) {
    for (const key of Object.keys(expected)) {
      const want = expected[key];
      const got = err == null ? undefined : err[key];
      const same = want instanceof RegExp && typeof got === "string" ? want.test(got) : isDeepStrictEqual(got, want);
      if (!same) fail(err, expected, message, fnName, `Expected values to be strictly deep-equal: property "${key}": ${inspect(got)} !== ${inspect(want)}`);
    }
  }
}
const NO_EXCEPTION = Symbol("no exception");
function caught(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return NO_EXCEPTION;
}
async function caughtAsync(fnOrPromise) {
  try {
    await (typeof fnOrPromise === "function" ? fnOrPromise() : fnOrPromise);
  } catch (err) {
    return err;
  }
  return NO_EXCEPTION;
}
assert.throws = (fn, expected, message) => {
  if (typeof expected === "string") [message, expected] = [expected, undefined];
  const err = caught(fn);
  if (err === NO_EXCEPTION) fail(undefined, expected, message, "throws", `Missing expected exception${expected && expected.name ? ` (${expected.name})` : ""}.`);
  matches(err, expected, message, "throws");
};
assert.doesNotThrow = (fn, expected, message) => {
  if (typeof expected === "string") message = expected;
  const err = caught(fn);
  if (err !== NO_EXCEPTION) fail(err, expected, message, "doesNotThrow", `Got unwanted exception.\nActual message: "${err && err.message}"`);
};
assert.rejects = async (fn, expected, message) => {
  if (typeof expected === "string") [message, expected] = [expected, undefined];
  const err = await caughtAsync(fn);
  if (err === NO_EXCEPTION) fail(undefined, expected, message, "rejects", `Missing expected rejection${expected && expected.name ? ` (${expected.name})` : ""}.`);
  matches(err, expected, message, "rejects");
};
assert.doesNotReject = async (fn, expected, message) => {
  if (typeof expected === "string") message = expected;
  const err = await caughtAsync(fn);
  if (err !== NO_EXCEPTION) fail(err, expected, message, "doesNotReject", `Got unwanted rejection.\nActual message: "${err && err.message}"`);
};
assert.match = (string, regexp, message) => {
  if (typeof string !== "string" || !regexp.test(string)) fail(string, regexp, message, "match", `The input did not match the regular expression ${inspect(regexp)}. Input:\n\n${inspect(string)}\n`);
};
assert.doesNotMatch = (string, regexp, message) => {
  if (typeof string !== "string" || regexp.test(string)) fail(string, regexp, message, "doesNotMatch", `The input was expected to not match the regular expression ${inspect(regexp)}. Input:\n\n${inspect(string)}\n`);
};
assert.ifError = (value) => {
  if (value !== null && value !== undefined) {
    if (value instanceof Error) throw value;
    fail(value, null, undefined, "ifError", `ifError got unwanted exception: ${inspect(value)}`);
  }
};
const strict = Object.assign((value, message) => assert(value, message), assert, {
  equal: assert.strictEqual,
  notEqual: assert.notStrictEqual,
  deepEqual: assert.deepStrictEqual,
  notDeepEqual: assert.notDeepStrictEqual,
});
strict.strict = strict;
assert.strict = strict;

export const { equal, notEqual, strictEqual, notStrictEqual, deepEqual, notDeepEqual, deepStrictEqual, notDeepStrictEqual, throws, doesNotThrow, rejects, doesNotReject, match, doesNotMatch, ifError } = assert;
export { ok, strict };
const failNow = assert.fail;
export { failNow as fail };
export default assert;
