// @middy/core 6 (ESM-only) with three middlewares, driven by API Gateway
// events: a parsed JSON body, and a thrown http error turned into a response.
import middy from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import httpJsonBodyParser from "@middy/http-json-body-parser";
import httpErrorHandler from "@middy/http-error-handler";

let order = [];
const inner = middy(async (event) => {
  if (event.body.fail) {
    const err = new Error("Unprocessable order");
    err.statusCode = 422;
    err.expose = true;
    throw err;
  }
  return { statusCode: 200, body: JSON.stringify({ got: event.body, type: event.headers["content-type"] }) };
})
  .use({ before: () => { order.push("before"); }, after: () => { order.push("after"); } })
  .use(httpHeaderNormalizer())
  .use(httpJsonBodyParser())
  .use(httpErrorHandler({ logger: false }));

const apiEvent = (body) => ({
  httpMethod: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
const context = { getRemainingTimeInMillis: () => 30000 };

export const handler = async () => {
  order = [];
  const ok = await inner(apiEvent({ id: 1 }), context);
  const failed = await inner(apiEvent({ fail: true }), context);
  return { ok, failed: { statusCode: failed.statusCode, body: failed.body }, order };
};
