// got 14: an ESM-only package (type module, exports without "require"),
// over node:http, from an ES module handler.
import got from "got";

export const handler = async (event) => {
  const res = await got(`${event.url}/got`, { retry: { limit: 0 }, timeout: { request: 5000 } });
  const json = await got(`${event.url}/json`).json();
  let refused;
  try {
    await got("http://127.0.0.1:1/", { retry: { limit: 0 } });
  } catch (err) {
    refused = { name: err.name, code: err.code };
  }
  return { status: res.statusCode, body: res.body, json, refused };
};
