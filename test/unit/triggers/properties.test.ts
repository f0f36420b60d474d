/**
 * Property-based tests of the trigger engine against an independent brute-force oracle.
 *
 * Each cron/crontab case is generated as a structured description (per-field lists of items),
 * rendered to the strings the engine parses, and separately turned into plain membership sets.
 * The oracle walks local dates day by day, lists every matching wall time, and maps each one to an
 * instant with luxon's zone offsets under the DST policy of the conformance README:
 *  - a wall time that exists once: its instant;
 *  - a wall time that occurs twice (fall back): its earlier instant;
 *  - a wall time in a spring-forward gap: read with the offset before the gap (luxon's default).
 * It never uses the engine's calendar/zone code. The engine's sequence must be exactly the sorted,
 * deduplicated set of oracle instants in the same window:
 *  1. every produced time is a fire time; 2. the sequence strictly increases; 3. nothing is skipped.
 */
import fc from "fast-check";
import { DateTime, IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import {
  compileTrigger,
  fireTimes,
  TriggerSearchExhaustedError,
  type CronFields,
  type Trigger,
  type TriggerSpec,
} from "../../../server/src/domain/triggers/index.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------
// Zones and `after` instants
// ---------------------------------------------------------------------------------------------

interface ZoneCase {
  readonly name: string;
  /** Instants of DST transitions to cluster `after` around (±36 h). */
  readonly anchors: readonly number[];
  /** Range of years for random `after` instants. */
  readonly years: readonly [number, number];
  /** The largest offset change in the years used, in ms (Apia skipped a whole day). */
  readonly largestShift: number;
  /** Local hours that a DST change skips or repeats (to steer the hour fields there). */
  readonly hotHours: readonly number[];
}

const utc = (iso: string): number => Date.parse(iso);

const ZONES: readonly ZoneCase[] = [
  { name: "UTC", anchors: [], years: [2026, 2028], largestShift: 0, hotHours: [] },
  {
    name: "America/New_York",
    anchors: [utc("2026-03-08T07:00:00Z"), utc("2026-11-01T06:00:00Z")],
    years: [2026, 2028],
    largestShift: HOUR,
    hotHours: [1, 2],
  },
  {
    name: "Europe/London",
    anchors: [utc("2026-03-29T01:00:00Z"), utc("2026-10-25T01:00:00Z")],
    years: [2026, 2028],
    largestShift: HOUR,
    hotHours: [0, 1],
  },
  {
    name: "Australia/Lord_Howe",
    anchors: [utc("2026-10-03T15:30:00Z"), utc("2026-04-04T15:00:00Z")],
    years: [2026, 2028],
    largestShift: HOUR,
    hotHours: [1, 2],
  },
  {
    name: "America/Sao_Paulo",
    anchors: [utc("2018-11-04T03:00:00Z"), utc("2018-02-18T02:00:00Z")],
    years: [2016, 2018],
    largestShift: HOUR,
    hotHours: [0, 23],
  },
  {
    name: "Pacific/Apia",
    anchors: [utc("2011-12-30T10:00:00Z")],
    years: [2011, 2012],
    largestShift: 24 * HOUR,
    hotHours: [0, 3, 12],
  },
  { name: "Asia/Kathmandu", anchors: [], years: [2026, 2028], largestShift: 0, hotHours: [] },
  { name: "Asia/Kolkata", anchors: [], years: [2026, 2028], largestShift: 0, hotHours: [] },
];

/** The zones tested in 2026-2028 (mixed inside `or` / `and`). */
const ZONES_2026 = ZONES.filter((z) => z.years[0] === 2026);

function near(zone: ZoneCase, min: number, max: number): fc.Arbitrary<number> {
  return fc
    .tuple(fc.constantFrom(...zone.anchors), fc.integer({ min, max }))
    .map(([a, d]) => a + d);
}

/** An instant near one of the zone's DST changes, or anywhere in its years; ms, s or min grain. */
function afterArb(zone: ZoneCase, focus: boolean): fc.Arbitrary<number> {
  const random = fc.integer({
    min: Date.UTC(zone.years[0], 0, 1),
    max: Date.UTC(zone.years[1] + 1, 0, 1) - 1,
  });
  const base =
    zone.anchors.length === 0
      ? random
      : focus
        ? fc.oneof(
            { weight: 3, arbitrary: near(zone, -30 * HOUR, 2 * HOUR) },
            { weight: 1, arbitrary: near(zone, -36 * HOUR, 36 * HOUR) },
          )
        : fc.oneof(
            { weight: 2, arbitrary: near(zone, -36 * HOUR, 36 * HOUR) },
            // Most windows are shorter than a day: start them before the change more often.
            { weight: 2, arbitrary: near(zone, -30 * HOUR, 0) },
            { weight: 1, arbitrary: random },
          );
  return fc
    .tuple(base, fc.constantFrom(MINUTE, SECOND, 1))
    .map(([t, grain]) => Math.floor(t / grain) * grain);
}

// ---------------------------------------------------------------------------------------------
// The time-zone oracle (luxon only)
// ---------------------------------------------------------------------------------------------

const ianaZones = new Map<string, IANAZone>();
function ianaZone(name: string): IANAZone {
  let z = ianaZones.get(name);
  if (z === undefined) {
    z = IANAZone.create(name);
    ianaZones.set(name, z);
  }
  return z;
}

/** Offset (ms) of a wall-clock day when it is the same all day and well around it; else null. */
const steadyOffsets = new Map<string, number | null>();
function steadyOffset(zone: string, dayWall: number): number | null {
  const key = `${zone}|${dayWall}`;
  const cached = steadyOffsets.get(key);
  if (cached !== undefined) return cached;
  const z = ianaZone(zone);
  // Walls of this day denote instants within [dayWall - 14 h, dayWall + 24 h + 12 h].
  const samples = [dayWall - 15 * HOUR, dayWall + 12 * HOUR, dayWall + DAY + 15 * HOUR].map((t) =>
    z.offset(t),
  );
  const steady = samples.every((o) => o === samples[0]) ? (samples[0] ?? 0) * MINUTE : null;
  steadyOffsets.set(key, steady);
  return steady;
}

/**
 * The policy's instant for a wall time on a day around a transition, from luxon's offsets.
 *
 * A wall time w denotes the instants w - o whose offset is o. The offsets that can matter are
 * those in force between w - 14 h and w + 12 h (offsets range from -12 h to +14 h), and no zone
 * changes offset twice within a day, so sampling both ends and the middle finds them all.
 * - one such instant: it; two (fall back): the earlier;
 * - none (spring-forward gap): read w with the offset before the gap, the smaller one.
 *
 * (luxon's `DateTime.fromObject` + `getPossibleOffsets` would do the same, but `fromObject`
 * starts from the offset in force *today* and corrects it only twice, so where today's offset is
 * a day away from the one in force (Apia: +13 now, -11/-10 in 2011) it misreads valid wall times
 * next to a transition, e.g. 2011-09-25 00:00 in Apia as if it were in a gap.)
 */
const resolvedWalls = new Map<string, number>();
function resolveWallSlow(zone: string, wall: number): number {
  const key = `${zone}|${wall}`;
  const cached = resolvedWalls.get(key);
  if (cached !== undefined) return cached;
  const z = ianaZone(zone);
  const offsetAt = (t: number): number => z.offset(t) * MINUTE;
  const offsets = [...new Set([wall - 15 * HOUR, wall, wall + 13 * HOUR].map(offsetAt))];
  const instants = offsets.map((o) => wall - o).filter((x) => offsetAt(x) === wall - x);
  const instant = instants.length > 0 ? Math.min(...instants) : wall - Math.min(...offsets);
  resolvedWalls.set(key, instant);
  return instant;
}

/** The day conditions and the times of day of a calendar trigger, as plain sets. */
interface Oracle {
  /** Matching seconds of the day, ascending. */
  readonly times: readonly number[];
  dayMatches(y: number, m: number, d: number): boolean;
  /** The last year that can match, or null when unbounded. */
  readonly lastYear: number | null;
}

/** Sorted, deduplicated fire instants in [from, to] of an oracle read in a zone. */
function oracleInstants(oracle: Oracle, zone: ZoneCase, from: number, to: number): number[] {
  if (to < from) return [];
  const z = ianaZone(zone.name);
  // A wall time that lands in [from, to] is within two shifts of the walls of from and to.
  const margin = 2 * zone.largestShift + HOUR;
  const wallLo = from + z.offset(from) * MINUTE - margin;
  const wallHi = to + z.offset(to) * MINUTE + margin;
  const found = new Set<number>();
  for (let day = Math.floor(wallLo / DAY) * DAY; day <= wallHi; day += DAY) {
    const date = new Date(day);
    if (!oracle.dayMatches(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()))
      continue;
    const steady = steadyOffset(zone.name, day);
    for (const sod of oracle.times) {
      const wall = day + sod * SECOND;
      if (wall < wallLo) continue;
      if (wall > wallHi) break;
      const x = steady !== null ? wall - steady : resolveWallSlow(zone.name, wall);
      if (x >= from && x <= to) found.add(x);
    }
  }
  return [...found].sort((a, b) => a - b);
}

function weekdaySun0(y: number, m: number, d: number): number {
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

function daysInMonthOf(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function timesOfDay(hours: Set<number>, minutes: Set<number>, seconds: Set<number>): number[] {
  const times: number[] = [];
  for (let h = 0; h < 24; h++) {
    if (!hours.has(h)) continue;
    for (let mi = 0; mi < 60; mi++) {
      if (!minutes.has(mi)) continue;
      for (let s = 0; s < 60; s++) if (seconds.has(s)) times.push(h * 3600 + mi * 60 + s);
    }
  }
  return times;
}

// ---------------------------------------------------------------------------------------------
// Structured field descriptions, rendering and membership
// ---------------------------------------------------------------------------------------------

type Item =
  | { readonly kind: "star" }
  | { readonly kind: "starStep"; readonly step: number }
  | { readonly kind: "value"; readonly v: number }
  | { readonly kind: "range"; readonly a: number; readonly b: number; readonly step: number | null }
  /** `a/c`: from a to the field's maximum in steps of c (field form only). */
  | { readonly kind: "from"; readonly a: number; readonly step: number }
  /** `last`: the last day of the month (field form `day` only). */
  | { readonly kind: "lastDay" }
  /** `2nd fri`, `last sun` (field form `day` only); weekday 0 = Monday. */
  | { readonly kind: "nth"; readonly nth: number | "last"; readonly weekday: number };

interface FieldDesc {
  readonly items: readonly Item[];
  /** Render values as names where the field has them. */
  readonly names: boolean;
  readonly upper: boolean;
}

interface Names {
  readonly list: readonly string[];
  readonly base: number;
}

const MONTH_NAMES: Names = {
  list: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  base: 1,
};
const CRONTAB_WEEKDAYS: Names = {
  list: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
  base: 0,
};
const FIELD_WEEKDAYS: Names = {
  list: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
  base: 0,
};
const ORDINALS = ["1st", "2nd", "3rd", "4th", "5th"];

function nameOf(v: number, names: Names | undefined, field: FieldDesc): string | undefined {
  if (names === undefined || !field.names) return undefined;
  const n = names.list[v - names.base];
  if (n === undefined) return undefined;
  return field.upper ? n.toUpperCase() : n;
}

/**
 * Render a field as cron text. A range is named only when both ends have names and it has no
 * step (APScheduler's name ranges take no step; crontab weekday 7 has no name).
 */
function renderField(field: FieldDesc, names?: Names): string {
  return field.items
    .map((item): string => {
      switch (item.kind) {
        case "star":
          return "*";
        case "starStep":
          return `*/${item.step}`;
        case "value":
          return nameOf(item.v, names, field) ?? String(item.v);
        case "range": {
          const a = nameOf(item.a, names, field);
          const b = nameOf(item.b, names, field);
          const ends =
            a !== undefined && b !== undefined && item.step === null
              ? `${a}-${b}`
              : `${item.a}-${item.b}`;
          return item.step === null ? ends : `${ends}/${item.step}`;
        }
        case "from":
          return `${item.a}/${item.step}`;
        case "lastDay":
          return field.upper ? "LAST" : "last";
        case "nth": {
          const ord = item.nth === "last" ? "last" : (ORDINALS[item.nth - 1] ?? "1st");
          return `${ord} ${nameOf(item.weekday, FIELD_WEEKDAYS, { ...field, names: true }) ?? "mon"}`;
        }
      }
    })
    .join(",");
}

function stepping(first: number, last: number, step: number): number[] {
  const values: number[] = [];
  for (let v = first; v <= last; v += step) values.push(v);
  return values;
}

/** The values the range-like items of a field allow, within [min, max]. */
function fieldValues(field: FieldDesc, min: number, max: number): Set<number> {
  const values = new Set<number>();
  for (const item of field.items) {
    let vs: number[] = [];
    if (item.kind === "star") vs = stepping(min, max, 1);
    else if (item.kind === "starStep") vs = stepping(min, max, item.step);
    else if (item.kind === "value") vs = [item.v];
    else if (item.kind === "range") vs = stepping(item.a, item.b, item.step ?? 1);
    else if (item.kind === "from") vs = stepping(item.a, max, item.step);
    for (const v of vs) if (v >= min && v <= max) values.add(v);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Generators of field items
// ---------------------------------------------------------------------------------------------

/** `arb` with probability `p`, else null (null first, so failures shrink towards it). */
function maybe<T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | null> {
  if (p >= 1) return arb;
  return fc.oneof(
    { weight: Math.round((1 - p) * 100), arbitrary: fc.constant(null) },
    { weight: Math.round(p * 100), arbitrary: arb },
  );
}

function valueItem(min: number, max: number): fc.Arbitrary<Item> {
  return fc.integer({ min, max }).map((v): Item => ({ kind: "value", v }));
}

function rangeItem(
  min: number,
  max: number,
  maxWidth: number,
  maxStep: number,
): fc.Arbitrary<Item> {
  return fc
    .tuple(
      fc.integer({ min, max }),
      fc.integer({ min: 0, max: maxWidth }),
      maybe(fc.integer({ min: 2, max: maxStep }), 0.35),
    )
    .map(([a, w, step]): Item => ({ kind: "range", a, b: Math.min(max, a + w), step }));
}

function starStepItem(minStep: number, maxStep: number): fc.Arbitrary<Item> {
  return fc
    .integer({ min: minStep, max: maxStep })
    .map((step): Item => ({ kind: "starStep", step }));
}

function fromItem(min: number, max: number, maxStep: number): fc.Arbitrary<Item> {
  return fc
    .tuple(fc.integer({ min, max }), fc.integer({ min: 1, max: maxStep }))
    .map(([a, step]): Item => ({ kind: "from", a, step }));
}

const STAR: readonly Item[] = [{ kind: "star" }];

function fieldArb(items: fc.Arbitrary<readonly Item[]>, names = false): fc.Arbitrary<FieldDesc> {
  return fc
    .tuple(items, names ? fc.boolean() : fc.constant(false), fc.boolean())
    .map(([its, n, upper]) => ({ items: its, names: n, upper }));
}

function listOf(item: fc.Arbitrary<Item>, maxLength: number): fc.Arbitrary<readonly Item[]> {
  return fc.array(item, { minLength: 1, maxLength });
}

// ---------------------------------------------------------------------------------------------
// Crontab descriptions
// ---------------------------------------------------------------------------------------------

interface CrontabDesc {
  /** null: a 5-field string. */
  readonly second: FieldDesc | null;
  readonly minute: FieldDesc;
  readonly hour: FieldDesc;
  readonly dom: FieldDesc;
  readonly month: FieldDesc;
  readonly dow: FieldDesc;
  /** When set, the string given to the engine is this macro (the fields spell its meaning). */
  readonly macro: string | null;
}

const plain = (items: readonly Item[]): FieldDesc => ({ items, names: false, upper: false });
const MACROS: Record<string, readonly [string, string, string, string, string]> = {
  "@hourly": ["0", "*", "*", "*", "*"],
  "@daily": ["0", "0", "*", "*", "*"],
  "@midnight": ["0", "0", "*", "*", "*"],
  "@weekly": ["0", "0", "*", "*", "0"],
  "@monthly": ["0", "0", "1", "*", "*"],
};

function simpleField(text: string): FieldDesc {
  return plain(text === "*" ? STAR : [{ kind: "value", v: Number(text) }]);
}

function renderCrontab(desc: CrontabDesc): string {
  if (desc.macro !== null) return desc.macro;
  const fields = [
    renderField(desc.minute),
    renderField(desc.hour),
    renderField(desc.dom),
    renderField(desc.month, MONTH_NAMES),
    renderField(desc.dow, CRONTAB_WEEKDAYS),
  ];
  if (desc.second !== null) fields.unshift(renderField(desc.second));
  return fields.join(" ");
}

function crontabOracle(desc: CrontabDesc): Oracle {
  const seconds = desc.second === null ? new Set([0]) : fieldValues(desc.second, 0, 59);
  const minutes = fieldValues(desc.minute, 0, 59);
  const hours = fieldValues(desc.hour, 0, 23);
  const doms = fieldValues(desc.dom, 1, 31);
  const months = fieldValues(desc.month, 1, 12);
  // Vixie: `*` in day-of-week is 0-7; 7 is Sunday too.
  const dows = new Set([...fieldValues(desc.dow, 0, 7)].map((v) => v % 7));
  // A day field is restricted unless its text starts with '*'.
  const domStar = renderField(desc.dom).startsWith("*");
  const dowStar = renderField(desc.dow).startsWith("*");
  const either = !domStar && !dowStar;
  return {
    times: timesOfDay(hours, minutes, seconds),
    lastYear: null,
    dayMatches(y, m, d) {
      if (!months.has(m)) return false;
      const domMatch = doms.has(d);
      const dowMatch = dows.has(weekdaySun0(y, m, d));
      return either ? domMatch || dowMatch : domMatch && dowMatch;
    },
  };
}

/**
 * Hour items, sometimes (always when `focus`) steered onto the hours a DST change skips or
 * repeats in the zone.
 */
function hourItemsArb(
  zone: ZoneCase,
  base: fc.Arbitrary<readonly Item[]>,
  focus: boolean,
): fc.Arbitrary<readonly Item[]> {
  if (zone.hotHours.length === 0) return base;
  const hot = fc.constantFrom(...zone.hotHours);
  const hotItems = listOf(
    fc.oneof(
      hot.map((v): Item => ({ kind: "value", v })),
      hot.map((a): Item => ({ kind: "range", a, b: Math.min(23, a + 1), step: null })),
    ),
    2,
  );
  return focus
    ? hotItems
    : fc.oneof({ weight: 2, arbitrary: base }, { weight: 1, arbitrary: hotItems });
}

/**
 * Drop the day conditions (always when `focus`, in zones with DST changes) so that the day of
 * the change fires: the changes fall on Sundays, which many generated day fields exclude.
 */
function everyDayArb(zone: ZoneCase, focus: boolean): fc.Arbitrary<boolean> {
  if (zone.hotHours.length === 0) return fc.constant(false);
  return focus
    ? fc.constant(true)
    : fc.oneof(
        { weight: 4, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      );
}

const DAY_FIELDS: ReadonlySet<string> = new Set(["year", "month", "day", "week", "day_of_week"]);

function crontabFieldsArb(zone: ZoneCase, focus: boolean): fc.Arbitrary<CrontabDesc> {
  return fc
    .record({
      second: maybe(
        fieldArb(
          fc.oneof(
            { weight: 3, arbitrary: fc.constant<readonly Item[]>([{ kind: "value", v: 0 }]) },
            { weight: 1, arbitrary: listOf(valueItem(0, 59), 2) },
            { weight: 1, arbitrary: listOf(starStepItem(10, 30), 1) },
            { weight: 1, arbitrary: listOf(rangeItem(0, 59, 20, 15), 1) },
          ),
        ),
        0.3,
      ),
      minute: fieldArb(
        fc.oneof(
          { weight: 1, arbitrary: fc.constant(STAR) },
          {
            weight: 5,
            arbitrary: listOf(
              fc.oneof(valueItem(0, 59), rangeItem(0, 59, 10, 10), starStepItem(5, 30)),
              3,
            ),
          },
        ),
      ),
      hour: fieldArb(
        hourItemsArb(
          zone,
          fc.oneof(
            { weight: 2, arbitrary: fc.constant(STAR) },
            { weight: 1, arbitrary: listOf(starStepItem(2, 8), 1) },
            {
              weight: 3,
              arbitrary: listOf(fc.oneof(valueItem(0, 23), rangeItem(0, 23, 6, 4)), 3),
            },
          ),
          focus,
        ),
      ),
      dom: fieldArb(
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(STAR) },
          { weight: 1, arbitrary: listOf(starStepItem(2, 10), 1) },
          {
            weight: 3,
            arbitrary: listOf(fc.oneof(valueItem(1, 31), rangeItem(1, 31, 10, 5)), 3),
          },
          {
            weight: 1,
            arbitrary: fc.constant<readonly Item[]>([{ kind: "range", a: 1, b: 31, step: null }]),
          },
        ),
      ),
      month: fieldArb(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(STAR) },
          { weight: 1, arbitrary: listOf(starStepItem(2, 3), 1) },
          {
            weight: 2,
            arbitrary: listOf(fc.oneof(valueItem(1, 12), rangeItem(1, 12, 6, 2)), 3),
          },
        ),
        true,
      ),
      dow: fieldArb(
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(STAR) },
          { weight: 1, arbitrary: listOf(starStepItem(2, 6), 1) },
          {
            weight: 4,
            arbitrary: listOf(fc.oneof(valueItem(0, 7), rangeItem(0, 7, 4, 3)), 2),
          },
        ),
        true,
      ),
      everyDay: everyDayArb(zone, focus),
    })
    .map(({ everyDay, ...r }): CrontabDesc => ({
      ...r,
      ...(everyDay ? { dom: plain(STAR), month: plain(STAR), dow: plain(STAR) } : {}),
      macro: null,
    }))
    .filter((d) => crontabOracle(d).times.length <= 720);
}

const crontabMacroArb: fc.Arbitrary<CrontabDesc> = fc
  .constantFrom(...Object.keys(MACROS))
  .map((macro): CrontabDesc => {
    const [minute, hour, dom, month, dow] = MACROS[macro] ?? ["0", "0", "*", "*", "*"];
    return {
      macro,
      second: null,
      minute: simpleField(minute),
      hour: simpleField(hour),
      dom: simpleField(dom),
      month: simpleField(month),
      dow: simpleField(dow),
    };
  });

function crontabDescArb(zone: ZoneCase, focus: boolean): fc.Arbitrary<CrontabDesc> {
  return fc.oneof(
    { weight: 12, arbitrary: crontabFieldsArb(zone, focus) },
    { weight: 1, arbitrary: crontabMacroArb },
  );
}

// ---------------------------------------------------------------------------------------------
// Field-form (APScheduler) descriptions
// ---------------------------------------------------------------------------------------------

const FIELD_NAMES = [
  "year",
  "month",
  "day",
  "week",
  "day_of_week",
  "hour",
  "minute",
  "second",
] as const;
type FieldName = (typeof FIELD_NAMES)[number];

interface FieldFormDesc {
  readonly given: Partial<Record<FieldName, FieldDesc>>;
  /** Pass single values as numbers rather than strings. */
  readonly numbers: boolean;
  /** The separator between list items (APScheduler trims around commas). */
  readonly sep: "," | ", ";
}

const FIELD_DEFAULTS: Record<FieldName, readonly Item[]> = {
  year: STAR,
  month: [{ kind: "value", v: 1 }],
  day: [{ kind: "value", v: 1 }],
  week: STAR,
  day_of_week: STAR,
  hour: [{ kind: "value", v: 0 }],
  minute: [{ kind: "value", v: 0 }],
  second: [{ kind: "value", v: 0 }],
};

/** The README's defaulting rule: after the least significant given field, defaults; else `*`. */
function effectiveFields(desc: FieldFormDesc): Record<FieldName, FieldDesc> {
  let lastGiven = -1;
  FIELD_NAMES.forEach((name, i) => {
    if (desc.given[name] !== undefined) lastGiven = i;
  });
  const out = {} as Record<FieldName, FieldDesc>;
  FIELD_NAMES.forEach((name, i) => {
    out[name] = desc.given[name] ?? plain(i > lastGiven ? FIELD_DEFAULTS[name] : STAR);
  });
  return out;
}

function renderFieldForm(desc: FieldFormDesc): CronFields {
  const fields: CronFields = {};
  for (const name of FIELD_NAMES) {
    const field = desc.given[name];
    if (field === undefined) continue;
    const only = field.items[0];
    if (desc.numbers && field.items.length === 1 && only?.kind === "value") {
      fields[name] = only.v;
      continue;
    }
    const names =
      name === "month" ? MONTH_NAMES : name === "day_of_week" ? FIELD_WEEKDAYS : undefined;
    fields[name] = renderField(field, names).split(",").join(desc.sep);
  }
  return fields;
}

/** ISO 8601 week number, via luxon (memoised per date). */
const isoWeeks = new Map<number, number>();
function isoWeekOf(y: number, m: number, d: number): number {
  const key = y * 10000 + m * 100 + d;
  let w = isoWeeks.get(key);
  if (w === undefined) {
    w = DateTime.utc(y, m, d).weekNumber;
    isoWeeks.set(key, w);
  }
  return w;
}

function fieldFormOracle(desc: FieldFormDesc): Oracle {
  const eff = effectiveFields(desc);
  const years = fieldValues(eff.year, 1970, 9999);
  const boundedYears = eff.year.items.every((i) => i.kind === "value" || i.kind === "range");
  const months = fieldValues(eff.month, 1, 12);
  const weekAll = eff.week.items.every((i) => i.kind === "star");
  const weeks = fieldValues(eff.week, 1, 53);
  const dows = fieldValues(eff.day_of_week, 0, 6);
  const dayValues = fieldValues(eff.day, 1, 31);
  const dayMemo = new Map<number, Set<number>>();
  const daysOf = (y: number, m: number): Set<number> => {
    const key = y * 16 + m;
    let set = dayMemo.get(key);
    if (set !== undefined) return set;
    const dim = daysInMonthOf(y, m);
    set = new Set([...dayValues].filter((d) => d <= dim));
    for (const item of eff.day.items) {
      if (item.kind === "lastDay") set.add(dim);
      if (item.kind === "nth") {
        const matching: number[] = [];
        for (let d = 1; d <= dim; d++) {
          if ((weekdaySun0(y, m, d) + 6) % 7 === item.weekday) matching.push(d);
        }
        const d = item.nth === "last" ? matching[matching.length - 1] : matching[item.nth - 1];
        if (d !== undefined) set.add(d);
      }
    }
    dayMemo.set(key, set);
    return set;
  };
  return {
    times: timesOfDay(
      fieldValues(eff.hour, 0, 23),
      fieldValues(eff.minute, 0, 59),
      fieldValues(eff.second, 0, 59),
    ),
    lastYear: boundedYears ? Math.max(...years) : null,
    dayMatches(y, m, d) {
      return (
        years.has(y) &&
        months.has(m) &&
        daysOf(y, m).has(d) &&
        dows.has((weekdaySun0(y, m, d) + 6) % 7) &&
        (weekAll || weeks.has(isoWeekOf(y, m, d)))
      );
    },
  };
}

function fieldFormArb(zone: ZoneCase, focus: boolean): fc.Arbitrary<FieldFormDesc> {
  const years = zone.years;
  const opt = (arb: fc.Arbitrary<FieldDesc>, p: number): fc.Arbitrary<FieldDesc | null> =>
    maybe(arb, p);
  const timeItems = (max: number, minStep: number): fc.Arbitrary<readonly Item[]> =>
    fc.oneof(
      { weight: 1, arbitrary: fc.constant(STAR) },
      {
        weight: 5,
        arbitrary: listOf(
          fc.oneof(
            valueItem(0, max),
            rangeItem(0, max, 10, 10),
            starStepItem(minStep, Math.min(30, max)),
            fromItem(0, max, Math.min(30, max)),
          ),
          3,
        ),
      },
    );
  return fc
    .record({
      year: opt(
        fieldArb(
          fc.oneof(
            fc.constant(STAR),
            listOf(starStepItem(1, 2), 1),
            listOf(valueItem(years[0], years[1] + 1), 2),
            listOf(rangeItem(years[0] - 1, years[1] + 1, 3, 2), 1),
          ),
        ),
        0.1,
      ),
      month: opt(
        fieldArb(
          fc.oneof(
            { weight: 1, arbitrary: fc.constant(STAR) },
            { weight: 1, arbitrary: listOf(starStepItem(2, 3), 1) },
            {
              weight: 3,
              arbitrary: listOf(
                fc.oneof(valueItem(1, 12), rangeItem(1, 12, 8, 2), fromItem(1, 12, 3)),
                3,
              ),
            },
          ),
          true,
        ),
        0.25,
      ),
      day: opt(
        fieldArb(
          fc.oneof(
            { weight: 1, arbitrary: fc.constant(STAR) },
            {
              weight: 6,
              arbitrary: listOf(
                fc.oneof(
                  valueItem(1, 31),
                  rangeItem(1, 31, 12, 5),
                  starStepItem(2, 10),
                  fromItem(1, 31, 7),
                  fc.constant<Item>({ kind: "lastDay" }),
                  fc
                    .tuple(
                      fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant("last" as const)),
                      fc.integer({ min: 0, max: 6 }),
                    )
                    .map(([nth, weekday]): Item => ({ kind: "nth", nth, weekday })),
                ),
                3,
              ),
            },
          ),
        ),
        0.35,
      ),
      week: opt(
        fieldArb(
          fc.oneof(
            fc.constant(STAR),
            listOf(starStepItem(2, 3), 1),
            listOf(rangeItem(1, 53, 40, 2), 1).map((items) =>
              items.map((i): Item =>
                i.kind === "range" ? { ...i, b: Math.max(i.b, Math.min(53, i.a + 10)) } : i,
              ),
            ),
            listOf(fromItem(1, 20, 2), 1),
          ),
        ),
        0.15,
      ),
      day_of_week: opt(
        fieldArb(
          fc.oneof(
            { weight: 1, arbitrary: fc.constant(STAR) },
            { weight: 1, arbitrary: listOf(starStepItem(2, 3), 1) },
            {
              weight: 4,
              arbitrary: listOf(
                fc.oneof(valueItem(0, 6), rangeItem(0, 6, 4, 2), fromItem(0, 6, 3)),
                2,
              ),
            },
          ),
          true,
        ),
        0.35,
      ),
      hour: opt(fieldArb(hourItemsArb(zone, timeItems(23, 2), focus)), focus ? 1 : 0.6),
      minute: opt(fieldArb(timeItems(59, 5)), 0.6),
      second: opt(
        fieldArb(
          fc.oneof(
            { weight: 3, arbitrary: fc.constant<readonly Item[]>([{ kind: "value", v: 0 }]) },
            { weight: 1, arbitrary: listOf(valueItem(0, 59), 2) },
            { weight: 1, arbitrary: listOf(starStepItem(15, 30), 1) },
          ),
        ),
        0.25,
      ),
      everyDay: everyDayArb(zone, focus),
      numbers: fc.boolean(),
      sep: fc.constantFrom<"," | ", ">(",", ", "),
    })
    .map(({ numbers, sep, everyDay, ...fields }): FieldFormDesc => {
      const given: Partial<Record<FieldName, FieldDesc>> = {};
      for (const name of FIELD_NAMES) {
        const f = fields[name];
        if (f !== null && !(everyDay && DAY_FIELDS.has(name))) given[name] = f;
      }
      // A second without a minute would fire every minute of the day: keep windows small.
      if (given.second !== undefined && given.minute === undefined)
        given.minute = plain([{ kind: "value", v: 0 }]);
      return { given, numbers, sep };
    })
    .filter((d) =>
      (["day", "week", "day_of_week", "hour", "minute", "second"] as const).some(
        (n) => d.given[n] !== undefined,
      ),
    )
    .filter((d) => fieldFormOracle(d).times.length <= 720);
}

// ---------------------------------------------------------------------------------------------
// The check shared by cron and crontab
// ---------------------------------------------------------------------------------------------

interface CalendarCase {
  readonly spec: TriggerSpec;
  readonly zone: ZoneCase;
  readonly oracle: Oracle;
  readonly after: number;
  readonly count: number;
  readonly start: number | null;
  readonly end: number | null;
}

function fmt(zone: string): (x: number) => string {
  return (x) => DateTime.fromMillis(x, { zone }).toISO() ?? String(x);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkCalendarCase(c: CalendarCase): void {
  const show = fmt(c.zone.name);
  const from = Math.max(c.after, c.start ?? -Infinity);
  let trigger: Trigger;
  try {
    trigger = compileTrigger(c.spec);
  } catch (err) {
    // The engine refuses triggers that can never fire; the oracle must find nothing either.
    expect(errorMessage(err)).toMatch(/can never fire/);
    const lo = c.start ?? from;
    expect(oracleInstants(c.oracle, c.zone, lo, c.end ?? lo + 400 * DAY).map(show)).toEqual([]);
    return;
  }
  const got = fireTimes(trigger, c.after, c.count);

  // 2. The sequence strictly increases.
  for (let i = 1; i < got.length; i++) {
    expect(got[i] ?? 0, `element ${i} does not increase`).toBeGreaterThan(got[i - 1] ?? 0);
  }

  // The window: up to the last result, or (when the sequence ended early) as far as the trigger
  // could still fire; capped at three years for sparse triggers.
  const last = got[got.length - 1];
  let horizon =
    got.length === c.count && last !== undefined
      ? last
      : Math.min(
          c.end ?? Infinity,
          c.oracle.lastYear === null ? Infinity : Date.UTC(c.oracle.lastYear + 1, 0, 3),
          from + 800 * DAY,
        );
  horizon = Math.min(horizon, from + 1100 * DAY);
  const want = oracleInstants(c.oracle, c.zone, from, horizon).filter(
    (x) => c.end === null || x <= c.end,
  );
  const gotInWindow = got.filter((x) => x <= horizon);

  // 1. Every produced time is a fire time of the trigger.
  const fireSet = new Set(want);
  for (const x of gotInWindow) {
    expect(fireSet.has(x), `${show(x)} is not a fire time`).toBe(true);
  }
  expect(got[0] === undefined || got[0] >= from, "first result before `after`/start").toBe(true);

  // 3. No fire time is skipped: the sequence is exactly the oracle's.
  expect(gotInWindow.map(show)).toEqual(want.slice(0, c.count).map(show));
}

/** Optional start/end dates around `after` (inclusive bounds, ms precision). */
function boundsArb(after: number): fc.Arbitrary<{ start: number | null; end: number | null }> {
  return fc
    .tuple(
      maybe(fc.integer({ min: -2 * DAY, max: 2 * DAY }), 0.2),
      maybe(fc.integer({ min: 0, max: 5 * DAY }), 0.2),
    )
    .map(([s, e]) => {
      const start = s === null ? null : after + s;
      const end = e === null ? null : Math.max(after, start ?? after) + e;
      return { start, end };
    });
}

/** Zones with DST changes come up twice as often; `focus`: only those. */
function zoneArb(focus: boolean): fc.Arbitrary<ZoneCase> {
  return fc.oneof(
    ...ZONES.filter((z) => !focus || z.anchors.length > 0).map((z) => ({
      weight: z.anchors.length > 0 ? 2 : 1,
      arbitrary: fc.constant(z),
    })),
  );
}

/** A case that prints as the spec the engine got, with readable instants. */
function printable(c: CalendarCase): CalendarCase {
  const show = fmt(c.zone.name);
  const text = (): string =>
    `${JSON.stringify(c.spec, (key, value: unknown) =>
      (key === "startDate" || key === "endDate") && typeof value === "number" ? show(value) : value,
    )} after=${show(c.after)} count=${c.count}`;
  return Object.assign(c, { [fc.toStringMethod]: text });
}

function crontabCaseArb(focus: boolean): fc.Arbitrary<CalendarCase> {
  return zoneArb(focus).chain((zone) =>
    fc
      .tuple(crontabDescArb(zone, focus), afterArb(zone, focus), fc.integer({ min: 10, max: 30 }))
      .chain(([desc, after, count]) =>
        boundsArb(after).map(({ start, end }) =>
          printable({
            spec: {
              type: "crontab",
              expression: renderCrontab(desc),
              timezone: zone.name,
              startDate: start,
              endDate: end,
            },
            zone,
            oracle: crontabOracle(desc),
            after,
            count,
            start,
            end,
          }),
        ),
      ),
  );
}

function cronCaseArb(focus: boolean): fc.Arbitrary<CalendarCase> {
  return zoneArb(focus).chain((zone) =>
    fc
      .tuple(fieldFormArb(zone, focus), afterArb(zone, focus), fc.integer({ min: 10, max: 30 }))
      .chain(([desc, after, count]) =>
        boundsArb(after).map(({ start, end }) =>
          printable({
            spec: {
              type: "cron",
              fields: renderFieldForm(desc),
              timezone: zone.name,
              startDate: start,
              endDate: end,
            },
            zone,
            oracle: fieldFormOracle(desc),
            after,
            count,
            start,
            end,
          }),
        ),
      ),
  );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe("cron and crontab triggers against a brute-force oracle", () => {
  it("crontab (5/6 fields, names, dom/dow OR and AND, macros): sequence == oracle", () => {
    fc.assert(fc.property(crontabCaseArb(false), checkCalendarCase), { numRuns: 200 });
  });

  it("crontab across DST changes (skipped, repeated and missing hours): sequence == oracle", () => {
    fc.assert(fc.property(crontabCaseArb(true), checkCalendarCase), { numRuns: 150 });
  });

  it("field form (day, week, day_of_week, last, nth weekday, ...): sequence == oracle", () => {
    fc.assert(fc.property(cronCaseArb(false), checkCalendarCase), { numRuns: 200 });
  });

  it("field form across DST changes: sequence == oracle", () => {
    fc.assert(fc.property(cronCaseArb(true), checkCalendarCase), { numRuns: 150 });
  });
});

// ---------------------------------------------------------------------------------------------
// Interval triggers
// ---------------------------------------------------------------------------------------------

interface IntervalCase {
  readonly spec: TriggerSpec;
  readonly intervalMs: number;
  readonly start: number;
  readonly end: number | null;
  readonly after: number;
  readonly count: number;
}

const intervalCaseArb: fc.Arbitrary<IntervalCase> = fc
  .record({
    weeks: maybe(fc.integer({ min: 1, max: 2 }), 0.1),
    days: maybe(fc.integer({ min: 1, max: 3 }), 0.2),
    hours: maybe(fc.integer({ min: 1, max: 30 }), 0.5),
    minutes: maybe(fc.integer({ min: 1, max: 90 }), 0.5),
    // Quarter seconds are exact in binary, so the interval is a whole number of ms.
    seconds: maybe(
      fc.oneof(
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 400 }).map((q) => q / 4),
      ),
      0.4,
    ),
    zone: fc.constantFrom(...ZONES),
    start: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2029, 0, 1) }),
  })
  .map((r) => ({
    ...r,
    intervalMs:
      (r.weeks ?? 0) * 7 * DAY +
      (r.days ?? 0) * DAY +
      (r.hours ?? 0) * HOUR +
      (r.minutes ?? 0) * MINUTE +
      Math.round((r.seconds ?? 0) * SECOND),
  }))
  .filter((r) => r.intervalMs > 0)
  .chain((r) =>
    fc
      .record({
        // From before the start to a couple of hundred steps after it, on or off the grid.
        steps: fc.integer({ min: -5, max: 200 }),
        offGrid: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: r.intervalMs - 1 })),
        endSteps: maybe(fc.integer({ min: 0, max: 300 }), 0.4),
        endOffset: fc.integer({ min: 0, max: r.intervalMs - 1 }),
        count: fc.integer({ min: 1, max: 30 }),
      })
      .map(({ steps, offGrid, endSteps, endOffset, count }): IntervalCase => {
        const end = endSteps === null ? null : r.start + endSteps * r.intervalMs + endOffset;
        const spec: TriggerSpec = {
          type: "interval",
          ...(r.weeks === null ? {} : { weeks: r.weeks }),
          ...(r.days === null ? {} : { days: r.days }),
          ...(r.hours === null ? {} : { hours: r.hours }),
          ...(r.minutes === null ? {} : { minutes: r.minutes }),
          ...(r.seconds === null ? {} : { seconds: r.seconds }),
          startDate: r.start,
          endDate: end,
          timezone: r.zone.name,
        };
        return {
          spec,
          intervalMs: r.intervalMs,
          start: r.start,
          end,
          after: r.start + steps * r.intervalMs + offGrid,
          count,
        };
      }),
  );

describe("interval triggers", () => {
  it("fire at start + k * interval, >= after, <= end, none skipped", () => {
    fc.assert(
      fc.property(intervalCaseArb, (c) => {
        const got = fireTimes(compileTrigger(c.spec), c.after, c.count);
        // Brute force: walk the grid from the start.
        const want: number[] = [];
        for (let x = c.start; want.length < c.count; x += c.intervalMs) {
          if (c.end !== null && x > c.end) break;
          if (x >= c.after) want.push(x);
        }
        for (let i = 0; i < got.length; i++) {
          const x = got[i] ?? NaN;
          expect((x - c.start) % c.intervalMs, `${x} is off the grid`).toBe(0);
          expect(x).toBeGreaterThanOrEqual(c.after);
          if (c.end !== null) expect(x).toBeLessThanOrEqual(c.end);
          if (i > 0) expect(x).toBeGreaterThan(got[i - 1] ?? Infinity);
        }
        expect(got.map((x) => new Date(x).toISOString())).toEqual(
          want.map((x) => new Date(x).toISOString()),
        );
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// `or` and `and`
// ---------------------------------------------------------------------------------------------

/** The fire instants of a trigger at or after `after` (its own schedule, not `firstFireTime`). */
function ownSequence(trigger: Trigger, after: number, count: number, until = Infinity): number[] {
  const out: number[] = [];
  for (let x = trigger.nextAtOrAfter(after); x !== null && x <= until && out.length < count;) {
    out.push(x);
    x = trigger.nextAtOrAfter(x + 1);
  }
  return out;
}

function compiles(spec: TriggerSpec): boolean {
  try {
    compileTrigger(spec);
    return true;
  } catch {
    return false;
  }
}

function isoUtc(x: number): string {
  return new Date(x).toISOString();
}

/** A sub-trigger of an `or`: any kind, in any zone, firing around `after`. */
function orPartArb(after: number): fc.Arbitrary<TriggerSpec> {
  const zone = fc.constantFrom(...ZONES_2026);
  return fc
    .oneof(
      zone.chain((z) =>
        crontabDescArb(z, false).map((d): TriggerSpec => ({
          type: "crontab",
          expression: renderCrontab(d),
          timezone: z.name,
        })),
      ),
      zone.chain((z) =>
        fieldFormArb(z, false).map((d): TriggerSpec => ({
          type: "cron",
          fields: renderFieldForm(d),
          timezone: z.name,
        })),
      ),
      fc
        .tuple(
          zone,
          fc.integer({ min: -3 * DAY, max: DAY }),
          fc.integer({ min: 1, max: 6 * 60 }),
          fc.integer({ min: 0, max: 59 }),
        )
        .map(([z, s, minutes, seconds]): TriggerSpec => ({
          type: "interval",
          minutes,
          seconds,
          startDate: after + s,
          timezone: z.name,
        })),
      fc
        .tuple(zone, fc.integer({ min: -DAY, max: 3 * DAY }))
        .map(([z, d]): TriggerSpec => ({ type: "date", runDate: after + d, timezone: z.name })),
      // Parts on a shared grid, whose fire times often coincide.
      andPartArb(after, false),
    )
    .filter(compiles);
}

/**
 * A sub-trigger of an `and` on a shared grid (5 minutes in UTC, or in a zone whose offset is a
 * multiple of 15 minutes), so that parts often coincide. Only the first part restricts hours.
 */
function andPartArb(after: number, first: boolean): fc.Arbitrary<TriggerSpec> {
  const zone = fc.constantFrom(...ZONES_2026);
  const step = fc.constantFrom(5, 10, 15, 30);
  const hours = first
    ? fc.oneof(
        fc.constant("*"),
        fc.integer({ min: 0, max: 23 }).map(String),
        fc.integer({ min: 0, max: 20 }).map((h) => `${h}-${h + 3}`),
      )
    : fc.constant("*");
  const grid = Math.floor(after / (30 * MINUTE)) * 30 * MINUTE;
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(zone, step, hours, fc.boolean()).map(([z, m, h, six]): TriggerSpec => ({
        type: "crontab",
        expression: `${six ? "0 " : ""}*/${m} ${h} * * *`,
        timezone: z.name,
      })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(zone, step, hours).map(([z, m, h]): TriggerSpec => ({
        type: "cron",
        fields: h === "*" ? { minute: `*/${m}` } : { hour: h, minute: `*/${m}` },
        timezone: z.name,
      })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          zone,
          fc.constantFrom(5, 10, 15, 20, 30, 45, 60, 90, 120, 180),
          fc.integer({ min: -200, max: 50 }),
          fc.constantFrom(5, 30, 30),
        )
        .map(([z, minutes, k, align]): TriggerSpec => ({
          type: "interval",
          minutes,
          startDate: grid + k * align * MINUTE,
          timezone: z.name,
        })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(zone, fc.integer({ min: -20, max: 80 })).map(([z, k]): TriggerSpec => ({
        type: "date",
        runDate: grid + k * 30 * MINUTE,
        timezone: z.name,
      })),
    },
  );
}

const combinedAfterArb: fc.Arbitrary<number> = fc
  .constantFrom(...ZONES_2026)
  .chain((z) => afterArb(z, false));

describe("or / and triggers", () => {
  it("`or` == the sorted, deduplicated union of its parts' sequences", () => {
    const caseArb = combinedAfterArb.chain((after) =>
      fc.record({
        after: fc.constant(after),
        parts: fc.array(orPartArb(after), { minLength: 1, maxLength: 4 }),
        count: fc.integer({ min: 5, max: 30 }),
      }),
    );
    fc.assert(
      fc.property(caseArb, ({ after, parts, count }) => {
        const got = fireTimes(compileTrigger({ type: "or", triggers: parts }), after, count);
        const compiled = parts.map((p) => compileTrigger(p));
        const union = new Set(compiled.flatMap((p) => ownSequence(p, after, count)));
        const want = [...union].sort((a, b) => a - b).slice(0, count);
        for (let i = 1; i < got.length; i++) {
          expect(got[i] ?? 0).toBeGreaterThan(got[i - 1] ?? Infinity);
        }
        for (const x of got) {
          expect(
            compiled.some((p) => p.nextAtOrAfter(x) === x),
            `${isoUtc(x)} is no part's fire time`,
          ).toBe(true);
        }
        expect(got.map(isoUtc)).toEqual(want.map(isoUtc));
      }),
      { numRuns: 150 },
    );
  });

  it("`and` == the intersection of its parts' sequences", () => {
    const caseArb = combinedAfterArb.chain((after) =>
      fc.record({
        after: fc.constant(after),
        parts: fc
          .integer({ min: 2, max: 3 })
          .chain((n) =>
            fc.tuple(...Array.from({ length: n }, (_, i) => andPartArb(after, i === 0))),
          ),
        count: fc.integer({ min: 5, max: 20 }),
      }),
    );
    fc.assert(
      fc.property(caseArb, ({ after, parts, count }) => {
        const compiled = parts.map((p) => compileTrigger(p));
        const inAll = (x: number): boolean => compiled.every((p) => p.nextAtOrAfter(x) === x);
        const dates = parts.flatMap((p) => (p.type === "date" ? [p.runDate] : []));
        let and: Trigger;
        try {
          and = compileTrigger({ type: "and", triggers: parts });
        } catch (err) {
          // Refused only when the parts never coincide: with a date part that is exact; grids
          // without one repeat daily, so two days show it.
          expect(errorMessage(err)).toMatch(/never fire at the same instant/);
          if (dates.length > 0) {
            expect(dates.filter(inAll).map(isoUtc)).toEqual([]);
          } else {
            const firstPart = compiled[0];
            const candidates = firstPart
              ? ownSequence(firstPart, after, 100_000, after + 2 * DAY)
              : [];
            expect(candidates.filter(inAll).map(isoUtc)).toEqual([]);
          }
          return;
        }
        // A search that runs out of rounds throws (no end of the trigger): the sequence stops
        // there, and the window below must hold no coincidence after it either.
        const got: number[] = [];
        try {
          for (let t = and.firstFireTime(after); t !== null && got.length < count;) {
            got.push(t);
            t = and.nextFireTime(t);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(TriggerSearchExhaustedError);
        }
        for (let i = 1; i < got.length; i++) {
          expect(got[i] ?? 0).toBeGreaterThan(got[i - 1] ?? Infinity);
        }
        for (const x of got)
          expect(inAll(x), `${isoUtc(x)} is not a fire time of every part`).toBe(true);
        // Every coincidence in the window, found by walking the sparsest part.
        const last = got[got.length - 1];
        const horizon = got.length === count && last !== undefined ? last : after + 2 * DAY;
        const sequences = compiled.map((p) => ownSequence(p, after, 100_000, horizon));
        const sparsest = sequences.reduce((a, b) => (b.length < a.length ? b : a));
        const want = sparsest.filter(inAll).slice(0, count);
        expect(got.filter((x) => x <= horizon).map(isoUtc)).toEqual(want.map(isoUtc));
      }),
      { numRuns: 150 },
    );
  });
});
