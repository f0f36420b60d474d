/**
 * The field form of cron triggers, with APScheduler 3 semantics: fields `year, month, day, week,
 * day_of_week, hour, minute, second`; expressions `*`, `*\/a`, `a`, `a-b`, `a-b/c`, `a/c`, comma
 * lists, month and weekday names, and in `day` also `1st`…`5th`/`last` + weekday and `last`.
 * `day_of_week` counts 0 = Monday. All fields must match (AND). Fields after the least
 * significant given one default to their minimum (`week`, `day_of_week` and `year` to `*`); other
 * missing fields are `*`.
 */
import { InvalidArgumentError } from "../errors.js";
import { type Calendar, MAX_YEAR, MIN_YEAR, cachedDayMasks, nextTable } from "./calendar.js";
import { daysFromCivil, daysInMonth, isoWeek, isoWeekday } from "./civil.js";

export const CRON_FIELD_NAMES = [
  "year",
  "month",
  "day",
  "week",
  "day_of_week",
  "hour",
  "minute",
  "second",
] as const;
export type CronFieldName = (typeof CRON_FIELD_NAMES)[number];
export type CronFields = Partial<Record<CronFieldName, string | number>>;

const BOUNDS: Record<CronFieldName, readonly [number, number]> = {
  year: [MIN_YEAR, MAX_YEAR],
  month: [1, 12],
  day: [1, 31],
  week: [1, 53],
  day_of_week: [0, 6],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 59],
};

const DEFAULTS: Record<CronFieldName, string> = {
  year: "*",
  month: "1",
  day: "1",
  week: "*",
  day_of_week: "*",
  hour: "0",
  minute: "0",
  second: "0",
};

export const MONTH_NAMES = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];
/** Index = APScheduler weekday number (0 = Monday). */
export const WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** A parsed expression. `*` and `*\/a` are ranges from the field's minimum with `last` null. */
type Expr =
  | { kind: "range"; first: number; last: number | null; step: number }
  | { kind: "last_day" }
  | { kind: "weekday_position"; nth: number | "last"; weekday: number };

/** APScheduler's get_next_value for a range: the first value >= v it allows in [min, max], or -1. */
function nextInRange(
  e: { first: number; last: number | null; step: number },
  v: number,
  min: number,
  max: number,
): number {
  const lo = Math.max(min, e.first);
  const hi = e.last === null ? max : Math.min(max, e.last);
  let n = Math.max(lo, v);
  if (e.step > 1) n += (e.step - ((n - lo) % e.step)) % e.step;
  return n <= hi ? n : -1;
}

const ALL_RE = /^\*(?:\/(\d+))?$/;
const RANGE_RE = /^(\d+)(?:-(\d+))?(?:\/(\d+))?$/;
const NAME_RANGE_RE = /^([a-z]+)(?:-([a-z]+))?$/;
const POSITION_RE = /^(1st|2nd|3rd|4th|5th|last)\s+([a-z]+)$/;

function parseExpr(name: CronFieldName, text: string): Expr {
  const [min, max] = BOUNDS[name];
  const fail = (reason: string): never => {
    throw new InvalidArgumentError(name, reason);
  };
  const stepOf = (raw: string | undefined): number => {
    if (raw === undefined) return 1;
    const step = Number(raw);
    if (step === 0) fail(`the step in ${JSON.stringify(text)} must be at least 1`);
    if (step > max - min)
      fail(
        `the step ${step} in ${JSON.stringify(text)} is larger than the field's range ${min}-${max}`,
      );
    return step;
  };
  const inRange = (v: number): number => {
    if (v < min || v > max) fail(`${v} is out of range ${min}-${max}`);
    return v;
  };

  let m = ALL_RE.exec(text);
  if (m) return { kind: "range", first: min, last: null, step: stepOf(m[1]) };

  m = RANGE_RE.exec(text);
  if (m) {
    const first = inRange(Number(m[1]));
    const step = stepOf(m[3]);
    const last = m[2] !== undefined ? inRange(Number(m[2])) : m[3] !== undefined ? null : first;
    if (last !== null && last < first)
      fail(`the range ${JSON.stringify(text)} starts after it ends`);
    return { kind: "range", first, last, step };
  }

  if (name === "day") {
    if (text === "last") return { kind: "last_day" };
    m = POSITION_RE.exec(text);
    if (m) {
      const weekday = WEEKDAY_NAMES.indexOf(m[2] ?? "");
      if (weekday < 0)
        fail(`unknown weekday name ${JSON.stringify(m[2])} in ${JSON.stringify(text)}`);
      const nth = m[1] === "last" ? "last" : Number((m[1] ?? "1").charAt(0));
      return { kind: "weekday_position", nth, weekday };
    }
  }

  if (name === "month" || name === "day_of_week") {
    m = NAME_RANGE_RE.exec(text);
    if (m) {
      const names = name === "month" ? MONTH_NAMES : WEEKDAY_NAMES;
      const base = name === "month" ? 1 : 0;
      const index = (n: string): number => {
        const i = names.indexOf(n);
        if (i < 0)
          fail(
            `unknown ${name === "month" ? "month" : "weekday"} name ${JSON.stringify(n)}; expected one of ${names.join(", ")}`,
          );
        return i + base;
      };
      const first = index(m[1] ?? "");
      const last = m[2] !== undefined ? index(m[2]) : first;
      if (last < first) fail(`the range ${JSON.stringify(text)} starts after it ends`);
      return { kind: "range", first, last, step: 1 };
    }
  }

  return fail(`unrecognised expression ${JSON.stringify(text)}`);
}

function parseField(name: CronFieldName, value: string | number): Expr[] {
  if (typeof value === "number") {
    if (!Number.isInteger(value))
      throw new InvalidArgumentError(name, `${value} is not a whole number`);
    value = String(value);
  }
  if (typeof value !== "string")
    throw new InvalidArgumentError(name, "must be a string or a whole number");
  const parts = value
    .toLowerCase()
    .split(",")
    .map((p) => p.trim());
  if (parts.some((p) => p === ""))
    throw new InvalidArgumentError(name, `empty expression in ${JSON.stringify(value)}`);
  try {
    return parts.map((p) => parseExpr(name, p));
  } catch (err) {
    if (err instanceof InvalidArgumentError && looksLikeCrontab(value))
      throw new InvalidArgumentError(
        err.field,
        `${err.reason}; this looks like a crontab line, which is not a cron field value: use a crontab trigger for it (Trigger.crontab; in the SDK CronTrigger.fromCrontab(...) or addJob(handler, "crontab", { expression }))`,
      );
    throw err;
  }
}

/** A whole crontab line (5 or 6 fields, or a macro such as `@daily`) given as one field. */
function looksLikeCrontab(value: string): boolean {
  const v = value.trim();
  return /^@[a-z]+$/i.test(v) || /^\S+(\s+\S+){4,5}$/.test(v);
}

/**
 * A numeric day_of_week read the field form's way (0 = Monday), in day names: `"1-5"` is
 * `"tue-sat"`. Null when the value names no day by number (`*`, `*\/2`, names). Items with a
 * step are kept as they are (names take no step).
 */
export function numericWeekdaysAsNames(value: string | number): string | null {
  const items = String(value)
    .toLowerCase()
    .split(",")
    .map((p) => p.trim());
  // A range with a step (`1-5/2`) has no name form: it is kept as it is.
  if (!items.some((item) => /^\d/.test(item))) return null;
  const named = items.map((item) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (m === null) return item;
    const first = WEEKDAY_NAMES[Number(m[1])] ?? item;
    return m[2] === undefined ? first : `${first}-${WEEKDAY_NAMES[Number(m[2])] ?? m[2]}`;
  });
  return named.join(",");
}

function isAll(exprs: Expr[], name: CronFieldName): boolean {
  const e = exprs[0];
  return (
    exprs.length === 1 &&
    e?.kind === "range" &&
    e.step === 1 &&
    e.first <= BOUNDS[name][0] &&
    (e.last === null || e.last >= BOUNDS[name][1])
  );
}

function rangeTable(name: CronFieldName, exprs: Expr[]): Int8Array {
  const [min, max] = BOUNDS[name];
  return nextTable(min, max, (v) =>
    exprs.some((e) => e.kind === "range" && nextInRange(e, v, min, max) === v),
  );
}

/** Resolve which fields are given, defaulted or `*`, APScheduler 3 style. */
export function effectiveCronFields(fields: CronFields): Record<CronFieldName, string | number> {
  for (const key of Object.keys(fields)) {
    if (!(CRON_FIELD_NAMES as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(
        key,
        `unknown field; expected one of ${CRON_FIELD_NAMES.join(", ")}`,
      );
    }
  }
  let lastGiven = -1;
  CRON_FIELD_NAMES.forEach((name, i) => {
    if (fields[name] !== undefined) lastGiven = i;
  });
  if (lastGiven < 0) {
    // APScheduler reads no fields as "every second"; that is far more often a mistake.
    throw new InvalidArgumentError("", 'give at least one field (for every second: second: "*")');
  }
  const result = {} as Record<CronFieldName, string | number>;
  CRON_FIELD_NAMES.forEach((name, i) => {
    result[name] = fields[name] ?? (i > lastGiven ? DEFAULTS[name] : "*");
  });
  return result;
}

/** Compile field-form fields into a calendar; throws `InvalidArgumentError` for bad fields. */
export function cronFieldsCalendar(fields: CronFields): Calendar {
  const eff = effectiveCronFields(fields);
  const parsed = {} as Record<CronFieldName, Expr[]>;
  for (const name of CRON_FIELD_NAMES) parsed[name] = parseField(name, eff[name]);

  const years = parsed.year;
  const dayExprs = parsed.day;
  const dayIsAll = isAll(dayExprs, "day");
  const weekdays = isAll(parsed.day_of_week, "day_of_week")
    ? null
    : rangeTable("day_of_week", parsed.day_of_week);
  const weeks = isAll(parsed.week, "week") ? null : rangeTable("week", parsed.week);
  const dayMask = cachedDayMasks((y: number, m: number): number => {
    const dim = daysInMonth(y, m);
    let mask = 0;
    if (dayIsAll) {
      mask = dim === 31 ? 0x7fffffff : (1 << dim) - 1;
    } else {
      const firstDay = daysFromCivil(y, m, 1);
      for (const e of dayExprs) {
        if (e.kind === "range") {
          for (let v = nextInRange(e, 1, 1, dim); v >= 0; v = nextInRange(e, v + 1, 1, dim))
            mask |= 1 << (v - 1);
        } else if (e.kind === "last_day") {
          mask |= 1 << (dim - 1);
        } else {
          const firstWeekday = isoWeekday(firstDay);
          let d: number;
          if (e.nth === "last") {
            const lastWeekday = isoWeekday(firstDay + dim - 1);
            d = dim - ((lastWeekday - e.weekday + 7) % 7);
          } else {
            d = 1 + ((e.weekday - firstWeekday + 7) % 7) + (e.nth - 1) * 7;
          }
          if (d <= dim) mask |= 1 << (d - 1);
        }
      }
    }
    if (weekdays !== null || weeks !== null) {
      const firstDay = daysFromCivil(y, m, 1);
      for (let d = 1; d <= dim; d++) {
        const bit = 1 << (d - 1);
        if ((mask & bit) === 0) continue;
        const days = firstDay + d - 1;
        const wd = isoWeekday(days);
        if (weekdays !== null && weekdays[wd] !== wd) mask &= ~bit;
        else if (weeks !== null && weeks[isoWeek(days)] !== isoWeek(days)) mask &= ~bit;
      }
    }
    return mask;
  });

  return {
    nextYear(y: number): number {
      let best = -1;
      for (const e of years) {
        if (e.kind !== "range") continue;
        const n = nextInRange(e, y, MIN_YEAR, MAX_YEAR);
        if (n >= 0 && (best < 0 || n < best)) best = n;
      }
      return best;
    },
    nextMonth: rangeTable("month", parsed.month),
    dayMask,
    nextHour: rangeTable("hour", parsed.hour),
    nextMinute: rangeTable("minute", parsed.minute),
    nextSecond: rangeTable("second", parsed.second),
  };
}
