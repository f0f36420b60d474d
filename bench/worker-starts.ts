/**
 * Worker starts: the SDK worker's side of a burst, alone in one process. 2,000 assignments of one
 * fire time arrive ahead of it (as the server sends them, `accepts_early_assignments`); at the
 * fire time the worker's run table starts them all. A trivial handler records when it started.
 * Repeated for 20 fire times, one a second. No server, no network: this is the cost the worker
 * adds to every run's lateness when thousands start at one instant (the sustained and burst
 * benchmarks' p99 is mostly this: the handler that starts last waits for all the others).
 *
 *   npm run -s bench -- worker-starts
 *   BENCH_JOBS=1000 BENCH_ROUNDS=10 npm run -s bench -- worker-starts
 *
 * Reports the lateness of the handlers' starts after the fire time (p50/p99/max over all runs),
 * the median over rounds of the last start, and garbage collection during the rounds (count and
 * milliseconds, from `perf_hooks`, from the assignments' arrival to the last result).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { cpus } from "node:os";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  RunAssignmentSchema,
  type RunAssignment,
  type RunResult,
} from "../sdk/src/gen/metronome/v1/worker_service_pb.js";
import type { Handler } from "../sdk/src/handlers.js";
import type { WorkerLogger } from "../sdk/src/logger.js";
import { Outbox } from "../sdk/src/worker/results.js";
import { RunTable } from "../sdk/src/worker/runs.js";
import { median as medianOf } from "./compare-stats.js";
import { percentiles } from "./engine-support.js";

const JOBS = Number(process.env.BENCH_JOBS ?? "2000");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "20");
/** Assignments arrive this long before their fire time (the server leases ~100 ms ahead). */
const AHEAD_MS = 150;

const silent: WorkerLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (...args: unknown[]) => {
    console.error(...args);
  },
};

/** Epoch milliseconds with a fraction. */
const now = (): number => performance.timeOrigin + performance.now();

let starts: number[] = [];
let results = 0;
let allDone: (() => void) | undefined;
const handler: Handler = (_args, _kwargs, ctx) => {
  starts.push(now() - ctx.fireTime.getTime());
  return { started: Date.now() };
};

const outbox = new Outbox((result: RunResult) => {
  // The server's answer, at once: the result leaves the outbox.
  if (result.lease !== undefined) outbox.forget(result.lease);
  if (++results === JOBS) allDone?.();
});
const table = new RunTable({
  log: silent,
  maxConcurrency: 0,
  handlers: new Map([["bench.record", { name: "bench.record", fn: handler, concurrency: 0 }]]),
  outbox,
  heartbeat: () => undefined,
  changed: () => undefined,
});

function assignments(round: number, fireTime: number): RunAssignment[] {
  return Array.from({ length: JOBS }, (_, i) =>
    create(RunAssignmentSchema, {
      lease: { runId: `r${String(round)}-${String(i)}`, attempt: 1, leaseToken: `t${String(i)}` },
      scheduler: "default",
      jobId: `job-${String(i)}`,
      jobName: `job ${String(i)}`,
      handler: "bench.record",
      args: { values: [] },
      kwargs: {},
      scheduledTime: timestampFromMs(fireTime),
      fireTime: timestampFromMs(fireTime),
      maxAttempts: 1,
      argsJson: "[]",
      kwargsJson: "{}",
    }),
  );
}

/** Collections (start, duration on the performance timeline); counted by round afterwards. */
const collections: { start: number; duration: number }[] = [];
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) collections.push({ start: e.startTime, duration: e.duration });
});
gc.observe({ entryTypes: ["gc"] });
/** Each counted round's span on the performance timeline: assignments in, last result out. */
const windows: [number, number][] = [];

const all: number[] = [];
const lasts: number[] = [];
const firsts: number[] = [];
try {
  for (let round = -2; round < ROUNDS; round++) {
    // Rounds below 0 warm the code up and are not counted.
    const fireTime = Math.ceil((Date.now() + AHEAD_MS + 50) / 100) * 100;
    await sleep(Math.max(0, fireTime - AHEAD_MS - Date.now()));
    starts = [];
    results = 0;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const batch = assignments(round, fireTime);
    const from = performance.now();
    table.assignAll(batch);
    await done;
    if (round < 0) continue;
    windows.push([from, performance.now()]);
    all.push(...starts);
    lasts.push(Math.max(...starts));
    firsts.push(Math.min(...starts));
  }
  // The observer hears of the last collections a turn later.
  await sleep(10);
} finally {
  gc.disconnect();
  table.close();
}
const inRounds = collections.filter((c) => windows.some(([a, b]) => c.start >= a && c.start <= b));
const gcMs = inRounds.reduce((sum, c) => sum + c.duration, 0);
const p = percentiles(all);
/** The median of `xs`, to a tenth of a millisecond. */
const median = (xs: readonly number[]): number => Math.round(medianOf(xs) * 10) / 10;
console.log(
  JSON.stringify({
    bench: "worker-starts",
    jobs: JOBS,
    rounds: ROUNDS,
    lateness_ms_p50: p.p50,
    lateness_ms_p99: p.p99,
    lateness_ms_max: p.max,
    first_start_ms_median: median(firsts),
    last_start_ms_median: median(lasts),
    gc_per_round: Math.round((inRounds.length / ROUNDS) * 10) / 10,
    gc_ms_per_round: Math.round((gcMs / ROUNDS) * 10) / 10,
    node: process.version,
    cpu: cpus()[0]?.model.trim(),
    cores: cpus().length,
  }),
);
