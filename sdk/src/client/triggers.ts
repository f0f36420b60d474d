/**
 * Triggers in the scheduling guide's two syntaxes: objects (`new CronTrigger({ hour: 2 })`,
 * `CronTrigger.fromCrontab("0 2 * * *")`, `new IntervalTrigger({ minutes: 5 })`,
 * `new DateTrigger({ runDate })`, `new AndTrigger([...])`, `new OrTrigger([...])`) and string
 * mode (`"cron"`, `"crontab"`, `"interval"`, `"date"` with their fields), whose fields are
 * type-checked per kind. The server evaluates them (docs/triggers.md); here they are only described.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Trigger as PbTrigger, TriggerSchema } from "../gen/metronome/v1/trigger_pb.js";

/** An instant: a Date, epoch milliseconds, or an ISO 8601 string with an offset. */
export type Instant = Date | number | string;

/** A cron field value: a number or an expression (`"*\/5"`, `"mon-fri"`, `"last sun"`, ...). */
export type CronValue = number | string;

/**
 * APScheduler cron fields. `dayOfWeek` counts 0 = Monday (unlike crontab, where 0 is Sunday):
 * prefer names, `"mon-fri"`; the server warns about day numbers (`Job.warnings`).
 */
export interface CronFields {
  readonly year?: CronValue | undefined;
  readonly month?: CronValue | undefined;
  readonly day?: CronValue | undefined;
  readonly week?: CronValue | undefined;
  readonly dayOfWeek?: CronValue | undefined;
  readonly hour?: CronValue | undefined;
  readonly minute?: CronValue | undefined;
  readonly second?: CronValue | undefined;
  readonly startDate?: Instant | undefined;
  readonly endDate?: Instant | undefined;
  /** IANA name; default the scheduler's. */
  readonly timezone?: string | undefined;
  /** Each fire is delayed by up to this many seconds, at random. */
  readonly jitter?: number | undefined;
}

/**
 * A standard crontab line: `minute hour day month day-of-week` (0 and 7 = Sunday), 6 fields with
 * leading seconds, or a macro such as `@daily`.
 */
export interface CrontabFields {
  readonly expression: string;
  /** IANA name; default the scheduler's. */
  readonly timezone?: string | undefined;
  readonly startDate?: Instant | undefined;
  readonly endDate?: Instant | undefined;
  /** Each fire is delayed by up to this many seconds, at random. */
  readonly jitter?: number | undefined;
}

/** A fixed period (the units add up). */
export interface IntervalFields {
  readonly weeks?: number | undefined;
  readonly days?: number | undefined;
  readonly hours?: number | undefined;
  readonly minutes?: number | undefined;
  readonly seconds?: number | undefined;
  /** The grid's origin; default one interval from when the job is added. */
  readonly startDate?: Instant | undefined;
  readonly endDate?: Instant | undefined;
  readonly timezone?: string | undefined;
  readonly jitter?: number | undefined;
}

/** A single fire. */
export interface DateFields {
  readonly runDate: Instant;
  readonly timezone?: string | undefined;
  /** The fire is delayed by up to this many seconds, at random. */
  readonly jitter?: number | undefined;
}

/** Options of `AndTrigger` and `OrTrigger` (their sub-triggers carry no jitter). */
export interface CombinedOptions {
  /** Each fire is delayed by up to this many seconds, at random. */
  readonly jitter?: number | undefined;
}

/** The string mode's kinds and the fields each takes. */
export interface TriggerFields {
  cron: CronFields;
  crontab: CrontabFields;
  interval: IntervalFields;
  date: DateFields;
}

export type TriggerKind = keyof TriggerFields;

/** An ISO 8601 date and time with its UTC offset: `2030-01-01T09:00:00Z`, `…T09:00+08:00`. */
const WITH_OFFSET = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i;

/**
 * The instant of an option (`runDate`, `startDate`, `endDate`). A string must carry its offset:
 * without one, `Date.parse` reads a date and time in the zone of the process (the same code
 * would schedule another instant on another machine) and a date alone in UTC.
 */
function ts(option: string, i: Instant | undefined) {
  if (i === undefined) return undefined;
  if (typeof i === "string" && !WITH_OFFSET.test(i.trim()))
    throw new RangeError(
      `${option}: expected an ISO 8601 time with an offset (2030-01-01T09:00:00Z, 2030-01-01T09:00:00+08:00), got ${JSON.stringify(i)}`,
    );
  const ms = i instanceof Date ? i.getTime() : typeof i === "number" ? i : Date.parse(i.trim());
  if (!Number.isFinite(ms)) throw new RangeError(`${option}: not an instant: ${String(i)}`);
  return timestampFromMs(ms);
}

function jitter(seconds: number | undefined) {
  return seconds === undefined ? undefined : durationFromMs(Math.round(seconds * 1000));
}

type Init = MessageInitShape<typeof TriggerSchema>;

/** What every trigger is: something that describes itself as the API's Trigger message. */
export abstract class Trigger {
  abstract toProto(): Init;
}

export class CronTrigger extends Trigger {
  constructor(readonly fields: CronFields = {}) {
    super();
  }

  /**
   * A standard crontab line: 5 fields (minute hour day month day-of-week, 0 and 7 = Sunday), or
   * 6 with leading seconds. Note the day-of-week numbering differs from `dayOfWeek` above.
   */
  static fromCrontab(
    expression: string,
    timezone?: string,
    options: Omit<CrontabFields, "expression" | "timezone"> = {},
  ): CrontabTrigger {
    return new CrontabTrigger(expression, timezone, options);
  }

  toProto(): Init {
    const f = this.fields;
    const str = (v: CronValue | undefined) => (v === undefined ? undefined : String(v));
    return {
      kind: {
        case: "cron",
        value: {
          year: str(f.year),
          month: str(f.month),
          day: str(f.day),
          week: str(f.week),
          dayOfWeek: str(f.dayOfWeek),
          hour: str(f.hour),
          minute: str(f.minute),
          second: str(f.second),
          timezone: f.timezone ?? "",
          startDate: ts("startDate", f.startDate),
          endDate: ts("endDate", f.endDate),
        },
      },
      jitter: jitter(f.jitter),
    };
  }
}

export class CrontabTrigger extends Trigger {
  constructor(
    readonly expression: string,
    readonly timezone?: string,
    /** Bounds and jitter. */
    readonly options: Omit<CrontabFields, "expression" | "timezone"> = {},
  ) {
    super();
  }

  toProto(): Init {
    const o = this.options;
    return {
      kind: {
        case: "crontab",
        value: {
          expression: this.expression,
          timezone: this.timezone ?? "",
          startDate: ts("startDate", o.startDate),
          endDate: ts("endDate", o.endDate),
        },
      },
      jitter: jitter(o.jitter),
    };
  }
}

export class IntervalTrigger extends Trigger {
  constructor(readonly fields: IntervalFields) {
    super();
  }

  toProto(): Init {
    const f = this.fields;
    return {
      kind: {
        case: "interval",
        value: {
          weeks: f.weeks ?? 0,
          days: f.days ?? 0,
          hours: f.hours ?? 0,
          minutes: f.minutes ?? 0,
          seconds: f.seconds ?? 0,
          startDate: ts("startDate", f.startDate),
          endDate: ts("endDate", f.endDate),
          timezone: f.timezone ?? "",
        },
      },
      jitter: jitter(f.jitter),
    };
  }
}

export class DateTrigger extends Trigger {
  constructor(readonly fields: DateFields) {
    super();
  }

  toProto(): Init {
    return {
      kind: {
        case: "date",
        value: {
          runDate: ts("runDate", this.fields.runDate),
          timezone: this.fields.timezone ?? "",
        },
      },
      jitter: jitter(this.fields.jitter),
    };
  }
}

/** Fires at the instants where every trigger fires. */
export class AndTrigger extends Trigger {
  constructor(
    readonly triggers: readonly Trigger[],
    readonly options: CombinedOptions = {},
  ) {
    super();
  }

  toProto(): Init {
    return {
      kind: { case: "allOf", value: { triggers: this.triggers.map((t) => t.toProto()) } },
      jitter: jitter(this.options.jitter),
    };
  }
}

/** Fires whenever any trigger fires. */
export class OrTrigger extends Trigger {
  constructor(
    readonly triggers: readonly Trigger[],
    readonly options: CombinedOptions = {},
  ) {
    super();
  }

  toProto(): Init {
    return {
      kind: { case: "anyOf", value: { triggers: this.triggers.map((t) => t.toProto()) } },
      jitter: jitter(this.options.jitter),
    };
  }
}

/** The trigger of string mode: `triggerOf("cron", { hour: 2 })`. */
export function triggerOf<K extends TriggerKind>(kind: K, fields: TriggerFields[K]): Trigger {
  switch (kind) {
    case "cron":
      return new CronTrigger(fields);
    case "crontab": {
      const { expression, timezone, ...options } = fields as CrontabFields;
      if (typeof expression !== "string")
        throw new TypeError(
          'a "crontab" trigger needs its expression: { expression: "0 9 * * 1-5" }',
        );
      return new CrontabTrigger(expression, timezone, options);
    }
    case "interval":
      return new IntervalTrigger(fields);
    case "date":
      return new DateTrigger(fields as DateFields);
    default:
      throw new TypeError(
        `unknown trigger kind ${JSON.stringify(kind)} (cron, crontab, interval, date)`,
      );
  }
}

/** A trigger as the server returns it (on a job), back as a trigger object. */
export function triggerFromProto(t: PbTrigger | undefined): Trigger {
  const date = (x: { seconds: bigint; nanos: number } | undefined) =>
    x === undefined ? undefined : timestampDate(x as Parameters<typeof timestampDate>[0]);
  const jit = t?.jitter === undefined ? undefined : Number(t.jitter.seconds) + t.jitter.nanos / 1e9;
  const k = t?.kind;
  switch (k?.case) {
    case "cron": {
      const c = k.value;
      return new CronTrigger({
        year: c.year,
        month: c.month,
        day: c.day,
        week: c.week,
        dayOfWeek: c.dayOfWeek,
        hour: c.hour,
        minute: c.minute,
        second: c.second,
        timezone: c.timezone || undefined,
        startDate: date(c.startDate),
        endDate: date(c.endDate),
        jitter: jit,
      });
    }
    case "crontab":
      return new CrontabTrigger(k.value.expression, k.value.timezone || undefined, {
        startDate: date(k.value.startDate),
        endDate: date(k.value.endDate),
        jitter: jit,
      });
    case "interval": {
      const i = k.value;
      return new IntervalTrigger({
        weeks: i.weeks || undefined,
        days: i.days || undefined,
        hours: i.hours || undefined,
        minutes: i.minutes || undefined,
        seconds: i.seconds || undefined,
        startDate: date(i.startDate),
        endDate: date(i.endDate),
        timezone: i.timezone || undefined,
        jitter: jit,
      });
    }
    case "date":
      return new DateTrigger({
        runDate: date(k.value.runDate) ?? new Date(0),
        timezone: k.value.timezone || undefined,
        jitter: jit,
      });
    case "allOf":
      return new AndTrigger(k.value.triggers.map(triggerFromProto), { jitter: jit });
    case "anyOf":
      return new OrTrigger(k.value.triggers.map(triggerFromProto), { jitter: jit });
    default:
      throw new TypeError("the server sent a trigger this SDK does not know");
  }
}
