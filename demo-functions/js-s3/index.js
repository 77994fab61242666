"use strict";
// js-s3 demo function: one S3 GetObject per invocation through an S3Client
// built (and warmed) at init. The same file runs under Node (through
// demo-functions/node-s3's runtime) and, bundled by build.mjs, under snapjs.
//
// Event fields (all optional):
//   bucket  bucket to read (default $DEMO_BUCKET, then "snap-demo")
//   key     key to read    (default "hello.txt")
//   fail    throw an Error

const { S3Client, GetObjectCommand } = require("@aws-sdk/client-s3");
const hooks = require("@snap/hooks");

const defaultBucket = () => process.env.DEMO_BUCKET ?? "snap-demo";

// Built at init: in a snapshot, restored instances get it warm.
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT || undefined,
  forcePathStyle: true,
  region: process.env.AWS_REGION || "us-east-1",
});

let invocations = 0;
const hookEvents = [];

hooks.register("js-s3-client", {
  beforeCheckpoint() {
    hookEvents.push("before_checkpoint");
    // No keep-alive socket goes into a snapshot (Node's agent; snapjs closes
    // its own at the snapshot point anyway). The client stays usable.
    client.destroy();
  },
  afterRestore() {
    hookEvents.push("after_restore");
  },
});

async function getObject(bucket, key) {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body.transformToByteArray();
}

// Warm-up at init: credentials, endpoint rules, signing, the request
// handler and checksum validation all run once, against the real endpoint
// (errors are only logged: a missing object or endpoint does not fail init).
async function prime() {
  try {
    await client.config.credentials();
    await getObject(defaultBucket(), process.env.DEMO_PRIME_KEY || "hello.txt");
  } catch (err) {
    console.error(`js-s3: prime failed (ignored): ${err.name}: ${err.message}`);
  }
}

async function handler(event, context) {
  const ev = event && typeof event === "object" ? event : {};
  invocations += 1;
  if (ev.fail) throw new Error("failure requested by the event (fail: true)");
  const bucket = ev.bucket ?? defaultBucket();
  const key = ev.key ?? "hello.txt";
  const started = performance.now();
  const bytes = await getObject(bucket, key);
  return {
    body: new TextDecoder().decode(bytes),
    bytes: bytes.length,
    requestId: context?.awsRequestId,
    invocations,
    hooks: hookEvents.slice(),
    bucket,
    key,
    getObjectMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
}

module.exports = { handler, prime };
