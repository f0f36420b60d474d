/** Warnings of valid triggers: a numeric day_of_week in the field form (0 = Monday there). */
import { describe, expect, it } from "vitest";
import {
  compileTrigger,
  triggerWarnings,
  type TriggerSpec,
} from "../../../server/src/domain/triggers/index.js";

const cron = (fields: Record<string, string | number>): TriggerSpec => ({
  type: "cron",
  fields,
  timezone: "UTC",
});

describe("trigger warnings", () => {
  it("warns about a numeric day_of_week, naming the days it means", () => {
    const [w, ...rest] = triggerWarnings(cron({ day_of_week: "1-5", hour: 9 }));
    expect(rest).toEqual([]);
    expect(w?.field).toBe("cron.day_of_week");
    expect(w?.message).toBe(
      '"1-5" numbers the days from 0 = Monday (the cron field form, as in APScheduler 3), so it means "tue-sat", not what crontab means by the same numbers (0 and 7 = Sunday). Write day names to say which days you mean (e.g. "mon-fri" for Monday to Friday), or use a crontab trigger for crontab numbering',
    );
  });

  it.each([
    ["0", "mon"],
    [6, "sun"],
    ["0,6", "mon,sun"],
    ["mon,3-4", "mon,thu-fri"],
    ["1-5/2", "1-5/2"],
  ])("reads %j as %j", (dow, names) => {
    const spec = cron({ day_of_week: dow });
    expect(() => compileTrigger(spec)).not.toThrow(); // valid all the same
    expect(triggerWarnings(spec)[0]?.message).toContain(`so it means ${JSON.stringify(names)},`);
  });

  it("says nothing for names, stars, steps of a star, or other fields", () => {
    for (const fields of [
      { day_of_week: "mon-fri" },
      { day_of_week: "*" },
      { day_of_week: "*/2" },
      { day: "1-5", hour: 3 },
    ])
      expect(triggerWarnings(cron(fields))).toEqual([]);
    expect(
      triggerWarnings({ type: "crontab", expression: "0 9 * * 1-5", timezone: "UTC" }),
    ).toEqual([]);
  });

  it("finds the field inside combinators", () => {
    const spec: TriggerSpec = {
      type: "or",
      triggers: [
        cron({ hour: 1 }),
        { type: "and", triggers: [cron({ hour: 2 }), cron({ day_of_week: "4" })] },
      ],
    };
    expect(triggerWarnings(spec).map((w) => w.field)).toEqual([
      "any_of.triggers[1].all_of.triggers[1].cron.day_of_week",
    ]);
  });
});
