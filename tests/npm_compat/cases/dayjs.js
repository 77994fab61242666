// dayjs with its utc, duration and customParseFormat plugins.
const dayjs = require("dayjs");
dayjs.extend(require("dayjs/plugin/utc"));
dayjs.extend(require("dayjs/plugin/duration"));
dayjs.extend(require("dayjs/plugin/customParseFormat"));

exports.handler = async () => {
  const d = dayjs.utc("2024-02-28T10:30:00Z");
  return {
    plus: d.add(3, "day").format(),
    formatted: d.format("YYYY-MM-DD HH:mm dddd"),
    diff: dayjs.utc("2024-12-25").diff(d, "day"),
    parsed: dayjs.utc("25/12/2024", "DD/MM/YYYY").toISOString(),
    duration: dayjs.duration(90, "minutes").asHours(),
    endOfMonth: d.endOf("month").toISOString(),
  };
};
