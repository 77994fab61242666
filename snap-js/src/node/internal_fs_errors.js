// Node's fs error shape for LLRT's fs errors ("... (os error 2)"): code,
// errno, syscall, path, and the message "ENOENT: no such file or
// directory, open '/x'". Internal to fs and fs/promises.
const errnos = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  5: ["EIO", "i/o error"],
  9: ["EBADF", "bad file descriptor"],
  13: ["EACCES", "permission denied"],
  17: ["EEXIST", "file already exists"],
  18: ["EXDEV", "cross-device link not permitted"],
  20: ["ENOTDIR", "not a directory"],
  21: ["EISDIR", "illegal operation on a directory"],
  22: ["EINVAL", "invalid argument"],
  24: ["EMFILE", "too many open files"],
  28: ["ENOSPC", "no space left on device"],
  30: ["EROFS", "read-only file system"],
  36: ["ENAMETOOLONG", "name too long"],
  39: ["ENOTEMPTY", "directory not empty"],
  40: ["ELOOP", "too many symbolic links encountered"],
};

export const syscalls = {
  readFile: "open", readFileSync: "open", writeFile: "open", writeFileSync: "open", readdir: "scandir", readdirSync: "scandir",
  stat: "stat", statSync: "stat", lstat: "lstat", lstatSync: "lstat", mkdir: "mkdir", mkdirSync: "mkdir", mkdtemp: "mkdtemp", mkdtempSync: "mkdtemp",
  rm: "rm", rmSync: "rm", rmdir: "rmdir", rmdirSync: "rmdir", access: "access", accessSync: "access", rename: "rename", renameSync: "rename",
  chmod: "chmod", chmodSync: "chmod", symlink: "symlink", symlinkSync: "symlink", open: "open",
};

export function nodeError(err, syscall, path, dest) {
  if (!err || typeof err.message !== "string" || err.code !== undefined) return err;
  const m = /\(os error (\d+)\)/.exec(err.message);
  if (!m) return err;
  const known = errnos[Number(m[1])];
  if (!known) return err;
  const [code, text] = known;
  let message = `${code}: ${text}, ${syscall}`;
  if (typeof path === "string") message += ` '${path}'`;
  if (typeof dest === "string") message += ` -> '${dest}'`;
  const out = new Error(message);
  out.errno = -Number(m[1]);
  out.code = code;
  out.syscall = syscall;
  if (typeof path === "string") out.path = path;
  if (typeof dest === "string") out.dest = dest;
  return out;
}
