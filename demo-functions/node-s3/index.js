"use strict";
// node-s3 demo function: reads one S3 object through an S3Client that is
// built during init, so that a snapshot taken after init (plus prime()) holds a
// fully warmed SDK.
//
// Event fields (all optional):
//   bucket    bucket to read   (default $DEMO_BUCKET, then "snap-demo")
//   key       key to read      (default "hello.txt")
//   sleep_ms  wait this long before doing anything else
//   crash     process.exit(3) in the middle of the invocation
//   fail      throw an Error (the runtime posts /invocation/{id}/error)

const http = require("node:http");
const zlib = require("node:zlib");
const { S3Client, GetObjectCommand, HeadBucketCommand } = require("@aws-sdk/client-s3");
const hooks = require("@snap/hooks");

const LOG = "node-s3:";

let invocations = 0;
const hookEvents = [];

function makeClient() {
  return new S3Client({
    endpoint: process.env.S3_ENDPOINT || undefined,
    forcePathStyle: true,
    region: process.env.AWS_REGION || "us-east-1",
  });
}

// Created at module load, i.e. during the function's init phase.
let client = makeClient();

function getClient() {
  if (!client) client = makeClient();
  return client;
}

function defaultBucket() {
  return process.env.DEMO_BUCKET ?? "snap-demo";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class DemoFailure extends Error {
  constructor(message) {
    super(message);
    this.name = "DemoFailure";
  }
}

// ---------------------------------------------------------------------------
// Priming. With credentials in the environment the SDK loads every module it
// needs at require() time, but the first send() is still ~30 ms slower than
// the next ones: V8 compiles functions lazily on first call, and the client
// fills its caches (credentials, endpoint rules, SigV4 signing key, serde
// schemas) on demand. Resolving config and the middleware stack alone does not
// help measurably. So prime() does a "dry run": it sends a real
// GetObjectCommand through the real client and its real request handler, but
// the innermost middleware points the signed request at a throwaway loopback
// server on 127.0.0.1 that answers with a canned object (with a CRC32 checksum
// header, so checksum validation runs too). The whole pipeline runs once and
// no connection to S3 is needed.

const PRIME_BODY = Buffer.from("snap-prime\n");

function crc32Base64(buf) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(buf) >>> 0);
  return out.toString("base64");
}

function cannedHeaders() {
  const headers = {
    "content-type": "text/plain",
    "content-length": String(PRIME_BODY.length),
    etag: '"00000000000000000000000000000000"',
    "last-modified": new Date(0).toUTCString(),
    "x-amz-request-id": "snap-prime",
  };
  if (typeof zlib.crc32 === "function") {
    headers["x-amz-checksum-crc32"] = crc32Base64(PRIME_BODY);
  }
  return headers;
}

// A loopback HTTP server on 127.0.0.1 that answers every request with the
// canned object. It lives only for the duration of prime().
function startLoopback() {
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { ...cannedHeaders(), connection: "close" });
        res.end(PRIME_BODY);
      });
    });
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

async function dryRunGetObject(c) {
  const server = await startLoopback();
  const { port } = server.address();
  try {
    const command = new GetObjectCommand({ Bucket: defaultBucket(), Key: "snap-prime" });
    // Innermost middleware: the request is built, signed and about to go to
    // the client's real request handler; send it to the loopback server.
    command.middlewareStack.add(
      (next) => async (args) => {
        args.request.protocol = "http:";
        args.request.hostname = "127.0.0.1";
        args.request.port = port;
        return next(args);
      },
      { step: "deserialize", priority: "low", name: "snapPrimeLoopback" },
    );
    const out = await c.send(command);
    const text = await out.Body.transformToString();
    if (text !== PRIME_BODY.toString()) {
      throw new Error(`prime dry run read back ${JSON.stringify(text)}`);
    }
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

// Modes (NODE_S3_PRIME): "dry-run" (default) as above; "config" only resolves
// credentials, endpoint and the command's middleware stack; "network" does the
// dry run and then a real HeadBucket (errors ignored; only if S3_ENDPOINT is
// set); "off" skips priming. Failures never fail init.
async function warm(c, mode) {
  if (mode === "off") return;
  try {
    await c.config.credentials();
  } catch (err) {
    // No credentials is not an init failure: the first real call will report it.
    console.error(`${LOG} prime: credentials not resolved: ${err.message}`);
  }
  if (mode === "config") {
    try {
      if (typeof c.config.endpoint === "function") await c.config.endpoint();
      const command = new GetObjectCommand({ Bucket: defaultBucket(), Key: "snap-prime" });
      command.resolveMiddleware(c.middlewareStack, c.config, {});
    } catch (err) {
      console.error(`${LOG} prime: config warm-up failed (ignored): ${err.name}: ${err.message}`);
    }
    return;
  }
  try {
    await dryRunGetObject(c);
  } catch (err) {
    console.error(`${LOG} prime: dry run failed (ignored): ${err.name}: ${err.message}`);
  }
  if (mode === "network" && process.env.S3_ENDPOINT) {
    try {
      await c.send(new HeadBucketCommand({ Bucket: defaultBucket() }));
    } catch (err) {
      console.error(`${LOG} prime: HeadBucket failed (ignored): ${err.name}`);
    }
  }
}

function primeMode() {
  return process.env.NODE_S3_PRIME || "dry-run";
}

async function prime() {
  await warm(getClient(), primeMode());
}

// ---------------------------------------------------------------------------
// SnapStart hooks. Observable: they are recorded in the handler's result and
// logged to stderr.

hooks.register("node-s3-client", {
  async beforeCheckpoint() {
    hookEvents.push("before_checkpoint");
    console.error(`${LOG} hook before_checkpoint`);
    // Close every keep-alive socket so none is captured in the snapshot, and
    // drop the client: it also holds memoized credentials from init.
    if (client) client.destroy();
    client = null;
  },
  async afterRestore() {
    hookEvents.push("after_restore");
    console.error(`${LOG} hook after_restore`);
    // Fresh client: fresh keep-alive agent, credentials re-read. The code the
    // dry run compiled before the snapshot is shared by every client instance,
    // so resolving this client's config is enough (~2 ms); a second dry run
    // here would cost ~8 ms of restore time for ~1 ms on the first call.
    client = makeClient();
    await warm(client, primeMode() === "off" ? "off" : "config");
  },
});

// ---------------------------------------------------------------------------

async function handler(event, context) {
  const ev = event && typeof event === "object" ? event : {};
  invocations += 1;

  if (ev.sleep_ms) await sleep(Number(ev.sleep_ms));
  if (ev.crash) {
    console.error(`${LOG} crash requested, exiting with status 3`);
    process.exit(3);
  }
  if (ev.fail) throw new DemoFailure("failure requested by the event (fail: true)");

  const bucket = ev.bucket ?? defaultBucket();
  const key = ev.key ?? "hello.txt";
  const started = performance.now();
  const out = await getClient().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await out.Body.transformToByteArray();
  const getObjectMs = performance.now() - started;

  return {
    body: Buffer.from(bytes).toString("utf8"),
    bytes: bytes.length,
    requestId: context?.awsRequestId,
    invocations,
    hooks: hookEvents.slice(),
    pid: process.pid,
    bucket,
    key,
    getObjectMs: Math.round(getObjectMs * 1000) / 1000,
  };
}

module.exports = { handler, prime };
