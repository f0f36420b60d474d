/**
 * An `and` trigger's search for a common fire time is bounded (TRIGGER_LIMITS.maxAndRounds).
 * Running out of rounds is not an end of the trigger: before the fix it answered null (no more
 * fire times) and the claim removed the job after its first fire. Now it throws
 * TriggerSearchExhaustedError naming the `and`; null still means a part has ended. AddJob,
 * ModifyJob and RescheduleJob (buildJob) check the first fire times after now, so such a
 * trigger is refused when it is given rather than stored to stop after one fire.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Scheduler } from "../../../server/src/domain/jobs.js";
import {
  compileTrigger,
  TriggerSearchExhaustedError,
  type TriggerSpec,
} from "../../../server/src/domain/triggers/index.js";
import { buildJob } from "../../../server/src/management/build-job.js";
import { at } from "../../support/triggers.js";

const START = at("2026-06-01T00:01:00Z");
const every = (seconds: number, extra: Partial<TriggerSpec> = {}): TriggerSpec =>
  ({ type: "interval", seconds, startDate: START, timezone: "UTC", ...extra }) as TriggerSpec;
/** Two intervals from one start: they meet at START, then 10,007 x 10,009 s (3.2 years) later. */
const rare: TriggerSpec = { type: "and", triggers: [every(10_007), every(10_009)] };

describe("an and trigger's search", () => {
  it("finds the first common fire time, then throws when the next is beyond the search", () => {
    const trigger = compileTrigger(rare);
    expect(trigger.firstFireTime(START - 1000)).toBe(START);
    expect(() => trigger.nextFireTime(START)).toThrow(TriggerSearchExhaustedError);
    expect(() => trigger.nextFireTime(START)).toThrow(
      "all_of.triggers: no common fire time at or after 2026-06-01T00:01:00.001Z within 10000 rounds of search",
    );
  });

  it("names a nested and by its path from the root trigger", () => {
    const trigger = compileTrigger({
      type: "or",
      triggers: [{ type: "date", runDate: START - 5000, timezone: "UTC" }, rare],
    });
    expect(() => trigger.nextFireTime(START)).toThrow(/^any_of\.triggers\[1\]\.all_of\.triggers: /);
  });

  it("answers null when a part has ended: the trigger is over", () => {
    const trigger = compileTrigger({
      type: "and",
      triggers: [every(10, { endDate: START + 60_000 }), every(20)],
    });
    expect(trigger.nextFireTime(START + 40_000)).toBe(START + 60_000);
    expect(trigger.nextFireTime(START + 60_000)).toBeNull();
  });

  it("answers null when the next common time would be past 9999-12-31", () => {
    // 99-year intervals a second apart from one start meet next far beyond year 9999: the
    // search passes the last representable instant within a few dozen rounds.
    const years = (n: number) => n * 366 * 86_400;
    const trigger = compileTrigger({
      type: "and",
      triggers: [every(years(99)), every(years(99) + 1)],
    });
    expect(trigger.nextFireTime(START)).toBeNull();
  });
});

describe("buildJob with an and trigger", () => {
  const scheduler: Scheduler = {
    name: "default",
    timezone: "UTC",
    defaults: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
    paused: false,
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  };
  const build = (trigger: TriggerSpec, checkSchedule = true) =>
    buildJob(
      scheduler,
      "j",
      { handler: "h", trigger },
      START - 60_000,
      DEFAULT_LIMITS,
      checkSchedule,
    );

  it("refuses parts that meet once and then not within the search, naming the and", () => {
    expect(() => build(rare)).toThrow(
      /^trigger\.all_of\.triggers: no common fire time at or after 2026-06-01T00:01:00\.001Z within 10000 rounds of search: the triggers never fire at the same instant again, or too rarely to be searched$/,
    );
  });

  it("takes parts that meet often", () => {
    const job = build({ type: "and", triggers: [every(10), every(15)] });
    expect(job.nextRunTime).toBe(START);
  });
});
