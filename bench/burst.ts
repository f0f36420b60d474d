/**
 * Burst: 1,000 date-trigger jobs added ahead of time, all due at one instant T; a worker process
 * (the SDK) whose trivial handler records its start time. Lateness is handler start minus T.
 * Server, worker and this driver are separate processes; MariaDB is the store (`--store`
 * postgres or sqlite for the others). At the end `/metrics` is checked against the runs table
 * (bench/metrics-check.ts): `metrics_check` in the line, and a failing exit when they disagree.
 *
 *   npm run -s bench -- burst [--store mysql|postgres|redis|sqlite]
 *   BENCH_JOBS=2000 npm run -s bench -- burst
 */
import {
  addJobs,
  machine,
  percentiles,
  setUp,
  ts,
  until,
  waitUntil,
  storeLabel,
} from "./engine-support.js";
import { checkMetrics, reportMismatch } from "./metrics-check.js";

const JOBS = Number(process.env.BENCH_JOBS ?? "1000");
const TARGETS = { lateness_ms_p99: 50, lateness_ms_max: 100 };

const bench = await setUp("burst");
try {
  const worker = await bench.startWorker(JOBS);
  const due = Math.ceil((Date.now() + 8000) / 1000) * 1000;
  const addRate = await addJobs(bench, JOBS, (i) => ({
    id: `burst-${String(i)}`,
    trigger: { kind: { case: "date", value: { runDate: ts(due) } } },
  }));
  if (Date.now() > due - 500) throw new Error("adding the jobs took too long to measure a burst");
  // The server's event loop and GC from here (before the claims 2 s ahead, when it could) until
  // every job ran.
  await until(due - 3000);
  await bench.probe();
  await until(due);
  await waitUntil(
    () => new Set(worker.executions().map((e) => e.jobId)).size >= JOBS,
    due + 30_000,
  );
  const probe = await bench.probe();
  // Every run ended: /metrics must agree with the runs table.
  const metricsCheck = await checkMetrics(bench);
  await worker.stop();
  const runs = worker.executions();
  const perJob = new Map<string, number[]>();
  for (const e of runs) perJob.set(e.jobId, [...(perJob.get(e.jobId) ?? []), e.started]);
  const lateness = [...perJob.values()].map((starts) => Math.min(...starts) - due);
  const p = percentiles(lateness);
  const counts = Array.from(
    { length: JOBS },
    (_, i) => perJob.get(`burst-${String(i)}`)?.length ?? 0,
  );
  const result = {
    bench: "burst",
    jobs: JOBS,
    lateness_ms_min: p.min,
    lateness_ms_p50: p.p50,
    lateness_ms_p95: p.p95,
    lateness_ms_p99: p.p99,
    lateness_ms_max: p.max,
    ran_0: counts.filter((n) => n === 0).length,
    ran_1: counts.filter((n) => n === 1).length,
    ran_gt1: counts.filter((n) => n > 1).length,
    add_per_s: Math.round(addRate),
    server_loop_delay_ms: probe.loop_delay_ms,
    server_gc: probe.gc,
    targets: TARGETS,
    meets_targets:
      p.p99 <= TARGETS.lateness_ms_p99 &&
      p.max <= TARGETS.lateness_ms_max &&
      counts.every((n) => n === 1),
    metrics_check: metricsCheck,
    store: storeLabel(bench.store),
    ...machine(),
  };
  console.log(JSON.stringify(result));
  reportMismatch(metricsCheck);
} finally {
  await bench.close();
}
