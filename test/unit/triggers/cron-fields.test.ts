import { describe, expect, it } from "vitest";
import type { CronFields } from "../../../server/src/domain/triggers/index.js";
import { fires } from "../../support/triggers.js";

function cron(fields: CronFields, after: string, count = 4, timezone = "UTC"): string[] {
  return fires({ type: "cron", fields, timezone }, after, count, timezone);
}

describe("cron field form: expression forms", () => {
  it("`*` in the least significant field fires every unit", () => {
    expect(cron({ second: "*" }, "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T00:00:00Z",
      "2026-01-01T00:00:01Z",
      "2026-01-01T00:00:02Z",
    ]);
  });

  it("`*/a` counts from the field's minimum", () => {
    expect(cron({ minute: "*/20" }, "2026-01-01T00:05:00Z", 3)).toEqual([
      "2026-01-01T00:20:00Z",
      "2026-01-01T00:40:00Z",
      "2026-01-01T01:00:00Z",
    ]);
    // day: 1, 11, 21, 31
    expect(cron({ day: "*/10" }, "2026-01-02T00:00:00Z", 4)).toEqual([
      "2026-01-11T00:00:00Z",
      "2026-01-21T00:00:00Z",
      "2026-01-31T00:00:00Z",
      "2026-02-01T00:00:00Z",
    ]);
    // year: from 1970, so the even years
    expect(cron({ year: "*/2" }, "2026-06-01T00:00:00Z", 2)).toEqual([
      "2028-01-01T00:00:00Z",
      "2030-01-01T00:00:00Z",
    ]);
  });

  it("a single value, and numbers as well as strings", () => {
    expect(cron({ hour: 9 }, "2026-01-01T10:00:00Z", 2)).toEqual([
      "2026-01-02T09:00:00Z",
      "2026-01-03T09:00:00Z",
    ]);
  });

  it("`a-b` and `a-b/c`", () => {
    expect(cron({ hour: "9-11" }, "2026-01-01T00:00:00Z", 4)).toEqual([
      "2026-01-01T09:00:00Z",
      "2026-01-01T10:00:00Z",
      "2026-01-01T11:00:00Z",
      "2026-01-02T09:00:00Z",
    ]);
    expect(cron({ hour: "1-10/4" }, "2026-01-01T00:00:00Z", 4)).toEqual([
      "2026-01-01T01:00:00Z",
      "2026-01-01T05:00:00Z",
      "2026-01-01T09:00:00Z",
      "2026-01-02T01:00:00Z",
    ]);
  });

  it("`a/c` runs from a to the maximum in steps of c", () => {
    expect(cron({ minute: "50/4" }, "2026-01-01T00:00:00Z", 4)).toEqual([
      "2026-01-01T00:50:00Z",
      "2026-01-01T00:54:00Z",
      "2026-01-01T00:58:00Z",
      "2026-01-01T01:50:00Z",
    ]);
  });

  it("comma lists mix forms", () => {
    expect(cron({ minute: "5,30-31,*/50" }, "2026-01-01T00:00:00Z", 6)).toEqual([
      "2026-01-01T00:00:00Z",
      "2026-01-01T00:05:00Z",
      "2026-01-01T00:30:00Z",
      "2026-01-01T00:31:00Z",
      "2026-01-01T00:50:00Z",
      "2026-01-01T01:00:00Z",
    ]);
  });

  it("month names, single and ranges, case-insensitive", () => {
    expect(cron({ month: "Feb-mar,DEC" }, "2026-01-15T00:00:00Z", 4)).toEqual([
      "2026-02-01T00:00:00Z",
      "2026-03-01T00:00:00Z",
      "2026-12-01T00:00:00Z",
      "2027-02-01T00:00:00Z",
    ]);
  });

  it("day_of_week counts 0 = Monday and accepts names", () => {
    // 2026-01-05 is a Monday.
    expect(cron({ day_of_week: "0" }, "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-05T00:00:00Z"]);
    expect(cron({ day_of_week: "sat-sun", hour: 8 }, "2026-01-05T00:00:00Z", 3)).toEqual([
      "2026-01-10T08:00:00Z",
      "2026-01-11T08:00:00Z",
      "2026-01-17T08:00:00Z",
    ]);
    expect(cron({ day_of_week: "*/3" }, "2026-01-05T00:00:00Z", 3)).toEqual([
      "2026-01-05T00:00:00Z", // Monday (0)
      "2026-01-08T00:00:00Z", // Thursday (3)
      "2026-01-11T00:00:00Z", // Sunday (6)
    ]);
  });

  it("`week` is the ISO week number", () => {
    // 2027-01-01 is in ISO week 53 of 2026; week 1 of 2027 starts on 2027-01-04.
    expect(cron({ week: "53", day_of_week: "fri" }, "2026-12-01T00:00:00Z", 1)).toEqual([
      "2027-01-01T00:00:00Z",
    ]);
    expect(cron({ week: "1", day_of_week: "mon" }, "2026-12-01T00:00:00Z", 1)).toEqual([
      "2027-01-04T00:00:00Z",
    ]);
  });

  it("`last` is the last day of the month", () => {
    expect(cron({ day: "last" }, "2028-01-31T00:00:01Z", 3)).toEqual([
      "2028-02-29T00:00:00Z",
      "2028-03-31T00:00:00Z",
      "2028-04-30T00:00:00Z",
    ]);
  });

  it("`xth y` and `last y` pick a weekday of the month", () => {
    expect(cron({ day: "2nd fri" }, "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-09T00:00:00Z",
      "2026-02-13T00:00:00Z",
      "2026-03-13T00:00:00Z",
    ]);
    expect(cron({ day: "last sun" }, "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-01-25T00:00:00Z",
      "2026-02-22T00:00:00Z",
    ]);
    // A fifth Monday exists only in some months.
    expect(cron({ day: "5th mon" }, "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-03-30T00:00:00Z",
      "2026-06-29T00:00:00Z",
    ]);
  });

  it("a day the month lacks does not match", () => {
    expect(cron({ day: "31" }, "2026-01-31T00:00:01Z", 2)).toEqual([
      "2026-03-31T00:00:00Z",
      "2026-05-31T00:00:00Z",
    ]);
  });

  it("all fields must match, including day and day_of_week (AND)", () => {
    // Friday the 13th.
    expect(cron({ day: "13", day_of_week: "fri" }, "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-02-13T00:00:00Z",
      "2026-03-13T00:00:00Z",
    ]);
  });

  it("a bounded year range ends", () => {
    expect(cron({ year: "2026-2027", month: "6", day: "1" }, "2026-01-01T00:00:00Z", 5)).toEqual([
      "2026-06-01T00:00:00Z",
      "2027-06-01T00:00:00Z",
    ]);
  });
});

describe("cron field form: defaults of unspecified fields", () => {
  it("fields after the least significant given one take their minimum", () => {
    expect(cron({ hour: "2" }, "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-01-01T02:00:00Z",
      "2026-01-02T02:00:00Z",
    ]);
    expect(cron({ day_of_week: "sun" }, "2026-01-01T00:00:00Z", 1)).toEqual([
      "2026-01-04T00:00:00Z",
    ]);
    expect(cron({ year: "2027" }, "2026-01-01T00:00:00Z", 3)).toEqual(["2027-01-01T00:00:00Z"]);
  });

  it("fields before it stay `*`: month=6, minute=30 fires at :30 of every hour in June", () => {
    expect(cron({ month: "6", minute: "30" }, "2026-05-31T22:00:00Z", 3)).toEqual([
      "2026-06-01T00:30:00Z",
      "2026-06-01T01:30:00Z",
      "2026-06-01T02:30:00Z",
    ]);
  });

  it("an explicit `*` counts as given (the guide's hour='*', minute=0)", () => {
    expect(cron({ hour: "*", minute: 0 }, "2026-01-01T00:10:00Z", 2)).toEqual([
      "2026-01-01T01:00:00Z",
      "2026-01-01T02:00:00Z",
    ]);
  });

  it("a fractional `after` rounds up to the next whole second", () => {
    expect(cron({ second: "*" }, "2026-01-01T00:00:00.200Z", 2)).toEqual([
      "2026-01-01T00:00:01Z",
      "2026-01-01T00:00:02Z",
    ]);
  });
});

describe("cron field form: time zones", () => {
  it("matches wall-clock time in the trigger's zone", () => {
    expect(cron({ hour: "9" }, "2026-07-01T00:00:00+08:00", 1, "Asia/Shanghai")).toEqual([
      "2026-07-01T09:00:00+08:00",
    ]);
  });

  it("start_date and end_date are inclusive bounds", () => {
    const spec = {
      type: "cron" as const,
      fields: { hour: "*" },
      timezone: "UTC",
      startDate: Date.UTC(2026, 0, 1, 3),
      endDate: Date.UTC(2026, 0, 1, 5),
    };
    expect(fires(spec, "2026-01-01T00:00:00Z", 10)).toEqual([
      "2026-01-01T03:00:00Z",
      "2026-01-01T04:00:00Z",
      "2026-01-01T05:00:00Z",
    ]);
  });

  it("a fractional start_date rounds up to the next whole second", () => {
    const spec = {
      type: "cron" as const,
      fields: { second: "*" },
      timezone: "UTC",
      startDate: Date.UTC(2026, 0, 1, 0, 0, 0, 1),
    };
    expect(fires(spec, "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-01T00:00:01Z"]);
  });
});
