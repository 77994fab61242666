// bcryptjs 3: a hash with a fixed salt, compare, and a generated salt's shape.
const bcrypt = require("bcryptjs");

exports.handler = async () => {
  const salt = "$2b$04$abcdefghijklmnopqrstuu";
  const hash = bcrypt.hashSync("correct horse", salt);
  const asyncHash = await bcrypt.hash("pw", 4);
  return {
    hash,
    ok: bcrypt.compareSync("correct horse", hash),
    wrong: bcrypt.compareSync("wrong", hash),
    rounds: bcrypt.getRounds(hash),
    generated: /^\$2b\$05\$[./A-Za-z0-9]{22}$/.test(bcrypt.genSaltSync(5)),
    asyncOk: await bcrypt.compare("pw", asyncHash),
  };
};
