/**
 * The dashboard's trigger in words (server/ui/src/trigger-words.ts): each form of trigger, the
 * guide's defaulting of finer cron fields, ranges, time zones and jitter, and the fallback to the
 * fields as given where there are no simple words.
 */
import { create, fromJson, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { formatInstant, triggerInWords } from "../../../server/ui/src/trigger-words.js";
import { TriggerSchema } from "../../../server/src/gen/metronome/v1/trigger_pb.js";

/** The words for a trigger given in its JSON form (as the API takes it). */
const words = (json: JsonObject): string => triggerInWords(fromJson(TriggerSchema, json));

describe("triggerInWords", () => {
  it("says a cron time of day, defaulting the finer fields to zero", () => {
    expect(words({ cron: { hour: "2", minute: "30" } })).toBe("every day at 02:30");
    expect(words({ cron: { hour: "2" } })).toBe("every day at 02:00");
    expect(words({ cron: { hour: "14", minute: "5", second: "9" } })).toBe("every day at 14:05:09");
  });

  it("says cron minutes and seconds of every hour, and steps", () => {
    expect(words({ cron: { minute: "30" } })).toBe("every hour at minute 30");
    expect(words({ cron: { second: "15" } })).toBe("every minute at second 15");
    expect(words({ cron: { minute: "*/5" } })).toBe("every 5 minutes");
    expect(words({ cron: { second: "*/10" } })).toBe("every 10 seconds");
    expect(words({ cron: { hour: "*/6" } })).toBe("every 6 hours");
  });

  it("says the days a cron trigger fires on, and its time zone", () => {
    expect(words({ cron: { dayOfWeek: "mon-fri", hour: "9", timezone: "Europe/Paris" } })).toBe(
      "on mon-fri, at 09:00 (Europe/Paris)",
    );
    expect(
      words({ cron: { hour: "9", timezone: "Asia/Tokyo", endDate: "2026-03-01T00:00:00Z" } }),
    ).toBe("every day at 09:00 (Asia/Tokyo), until 2026-03-01 09:00:00 Asia/Tokyo");
    expect(words({ cron: { day: "1", month: "1,7", hour: "0" } })).toBe(
      "in month 1,7, on day 1 of the month, at 00:00",
    );
  });

  it("shows the cron fields as given where no simple words fit", () => {
    expect(words({ cron: { hour: "9-17", minute: "0,30" } })).toBe(
      "on cron hour=9-17, minute=0,30",
    );
    expect(words({ cron: { dayOfWeek: "last sun", hour: "8-10" } })).toBe(
      "on cron day_of_week=last sun, hour=8-10",
    );
  });

  it("says a crontab expression, in words where they are simple", () => {
    expect(words({ crontab: { expression: "0 2 * * *" } })).toBe(
      'every day at 02:00 (crontab "0 2 * * *")',
    );
    expect(words({ crontab: { expression: "*/15 * * * *", timezone: "Asia/Tokyo" } })).toBe(
      'every 15 minutes (crontab "*/15 * * * *") (Asia/Tokyo)',
    );
    expect(words({ crontab: { expression: "0 9 * * 1-5" } })).toBe('crontab "0 9 * * 1-5"');
  });

  it("says an interval, singular and plural, and its range", () => {
    expect(words({ interval: { seconds: 30 } })).toBe("every 30 seconds");
    expect(words({ interval: { hours: 1 } })).toBe("every hour");
    expect(words({ interval: { hours: 1, minutes: 30 } })).toBe("every 1 hour and 30 minutes");
    expect(words({ interval: { weeks: 2, days: 1, seconds: 5 } })).toBe(
      "every 2 weeks, 1 day and 5 seconds",
    );
    expect(words({ interval: { minutes: 1.5 } })).toBe("every 1.5 minutes");
    expect(
      words({
        interval: { days: 1, startDate: "2026-01-01T00:00:00Z", endDate: "2026-02-01T12:00:00Z" },
      }),
    ).toBe("every day, from 2026-01-01 00:00:00 UTC, until 2026-02-01 12:00:00 UTC");
    // As the server stores it: the zone names the range's instants, not the interval.
    expect(
      words({
        interval: { seconds: 2, startDate: "2026-01-01T10:00:00Z", timezone: "Europe/Paris" },
      }),
    ).toBe("every 2 seconds, from 2026-01-01 11:00:00 Europe/Paris");
  });

  it("says a one-shot date in its time zone, whatever the browser's", () => {
    expect(words({ date: { runDate: "2026-12-24T17:00:00Z", timezone: "Europe/Paris" } })).toBe(
      "once at 2026-12-24 18:00:00 Europe/Paris",
    );
    expect(words({ date: { runDate: "2026-12-24T17:00:00Z" } })).toBe(
      "once at 2026-12-24 17:00:00 UTC",
    );
  });

  it("says combinations and jitter", () => {
    expect(
      words({
        anyOf: { triggers: [{ cron: { hour: "2" } }, { interval: { hours: 6 } }] },
      }),
    ).toBe("whenever any of these fires: every day at 02:00; every 6 hours");
    expect(
      words({
        allOf: { triggers: [{ cron: { dayOfWeek: "mon" } }, { cron: { hour: "8" } }] },
      }),
    ).toBe("when all of these agree: on mon, at 00:00; every day at 08:00");
    const jittered = create(TriggerSchema, {
      kind: { case: "interval", value: { minutes: 10 } },
      jitter: durationFromMs(30_000),
    });
    expect(triggerInWords(jittered)).toBe("every 10 minutes, with up to 30 seconds of jitter");
  });

  it("says when there is no trigger", () => {
    expect(triggerInWords(undefined)).toBe("no trigger");
    expect(triggerInWords(create(TriggerSchema))).toBe("no trigger");
  });
});

describe("formatInstant", () => {
  it("formats in the given zone across daylight saving time", () => {
    const ts = timestampFromDate(new Date("2026-07-01T12:00:00Z"));
    expect(formatInstant(ts, "America/New_York")).toBe("2026-07-01 08:00:00 America/New_York");
    expect(
      formatInstant(timestampFromDate(new Date("2026-01-01T12:00:00Z")), "America/New_York"),
    ).toBe("2026-01-01 07:00:00 America/New_York");
    expect(formatInstant(ts)).toBe("2026-07-01 12:00:00 UTC");
  });
});
