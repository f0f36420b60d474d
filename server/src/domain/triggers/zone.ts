/**
 * Time-zone rules for the trigger engine, built on the IANA database through luxon.
 *
 * luxon answers "what is the UTC offset at this instant" in about 6 µs (an `Intl` call). The
 * trigger search asks that many times per fire time, so this class samples each zone once per
 * 256-day chunk, finds the transitions to the second, and answers later questions from that
 * table. It also implements the daylight-saving policy of the conformance README in one place:
 *
 * - a wall time that does not exist (spring forward) is read with the offset in force before the
 *   gap, so it lands shifted forward by the gap's length;
 * - a wall time that occurs twice (fall back) is read with the offset in force before the
 *   transition, i.e. at its first occurrence.
 *
 * Both cases read the wall time with the offset *before* the transition; after the transition's
 * last affected wall time (`boundary`) the new offset applies.
 */
import { IANAZone } from "luxon";
import { DAY_MS, HOUR_MS, SECOND_MS } from "./civil.js";
import { InvalidArgumentError } from "../errors.js";

/** A change of UTC offset: from `at` on, the offset is `after` (offsets in milliseconds). */
export interface Transition {
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

interface Chunk {
  /** The offset at the chunk's first instant. */
  readonly initial: number;
  /** Transitions with `at` in (chunk start, chunk end], in order. */
  readonly transitions: readonly Transition[];
}

const CHUNK_MS = 256 * DAY_MS;
/** Two transitions closer than this that cancel out would be missed; tzdb has none since 1970. */
const SAMPLE_MS = 2 * DAY_MS;
/** Wider than any offset plus any gap in the IANA database (Apia skipped 24 h). */
const NEAR_MS = 48 * HOUR_MS;
/** Bound on the cached chunks of one zone (previews may wander over thousands of years). */
const MAX_CHUNKS = 4096;

/** Where a wall time lands under the policy, and the gap it falls in, if any. */
export interface Resolved {
  readonly instant: number;
  readonly gap: Transition | undefined;
}

export class ZoneRules {
  private static readonly known = new Map<string, ZoneRules>();

  /** The rules of an IANA zone name (case-insensitive); throws for an unknown zone. */
  static of(name: string, field = "timezone"): ZoneRules {
    // Keyed by lower case: zone names are case-insensitive, and the cache stays as small as the
    // IANA list whatever spellings callers send.
    const key = typeof name === "string" ? name.toLowerCase() : "";
    const cached = ZoneRules.known.get(key);
    if (cached) return cached;
    if (typeof name !== "string" || name.trim() === "" || !IANAZone.isValidZone(name)) {
      throw new InvalidArgumentError(
        field,
        `unknown time zone ${JSON.stringify(name)}; use an IANA name such as "Europe/London" or "UTC"`,
      );
    }
    const canonical = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions()
      .timeZone;
    const rules = ZoneRules.known.get(canonical.toLowerCase()) ?? new ZoneRules(canonical);
    ZoneRules.known.set(canonical.toLowerCase(), rules);
    ZoneRules.known.set(key, rules);
    return rules;
  }

  private readonly zone: IANAZone;
  private readonly chunks = new Map<number, Chunk>();
  private readonly fixedOffset: number | undefined;

  private constructor(readonly name: string) {
    this.zone = IANAZone.create(name);
    this.fixedOffset = name === "UTC" || name === "Etc/UTC" ? 0 : undefined;
  }

  /** The UTC offset in force at an instant, in milliseconds. */
  offsetAt(instant: number): number {
    if (this.fixedOffset !== undefined) return this.fixedOffset;
    const chunk = this.chunk(Math.floor(instant / CHUNK_MS));
    let offset = chunk.initial;
    for (const t of chunk.transitions) {
      if (t.at > instant) break;
      offset = t.after;
    }
    return offset;
  }

  /** The local wall time (as wall milliseconds) of an instant. */
  wallAt(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /** Transitions with `at` in (from, to], in order. */
  transitionsBetween(from: number, to: number): Transition[] {
    const found: Transition[] = [];
    if (this.fixedOffset !== undefined) return found;
    const last = Math.floor(to / CHUNK_MS);
    for (let k = Math.floor(from / CHUNK_MS) - 1; k <= last; k++) {
      for (const t of this.chunk(k).transitions) {
        if (t.at > from && t.at <= to) found.push(t);
      }
    }
    return found;
  }

  /** The latest transition at or before `instant` and less than 48 hours before it. */
  recentTransition(instant: number): Transition | undefined {
    const near = this.transitionsBetween(instant - NEAR_MS, instant);
    return near[near.length - 1];
  }

  /** The instant a wall time denotes under the daylight-saving policy (see the file header). */
  resolve(wall: number): Resolved {
    if (this.fixedOffset !== undefined) return { instant: wall - this.fixedOffset, gap: undefined };
    const near = this.transitionsBetween(wall - NEAR_MS, wall + NEAR_MS);
    const first = near[0];
    if (first === undefined) return { instant: wall - this.offsetAt(wall), gap: undefined };
    let offset = first.before;
    let gap: Transition | undefined;
    for (const t of near) {
      if (wall >= t.at + Math.max(t.before, t.after)) {
        offset = t.after;
        continue;
      }
      if (t.after > t.before && wall >= t.at + t.before) gap = t;
      break;
    }
    return { instant: wall - offset, gap };
  }

  private chunk(k: number): Chunk {
    let chunk = this.chunks.get(k);
    if (chunk === undefined) {
      chunk = this.buildChunk(k);
      // A chunk is ~256 days; this many cover far more than any schedule walks at once.
      if (this.chunks.size >= MAX_CHUNKS) this.chunks.clear();
      this.chunks.set(k, chunk);
    }
    return chunk;
  }

  private rawOffset(instant: number): number {
    return Math.round(this.zone.offset(instant) * 60) * SECOND_MS;
  }

  private buildChunk(k: number): Chunk {
    const start = k * CHUNK_MS;
    const end = start + CHUNK_MS;
    const initial = this.rawOffset(start);
    const transitions: Transition[] = [];
    let cur = start;
    let prev = initial;
    while (cur < end) {
      const sample = Math.min(cur + SAMPLE_MS, end);
      const offset = this.rawOffset(sample);
      if (offset === prev) {
        cur = sample;
        continue;
      }
      // The first change lies in (cur, sample]: binary search to the second.
      let lo = cur;
      let hi = sample;
      while (hi - lo > SECOND_MS) {
        const mid = lo + Math.floor((hi - lo) / 2 / SECOND_MS) * SECOND_MS;
        if (this.rawOffset(mid) === prev) lo = mid;
        else hi = mid;
      }
      const after = this.rawOffset(hi);
      transitions.push({ at: hi, before: prev, after });
      prev = after;
      cur = hi;
    }
    return { initial, transitions };
  }
}
