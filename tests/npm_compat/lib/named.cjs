// CommonJS with named exports an ES module can import by name.
exports.named = "named-export";
exports.other = 2;
