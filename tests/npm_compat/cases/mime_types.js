// mime-types 3 (mime-db's JSON, path.extname).
const mime = require("mime-types");

exports.handler = async () => ({
  lookup: ["a.json", "b.html", "c.tar.gz", "photo.JPG", "x.unknownext", "file.md"].map((f) => mime.lookup(f)),
  contentType: mime.contentType("json"),
  extension: mime.extension("text/html"),
  charset: mime.charset("text/markdown"),
  extensions: mime.extensions["image/jpeg"],
});
