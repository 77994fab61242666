// node-fetch v3 (ESM-only), imported dynamically from a CommonJS handler.
exports.handler = async (event) => {
  const { default: fetch, Headers } = await import("node-fetch3");
  const res = await fetch(`${event.url}/v3`, { headers: new Headers({ accept: "application/json" }) });
  const text = await res.text();
  let refused;
  try {
    await fetch("http://127.0.0.1:1/");
  } catch (err) {
    refused = { name: err.name, code: err.code };
  }
  return { status: res.status, text, contentType: res.headers.get("content-type"), refused };
};
