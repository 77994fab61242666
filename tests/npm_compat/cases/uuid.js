// uuid (ESM-only), imported from CommonJS: formats and versions, and the
// deterministic v5/v3 values.
exports.handler = async () => {
  const { v1, v3, v4, v5, v7, validate, version, parse, stringify, NIL } = await import("uuid");
  const shape = (id) => ({ valid: validate(id), version: version(id), length: id.length });
  const fixed = v5("hello", v5.URL);
  return {
    v1: shape(v1()),
    v4: shape(v4()),
    v7: shape(v7()),
    v5: fixed,
    v3: v3("hello", v3.DNS),
    roundTrip: stringify(parse(fixed)) === fixed,
    nil: validate(NIL),
    distinct: v4() !== v4(),
  };
};
