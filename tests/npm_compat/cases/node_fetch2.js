// node-fetch v2 (CommonJS, over node:http and node:stream).
const fetch = require("node-fetch");

exports.handler = async (event) => {
  const res = await fetch(`${event.url}/v2`, { headers: { "x-test": "1" } });
  const body = await res.json();
  return {
    ok: res.ok,
    status: res.status,
    contentType: res.headers.get("content-type"),
    body,
    isNodeFetch: res instanceof fetch.Response,
  };
};
