// Node's wording for argument errors, shared by snapjs's JS built-ins:
// `describe(value)` is the " Received ..." tail of an ERR_INVALID_ARG_TYPE
// message, `invalidArg` the whole TypeError, `abortError(signal)` Node's
// AbortError for an aborted signal.
export function describe(v) {
  if (v == null) return ` Received ${v}`;
  if (typeof v === "function") return ` Received function ${v.name}`;
  if (typeof v === "object") return v.constructor && v.constructor.name ? ` Received an instance of ${v.constructor.name}` : ` Received ${String(v)}`;
  let shown = typeof v === "string" ? `'${v}'` : String(v);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof v} (${shown})`;
}

export function invalidArg(name, expected, value) {
  const err = new TypeError(`The "${name}" argument must be ${expected}.${describe(value)}`);
  err.code = "ERR_INVALID_ARG_TYPE";
  return err;
}

export function abortError(signal) {
  const err = new Error("The operation was aborted");
  err.name = "AbortError";
  err.code = "ABORT_ERR";
  if (signal && signal.reason !== undefined) err.cause = signal.reason;
  return err;
}
