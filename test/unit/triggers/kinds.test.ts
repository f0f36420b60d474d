import { describe, expect, it, vi } from "vitest";
import {
  compileTrigger,
  fireTimes,
  jittered,
  TRIGGER_LIMITS,
  type TriggerSpec,
} from "../../../server/src/domain/triggers/index.js";
import { at, fires } from "../../support/triggers.js";

describe("interval triggers", () => {
  const start = at("2026-01-01T00:00:00.250Z");
  const every90s: TriggerSpec = {
    type: "interval",
    minutes: 1,
    seconds: 30,
    startDate: start,
    timezone: "UTC",
  };

  it("fire at start_date + k x interval, keeping the start's milliseconds", () => {
    expect(fires(every90s, "2025-12-31T00:00:00Z", 3)).toEqual([
      "2026-01-01T00:00:00.250Z",
      "2026-01-01T00:01:30.250Z",
      "2026-01-01T00:03:00.250Z",
    ]);
  });

  it("`after` on a step is included; between steps the next step comes", () => {
    expect(fires(every90s, "2026-01-01T00:01:30.250Z", 1)).toEqual(["2026-01-01T00:01:30.250Z"]);
    expect(fires(every90s, "2026-01-01T00:01:30.251Z", 1)).toEqual(["2026-01-01T00:03:00.250Z"]);
  });

  it("combine weeks, days, hours, minutes and seconds, and stop at end_date", () => {
    const spec: TriggerSpec = {
      type: "interval",
      weeks: 1,
      days: 1,
      hours: 1,
      startDate: at("2026-01-01T00:00:00Z"),
      endDate: at("2026-01-17T02:00:00Z"),
      timezone: "UTC",
    };
    expect(fires(spec, "2026-01-01T00:00:00Z", 5)).toEqual([
      "2026-01-01T00:00:00Z",
      "2026-01-09T01:00:00Z",
      "2026-01-17T02:00:00Z",
    ]);
  });

  it("step in absolute time across daylight saving (days=1 is always 24 h)", () => {
    const spec: TriggerSpec = {
      type: "interval",
      days: 1,
      startDate: at("2026-03-07T09:00:00", "America/New_York"),
      timezone: "America/New_York",
    };
    expect(fires(spec, "2026-03-07T00:00:00-05:00", 3, "America/New_York")).toEqual([
      "2026-03-07T09:00:00-05:00",
      "2026-03-08T10:00:00-04:00",
      "2026-03-09T10:00:00-04:00",
    ]);
  });
});

describe("date triggers", () => {
  const runDate = at("2026-05-01T09:00:00Z");
  const trigger = compileTrigger({ type: "date", runDate, timezone: "UTC" });

  it("fire once at run_date", () => {
    expect(fireTimes(trigger, at("2026-01-01T00:00:00Z"), 5)).toEqual([runDate]);
    expect(trigger.nextFireTime(runDate)).toBeNull();
  });

  it("give run_date as the first fire time even when it has passed (the scheduler decides misfires)", () => {
    expect(trigger.firstFireTime(runDate + 86_400_000)).toBe(runDate);
    expect(trigger.nextAtOrAfter(runDate + 1)).toBeNull();
  });
});

describe("combinators", () => {
  const daily9: TriggerSpec = { type: "crontab", expression: "0 9 * * *", timezone: "UTC" };
  // Every minute of Monday to Friday (the field form would default hour and minute to 0).
  const weekdays: TriggerSpec = { type: "crontab", expression: "* * * * mon-fri", timezone: "UTC" };

  it("`or` fires whenever any part fires, once per instant", () => {
    const spec: TriggerSpec = {
      type: "or",
      triggers: [daily9, { type: "crontab", expression: "0 9,17 * * *", timezone: "UTC" }],
    };
    expect(fires(spec, "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T09:00:00Z",
      "2026-01-01T17:00:00Z",
      "2026-01-02T09:00:00Z",
    ]);
  });

  it("`or` keeps a date part, and an interval part on its own grid", () => {
    const spec: TriggerSpec = {
      type: "or",
      triggers: [
        { type: "date", runDate: at("2026-01-01T12:00:00Z"), timezone: "UTC" },
        { type: "interval", hours: 10, startDate: at("2026-01-01T05:00:00Z"), timezone: "UTC" },
      ],
    };
    expect(fires(spec, "2026-01-01T00:00:00Z", 4)).toEqual([
      "2026-01-01T05:00:00Z",
      "2026-01-01T12:00:00Z",
      "2026-01-01T15:00:00Z",
      "2026-01-02T01:00:00Z",
    ]);
  });

  it("`and` fires where all parts fire", () => {
    const spec: TriggerSpec = {
      type: "and",
      triggers: [{ type: "crontab", expression: "0 9 * * *", timezone: "UTC" }, weekdays],
    };
    // 2026-01-02 is a Friday; Saturday and Sunday are skipped.
    expect(fires(spec, "2026-01-02T00:00:00Z", 2)).toEqual([
      "2026-01-02T09:00:00Z",
      "2026-01-05T09:00:00Z",
    ]);
  });

  it("nest", () => {
    const spec: TriggerSpec = {
      type: "or",
      triggers: [
        { type: "and", triggers: [daily9, weekdays] },
        { type: "crontab", expression: "0 11 * * 0,6", timezone: "UTC" },
      ],
    };
    expect(fires(spec, "2026-01-02T10:00:00Z", 3)).toEqual([
      "2026-01-03T11:00:00Z",
      "2026-01-04T11:00:00Z",
      "2026-01-05T09:00:00Z",
    ]);
  });
});

describe("jitter", () => {
  const trigger = compileTrigger({
    type: "crontab",
    expression: "0 * * * *",
    timezone: "UTC",
    jitter: 30,
  });
  const nominal = at("2026-01-01T01:00:00Z");

  it("delays by [0, jitter] and never fires early", () => {
    expect(jittered(trigger, nominal, () => 0)).toBe(nominal);
    expect(jittered(trigger, nominal, () => 0.5)).toBe(nominal + 15_000);
    expect(jittered(trigger, nominal, () => 0.999_999_999)).toBe(nominal + 30_000);
    for (let i = 0; i < 1000; i++) {
      const x = jittered(trigger, nominal);
      expect(x).toBeGreaterThanOrEqual(nominal);
      expect(x).toBeLessThanOrEqual(nominal + 30_000);
    }
  });

  it("leaves the nominal schedule alone", () => {
    expect(trigger.nextFireTime(nominal)).toBe(at("2026-01-01T02:00:00Z"));
  });

  it("is zero when not set", () => {
    const plain = compileTrigger({ type: "crontab", expression: "0 * * * *", timezone: "UTC" });
    expect(plain.jitterMs).toBe(0);
    expect(jittered(plain, nominal, () => 0.9)).toBe(nominal);
  });
});

describe("combinator search budget", () => {
  it("is shared by nested and-triggers, so nesting cannot multiply the work of one question", () => {
    const every = (seconds: number): TriggerSpec => ({
      type: "interval",
      seconds,
      startDate: 0,
      timezone: "UTC",
    });
    // Parts that coincide only at the shared start: a later question gives up within one budget.
    const spec: TriggerSpec = {
      type: "and",
      triggers: [{ type: "and", triggers: [every(4), every(3.999)] }, every(31_991.999)],
    };
    const trigger = compileTrigger(spec);
    // Each interval answers with one Math.ceil: count the evaluations of the parts.
    const ceil = vi.spyOn(Math, "ceil");
    try {
      // Running out is no end of the trigger (null would remove its job): it throws, naming
      // the `and` that was searching.
      expect(() => trigger.nextAtOrAfter(1)).toThrow(
        /^all_of\.triggers\[0\]\.all_of\.triggers: no common fire time at or after .* within 10000 rounds/,
      );
      // One shared budget of 10,000 rounds, each asking at most the three intervals once;
      // a budget per level would ask 10,000 x 10,000 times.
      expect(ceil.mock.calls.length).toBeLessThanOrEqual(3 * TRIGGER_LIMITS.maxAndRounds + 10);
    } finally {
      ceil.mockRestore();
    }
  });
});
