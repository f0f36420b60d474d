import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../server/src/domain/errors.js";
import { compileTrigger, type TriggerSpec } from "../../../server/src/domain/triggers/index.js";

const T0 = Date.UTC(2026, 0, 1);

function rejects(spec: unknown): InvalidArgumentError {
  try {
    compileTrigger(spec as TriggerSpec);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(spec)}`);
}

const cron = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "cron",
  fields,
  timezone: "UTC",
  ...extra,
});
const crontab = (expression: unknown, extra: Record<string, unknown> = {}) => ({
  type: "crontab",
  expression,
  timezone: "UTC",
  ...extra,
});

// [description, spec, field, a fragment of the reason]
const cases: [string, unknown, string, RegExp][] = [
  [
    "unknown trigger type",
    { type: "weekly", timezone: "UTC" },
    "kind",
    /unknown trigger type "weekly"/,
  ],
  ["unknown cron field", cron({ hours: "1" }), "cron.hours", /unknown field; expected one of year/],
  ["no cron fields", cron({}), "cron", /at least one field/],
  [
    "fields not an object",
    cron(["1"] as unknown as Record<string, unknown>),
    "cron",
    /must be an object/,
  ],
  ["hour out of range", cron({ hour: "24" }), "cron.hour", /24 is out of range 0-23/],
  ["minute out of range", cron({ minute: 60 }), "cron.minute", /60 is out of range 0-59/],
  ["second out of range", cron({ second: "61" }), "cron.second", /out of range 0-59/],
  ["month 0", cron({ month: "0" }), "cron.month", /0 is out of range 1-12/],
  ["day 32", cron({ day: "32" }), "cron.day", /32 is out of range 1-31/],
  ["week 54", cron({ week: "54" }), "cron.week", /out of range 1-53/],
  ["day_of_week 7", cron({ day_of_week: "7" }), "cron.day_of_week", /7 is out of range 0-6/],
  ["year before 1970", cron({ year: "1969" }), "cron.year", /out of range 1970-9999/],
  ["fractional number", cron({ hour: 1.5 }), "cron.hour", /not a whole number/],
  ["wrong value type", cron({ hour: true }), "cron.hour", /must be a string or a whole number/],
  ["reversed range", cron({ hour: "10-2" }), "cron.hour", /starts after it ends/],
  ["zero step", cron({ minute: "*/0" }), "cron.minute", /step .* must be at least 1/],
  [
    "step larger than the range",
    cron({ hour: "*/24" }),
    "cron.hour",
    /larger than the field's range/,
  ],
  ["malformed expression", cron({ minute: "5-" }), "cron.minute", /unrecognised expression "5-"/],
  [
    "a crontab line in a cron field: a hint to use the crontab trigger",
    cron({ minute: "0 9 * * 1-5" }),
    "cron.minute",
    /^unrecognised expression "0 9 \* \* 1-5"; this looks like a crontab line, which is not a cron field value: use a crontab trigger for it \(Trigger\.crontab; in the SDK CronTrigger\.fromCrontab\(\.\.\.\) or addJob\(handler, "crontab", \{ expression \}\)\)$/,
  ],
  [
    "a crontab line with seconds, split at its commas",
    cron({ hour: "0 0 9,17 * * mon-fri" }),
    "cron.hour",
    /use a crontab trigger/,
  ],
  ["a crontab macro in a cron field", cron({ day: "@daily" }), "cron.day", /use a crontab trigger/],
  ["empty list item", cron({ minute: "1,,2" }), "cron.minute", /empty expression/],
  ["empty field", cron({ minute: "" }), "cron.minute", /empty expression/],
  ["unknown month name", cron({ month: "foo" }), "cron.month", /unknown month name "foo"/],
  [
    "unknown weekday name",
    cron({ day_of_week: "mon-fry" }),
    "cron.day_of_week",
    /unknown weekday name "fry"/,
  ],
  [
    "reversed weekday names",
    cron({ day_of_week: "sun-mon" }),
    "cron.day_of_week",
    /starts after it ends/,
  ],
  ["weekday name in the hour field", cron({ hour: "mon" }), "cron.hour", /unrecognised expression/],
  ["bad weekday position", cron({ day: "2nd fry" }), "cron.day", /unknown weekday name "fry"/],
  ["6th weekday", cron({ day: "6th mon" }), "cron.day", /unrecognised expression/],
  ["`last` outside the day field", cron({ hour: "last" }), "cron.hour", /unrecognised expression/],
  ["February 30th can never fire", cron({ month: "2", day: "30" }), "cron", /can never fire/],
  [
    "31st of a 30-day month can never fire",
    cron({ month: "4,6,9,11", day: "31" }),
    "cron",
    /can never fire/,
  ],
  [
    "unknown time zone",
    cron({ hour: "1" }, { timezone: "Mars/Olympus" }),
    "cron.timezone",
    /unknown time zone "Mars\/Olympus"/,
  ],
  ["empty time zone", cron({ hour: "1" }, { timezone: "" }), "cron.timezone", /unknown time zone/],
  [
    "end before start",
    cron({ hour: "1" }, { startDate: T0, endDate: T0 - 1 }),
    "cron.end_date",
    /is before start_date/,
  ],
  [
    "no fire time within the bounds",
    cron({ hour: "1" }, { startDate: T0 + 7_200_000, endDate: T0 + 3 * 3_600_000 }),
    "cron.end_date",
    /can never fire within/,
  ],
  [
    "start_date not an instant",
    cron({ hour: "1" }, { startDate: "tomorrow" }),
    "cron.start_date",
    /must be an instant/,
  ],
  [
    "negative jitter",
    cron({ hour: "1" }, { jitter: -1 }),
    "jitter",
    /must be a number of seconds >= 0/,
  ],
  ["huge jitter", cron({ hour: "1" }, { jitter: 90_000 }), "jitter", /at most 86400/],
  ["crontab not a string", crontab(5), "crontab.expression", /must be a string/],
  ["crontab with 4 fields", crontab("* * * *"), "crontab.expression", /expected 5 fields .* got 4/],
  ["crontab with 7 fields", crontab("0 0 0 * * * 2026"), "crontab.expression", /got 7/],
  [
    "crontab minute out of range",
    crontab("60 * * * *"),
    "crontab.expression",
    /minute field "60": 60 is out of range 0-59/,
  ],
  [
    "crontab weekday 8",
    crontab("0 0 * * 8"),
    "crontab.expression",
    /day-of-week field "8": 8 is out of range 0-7/,
  ],
  [
    "crontab day 0",
    crontab("0 0 0 * *"),
    "crontab.expression",
    /day-of-month field "0": 0 is out of range 1-31/,
  ],
  [
    "crontab `a/n` without a range",
    crontab("5/15 * * * *"),
    "crontab.expression",
    /a step needs a range: write 5-59\/15 or \*\/15/,
  ],
  ["crontab L", crontab("0 0 L * *"), "crontab.expression", /not standard cron/],
  ["crontab #", crontab("0 0 * * 5#3"), "crontab.expression", /not standard cron/],
  ["crontab W", crontab("0 0 15W * *"), "crontab.expression", /not standard cron/],
  ["crontab ?", crontab("0 0 ? * 1"), "crontab.expression", /not standard cron/],
  ["crontab H", crontab("H * * * *"), "crontab.expression", /not standard cron/],
  [
    "crontab unknown name",
    crontab("0 0 * * someday"),
    "crontab.expression",
    /unknown value "someday"/,
  ],
  [
    "crontab reversed range",
    crontab("0 0 * * fri-mon"),
    "crontab.expression",
    /starts after it ends/,
  ],
  ["crontab zero step", crontab("*/0 * * * *"), "crontab.expression", /at least 1/],
  ["crontab unknown macro", crontab("@reboot"), "crontab.expression", /unknown macro "@reboot"/],
  ["crontab that can never fire", crontab("0 0 30 2 *"), "crontab.expression", /can never fire/],
  [
    "interval of zero",
    { type: "interval", seconds: 0, startDate: T0, timezone: "UTC" },
    "interval",
    /must be at least 1 millisecond/,
  ],
  [
    "interval shorter than a millisecond",
    { type: "interval", seconds: 0.0001, startDate: T0, timezone: "UTC" },
    "interval",
    /must be at least 1 millisecond/,
  ],
  [
    "negative interval unit",
    { type: "interval", minutes: -5, startDate: T0, timezone: "UTC" },
    "interval.minutes",
    /must be a number >= 0/,
  ],
  [
    "interval unit not a number",
    { type: "interval", hours: "1", startDate: T0, timezone: "UTC" },
    "interval.hours",
    /must be a number >= 0/,
  ],
  [
    "interval without start_date",
    { type: "interval", hours: 1, timezone: "UTC" },
    "interval.start_date",
    /is required/,
  ],
  [
    "interval with a bad zone",
    { type: "interval", hours: 1, startDate: T0, timezone: "Nowhere" },
    "interval.timezone",
    /unknown time zone/,
  ],
  [
    "date without run_date",
    { type: "date", timezone: "UTC" },
    "date.run_date",
    /must be an instant/,
  ],
  [
    "date with a bad zone",
    { type: "date", runDate: T0, timezone: "x" },
    "date.timezone",
    /unknown time zone/,
  ],
  ["empty combinator", { type: "or", triggers: [] }, "any_of.triggers", /at least one trigger/],
  [
    "bad sub-trigger",
    { type: "and", triggers: [cron({ hour: "1" }), cron({ hour: "25" })] },
    "all_of.triggers[1].cron.hour",
    /out of range/,
  ],
  [
    "jitter on a sub-trigger",
    { type: "or", triggers: [cron({ hour: "1" }, { jitter: 5 })] },
    "any_of.triggers[0].jitter",
    /outermost trigger/,
  ],
  [
    "and that never coincides",
    { type: "and", triggers: [cron({ hour: "1" }), cron({ hour: "2" })] },
    "all_of.triggers",
    /never fire at the same instant/,
  ],
  [
    "too many sub-triggers",
    { type: "or", triggers: Array.from({ length: 17 }, () => cron({ hour: "1" })) },
    "any_of.triggers",
    /at most 16/,
  ],
  [
    "nesting too deep",
    {
      type: "or",
      triggers: [
        {
          type: "or",
          triggers: [
            {
              type: "or",
              triggers: [
                { type: "or", triggers: [{ type: "or", triggers: [cron({ hour: "1" })] }] },
              ],
            },
          ],
        },
      ],
    },
    "any_of.triggers[0].any_of.triggers[0].any_of.triggers[0].any_of.triggers[0].any_of.triggers",
    /nesting is limited/,
  ],
];

describe("trigger validation", () => {
  it.each(cases)("%s", (_name, spec, field, reason) => {
    const err = rejects(spec);
    expect(err.field).toBe(field);
    expect(err.reason).toMatch(reason);
    expect(err.message).toBe(`${field}: ${err.reason}`);
  });

  it("gives the crontab hint only for what looks like a crontab line", () => {
    expect(rejects(cron({ minute: "5-" })).reason).not.toMatch(/crontab/);
    expect(rejects(cron({ day: "6th mon" })).reason).not.toMatch(/crontab/);
    // Weekday positions hold spaces too: a valid list of them is accepted as it is.
    expect(() =>
      compileTrigger(cron({ day: "1st mon, 2nd mon, 3rd mon" }) as TriggerSpec),
    ).not.toThrow();
  });

  it("accepts the valid neighbours of the rejected values", () => {
    for (const spec of [
      cron({ hour: "23", minute: "59", second: "59", day: "31", month: "12", year: "9999" }),
      cron({ week: "53", day_of_week: "6" }),
      cron({ month: "2", day: "29" }),
      crontab("59 23 31 12 7"),
      crontab("5-59/15 * * * *"),
      { type: "interval", seconds: 0.5, startDate: T0, timezone: "UTC" },
      { type: "or", triggers: [cron({ hour: "1" }, { jitter: 0 })], jitter: 86_400 },
    ]) {
      expect(() => compileTrigger(spec as TriggerSpec)).not.toThrow();
    }
  });
});
