/**
 * The search shared by the two cron forms. A `Calendar` says which local wall times match (by
 * year, month, day and time-of-day tables); `nextWall` finds the first matching wall time at or
 * after a given one, and `nextInstant` turns that into the first fire *instant* at or after a
 * given instant under the daylight-saving policy of `ZoneRules`.
 */
import { DAY_MS, SECOND_MS, civilFromDays, daysFromCivil, daysInMonth } from "./civil.js";
import type { ZoneRules } from "./zone.js";

export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;

export interface Calendar {
  /** The first matching year >= y, or -1. */
  nextYear(y: number): number;
  /** Index 1..13: the first matching month >= m, or -1 (index 13 is always -1). */
  readonly nextMonth: Int8Array;
  /** Bit d-1 is set when day d of the month matches every day condition. */
  dayMask(y: number, m: number): number;
  /** Index 0..24: the first matching hour >= h, or -1 (index 24 is always -1). */
  readonly nextHour: Int8Array;
  /** Index 0..60: the first matching minute >= m, or -1 (index 60 is always -1). */
  readonly nextMinute: Int8Array;
  /** Index 0..60: the first matching second >= s, or -1 (index 60 is always -1). */
  readonly nextSecond: Int8Array;
}

/** A "next value" table over [min, max] for a predicate, with a -1 sentinel at max + 1. */
export function nextTable(min: number, max: number, matches: (v: number) => boolean): Int8Array {
  const table = new Int8Array(max + 2).fill(-1);
  let next = -1;
  for (let v = max; v >= min; v--) {
    if (matches(v)) next = v;
    table[v] = next;
  }
  return table;
}

/** Memoise a month's day mask; the cache is bounded (a search touches few months at a time). */
export function cachedDayMasks(
  compute: (y: number, m: number) => number,
): (y: number, m: number) => number {
  const masks = new Map<number, number>();
  return (y, m) => {
    const key = y * 16 + m;
    let mask = masks.get(key);
    if (mask === undefined) {
      if (masks.size >= 512) masks.clear();
      mask = compute(y, m);
      masks.set(key, mask);
    }
    return mask;
  };
}

function at(table: Int8Array, i: number): number {
  return table[i] ?? -1;
}

/** The first matching second of the day >= `second`, or -1. */
function nextTimeOfDay(cal: Calendar, second: number): number {
  let h = Math.floor(second / 3600);
  let mi = Math.floor(second / 60) % 60;
  let s = second % 60;
  for (;;) {
    const hh = at(cal.nextHour, h);
    if (hh < 0) return -1;
    if (hh !== h) {
      h = hh;
      mi = 0;
      s = 0;
    }
    const mm = at(cal.nextMinute, mi);
    if (mm < 0) {
      h++;
      mi = 0;
      s = 0;
      continue;
    }
    if (mm !== mi) {
      mi = mm;
      s = 0;
    }
    const ss = at(cal.nextSecond, s);
    if (ss < 0) {
      mi++;
      s = 0;
      continue;
    }
    return h * 3600 + mi * 60 + ss;
  }
}

function lowestBitFrom(mask: number, fromBit: number): number {
  const masked = fromBit >= 31 ? 0 : (mask >>> fromBit) << fromBit;
  if (masked === 0) return -1;
  return 31 - Math.clz32(masked & -masked);
}

/** The first matching wall time >= `wall` (whole seconds), or null when none up to year 9999. */
export function nextWall(cal: Calendar, wall: number): number | null {
  const dayCount = Math.floor(wall / DAY_MS);
  let secondOfDay = Math.floor((wall - dayCount * DAY_MS) / SECOND_MS);
  let { y, m, d } = civilFromDays(dayCount);
  for (;;) {
    // The date part: the first matching (y, m, d) at or after the current one.
    const yy = cal.nextYear(y);
    if (yy < 0 || yy > MAX_YEAR) return null;
    if (yy !== y) {
      y = yy;
      m = 1;
      d = 1;
      secondOfDay = 0;
    }
    const mm = at(cal.nextMonth, m);
    if (mm < 0) {
      y++;
      m = 1;
      d = 1;
      secondOfDay = 0;
      continue;
    }
    if (mm !== m) {
      m = mm;
      d = 1;
      secondOfDay = 0;
    }
    const bit = d <= daysInMonth(y, m) ? lowestBitFrom(cal.dayMask(y, m), d - 1) : -1;
    if (bit < 0) {
      m++;
      d = 1;
      secondOfDay = 0;
      continue;
    }
    if (bit + 1 !== d) {
      d = bit + 1;
      secondOfDay = 0;
    }
    // The time part on that date, else the next date.
    const sod = nextTimeOfDay(cal, secondOfDay);
    if (sod >= 0) return daysFromCivil(y, m, d) * DAY_MS + sod * SECOND_MS;
    d++;
    secondOfDay = 0;
  }
}

/**
 * The first fire instant >= `t` (a whole second) of a calendar read in `zone`, or null.
 *
 * The wall-to-instant map is increasing except at a spring-forward gap, where the gap's wall times
 * land on [T, T + gap) together with the real wall times just after the gap. So besides the
 * plain search from t's own wall time this looks (1) back into a gap when t lies just after one,
 * and (2) past a gap when the candidate found lies in one. In the second pass of a fall-back the
 * repeated wall times already fired at their first occurrence, so the search starts after them.
 */
export function nextInstant(cal: Calendar, zone: ZoneRules, t: number): number | null {
  let best = Infinity;
  let from = zone.wallAt(t);
  const recent = zone.recentTransition(t);
  if (recent !== undefined) {
    const shift = recent.after - recent.before;
    if (shift > 0 && t < recent.at + shift) {
      const w = nextWall(cal, t + recent.before);
      if (w !== null && w < recent.at + recent.after) best = w - recent.before;
    } else if (shift < 0 && t < recent.at - shift) {
      from = recent.at + recent.before;
    }
  }
  for (;;) {
    const w = nextWall(cal, from);
    if (w === null) break;
    const resolved = zone.resolve(w);
    let x = resolved.instant;
    if (resolved.gap !== undefined) {
      const w2 = nextWall(cal, resolved.gap.at + resolved.gap.after);
      if (w2 !== null) x = Math.min(x, zone.resolve(w2).instant);
    }
    if (x >= t) {
      best = Math.min(best, x);
      break;
    }
    // Not reachable under the policy's invariants; stepping on keeps the search total.
    from = w + SECOND_MS;
  }
  return best === Infinity ? null : best;
}
