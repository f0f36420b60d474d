import { describe, expect, it } from "vitest";
import { ZoneRules, type TriggerSpec } from "../../../server/src/domain/triggers/index.js";
import { at, fires } from "../../support/triggers.js";

const NY = "America/New_York";
const crontab = (expression: string, timezone: string): TriggerSpec => ({
  type: "crontab",
  expression,
  timezone,
});

describe("daylight saving: spring forward", () => {
  it("a wall time in the gap fires shifted forward by the gap", () => {
    expect(fires(crontab("30 2 * * *", NY), "2026-03-07T12:00:00-05:00", 3, NY)).toEqual([
      "2026-03-08T03:30:00-04:00",
      "2026-03-09T02:30:00-04:00",
      "2026-03-10T02:30:00-04:00",
    ]);
  });

  it("shifted and real wall times that land on one instant fire once", () => {
    const spec: TriggerSpec = {
      type: "cron",
      fields: { hour: "1,2,3", minute: "*/30" },
      timezone: NY,
    };
    expect(fires(spec, "2026-03-08T00:00:00-05:00", 6, NY)).toEqual([
      "2026-03-08T01:00:00-05:00",
      "2026-03-08T01:30:00-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:30:00-04:00",
      "2026-03-09T01:00:00-04:00",
      "2026-03-09T01:30:00-04:00",
    ]);
  });

  it("a shifted gap time is still found when `after` lies just after the gap", () => {
    // 02:45 does not exist; it fires at 03:45 EDT, which is after 03:10 EDT.
    expect(fires(crontab("45 2 * * *", NY), "2026-03-08T03:10:00-04:00", 1, NY)).toEqual([
      "2026-03-08T03:45:00-04:00",
    ]);
  });

  it("a gap time later in the wall order can fire before a real time after the gap", () => {
    // 02:50 (shifted to 03:50) and 03:20 (real): 03:20 fires first.
    const spec: TriggerSpec = {
      type: "cron",
      fields: { hour: "2,3", minute: "50,20" },
      timezone: NY,
    };
    expect(fires(spec, "2026-03-08T01:55:00-05:00", 3, NY)).toEqual([
      "2026-03-08T03:20:00-04:00",
      "2026-03-08T03:50:00-04:00",
      "2026-03-09T02:20:00-04:00",
    ]);
  });
});

describe("daylight saving: fall back", () => {
  it("a repeated wall time fires once, at its first occurrence", () => {
    expect(fires(crontab("30 1 * * *", NY), "2026-10-31T12:00:00-04:00", 2, NY)).toEqual([
      "2026-11-01T01:30:00-04:00",
      "2026-11-02T01:30:00-05:00",
    ]);
  });

  it("hourly fires once in the repeated hour", () => {
    expect(fires(crontab("0 * * * *", NY), "2026-11-01T00:00:00-04:00", 3, NY)).toEqual([
      "2026-11-01T00:00:00-04:00",
      "2026-11-01T01:00:00-04:00",
      "2026-11-01T02:00:00-05:00",
    ]);
  });

  it("from inside the second pass, the repeated times are not fire times", () => {
    expect(fires(crontab("30 1 * * *", NY), "2026-11-01T01:25:00-05:00", 1, NY)).toEqual([
      "2026-11-02T01:30:00-05:00",
    ]);
  });
});

describe("zone rules", () => {
  it("reject unknown zones and accept any case, giving the canonical name", () => {
    expect(() => ZoneRules.of("Not/AZone")).toThrow(/unknown time zone/);
    expect(ZoneRules.of("america/new_york").name).toBe(NY);
  });

  it("know the offsets around a transition to the second", () => {
    const rules = ZoneRules.of(NY);
    const change = at("2026-03-08T07:00:00Z");
    expect(rules.offsetAt(change - 1000)).toBe(-5 * 3_600_000);
    expect(rules.offsetAt(change)).toBe(-4 * 3_600_000);
    expect(rules.transitionsBetween(change - 1, change)).toEqual([
      { at: change, before: -5 * 3_600_000, after: -4 * 3_600_000 },
    ]);
  });

  it("handle a whole skipped day (Pacific/Apia, 2011-12-30)", () => {
    const apia = "Pacific/Apia";
    expect(fires(crontab("0 12 * * *", apia), "2011-12-29T00:00:00-10:00", 3, apia)).toEqual([
      "2011-12-29T12:00:00-10:00",
      "2011-12-31T12:00:00+14:00",
      "2012-01-01T12:00:00+14:00",
    ]);
  });
});
