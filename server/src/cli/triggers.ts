/**
 * Triggers from flags, in the scheduling guide's forms: `--cron 'hour=2,minute=30'` (APScheduler
 * fields; a value may hold commas: `day_of_week=mon,wed,hour=9`), `--crontab '0 2 * * *'`,
 * `--interval 30s`, `--date 2026-12-25T09:00:00Z` (or `+10m`); with `--timezone`,
 * `--start-date`, `--end-date`, `--jitter`. And a trigger in words, for tables.
 */
import {
  CronTrigger,
  CrontabTrigger,
  DateTrigger,
  IntervalTrigger,
  type CronFields,
  type Trigger,
} from "@metronome/sdk";
import type { Trigger as PbTrigger } from "@metronome/sdk/api";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { CliError } from "./exit.js";
import { duration, when } from "./output.js";
import { parseDuration, parseInstant } from "./values.js";

export interface TriggerFlags {
  readonly cron?: string | undefined;
  readonly crontab?: string | undefined;
  readonly interval?: string | undefined;
  readonly date?: string | undefined;
  readonly timezone?: string | undefined;
  readonly startDate?: string | undefined;
  readonly endDate?: string | undefined;
  readonly jitter?: string | undefined;
}

export const TRIGGER_FLAGS: readonly (readonly [string, string])[] = [
  ["--cron <fields>", "APScheduler cron fields: 'hour=2,minute=30', 'day_of_week=mon-fri,hour=9'"],
  ["--crontab <line>", "a crontab line: '0 2 * * *' (0 and 7 = Sunday), or @daily"],
  ["--interval <duration>", "a fixed period: 30s, 5m, 1h30m, 1d"],
  ["--date <time>", "once, at an ISO 8601 time with an offset, or +10m from now"],
  ["--timezone <zone>", "IANA time zone of the trigger (default: the scheduler's)"],
  ["--start-date <time>", "no fire before this time"],
  ["--end-date <time>", "no fire after this time"],
  ["--jitter <duration>", "delay each fire by up to this much, at random"],
];

const CRON_FIELDS: Record<string, keyof CronFields> = {
  year: "year",
  month: "month",
  day: "day",
  week: "week",
  day_of_week: "dayOfWeek",
  dayofweek: "dayOfWeek",
  hour: "hour",
  minute: "minute",
  second: "second",
};

/** `hour=2,minute=30` → { hour: "2", minute: "30" }; a part without `=` continues the value. */
export function parseCronFields(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const raw of value.split(/[,;]|\s+/)) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq === -1) {
      if (last === undefined)
        throw new CliError(
          `--cron: expected field=value pairs such as 'hour=2,minute=30', got "${value}"`,
        );
      out[last] = `${out[last] ?? ""},${part}`;
      continue;
    }
    const name = part.slice(0, eq).trim().toLowerCase().replace(/-/g, "_");
    const key = CRON_FIELDS[name] ?? CRON_FIELDS[name.replace(/_/g, "")];
    if (key === undefined)
      throw new CliError(
        `--cron: unknown field "${name}" (fields: year, month, day, week, day_of_week, hour, minute, second)`,
      );
    if (key in out) throw new CliError(`--cron: field "${name}" given twice`);
    out[key] = part.slice(eq + 1).trim();
    last = key;
  }
  if (Object.keys(out).length === 0) throw new CliError("--cron: no field given");
  return out;
}

/** The trigger the flags describe; null when they give none (`required`: an error instead). */
export function triggerFromFlags(f: TriggerFlags, required: boolean): Trigger | null {
  const given = (["cron", "crontab", "interval", "date"] as const).filter(
    (k) => f[k] !== undefined,
  );
  if (given.length === 0) {
    if (required) throw new CliError("give a trigger: --cron, --crontab, --interval or --date");
    return null;
  }
  if (given.length > 1)
    throw new CliError(`give one trigger, not ${given.map((g) => `--${g}`).join(" and ")}`);
  const common = {
    ...(f.timezone === undefined ? {} : { timezone: f.timezone }),
    ...(f.jitter === undefined ? {} : { jitter: parseDuration("--jitter", f.jitter) / 1000 }),
  };
  const range = {
    ...(f.startDate === undefined ? {} : { startDate: parseInstant("--start-date", f.startDate) }),
    ...(f.endDate === undefined ? {} : { endDate: parseInstant("--end-date", f.endDate) }),
  };
  if (f.cron !== undefined)
    return new CronTrigger({ ...parseCronFields(f.cron), ...common, ...range });
  if (f.crontab !== undefined)
    return new CrontabTrigger(f.crontab, f.timezone, {
      ...range,
      ...(common.jitter === undefined ? {} : { jitter: common.jitter }),
    });
  if (f.interval !== undefined)
    return new IntervalTrigger({
      seconds: parseDuration("--interval", f.interval) / 1000,
      ...common,
      ...range,
    });
  if (f.startDate !== undefined || f.endDate !== undefined)
    throw new CliError("--start-date and --end-date do not apply to --date");
  return new DateTrigger({ runDate: parseInstant("--date", f.date ?? ""), ...common });
}

const tsMs = (t: Parameters<typeof timestampMs>[0] | undefined): number | null =>
  t === undefined ? null : timestampMs(t);

/**
 * A trigger's own first and last instants that may fire (`--start-date`, `--end-date`: cron,
 * crontab and interval triggers carry them), in milliseconds; null where unset.
 */
export function triggerRange(t: PbTrigger | undefined): {
  readonly startDate: number | null;
  readonly endDate: number | null;
} {
  const k = t?.kind;
  if (k?.case === "cron" || k?.case === "crontab" || k?.case === "interval")
    return { startDate: tsMs(k.value.startDate), endDate: tsMs(k.value.endDate) };
  return { startDate: null, endDate: null };
}

/** A trigger in a few words: `cron hour=2 minute=30`, `every 30s`, `at 2026-…Z`. */
export function describeTrigger(t: PbTrigger | undefined): string {
  if (t === undefined) return "-";
  const k = t.kind;
  const zone = (z: string) => (z === "" ? "" : ` (${z})`);
  let text: string;
  switch (k.case) {
    case "cron": {
      const c = k.value;
      const parts = (
        [
          ["year", c.year],
          ["month", c.month],
          ["day", c.day],
          ["week", c.week],
          ["day_of_week", c.dayOfWeek],
          ["hour", c.hour],
          ["minute", c.minute],
          ["second", c.second],
        ] as const
      ).flatMap(([n, v]) => (v === undefined ? [] : [`${n}=${v}`]));
      text = `cron ${parts.join(" ")}${zone(c.timezone)}`;
      break;
    }
    case "crontab":
      text = `crontab '${k.value.expression}'${zone(k.value.timezone)}`;
      break;
    case "interval": {
      const i = k.value;
      const ms =
        ((((i.weeks * 7 + i.days) * 24 + i.hours) * 60 + i.minutes) * 60 + i.seconds) * 1000;
      text = `every ${duration(ms)}`;
      break;
    }
    case "date":
      text = `at ${when(tsMs(k.value.runDate))}`;
      break;
    case "allOf":
      text = `all of (${k.value.triggers.map(describeTrigger).join("; ")})`;
      break;
    case "anyOf":
      text = `any of (${k.value.triggers.map(describeTrigger).join("; ")})`;
      break;
    default:
      text = "-";
  }
  return text;
}
