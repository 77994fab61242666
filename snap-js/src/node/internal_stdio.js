// process.stdout and process.stderr: a stream.Writable when node:stream
// exists, else an EventEmitter with write/end; made on first use
// (patches/globals.js). Bytes go to the process's fd 1 or 2 unformatted.
const g = globalThis;
const write = g.__snapjsWrite;
const makeStream = (fd) => {
  const EventEmitter = g.__snapjs_cjs.builtin("events");
  let Base = EventEmitter;
  try {
    const stream = g.__snapjs_cjs.builtin("stream");
    if (stream && typeof stream.Writable === "function") Base = stream.Writable;
  } catch {}
  let out;
  if (Base !== EventEmitter) {
    out = new Base({
      decodeStrings: false,
      write(chunk, encoding, callback) {
        try {
          write(fd, typeof chunk === "string" ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          callback();
        } catch (err) {
          callback(err);
        }
      },
    });
  } else {
    out = new EventEmitter();
    out.writable = true;
    out.writableEnded = false;
    out.write = function (chunk, encoding, callback) {
      if (typeof encoding === "function") callback = encoding;
      if (typeof chunk === "string") write(fd, chunk);
      else if (ArrayBuffer.isView(chunk)) write(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      else {
        const err = new TypeError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${chunk === null ? "null" : typeof chunk}`);
        err.code = "ERR_INVALID_ARG_TYPE";
        throw err;
      }
      if (typeof callback === "function") queueMicrotask(() => callback(null));
      return true;
    };
    out.end = function (chunk, encoding, callback) {
      if (typeof chunk === "function") [callback, chunk] = [chunk, undefined];
      if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
      this.writableEnded = true;
      if (typeof callback === "function") queueMicrotask(callback);
      queueMicrotask(() => this.emit("finish"));
      return this;
    };
    out.cork = () => {};
    out.uncork = () => {};
    out.setDefaultEncoding = function () {
      return this;
    };
  }
  out.fd = fd;
  out.isTTY = false;
  out._isStdio = true;
  out.destroySoon = out.destroy;
  out.columns = undefined;
  return out;
};

export default makeStream;
