// axios through its Node adapter (http.request), against the test's server.
const axios = require("axios");

exports.handler = async (event) => {
  const client = axios.create({ baseURL: event.url, timeout: 5000 });
  const res = await client.get("/greeting", { params: { a: 1, b: "x y" } });
  let refused;
  try {
    await axios.get("http://127.0.0.1:1/", { timeout: 2000 });
  } catch (err) {
    refused = { name: err.name, code: err.code };
  }
  return {
    adapter: axios.defaults.adapter,
    status: res.status,
    data: res.data,
    contentType: res.headers["content-type"],
    url: res.config.url,
    refused,
  };
};
