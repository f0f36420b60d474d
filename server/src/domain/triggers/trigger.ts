/**
 * Compiled triggers: validation of a `TriggerSpec` and its fire times.
 *
 * Every trigger answers `nextAtOrAfter(t)`: the earliest fire instant at or after `t`. The
 * scheduler asks `firstFireTime(now)` when a job is scheduled (a date trigger answers its run date
 * whatever `now` is: whether a past date is a misfire is the scheduler's call) and
 * `nextFireTime(previous)` after each fire.
 */
import { InvalidArgumentError } from "../errors.js";
import { at, itemPath, joinPath, TRIGGER_KIND_FIELD } from "../fields.js";
import { type Calendar, MIN_YEAR, nextInstant, nextWall } from "./calendar.js";
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, daysFromCivil } from "./civil.js";
import { cronFieldsCalendar } from "./cron-fields.js";
import { crontabCalendar } from "./crontab.js";
import type {
  CombinedTriggerSpec,
  DateTriggerSpec,
  IntervalTriggerSpec,
  TriggerBounds,
  TriggerSpec,
} from "./spec.js";
import { ZoneRules } from "./zone.js";

export interface Trigger {
  readonly spec: TriggerSpec;
  /** Jitter in milliseconds (0 when none). */
  readonly jitterMs: number;
  /**
   * The earliest fire instant >= t, or null when the trigger has no more fire times. An `and`
   * whose bounded search finds neither throws TriggerSearchExhaustedError (an
   * InvalidArgumentError naming it): that is not an end.
   */
  nextAtOrAfter(t: number): number | null;
  /** The first fire time of a trigger scheduled at `now`. */
  firstFireTime(now: number): number | null;
  /** The fire time following a fire at `previous`. */
  nextFireTime(previous: number): number | null;
}

/** Limits that keep a single trigger cheap to evaluate. */
export const TRIGGER_LIMITS = {
  maxSubTriggers: 16,
  maxDepth: 4,
  /** Rounds an `and` trigger tries before concluding its parts never coincide. */
  maxAndRounds: 10_000,
  maxJitterSeconds: 86_400,
} as const;

abstract class BaseTrigger implements Trigger {
  abstract readonly spec: TriggerSpec;
  abstract readonly jitterMs: number;
  abstract nextAtOrAfter(t: number): number | null;
  firstFireTime(now: number): number | null {
    return this.nextAtOrAfter(now);
  }
  nextFireTime(previous: number): number | null {
    return this.nextAtOrAfter(previous + 1);
  }
}

/** No trigger fires before 1970 (APScheduler's minimum year); searches start there at the earliest. */
export const EARLIEST_INSTANT = Date.UTC(MIN_YEAR, 0, 1) - DAY_MS;

function ceilSecond(t: number): number {
  return Math.ceil(t / SECOND_MS) * SECOND_MS;
}

class CalendarTrigger extends BaseTrigger {
  constructor(
    readonly spec: TriggerSpec,
    readonly jitterMs: number,
    private readonly calendar: Calendar,
    private readonly zone: ZoneRules,
    private readonly start: number | null,
    private readonly end: number | null,
  ) {
    super();
  }

  nextAtOrAfter(t: number): number | null {
    const from = ceilSecond(Math.max(t, this.start ?? EARLIEST_INSTANT, EARLIEST_INSTANT));
    if (this.end !== null && from > this.end) return null;
    const x = nextInstant(this.calendar, this.zone, from);
    if (x === null || (this.end !== null && x > this.end)) return null;
    return x;
  }
}

class IntervalTrigger extends BaseTrigger {
  constructor(
    readonly spec: IntervalTriggerSpec,
    readonly jitterMs: number,
    private readonly intervalMs: number,
    private readonly start: number,
    private readonly end: number | null,
  ) {
    super();
  }

  nextAtOrAfter(t: number): number | null {
    const x =
      t <= this.start
        ? this.start
        : this.start + Math.ceil((t - this.start) / this.intervalMs) * this.intervalMs;
    return this.end !== null && x > this.end ? null : x;
  }
}

class DateTrigger extends BaseTrigger {
  constructor(
    readonly spec: DateTriggerSpec,
    readonly jitterMs: number,
  ) {
    super();
  }
  nextAtOrAfter(t: number): number | null {
    return t <= this.spec.runDate ? this.spec.runDate : null;
  }
  override firstFireTime(): number {
    return this.spec.runDate;
  }
}

class OrTrigger extends BaseTrigger {
  constructor(
    readonly spec: CombinedTriggerSpec,
    readonly jitterMs: number,
    private readonly parts: readonly Trigger[],
  ) {
    super();
  }
  nextAtOrAfter(t: number): number | null {
    let best: number | null = null;
    for (const part of this.parts) {
      const x = part.nextAtOrAfter(t);
      if (x !== null && (best === null || x < best)) best = x;
    }
    return best;
  }
}

/**
 * Rounds of disagreement all `and` triggers of one tree may spend on one question. Shared, so
 * nesting (and inside or inside and …) cannot multiply the cost of a search.
 */
interface Budget {
  left: number;
}

/**
 * An `and` trigger's search for a common fire time ran out of rounds: not an end of the trigger
 * (null would remove its job) but a question it cannot answer. `field` is the `and`'s `triggers`
 * relative to the root trigger (`all_of.triggers`, `any_of.triggers[1].all_of.triggers`).
 */
export class TriggerSearchExhaustedError extends InvalidArgumentError {
  constructor(field: string, from: number) {
    super(
      field,
      `no common fire time at or after ${new Date(from).toISOString()} within ${String(TRIGGER_LIMITS.maxAndRounds)} rounds of search: the triggers never fire at the same instant again, or too rarely to be searched`,
    );
  }
}

class AndTrigger extends BaseTrigger {
  constructor(
    readonly spec: CombinedTriggerSpec,
    readonly jitterMs: number,
    private readonly parts: readonly Trigger[],
    private readonly budget: Budget,
    /** This trigger's `triggers` field relative to the root trigger, for errors. */
    private readonly field: string,
  ) {
    super();
  }
  /**
   * Like APScheduler's AndTrigger: move to the latest of the parts' next fire times until they
   * agree (a common fire time) or a part has none left (null: the trigger has ended). A search
   * that runs out of rounds throws TriggerSearchExhaustedError: it has not found an end.
   */
  nextAtOrAfter(t: number): number | null {
    let candidate = t;
    while (this.budget.left-- > 0) {
      let latest = candidate;
      let agreed = true;
      for (const part of this.parts) {
        const x = part.nextAtOrAfter(candidate);
        if (x === null) return null;
        if (x !== candidate) agreed = false;
        if (x > latest) latest = x;
      }
      if (agreed) return candidate;
      // Past the last representable instant there is nothing left to find: the end.
      if (latest > MAX_INSTANT) return null;
      candidate = latest;
    }
    throw new TriggerSearchExhaustedError(this.field, t);
  }
}

/** The instants a timestamp can carry: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z. */
export const MIN_INSTANT = -62_135_596_800_000;
export const MAX_INSTANT = 253_402_300_799_999;

function checkInstant(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value))
    throw new InvalidArgumentError(field, "must be an instant");
  if (value < MIN_INSTANT || value > MAX_INSTANT) {
    throw new InvalidArgumentError(field, "must be between 0001-01-01 and 9999-12-31");
  }
  return value;
}

function optionalInstant(value: unknown, field: string): number | null {
  return value === null || value === undefined ? null : checkInstant(value, field);
}

function jitterOf(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError("jitter", "must be a number of seconds >= 0");
  }
  if (value > TRIGGER_LIMITS.maxJitterSeconds) {
    throw new InvalidArgumentError(
      "jitter",
      `must be at most ${TRIGGER_LIMITS.maxJitterSeconds} seconds`,
    );
  }
  return Math.round(value * SECOND_MS);
}

function bounds(spec: TriggerBounds): {
  zone: ZoneRules;
  start: number | null;
  end: number | null;
} {
  const zone = ZoneRules.of(spec.timezone, "timezone");
  const start = optionalInstant(spec.startDate, "start_date");
  const end = optionalInstant(spec.endDate, "end_date");
  if (start !== null && end !== null && end < start) {
    throw new InvalidArgumentError("end_date", "is before start_date");
  }
  return { zone, start, end };
}

function compileCalendar(
  spec: TriggerSpec & TriggerBounds,
  calendar: Calendar,
  jitterMs: number,
): Trigger {
  const { zone, start, end } = bounds(spec);
  const trigger = new CalendarTrigger(spec, jitterMs, calendar, zone, start, end);
  if (start === null && end === null) {
    if (nextWall(calendar, daysFromCivil(MIN_YEAR, 1, 1) * DAY_MS) === null) {
      throw new InvalidArgumentError(
        spec.type === "cron" ? "" : "expression",
        "can never fire: no date matches every field",
      );
    }
  } else if (trigger.nextAtOrAfter(start ?? EARLIEST_INSTANT) === null) {
    throw new InvalidArgumentError(
      end !== null ? "end_date" : "start_date",
      "the trigger can never fire within start_date and end_date",
    );
  }
  return trigger;
}

const MAX_INTERVAL_MS = 100 * 366 * DAY_MS;

const INTERVAL_UNITS = [
  ["weeks", 7 * DAY_MS],
  ["days", DAY_MS],
  ["hours", HOUR_MS],
  ["minutes", MINUTE_MS],
  ["seconds", SECOND_MS],
] as const;

/** An interval's period in milliseconds; throws for a unit that is not a number >= 0. */
export function intervalMs(
  spec: Pick<IntervalTriggerSpec, (typeof INTERVAL_UNITS)[number][0]>,
): number {
  let total = 0;
  for (const [unit, ms] of INTERVAL_UNITS) {
    const value: unknown = spec[unit] ?? 0;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError(unit, "must be a number >= 0");
    }
    total += value * ms;
  }
  return Math.round(total);
}

function compileInterval(spec: IntervalTriggerSpec, jitterMs: number): Trigger {
  const period = intervalMs(spec);
  // Intervals count whole milliseconds: 0.0001 s rounds to 0.
  if (period < 1) throw new InvalidArgumentError("", "must be at least 1 millisecond");
  if (period > MAX_INTERVAL_MS) throw new InvalidArgumentError("", "must be at most 100 years");
  const { start, end } = bounds(spec);
  if (start === null)
    throw new InvalidArgumentError("start_date", "is required for an interval trigger");
  return new IntervalTrigger(spec, jitterMs, period, start, end);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates and compiles one trigger of a tree. Field paths are the Trigger message's: `jitter`
 * on the trigger, the rest inside its kind (`cron.hour`, `all_of.triggers[1].cron.hour`).
 */
function compileAt(
  spec: TriggerSpec,
  depth: number,
  topLevel: boolean,
  budget: Budget,
  path: string,
): Trigger {
  if (!topLevel && spec.jitter !== undefined && spec.jitter !== null && spec.jitter !== 0) {
    throw new InvalidArgumentError(
      "jitter",
      "applies to the whole trigger: set it on the outermost trigger",
    );
  }
  const jitterMs = jitterOf(spec.jitter);
  const kind = (TRIGGER_KIND_FIELD as Partial<Record<string, string>>)[spec.type];
  if (kind === undefined) {
    throw new InvalidArgumentError(
      "kind",
      `unknown trigger type ${JSON.stringify((spec as { type?: unknown }).type)}; expected cron, crontab, interval, date, and, or`,
    );
  }
  return at(kind, () => compileKind(spec, jitterMs, depth, budget, joinPath(path, kind)));
}

/**
 * The kind-specific part of compileAt; paths relative to the kind's message (`path`: the kind's
 * own, relative to the root trigger, for the errors of a search at run time).
 */
function compileKind(
  spec: TriggerSpec,
  jitterMs: number,
  depth: number,
  budget: Budget,
  path: string,
): Trigger {
  switch (spec.type) {
    case "cron":
      if (!isPlainObject(spec.fields)) {
        throw new InvalidArgumentError("", "must be an object of cron fields");
      }
      return compileCalendar(spec, cronFieldsCalendar(spec.fields), jitterMs);
    case "crontab":
      return compileCalendar(spec, crontabCalendar(spec.expression), jitterMs);
    case "interval":
      return compileInterval(spec, jitterMs);
    case "date":
      ZoneRules.of(spec.timezone, "timezone");
      checkInstant(spec.runDate, "run_date");
      return new DateTrigger(spec, jitterMs);
    case "and":
    case "or": {
      if (depth >= TRIGGER_LIMITS.maxDepth) {
        throw new InvalidArgumentError(
          "triggers",
          `nesting is limited to ${TRIGGER_LIMITS.maxDepth} levels`,
        );
      }
      if (!Array.isArray(spec.triggers) || spec.triggers.length === 0) {
        throw new InvalidArgumentError("triggers", "needs at least one trigger");
      }
      if (spec.triggers.length > TRIGGER_LIMITS.maxSubTriggers) {
        throw new InvalidArgumentError(
          "triggers",
          `at most ${TRIGGER_LIMITS.maxSubTriggers} triggers`,
        );
      }
      const subs: readonly TriggerSpec[] = spec.triggers;
      const parts = subs.map((sub, i) =>
        at(itemPath("triggers", i), () =>
          compileAt(sub, depth + 1, false, budget, joinPath(path, itemPath("triggers", i))),
        ),
      );
      if (spec.type === "or") return new OrTrigger(spec, jitterMs, parts);
      const and = new AndTrigger(spec, jitterMs, parts, budget, joinPath(path, "triggers"));
      budget.left = TRIGGER_LIMITS.maxAndRounds;
      let first: number | null;
      try {
        first = and.nextAtOrAfter(EARLIEST_INSTANT);
      } catch (err) {
        if (!(err instanceof TriggerSearchExhaustedError)) throw err;
        // Named relative to this kind, as compileAt's callers prefix it.
        throw new InvalidArgumentError(
          "triggers",
          `can never fire: the triggers never fire at the same instant (none found within ${String(TRIGGER_LIMITS.maxAndRounds)} rounds of search)`,
        );
      }
      if (first === null) {
        throw new InvalidArgumentError(
          "triggers",
          "can never fire: the triggers never fire at the same instant",
        );
      }
      return and;
    }
  }
}

/** Validate a spec and compile it; throws `InvalidArgumentError` naming the field. */
export function compileTrigger(spec: TriggerSpec): Trigger {
  const budget: Budget = { left: TRIGGER_LIMITS.maxAndRounds };
  const root = compileAt(spec, 0, true, budget, "");
  return root instanceof BaseTrigger && (spec.type === "and" || spec.type === "or")
    ? new BudgetedTrigger(root, budget)
    : root;
}

/** The root of a combinator tree: each question starts with a full budget. */
class BudgetedTrigger implements Trigger {
  constructor(
    private readonly root: Trigger,
    private readonly budget: Budget,
  ) {}
  get spec(): TriggerSpec {
    return this.root.spec;
  }
  get jitterMs(): number {
    return this.root.jitterMs;
  }
  nextAtOrAfter(t: number): number | null {
    this.budget.left = TRIGGER_LIMITS.maxAndRounds;
    return this.root.nextAtOrAfter(t);
  }
  firstFireTime(now: number): number | null {
    this.budget.left = TRIGGER_LIMITS.maxAndRounds;
    return this.root.firstFireTime(now);
  }
  nextFireTime(previous: number): number | null {
    this.budget.left = TRIGGER_LIMITS.maxAndRounds;
    return this.root.nextFireTime(previous);
  }
}

/**
 * The conformance sequence rule: the first fire time at or after `after` (a date trigger: its run
 * date), then each next one strictly after the previous, at most `count` of them.
 */
export function fireTimes(trigger: Trigger, after: number, count: number): number[] {
  const times: number[] = [];
  let next = trigger.firstFireTime(after);
  while (next !== null && times.length < count) {
    times.push(next);
    next = trigger.nextFireTime(next);
  }
  return times;
}

/** A fire time shifted by a uniform random delay in [0, jitter]; never before the nominal time. */
export function jittered(
  trigger: Trigger,
  nominal: number,
  random: () => number = Math.random,
): number {
  if (trigger.jitterMs === 0) return nominal;
  return nominal + Math.min(trigger.jitterMs, Math.floor(random() * (trigger.jitterMs + 1)));
}
