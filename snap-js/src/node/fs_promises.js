// node:fs/promises: LLRT's, with Node's error shape (code, errno, syscall,
// path) and the functions LLRT lacks built on the ones it has.
import llrt from "snapjs:llrt/fs/promises";
import { nodeError, syscalls } from "snapjs:internal/fs_errors";

const wrap = (name, fn) => {
  if (typeof fn !== "function") return fn;
  const syscall = syscalls[name] || name;
  return {
    async [name](...args) {
      try {
        return await fn(...args);
      } catch (err) {
        throw nodeError(err, syscall, args[0], name === "rename" || name === "symlink" ? args[1] : undefined);
      }
    },
  }[name];
};

export const access = wrap("access", llrt.access);
export const open = wrap("open", llrt.open);
export const readFile = wrap("readFile", llrt.readFile);
export const writeFile = wrap("writeFile", llrt.writeFile);
export const rename = wrap("rename", llrt.rename);
export const readdir = wrap("readdir", llrt.readdir);
export const mkdir = wrap("mkdir", llrt.mkdir);
export const mkdtemp = wrap("mkdtemp", llrt.mkdtemp);
export const rm = wrap("rm", llrt.rm);
export const rmdir = wrap("rmdir", llrt.rmdir);
export const stat = wrap("stat", llrt.stat);
export const lstat = wrap("lstat", llrt.lstat);
export const chmod = wrap("chmod", llrt.chmod);
export const symlink = wrap("symlink", llrt.symlink);
export const constants = llrt.constants;
export async function unlink(path) {
  const s = await lstat(path);
  if (s.isDirectory()) throw nodeError(new Error("Is a directory (os error 21)"), "unlink", path);
  return rm(path);
}
export async function appendFile(path, data, options) {
  let existing = Buffer.alloc(0);
  try {
    existing = await readFile(path);
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  const enc = typeof options === "string" ? options : options && options.encoding;
  return writeFile(path, Buffer.concat([existing, typeof data === "string" ? Buffer.from(data, enc || "utf8") : data]));
}
export async function copyFile(src, dest) {
  return writeFile(dest, await readFile(src));
}
export async function exists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

const promises = { access, open, readFile, writeFile, rename, readdir, mkdir, mkdtemp, rm, rmdir, stat, lstat, chmod, symlink, constants, unlink, appendFile, copyFile };
export default promises;
