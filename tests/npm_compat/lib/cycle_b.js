const a = require("./cycle_a");
// Node hands back a's partial exports: early is set, late not yet.
exports.sawOfA = Object.keys(a).join(",");
exports.laterOfA = () => a.late;
