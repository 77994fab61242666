// A require cycle: a requires b, b requires a while a is half done.
exports.early = "a-early";
const b = require("./cycle_b");
exports.late = "a-late";
exports.fromB = b.sawOfA;
exports.bLater = () => b.laterOfA();
