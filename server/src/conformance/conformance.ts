/**
 * The trigger conformance format of `test/conformance/README.md`: cases with a trigger in
 * APScheduler's snake_case shape, an `after` instant, a `count` and the expected fire instants.
 * Instants are compared as instants; strings are only for people.
 */
import { DateTime } from "luxon";
import { InvalidArgumentError } from "../domain/errors.js";
import { compileTrigger, fireTimes, type TriggerSpec } from "../domain/triggers/index.js";

export interface ConformanceCase {
  readonly id: string;
  readonly description?: string;
  readonly trigger: Record<string, unknown>;
  readonly after: string;
  readonly count: number;
  readonly expect: readonly string[];
}

export interface ConformanceFile {
  readonly format: number;
  readonly cases: readonly ConformanceCase[];
}

export interface CaseResult {
  readonly id: string;
  readonly passed: boolean;
  readonly expected: readonly string[];
  /** The produced instants, formatted in the trigger's zone, or the error that was raised. */
  readonly got: readonly string[] | { readonly error: string };
}

function parseInstant(value: unknown, zone: string, field: string): number {
  if (typeof value !== "string")
    throw new InvalidArgumentError(field, "must be an RFC 3339 string");
  const dt = DateTime.fromISO(value, { zone });
  if (!dt.isValid)
    throw new InvalidArgumentError(field, `invalid instant ${JSON.stringify(value)}`);
  return dt.toMillis();
}

function optionalInstant(value: unknown, zone: string, field: string): number | null {
  return value === null || value === undefined ? null : parseInstant(value, zone, field);
}

/** The zone a case's strings are written in: the trigger's, or its first sub-trigger's. */
export function displayZone(trigger: Record<string, unknown>): string {
  if (typeof trigger.timezone === "string") return trigger.timezone;
  const subs = trigger.triggers;
  if (Array.isArray(subs) && subs.length > 0)
    return displayZone(subs[0] as Record<string, unknown>);
  return "UTC";
}

/** Convert a conformance-file trigger (snake_case, RFC 3339 strings) into a domain spec. */
export function specFromConformance(t: Record<string, unknown>): TriggerSpec {
  const timezone = typeof t.timezone === "string" ? t.timezone : "UTC";
  const zone = DateTime.now().setZone(timezone).isValid ? timezone : "UTC";
  const bounds = {
    timezone,
    startDate: optionalInstant(t.start_date, zone, "start_date"),
    endDate: optionalInstant(t.end_date, zone, "end_date"),
    jitter: typeof t.jitter === "number" ? t.jitter : null,
  };
  switch (t.type) {
    case "cron":
      return { type: "cron", fields: t.fields ?? {}, ...bounds };
    case "crontab":
      return { type: "crontab", expression: t.expression as string, ...bounds };
    case "interval":
      return {
        type: "interval",
        weeks: t.weeks as number,
        days: t.days as number,
        hours: t.hours as number,
        minutes: t.minutes as number,
        seconds: t.seconds as number,
        ...bounds,
        startDate: bounds.startDate ?? Number.NaN,
      };
    case "date":
      return { type: "date", runDate: parseInstant(t.run_date, zone, "run_date"), timezone };
    case "and":
    case "or":
      return {
        type: t.type,
        triggers: (Array.isArray(t.triggers) ? t.triggers : []).map((s) =>
          specFromConformance(s as Record<string, unknown>),
        ),
      };
    default:
      throw new InvalidArgumentError("type", `unknown trigger type ${JSON.stringify(t.type)}`);
  }
}

export function formatInstant(instant: number, zone: string): string {
  const dt = DateTime.fromMillis(instant, { zone });
  return (
    (dt.isValid ? dt : DateTime.fromMillis(instant, { zone: "UTC" })).toISO({
      suppressMilliseconds: true,
    }) ?? String(instant)
  );
}

export function evaluateCase(c: ConformanceCase): CaseResult {
  const zone = displayZone(c.trigger);
  let expected: number[];
  try {
    expected = c.expect.map((s) => parseInstant(s, "UTC", "expect"));
  } catch (err) {
    return {
      id: c.id,
      passed: false,
      expected: c.expect,
      got: { error: `bad case: ${(err as Error).message}` },
    };
  }
  try {
    const trigger = compileTrigger(specFromConformance(c.trigger));
    const got = fireTimes(trigger, parseInstant(c.after, zone, "after"), c.count);
    const passed = got.length === expected.length && got.every((x, i) => x === expected[i]);
    return { id: c.id, passed, expected: c.expect, got: got.map((x) => formatInstant(x, zone)) };
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    return { id: c.id, passed: false, expected: c.expect, got: { error: err.message } };
  }
}

export function parseConformanceFile(text: string): ConformanceFile {
  const data = JSON.parse(text) as Partial<ConformanceFile>;
  if (!Array.isArray(data.cases)) throw new Error("not a conformance file: no `cases` array");
  return { format: data.format ?? 1, cases: data.cases };
}

/** One line for a failing case: id, expected, got. */
export function describeFailure(r: CaseResult): string {
  const got = Array.isArray(r.got)
    ? JSON.stringify(r.got)
    : `error: ${(r.got as { error: string }).error}`;
  return `${r.id}: expected ${JSON.stringify(r.expected)} got ${got}`;
}
