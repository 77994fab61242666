// luxon 3 in UTC: DateTime, Duration, Interval and formatting (uses Intl).
const { DateTime, Duration, Interval, Settings } = require("luxon");

Settings.defaultZone = "utc";

exports.handler = async () => {
  const d = DateTime.fromISO("2024-02-28T10:30:00", { zone: "utc" });
  const later = d.plus({ days: 3, hours: 5 });
  return {
    iso: later.toISO(),
    formatted: d.toFormat("yyyy LLL dd HH:mm cccc"),
    startOfMonth: d.startOf("month").toISODate(),
    duration: Duration.fromObject({ hours: 26, minutes: 90 }).shiftTo("days", "hours", "minutes").toObject(),
    intervalDays: Interval.fromDateTimes(d, later).length("days"),
    valid: DateTime.fromISO("2024-13-01").isValid,
    weekday: d.weekday,
    millis: d.toMillis(),
  };
};
