// node:fs and node:path: files shipped with the function and a scratch file
// in /tmp, sync, callback and promise APIs; path.posix.
const fs = require("node:fs");
const fsp = require("node:fs/promises");
const path = require("node:path");
const os = require("node:os");

exports.handler = async (event) => {
  const templates = path.join(__dirname, "..", "templates");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compat-"));
  const file = path.join(dir, "a.txt");
  await fsp.writeFile(file, "one\n");
  fs.appendFileSync(file, "two\n");
  const viaCallback = await new Promise((resolve, reject) => fs.readFile(file, "utf8", (err, s) => (err ? reject(err) : resolve(s))));
  const stat = fs.statSync(file);
  let missing;
  try {
    fs.readFileSync(path.join(dir, "nope"));
  } catch (err) {
    missing = err.code;
  }
  fs.rmSync(dir, { recursive: true });
  return {
    listing: fs.readdirSync(templates).sort(),
    exists: fs.existsSync(path.join(templates, "invoice.hbs")),
    viaCallback,
    size: stat.size,
    isFile: stat.isFile(),
    missing,
    removed: !fs.existsSync(dir),
    posix: path.posix.join("/a/b", "../c", "d.txt"),
    normalize: path.normalize("/a//b/../c/"),
    parsed: path.parse("/home/u/file.tar.gz"),
    relative: path.relative("/a/b/c", "/a/d"),
    sep: path.sep,
    dirname: path.basename(__dirname),
    filename: path.basename(__filename),
  };
};
