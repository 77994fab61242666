// ulid 3 (its node build): monotonic ids, time decoding, validation.
const { ulid, decodeTime, isValid, monotonicFactory } = require("ulid");

exports.handler = async () => {
  const id = ulid(1700000000000);
  const next = monotonicFactory();
  const a = next(1700000000000);
  const b = next(1700000000000);
  return {
    length: id.length,
    prefix: id.slice(0, 10),
    time: decodeTime("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    valid: isValid(id),
    invalid: isValid("not-a-ulid"),
    monotonic: a < b,
  };
};
