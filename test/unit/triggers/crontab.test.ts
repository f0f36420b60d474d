import { describe, expect, it } from "vitest";
import { fires } from "../../support/triggers.js";

function crontab(expression: string, after: string, count = 4, timezone = "UTC"): string[] {
  return fires({ type: "crontab", expression, timezone }, after, count, timezone);
}

describe("crontab strings: standard (Vixie) cron", () => {
  it("five fields: minute hour day month weekday", () => {
    expect(crontab("30 2 * * *", "2026-01-01T03:00:00Z", 2)).toEqual([
      "2026-01-02T02:30:00Z",
      "2026-01-03T02:30:00Z",
    ]);
  });

  it("six fields take a leading seconds field", () => {
    expect(crontab("15,45 0 12 * * *", "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T12:00:15Z",
      "2026-01-01T12:00:45Z",
      "2026-01-02T12:00:15Z",
    ]);
  });

  it("`*/n`, `a-b`, `a-b/n` and lists", () => {
    expect(crontab("*/20 9-10 * * *", "2026-01-01T00:00:00Z", 7)).toEqual([
      "2026-01-01T09:00:00Z",
      "2026-01-01T09:20:00Z",
      "2026-01-01T09:40:00Z",
      "2026-01-01T10:00:00Z",
      "2026-01-01T10:20:00Z",
      "2026-01-01T10:40:00Z",
      "2026-01-02T09:00:00Z",
    ]);
    expect(crontab("0 0-12/6,23 * * *", "2026-01-01T00:00:01Z", 4)).toEqual([
      "2026-01-01T06:00:00Z",
      "2026-01-01T12:00:00Z",
      "2026-01-01T23:00:00Z",
      "2026-01-02T00:00:00Z",
    ]);
  });

  it("0 and 7 are Sunday; 1-5 is Monday to Friday", () => {
    // 2026-01-04 is a Sunday.
    expect(crontab("0 0 * * 0", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-04T00:00:00Z"]);
    expect(crontab("0 0 * * 7", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-04T00:00:00Z"]);
    expect(crontab("0 9 * * 1-5", "2026-01-02T10:00:00Z", 2)).toEqual([
      "2026-01-05T09:00:00Z",
      "2026-01-06T09:00:00Z",
    ]);
    expect(crontab("0 0 * * 5-7", "2026-01-01T00:00:01Z", 3)).toEqual([
      "2026-01-02T00:00:00Z",
      "2026-01-03T00:00:00Z",
      "2026-01-04T00:00:00Z",
    ]);
  });

  it("names for months and weekdays, in ranges and lists, any case", () => {
    expect(crontab("0 0 1 JAN,jul *", "2026-01-02T00:00:00Z", 2)).toEqual([
      "2026-07-01T00:00:00Z",
      "2027-01-01T00:00:00Z",
    ]);
    expect(crontab("0 8 * * Mon-Wed", "2026-01-05T08:00:01Z", 2)).toEqual([
      "2026-01-06T08:00:00Z",
      "2026-01-07T08:00:00Z",
    ]);
  });

  it("both day fields restricted: a day matches if EITHER matches", () => {
    // The 1st, the 15th and every Friday.
    expect(crontab("15 10 1,15 * 5", "2026-01-01T11:00:00Z", 4)).toEqual([
      "2026-01-02T10:15:00Z",
      "2026-01-09T10:15:00Z",
      "2026-01-15T10:15:00Z",
      "2026-01-16T10:15:00Z",
    ]);
    // `1-31` is restricted too (Vixie), so it still means "or".
    expect(crontab("0 0 1-31 * 1", "2026-01-01T00:00:01Z", 1)).toEqual(["2026-01-02T00:00:00Z"]);
  });

  it("one day field `*`: only the other counts", () => {
    expect(crontab("0 0 13 * *", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-13T00:00:00Z"]);
    expect(crontab("0 0 * * fri", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-02T00:00:00Z"]);
  });

  it("a day field written `*/n` counts as `*` (Vixie): the fields are ANDed", () => {
    // Odd days that are Mondays: 2026-01-05, 2026-01-19, ...
    expect(crontab("0 0 */2 * 1", "2026-01-01T00:00:00Z", 2)).toEqual([
      "2026-01-05T00:00:00Z",
      "2026-01-19T00:00:00Z",
    ]);
  });

  it("macros", () => {
    expect(crontab("@yearly", "2026-03-01T00:00:00Z", 1)).toEqual(["2027-01-01T00:00:00Z"]);
    expect(crontab("@annually", "2026-03-01T00:00:00Z", 1)).toEqual(["2027-01-01T00:00:00Z"]);
    expect(crontab("@monthly", "2026-03-02T00:00:00Z", 1)).toEqual(["2026-04-01T00:00:00Z"]);
    expect(crontab("@weekly", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-04T00:00:00Z"]);
    expect(crontab("@daily", "2026-01-01T00:00:01Z", 1)).toEqual(["2026-01-02T00:00:00Z"]);
    expect(crontab("@midnight", "2026-01-01T00:00:01Z", 1)).toEqual(["2026-01-02T00:00:00Z"]);
    expect(crontab("@HOURLY", "2026-01-01T00:00:01Z", 1)).toEqual(["2026-01-01T01:00:00Z"]);
  });

  it("surrounding and repeated white space is ignored", () => {
    expect(crontab("  0\t2  * * *  ", "2026-01-01T00:00:00Z", 1)).toEqual(["2026-01-01T02:00:00Z"]);
  });
});

describe("crontab strings in the first hours of 1970", () => {
  // Crontab has no year field: the field form's 1970 minimum year must not apply to the local
  // dates of a zone west of UTC, where 1970-01-01T00:00Z is still 1969-12-31 on the wall.
  it("fire times on 1969-12-31 local time (west of UTC) are not skipped", () => {
    expect(crontab("0 * * * *", "1969-12-31T19:00:00", 3, "America/New_York")).toEqual([
      "1969-12-31T19:00:00-05:00",
      "1969-12-31T20:00:00-05:00",
      "1969-12-31T21:00:00-05:00",
    ]);
    expect(crontab("30 23 * * *", "1970-01-01T00:00:00Z", 2, "America/Los_Angeles")).toEqual([
      "1969-12-31T23:30:00-08:00",
      "1970-01-01T23:30:00-08:00",
    ]);
    expect(crontab("0 18 31 12 *", "1970-01-01T00:00:00Z", 1, "Pacific/Honolulu")).toEqual([
      "1969-12-31T18:00:00-10:00",
    ]);
    // 1970-01-01T00:00Z and 02:00Z are 21:00 and 23:00 on 1969-12-31 in São Paulo (UTC-3).
    expect(crontab("0 21-23/2 * * *", "1970-01-01T00:00:00Z", 2, "America/Sao_Paulo")).toEqual([
      "1969-12-31T21:00:00-03:00",
      "1969-12-31T23:00:00-03:00",
    ]);
  });

  it("east of UTC, local 1970 starts before the first UTC instant of 1970", () => {
    // Searches start a day before 1970-01-01T00:00Z at the earliest (EARLIEST_INSTANT).
    expect(crontab("0 0 1 1 *", "1969-06-01T00:00:00Z", 1, "Asia/Tokyo")).toEqual([
      "1970-01-01T00:00:00+09:00",
    ]);
  });
});
