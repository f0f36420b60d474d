/** Trigger messages and the domain's trigger specs; errors name the request's fields. */
import { create } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "../../domain/errors.js";
import { itemPath } from "../../domain/fields.js";
import type { CronFields, TriggerSpec } from "../../domain/triggers/index.js";
import { TriggerSchema, type Trigger as PbTrigger } from "../../gen/metronome/v1/trigger_pb.js";
import { msOf, nonNegativeMs, optionalTs, secondsDuration, ts } from "./time.js";

const CRON_FIELDS = [
  "year",
  "month",
  "day",
  "week",
  "dayOfWeek",
  "hour",
  "minute",
  "second",
] as const;
const SNAKE: Record<(typeof CRON_FIELDS)[number], keyof CronFields> = {
  year: "year",
  month: "month",
  day: "day",
  week: "week",
  dayOfWeek: "day_of_week",
  hour: "hour",
  minute: "minute",
  second: "second",
};

/** A trigger message as a domain spec (time zones may be empty: the scheduler's). */
export function triggerFromProto(t: PbTrigger | undefined, field: string): TriggerSpec {
  if (t === undefined) throw new InvalidArgumentError(field, "is required");
  const jitter =
    t.jitter === undefined ? null : (nonNegativeMs(t.jitter, `${field}.jitter`) ?? 0) / 1000;
  const k = t.kind;
  switch (k.case) {
    case "cron": {
      const fields: Record<string, string> = {};
      for (const name of CRON_FIELDS) {
        const v = k.value[name];
        if (v !== undefined) fields[SNAKE[name]] = v;
      }
      return {
        type: "cron",
        fields,
        timezone: k.value.timezone,
        startDate: msOf(k.value.startDate),
        endDate: msOf(k.value.endDate),
        jitter,
      };
    }
    case "crontab":
      return {
        type: "crontab",
        expression: k.value.expression,
        timezone: k.value.timezone,
        startDate: msOf(k.value.startDate),
        endDate: msOf(k.value.endDate),
        jitter,
      };
    case "interval": {
      const v = k.value;
      return {
        type: "interval",
        weeks: v.weeks,
        days: v.days,
        hours: v.hours,
        minutes: v.minutes,
        seconds: v.seconds,
        startDate: msOf(v.startDate) ?? Number.NaN,
        endDate: msOf(v.endDate),
        timezone: v.timezone,
        jitter,
      };
    }
    case "date": {
      const runDate = msOf(k.value.runDate);
      if (runDate === null) throw new InvalidArgumentError(`${field}.date.run_date`, "is required");
      return { type: "date", runDate, timezone: k.value.timezone, jitter };
    }
    case "allOf":
    case "anyOf": {
      const key = k.case === "allOf" ? "all_of" : "any_of";
      return {
        type: k.case === "allOf" ? "and" : "or",
        triggers: k.value.triggers.map((sub, i) =>
          triggerFromProto(sub, `${field}.${key}.${itemPath("triggers", i)}`),
        ),
        jitter,
      };
    }
    default:
      throw new InvalidArgumentError(
        field,
        "set one kind: cron, crontab, interval, date, all_of or any_of",
      );
  }
}

export function triggerToProto(spec: TriggerSpec): PbTrigger {
  const jitter = spec.jitter ? secondsDuration(spec.jitter) : undefined;
  switch (spec.type) {
    case "cron": {
      const fields: Partial<Record<(typeof CRON_FIELDS)[number], string>> = {};
      for (const name of CRON_FIELDS) {
        const v = spec.fields[SNAKE[name]];
        if (v !== undefined) fields[name] = String(v);
      }
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: "cron",
          value: {
            ...fields,
            timezone: spec.timezone,
            startDate: optionalTs(spec.startDate),
            endDate: optionalTs(spec.endDate),
          },
        },
      });
    }
    case "crontab":
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: "crontab",
          value: {
            expression: spec.expression,
            timezone: spec.timezone,
            startDate: optionalTs(spec.startDate),
            endDate: optionalTs(spec.endDate),
          },
        },
      });
    case "interval":
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: "interval",
          value: {
            weeks: spec.weeks ?? 0,
            days: spec.days ?? 0,
            hours: spec.hours ?? 0,
            minutes: spec.minutes ?? 0,
            seconds: spec.seconds ?? 0,
            startDate: optionalTs(spec.startDate),
            endDate: optionalTs(spec.endDate),
            timezone: spec.timezone,
          },
        },
      });
    case "date":
      return create(TriggerSchema, {
        jitter,
        kind: { case: "date", value: { runDate: ts(spec.runDate), timezone: spec.timezone } },
      });
    case "and":
    case "or":
      return create(TriggerSchema, {
        jitter,
        kind: {
          case: spec.type === "and" ? "allOf" : "anyOf",
          value: { triggers: spec.triggers.map(triggerToProto) },
        },
      });
  }
}
