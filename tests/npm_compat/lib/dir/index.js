module.exports = { indexOf: "dir" };
