// date-fns 4 (TZ=UTC): arithmetic, formatting and parsing.
const { addDays, addMonths, differenceInCalendarDays, format, parseISO, startOfWeek, isWeekend, formatDistanceStrict, eachDayOfInterval } = require("date-fns");

exports.handler = async () => {
  const d = parseISO("2024-02-28T10:30:00Z");
  return {
    plus2: addDays(d, 2).toISOString(),
    plusMonth: addMonths(d, 1).toISOString(),
    formatted: format(d, "yyyy-MM-dd HH:mm EEEE do MMMM"),
    diff: differenceInCalendarDays(parseISO("2024-12-25"), d),
    week: startOfWeek(d, { weekStartsOn: 1 }).toISOString(),
    weekend: isWeekend(parseISO("2024-03-02")),
    distance: formatDistanceStrict(d, addDays(d, 45)),
    days: eachDayOfInterval({ start: d, end: addDays(d, 2) }).map((x) => format(x, "MM/dd")),
  };
};
