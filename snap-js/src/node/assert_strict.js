// node:assert/strict: assert's strict mode.
import assert from "assert";
const strict = assert.strict;
export const { ok, equal, notEqual, deepEqual, notDeepEqual, strictEqual, notStrictEqual, deepStrictEqual, notDeepStrictEqual, throws, doesNotThrow, rejects, doesNotReject, match, doesNotMatch, ifError, AssertionError } = strict;
export default strict;
