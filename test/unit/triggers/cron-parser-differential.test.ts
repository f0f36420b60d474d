/**
 * Differential test: crontab triggers against the `cron-parser` package on random standard
 * (Vixie) expressions in UTC, where there is no daylight saving to disagree about.
 *
 * The generator stays out of the dialect corners where implementations differ (conformance
 * README): no `*` or `*\/n` inside lists; no `*\/n` in a day field unless the other day field is
 * `*` (cron-parser reads `* * *\/2 * *\/2` as OR, Vixie as AND); no restricted day field that
 * covers its whole range (such as `1-31`); no `a/n` without a range; no duplicate values in a
 * field (cron-parser rejects them); no weekday name range ending in `sun` (cron-parser reads
 * `sun` as 0 there).
 *
 * `nextAtOrAfter` answers at or after an instant; cron-parser's `next()` is strictly after its
 * `currentDate`. Both work in whole seconds, so cron-parser starts one second before `after`
 * rounded up to a whole second.
 */
import { CronExpressionParser } from "cron-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compileTrigger,
  fireTimes,
  type TriggerSpec,
} from "../../../server/src/domain/triggers/index.js";

const COUNT = 20;

interface FieldSpec {
  readonly min: number;
  readonly max: number;
  /** Names by value (index = value - min for months, = value for weekdays). */
  readonly names?: readonly string[];
  readonly nameBase?: number;
  /** Values that denote the same thing (weekday 7 is Sunday, like 0). */
  readonly canonical?: (v: number) => number;
}

const SECOND: FieldSpec = { min: 0, max: 59 };
const MINUTE: FieldSpec = { min: 0, max: 59 };
const HOUR: FieldSpec = { min: 0, max: 23 };
const DAY: FieldSpec = { min: 1, max: 31 };
const MONTH: FieldSpec = {
  min: 1,
  max: 12,
  names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  nameBase: 1,
};
const WEEKDAY: FieldSpec = {
  min: 0,
  max: 7,
  names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
  nameBase: 0,
  canonical: (v) => v % 7,
};

type Item =
  | { readonly kind: "value"; readonly v: number }
  | {
      readonly kind: "range";
      readonly a: number;
      readonly b: number;
      readonly step: number | null;
    };

/** A field: `*`, `*\/n`, or a list of values and ranges. */
type Field =
  | { readonly kind: "star" }
  | { readonly kind: "starStep"; readonly step: number }
  | {
      readonly kind: "list";
      readonly items: readonly Item[];
      readonly names: boolean;
      readonly upper: boolean;
    };

function itemValues(item: Item, spec: FieldSpec): number[] {
  const canon = spec.canonical ?? ((v: number) => v);
  if (item.kind === "value") return [canon(item.v)];
  const out: number[] = [];
  for (let v = item.a; v <= item.b; v += item.step ?? 1) out.push(canon(v));
  return out;
}

/** The values of a list field, or null when two items share a value (cron-parser rejects it). */
function listValues(items: readonly Item[], spec: FieldSpec): Set<number> | null {
  const seen = new Set<number>();
  for (const item of items) {
    for (const v of new Set(itemValues(item, spec))) {
      if (seen.has(v)) return null;
      seen.add(v);
    }
  }
  return seen;
}

function render(field: Field, spec: FieldSpec): string {
  if (field.kind === "star") return "*";
  if (field.kind === "starStep") return `*/${field.step}`;
  const name = (v: number): string | undefined => {
    if (!field.names || spec.names === undefined) return undefined;
    const n = spec.names[v - (spec.nameBase ?? 0)];
    return n === undefined ? undefined : field.upper ? n.toUpperCase() : n;
  };
  return field.items
    .map((item) => {
      if (item.kind === "value") return name(item.v) ?? String(item.v);
      const a = name(item.a);
      // A named range must not end in `sun` (0): cron-parser would read it as a descending range.
      const b = item.b === 0 ? undefined : name(item.b);
      const ends = a !== undefined && b !== undefined ? `${a}-${b}` : `${item.a}-${item.b}`;
      return item.step === null ? ends : `${ends}/${item.step}`;
    })
    .join(",");
}

function itemArb(spec: FieldSpec, maxWidth: number): fc.Arbitrary<Item> {
  return fc.oneof(
    fc.integer({ min: spec.min, max: spec.max }).map((v): Item => ({ kind: "value", v })),
    fc
      .tuple(
        fc.integer({ min: spec.min, max: spec.max - 1 }),
        fc.integer({ min: 1, max: maxWidth }),
        fc.oneof(
          { weight: 2, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.integer({ min: 2, max: Math.min(10, spec.max - spec.min) }) },
        ),
      )
      .map(([a, w, step]): Item => ({ kind: "range", a, b: Math.min(spec.max, a + w), step })),
  );
}

function fieldArb(
  spec: FieldSpec,
  opts: { star: number; starStep: number; list: number; maxStep: number; maxItems: number },
): fc.Arbitrary<Field> {
  const list = fc
    .tuple(
      fc.array(itemArb(spec, Math.ceil((spec.max - spec.min) / 2)), {
        minLength: 1,
        maxLength: opts.maxItems,
      }),
      fc.boolean(),
      fc.boolean(),
    )
    .filter(([items]) => {
      const values = listValues(items, spec);
      // A restricted field covering its whole range is a dialect corner (`1-31`, `0-6`).
      const distinct = spec.canonical ? 7 : spec.max - spec.min + 1;
      return values !== null && values.size < distinct;
    })
    .map(([items, names, upper]): Field => ({ kind: "list", items, names, upper }));
  return fc.oneof(
    { weight: opts.star, arbitrary: fc.constant<Field>({ kind: "star" }) },
    {
      weight: opts.starStep,
      arbitrary: fc
        .integer({ min: 2, max: opts.maxStep })
        .map((step): Field => ({ kind: "starStep", step })),
    },
    { weight: opts.list, arbitrary: list },
  );
}

interface Expr {
  readonly second: Field | null;
  readonly minute: Field;
  readonly hour: Field;
  readonly dom: Field;
  readonly month: Field;
  readonly dow: Field;
}

function renderExpr(e: Expr): string {
  const parts = [
    render(e.minute, MINUTE),
    render(e.hour, HOUR),
    render(e.dom, DAY),
    render(e.month, MONTH),
    render(e.dow, WEEKDAY),
  ];
  return (e.second === null ? parts : [render(e.second, SECOND), ...parts]).join(" ");
}

const exprArb: fc.Arbitrary<Expr> = fc
  .record({
    // A leading seconds field in 3 of 10 expressions.
    second: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      {
        weight: 3,
        arbitrary: fieldArb(SECOND, { star: 1, starStep: 2, list: 3, maxStep: 30, maxItems: 3 }),
      },
    ),
    minute: fieldArb(MINUTE, { star: 1, starStep: 2, list: 4, maxStep: 30, maxItems: 3 }),
    hour: fieldArb(HOUR, { star: 2, starStep: 1, list: 3, maxStep: 12, maxItems: 3 }),
    dom: fieldArb(DAY, { star: 3, starStep: 1, list: 3, maxStep: 15, maxItems: 3 }),
    month: fieldArb(MONTH, { star: 4, starStep: 1, list: 2, maxStep: 6, maxItems: 3 }),
    dow: fieldArb(WEEKDAY, { star: 3, starStep: 1, list: 3, maxStep: 6, maxItems: 2 }),
  })
  // `*/n` in one day field next to a restricted (or `*/n`) other one: Vixie counts `*/n` as `*`
  // (AND); cron-parser treats it as restricted (OR), e.g. `* * */2 * */2`.
  .filter(
    (e) =>
      !(e.dom.kind === "starStep" && e.dow.kind !== "star") &&
      !(e.dow.kind === "starStep" && e.dom.kind !== "star"),
  );

function ceilSecond(t: number): number {
  return Math.ceil(t / 1000) * 1000;
}

function iso(x: number): string {
  return new Date(x).toISOString();
}

/** Both libraries agree that the expression can fire (cron-parser rejects e.g. `0 0 30 2 *`). */
function accepted(expression: string): boolean {
  try {
    compileTrigger({ type: "crontab", expression, timezone: "UTC" });
    CronExpressionParser.parse(expression, { tz: "UTC" });
    return true;
  } catch {
    return false;
  }
}

describe("crontab triggers agree with cron-parser (UTC)", () => {
  it("the next 20 fire times agree on random standard expressions", () => {
    const caseArb = fc.record({
      expression: exprArb.map(renderExpr).filter(accepted),
      after: fc
        .tuple(
          fc.integer({ min: Date.UTC(1995, 0, 1), max: Date.UTC(2060, 0, 1) }),
          fc.constantFrom(60_000, 1000, 1),
        )
        .map(([t, grain]) => Math.floor(t / grain) * grain),
    });
    fc.assert(
      fc.property(caseArb, ({ expression, after }) => {
        const spec: TriggerSpec = { type: "crontab", expression, timezone: "UTC" };
        const got = fireTimes(compileTrigger(spec), after, COUNT);

        const parsed = CronExpressionParser.parse(expression, {
          currentDate: new Date(ceilSecond(after) - 1000),
          tz: "UTC",
        });
        const want: number[] = [];
        for (let i = 0; i < COUNT; i++) want.push(parsed.next().getTime());

        expect(got.map(iso)).toEqual(want.map(iso));
      }),
      { numRuns: 300 },
    );
  });

  it("matches cron-parser on hand-picked standard expressions", () => {
    // Fixed cases that the random generator reaches only rarely.
    const cases = [
      "15 10 1,15 * 5",
      "0 8 1-7 * 1",
      "0 0 * * 7",
      "0 0 * * 5-7",
      "*/20 9-10 * * mon-fri",
      "30 0-12/6,23 * jan,JUL *",
      "0 0 31 * *",
      "0 0 29 2 *",
      "0 12 13 * fri",
      "5,10,15 */4 */10 */2 *",
      "*/15 */20 3 * * *",
    ];
    const after = Date.UTC(2026, 0, 1, 0, 0, 0, 1);
    for (const expression of cases) {
      const got = fireTimes(
        compileTrigger({ type: "crontab", expression, timezone: "UTC" }),
        after,
        COUNT,
      );
      const parsed = CronExpressionParser.parse(expression, {
        currentDate: new Date(ceilSecond(after) - 1000),
        tz: "UTC",
      });
      const want = Array.from({ length: COUNT }, () => parsed.next().getTime());
      expect(got.map(iso), expression).toEqual(want.map(iso));
    }
  });
});
