/**
 * A trigger in words, for people: "every day at 02:30", "every 30 seconds", "once at
 * 2026-12-24 18:00:00 (Europe/Paris)". Pure: the same trigger always gives the same words, in
 * any browser time zone. Forms it cannot say simply are shown as their fields, never guessed.
 */
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  CronTrigger,
  CrontabTrigger,
  DateTrigger,
  IntervalTrigger,
  Trigger,
} from "../../src/gen/metronome/v1/trigger_pb.js";

export function triggerInWords(trigger: Trigger | undefined): string {
  if (trigger === undefined) return "no trigger";
  const words = kindInWords(trigger);
  const jitter = trigger.jitter ? durationSeconds(trigger.jitter) : 0;
  return jitter > 0 ? `${words}, with up to ${amount(jitter, "second")} of jitter` : words;
}

function kindInWords(trigger: Trigger): string {
  const k = trigger.kind;
  switch (k.case) {
    case "cron":
      return cronInWords(k.value);
    case "crontab":
      return crontabInWords(k.value);
    case "interval":
      return intervalInWords(k.value);
    case "date":
      return dateInWords(k.value);
    case "allOf":
      return `when all of these agree: ${k.value.triggers.map(triggerInWords).join("; ")}`;
    case "anyOf":
      return `whenever any of these fires: ${k.value.triggers.map(triggerInWords).join("; ")}`;
    case undefined:
      return "no trigger";
  }
}

const INTERVAL_UNITS = [
  ["weeks", "week"],
  ["days", "day"],
  ["hours", "hour"],
  ["minutes", "minute"],
  ["seconds", "second"],
] as const;

function intervalInWords(t: IntervalTrigger): string {
  const parts = INTERVAL_UNITS.filter(([field]) => t[field] !== 0).map(([field, unit]) =>
    amount(t[field], unit),
  );
  const only = parts.length === 1 ? INTERVAL_UNITS.find(([field]) => t[field] !== 0) : undefined;
  let words: string;
  if (parts.length === 0) words = "every 0 seconds";
  else if (only && t[only[0]] === 1) words = `every ${only[1]}`;
  else words = `every ${joinAnd(parts)}`;
  // An interval does not depend on the time of day: its zone only shows its range's instants.
  return withRange(words, t.startDate, t.endDate, t.timezone, false);
}

function dateInWords(t: DateTrigger): string {
  if (!t.runDate) return "once, at no date";
  return `once at ${formatInstant(t.runDate, t.timezone)}`;
}

type CronField = "year" | "month" | "day" | "week" | "dayOfWeek" | "hour" | "minute" | "second";

interface CronFields {
  readonly year?: string | undefined;
  readonly month?: string | undefined;
  readonly day?: string | undefined;
  readonly week?: string | undefined;
  readonly dayOfWeek?: string | undefined;
  readonly hour?: string | undefined;
  readonly minute?: string | undefined;
  readonly second?: string | undefined;
}

const FIELD_ORDER: readonly CronField[] = [
  "year",
  "month",
  "day",
  "week",
  "dayOfWeek",
  "hour",
  "minute",
  "second",
];

const FIELD_NAMES: Readonly<Record<CronField, string>> = {
  year: "year",
  month: "month",
  day: "day",
  week: "week",
  dayOfWeek: "day_of_week",
  hour: "hour",
  minute: "minute",
  second: "second",
};

function cronInWords(t: CronTrigger): string {
  return withRange(cronFieldsInWords(t), t.startDate, t.endDate, t.timezone);
}

function crontabInWords(t: CrontabTrigger): string {
  const fields = t.expression.trim().split(/\s+/);
  let words: string | undefined;
  if (fields.length === 5) {
    const [minute, hour, day, month, dow] = fields as [string, string, string, string, string];
    if (dow === "*") {
      words = cronFieldsInWords({
        minute,
        hour,
        ...(day === "*" ? {} : { day }),
        ...(month === "*" ? {} : { month }),
        second: "0",
      });
    }
  }
  const expr = `crontab "${t.expression}"`;
  return withRange(words ? `${words} (${expr})` : expr, t.startDate, t.endDate, t.timezone);
}

const INT = /^\d+$/;
const STEP = /^(?:\*|0)\/(\d+)$/;

/**
 * The cron fields in words. As in the scheduling guide, fields finer than the finest one given
 * default to their minimum (hour=2 fires at 02:00:00) and coarser ones to "every".
 */
function cronFieldsInWords(given: CronFields): string {
  const set = (f: CronField): string | undefined => {
    const v = given[f];
    return v === undefined || v === "" ? undefined : v;
  };
  const finest = FIELD_ORDER.reduce<number>((acc, f, i) => (set(f) === undefined ? acc : i), -1);
  // Fields finer than the finest given default to their minimum, coarser ones to "*".
  const value = (f: CronField): string => {
    const v = set(f);
    if (v !== undefined) return v;
    return FIELD_ORDER.indexOf(f) > finest && (f === "hour" || f === "minute" || f === "second")
      ? "0"
      : "*";
  };
  const h = value("hour");
  const m = value("minute");
  const s = value("second");
  let time: string | undefined;
  if (INT.test(h) && INT.test(m) && INT.test(s)) {
    time = `at ${pad(h)}:${pad(m)}${s === "0" ? "" : `:${pad(s)}`}`;
  } else if (h === "*" && INT.test(m) && INT.test(s)) {
    time = `every hour at minute ${m}${s === "0" ? "" : `, second ${s}`}`;
  } else if (h === "*" && m === "*" && INT.test(s)) {
    time = `every minute at second ${s}`;
  } else if (h === "*" && STEP.test(m) && s === "0") {
    time = `every ${amount(Number(STEP.exec(m)?.[1]), "minute")}`;
  } else if (h === "*" && m === "*" && STEP.test(s)) {
    time = `every ${amount(Number(STEP.exec(s)?.[1]), "second")}`;
  } else if (STEP.test(h) && m === "0" && s === "0") {
    time = `every ${amount(Number(STEP.exec(h)?.[1]), "hour")}`;
  }
  const dateFields: CronField[] = ["year", "month", "day", "week", "dayOfWeek"];
  const dated = dateFields.filter((f) => set(f) !== undefined);
  if (time === undefined) {
    // Not a simple time of day: the fields as given.
    const all = FIELD_ORDER.filter((f) => set(f) !== undefined);
    if (all.length === 0) return "every second (cron with no fields)";
    return `on cron ${all.map((f) => `${FIELD_NAMES[f]}=${value(f)}`).join(", ")}`;
  }
  if (dated.length === 0) return time.startsWith("at ") ? `every day ${time}` : time;
  const days = dated.map((f) => {
    const v = value(f);
    switch (f) {
      case "dayOfWeek":
        return `on ${v}`;
      case "day":
        return `on day ${v} of the month`;
      case "month":
        return `in month ${v}`;
      case "week":
        return `in ISO week ${v}`;
      default:
        return `in ${v}`;
    }
  });
  return `${days.join(", ")}, ${time}`;
}

function withRange(
  words: string,
  start: Timestamp | undefined,
  end: Timestamp | undefined,
  timezone: string,
  sayZone = true,
): string {
  let out = words;
  if (sayZone && timezone !== "") out += ` (${timezone})`;
  if (start) out += `, from ${formatInstant(start, timezone)}`;
  if (end) out += `, until ${formatInstant(end, timezone)}`;
  return out;
}

/** `2026-12-24 18:00:00 Europe/Paris`: the instant in `timezone` (UTC when none), named. */
export function formatInstant(ts: Timestamp, timezone = ""): string {
  const date = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
  const zone = timezone === "" ? "UTC" : timezone;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    }).formatToParts(date);
  } catch {
    return date.toISOString();
  }
  const get = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? "??";
  const text = `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
  return `${text} ${zone}`;
}

function durationSeconds(d: Duration): number {
  return Number(d.seconds) + d.nanos / 1e9;
}

function amount(n: number, unit: string): string {
  return `${String(n)} ${unit}${n === 1 ? "" : "s"}`;
}

function pad(v: string): string {
  return v.padStart(2, "0");
}

function joinAnd(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1] ?? ""}`;
}
