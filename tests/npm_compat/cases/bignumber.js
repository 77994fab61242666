// bignumber.js: arbitrary-precision decimals.
const BigNumber = require("bignumber.js");

exports.handler = async () => {
  const Big = BigNumber.clone({ DECIMAL_PLACES: 30, ROUNDING_MODE: BigNumber.ROUND_HALF_EVEN });
  return {
    sum: new Big("0.1").plus("0.2").toString(),
    div: new Big(1).div(3).toString(),
    pow: new Big(2).pow(100).toFixed(),
    sqrt: new Big(2).sqrt().toString(),
    fmt: new Big("1234567.891").toFormat(2),
    cmp: new Big("1e-7").comparedTo("0.0000001"),
    hex: new Big(255).toString(16),
    round: new Big("2.5").integerValue().toNumber(),
  };
};
