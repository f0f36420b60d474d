/**
 * Trigger engine micro-benchmark: next-fire-time computations per second on one core, for a
 * realistic mix of field-form cron, crontab and interval triggers in UTC and daylight-saving
 * zones. Prints one JSON line.
 *
 *   npm run -s bench:triggers            (default 3 s of measurement)
 *   BENCH_SECONDS=10 npm run -s bench:triggers
 */
import { cpus } from "node:os";
import {
  compileTrigger,
  type Trigger,
  type TriggerSpec,
} from "../server/src/domain/triggers/index.js";

const ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe"];
const FIELD_FORMS = [
  { hour: 2, minute: 30 },
  { day_of_week: "mon-fri", hour: "9-17", minute: "*/15" },
  { day: "last", hour: 23 },
  { month: "jan,jul", day: "1st mon", hour: 6 },
  { minute: "*/10" },
];
const CRONTABS = [
  "*/5 * * * *",
  "0 9 * * 1-5",
  "30 2 * * *",
  "15 10 1,15 * 5",
  "0 */6 * * *",
  "0 0 1 * *",
];
const INTERVALS = [{ seconds: 30 }, { minutes: 5 }, { hours: 1 }, { days: 1 }];

const YEAR_2026 = Date.UTC(2026, 0, 1);
const SPAN = Date.UTC(2029, 0, 1) - YEAR_2026;

function mix(): Trigger[] {
  const specs: TriggerSpec[] = [];
  for (const timezone of ZONES) {
    for (const fields of FIELD_FORMS) specs.push({ type: "cron", fields, timezone });
    for (const expression of CRONTABS) specs.push({ type: "crontab", expression, timezone });
    for (const units of INTERVALS)
      specs.push({ type: "interval", ...units, startDate: YEAR_2026, timezone });
  }
  return specs.map(compileTrigger);
}

/** A deterministic pseudo-random sequence (mulberry32), so runs are comparable. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Walk each trigger's schedule: restart at a random instant, then follow 20 fire times. */
function run(triggers: Trigger[], durationMs: number): { computations: number; elapsedMs: number } {
  const rnd = random(42);
  let computations = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (const trigger of triggers) {
      let t: number | null = trigger.nextAtOrAfter(YEAR_2026 + Math.floor(rnd() * SPAN));
      computations++;
      for (let i = 0; i < 19 && t !== null; i++) {
        t = trigger.nextFireTime(t);
        computations++;
      }
    }
    elapsed = performance.now() - started;
  }
  return { computations, elapsedMs: elapsed };
}

const seconds = Number(process.env.BENCH_SECONDS ?? "3");
const triggers = mix();
run(triggers, 1000); // warm-up: JIT and the zone tables of the years walked
const { computations, elapsedMs } = run(triggers, seconds * 1000);
console.log(
  JSON.stringify({
    bench: "triggers",
    computations_per_s: Math.round((computations / elapsedMs) * 1000),
    computations,
    seconds: Math.round(elapsedMs) / 1000,
    triggers: triggers.length,
    zones: ZONES,
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
  }),
);
