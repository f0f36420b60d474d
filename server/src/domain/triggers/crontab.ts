/**
 * Crontab strings with standard (Vixie) cron semantics: `minute hour day month weekday`, or six
 * fields with a leading `second`; `*`, `*\/n`, `a`, `a-b`, `a-b/n`, comma lists, names
 * (`jan`–`dec`, `sun`–`sat`, case-insensitive); weekday 0 and 7 are Sunday; the macros `@yearly
 * @annually @monthly @weekly @daily @midnight @hourly`. When both day fields are restricted (do
 * not start with `*`) a day matches if EITHER matches; otherwise both must match, as in Vixie
 * cron. Non-standard forms (`L`, `W`, `#`, `?`, `H`, `a/n` without a range) are rejected.
 */
import { InvalidArgumentError } from "../errors.js";
import { type Calendar, cachedDayMasks, nextTable } from "./calendar.js";
import { daysFromCivil, daysInMonth, isoWeekday } from "./civil.js";
import { MONTH_NAMES } from "./cron-fields.js";

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Sunday first, as crontab numbers them. */
const CRON_WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly nameBase?: number;
}

const SECOND: FieldSpec = { label: "second", min: 0, max: 59 };
const MINUTE: FieldSpec = { label: "minute", min: 0, max: 59 };
const HOUR: FieldSpec = { label: "hour", min: 0, max: 23 };
const DAY: FieldSpec = { label: "day-of-month", min: 1, max: 31 };
const MONTH: FieldSpec = { label: "month", min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
const WEEKDAY: FieldSpec = {
  label: "day-of-week",
  min: 0,
  max: 7,
  names: CRON_WEEKDAY_NAMES,
  nameBase: 0,
};

/** Quartz/Jenkins extensions that standard cron does not have: L, W, LW, nL, nW, #, ?, H. */
const NON_STANDARD_RE = /^(?:l|w|lw|\d+[lw]|h(?:\(.*\))?(?:\/\d+)?|.*[#?].*)$/;
const ITEM_RE = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/;

function fail(reason: string): never {
  throw new InvalidArgumentError("expression", reason);
}

/** The set of values a field allows, as a boolean array indexed by value. */
function parseField(spec: FieldSpec, text: string): boolean[] {
  const allowed: boolean[] = [];
  const where = `${spec.label} field ${JSON.stringify(text)}`;
  const value = (token: string): number => {
    if (/^\d+$/.test(token)) {
      const v = Number(token);
      if (v < spec.min || v > spec.max)
        fail(`${where}: ${v} is out of range ${spec.min}-${spec.max}`);
      return v;
    }
    const i = spec.names?.indexOf(token) ?? -1;
    if (i < 0) {
      fail(`${where}: unknown value ${JSON.stringify(token)}`);
    }
    return i + (spec.nameBase ?? 0);
  };
  for (const item of text.split(",")) {
    if (NON_STANDARD_RE.test(item)) {
      fail(
        `${where}: ${JSON.stringify(item)} is not standard cron (L, W, #, ? and H are not supported)`,
      );
    }
    const m = ITEM_RE.exec(item);
    if (!m) fail(`${where}: unrecognised item ${JSON.stringify(item)}`);
    const [, head = "", tail, stepText] = m;
    let first: number;
    let last: number;
    if (head === "*") {
      if (tail !== undefined) fail(`${where}: unrecognised item ${JSON.stringify(item)}`);
      first = spec.min;
      last = spec === WEEKDAY ? 6 : spec.max;
    } else {
      first = value(head);
      if (tail === undefined && stepText !== undefined) {
        fail(
          `${where}: a step needs a range: write ${head}-${spec.max}/${stepText} or */${stepText}`,
        );
      }
      last = tail === undefined ? first : value(tail);
      if (last < first) fail(`${where}: the range ${JSON.stringify(item)} starts after it ends`);
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) fail(`${where}: the step must be at least 1`);
    if (step > spec.max - spec.min)
      fail(`${where}: the step ${step} is larger than the field's range`);
    for (let v = first; v <= last; v += step) allowed[spec === WEEKDAY && v === 7 ? 0 : v] = true;
  }
  return allowed;
}

/** Compile a crontab string into a calendar; throws `InvalidArgumentError` for a bad string. */
export function crontabCalendar(expression: string): Calendar {
  if (typeof expression !== "string") fail("must be a string");
  let text = expression.trim().toLowerCase();
  if (text.startsWith("@")) {
    const macro = MACROS[text];
    if (macro === undefined)
      fail(
        `unknown macro ${JSON.stringify(expression.trim())}; expected one of ${Object.keys(MACROS).join(" ")}`,
      );
    text = macro;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    fail(
      `expected 5 fields (minute hour day month weekday) or 6 with a leading second, got ${parts.length}`,
    );
  }
  const [secondText, minuteText, hourText, dayText, monthText, weekdayText] =
    parts.length === 6 ? parts : ["0", ...parts];
  const seconds = parseField(SECOND, secondText ?? "0");
  const minutes = parseField(MINUTE, minuteText ?? "");
  const hours = parseField(HOUR, hourText ?? "");
  const days = parseField(DAY, dayText ?? "");
  const months = parseField(MONTH, monthText ?? "");
  const weekdays = parseField(WEEKDAY, weekdayText ?? "");
  // Vixie cron: a day field "is restricted" unless it starts with '*'.
  const dayStar = (dayText ?? "").startsWith("*");
  const weekdayStar = (weekdayText ?? "").startsWith("*");
  const either = !dayStar && !weekdayStar;

  const dayMask = cachedDayMasks((y: number, m: number): number => {
    const dim = daysInMonth(y, m);
    const firstDay = daysFromCivil(y, m, 1);
    let mask = 0;
    for (let d = 1; d <= dim; d++) {
      const dayMatch = days[d] === true;
      const weekdayMatch = weekdays[(isoWeekday(firstDay + d - 1) + 1) % 7] === true;
      if (either ? dayMatch || weekdayMatch : dayMatch && weekdayMatch) mask |= 1 << (d - 1);
    }
    return mask;
  });

  return {
    // No year field: every year matches (searches start at EARLIEST_INSTANT, trigger.ts). The
    // field form's 1970 minimum must not apply here: west of UTC, the first instants of 1970
    // are still 1969-12-31 on the wall.
    nextYear: (y) => y,
    nextMonth: nextTable(1, 12, (v) => months[v] === true),
    dayMask,
    nextHour: nextTable(0, 23, (v) => hours[v] === true),
    nextMinute: nextTable(0, 59, (v) => minutes[v] === true),
    nextSecond: nextTable(0, 59, (v) => seconds[v] === true),
  };
}
