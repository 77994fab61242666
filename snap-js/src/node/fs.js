// node:fs: LLRT's fs, with Node's error shape (code, errno, syscall, path)
// and what LLRT lacks built on what it has: existsSync, the callback API,
// unlink, appendFile, copyFile. No streams, watchers or file descriptors.
import llrt from "snapjs:llrt/fs";
import * as promisesApi from "fs/promises";
import { nodeError, syscalls } from "snapjs:internal/fs_errors";

const promises = promisesApi.default;
const wrapSync = (name) => {
  const fn = llrt[name];
  const syscall = syscalls[name] || name;
  return {
    [name](...args) {
      try {
        return fn(...args);
      } catch (err) {
        throw nodeError(err, syscall, args[0], name === "renameSync" || name === "symlinkSync" ? args[1] : undefined);
      }
    },
  }[name];
};

export const accessSync = wrapSync("accessSync");
export const mkdirSync = wrapSync("mkdirSync");
export const mkdtempSync = wrapSync("mkdtempSync");
export const readdirSync = wrapSync("readdirSync");
export const readFileSync = wrapSync("readFileSync");
export const rmdirSync = wrapSync("rmdirSync");
export const rmSync = wrapSync("rmSync");
export const statSync = wrapSync("statSync");
export const lstatSync = wrapSync("lstatSync");
export const writeFileSync = wrapSync("writeFileSync");
export const chmodSync = wrapSync("chmodSync");
export const renameSync = wrapSync("renameSync");
export const symlinkSync = wrapSync("symlinkSync");
export const constants = llrt.constants;
export { promises };

export function existsSync(path) {
  try {
    llrt.accessSync(path);
    return true;
  } catch {
    return false;
  }
}
export function unlinkSync(path) {
  if (lstatSync(path).isDirectory()) throw nodeError(new Error("Is a directory (os error 21)"), "unlink", path);
  rmSync(path);
}
export function appendFileSync(path, data, options) {
  const enc = typeof options === "string" ? options : options && options.encoding;
  const existing = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  writeFileSync(path, Buffer.concat([existing, typeof data === "string" ? Buffer.from(data, enc || "utf8") : data]));
}
export function copyFileSync(src, dest) {
  writeFileSync(dest, readFileSync(src));
}

function callbackStyle(name, fn) {
  return {
    [name](...args) {
      const cb = args.pop();
      if (typeof cb !== "function") {
        const err = new TypeError(`The "cb" argument must be of type function. Received ${cb === undefined ? "undefined" : typeof cb}`);
        err.code = "ERR_INVALID_ARG_TYPE";
        throw err;
      }
      fn(...args).then((value) => cb(null, value), (err) => cb(err));
    },
  }[name];
}
export const access = callbackStyle("access", promises.access);
export const readFile = callbackStyle("readFile", promises.readFile);
export const writeFile = callbackStyle("writeFile", promises.writeFile);
export const appendFile = callbackStyle("appendFile", promises.appendFile);
export const copyFile = callbackStyle("copyFile", promises.copyFile);
export const rename = callbackStyle("rename", promises.rename);
export const readdir = callbackStyle("readdir", promises.readdir);
export const mkdir = callbackStyle("mkdir", promises.mkdir);
export const mkdtemp = callbackStyle("mkdtemp", promises.mkdtemp);
export const rm = callbackStyle("rm", promises.rm);
export const rmdir = callbackStyle("rmdir", promises.rmdir);
export const unlink = callbackStyle("unlink", promises.unlink);
export const stat = callbackStyle("stat", promises.stat);
export const lstat = callbackStyle("lstat", promises.lstat);
export const chmod = callbackStyle("chmod", promises.chmod);
export const symlink = callbackStyle("symlink", promises.symlink);
export function exists(path, cb) {
  promises.access(path).then(() => cb(true), () => cb(false));
}

// A Readable over the file's bytes (read whole on the first read: snapjs
// has no file descriptors), honouring start/end (inclusive),
// highWaterMark and encoding; a missing file is an 'error' event.
export function createReadStream(path, options) {
  const opts = typeof options === "string" ? { encoding: options } : { ...options };
  const { Readable } = globalThis.__snapjs_cjs.builtin("stream");
  const highWaterMark = opts.highWaterMark ?? 64 * 1024;
  const end = opts.end ?? Infinity;
  let offset = opts.start ?? 0;
  let data = null;
  const stream = new Readable({
    highWaterMark,
    encoding: opts.encoding,
    read() {
      const next = () => {
        const stop = Math.min(end + 1, data.length);
        if (offset >= stop) {
          this.push(null);
          return;
        }
        const chunkEnd = Math.min(offset + highWaterMark, stop);
        const chunk = data.subarray(offset, chunkEnd);
        this.bytesRead += chunk.length;
        offset = chunkEnd;
        this.push(chunk);
      };
      if (data) return next();
      promises.readFile(path).then(
        (buf) => {
          data = Buffer.isBuffer(buf) ? buf : Buffer.from(buf);
          this.pending = false;
          this.emit("open", -1);
          this.emit("ready");
          next();
        },
        (err) => this.destroy(err),
      );
    },
  });
  stream.path = path;
  stream.bytesRead = 0;
  stream.pending = true;
  return stream;
}

const fs = {
  createReadStream,
  accessSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, lstatSync, writeFileSync, chmodSync, renameSync,
  symlinkSync, constants, promises, existsSync, unlinkSync, appendFileSync, copyFileSync, access, readFile, writeFile, appendFile, copyFile,
  rename, readdir, mkdir, mkdtemp, rm, rmdir, unlink, stat, lstat, chmod, symlink, exists,
};
Object.assign(fs, constants ? { F_OK: constants.F_OK, R_OK: constants.R_OK, W_OK: constants.W_OK, X_OK: constants.X_OK } : {});
export default fs;
