/**
 * Sustained: 2,000 interval jobs firing every second; after 5 s of warm-up, a 30 s window in
 * which every (job, second) should run exactly once. Server, SDK worker and driver are separate
 * processes on MariaDB. Reports completeness, duplicates, misses, lateness (handler start minus
 * the nominal fire time), and the server's CPU time and peak RSS. At the end, firing stops and
 * `/metrics` is checked against the runs table (bench/metrics-check.ts): `metrics_check` in the
 * line, and a failing exit when they disagree.
 *
 *   npm run -s bench -- sustained
 *   BENCH_JOBS=1000 BENCH_SECONDS=10 npm run -s bench -- sustained
 */
import {
  addJobsBulk,
  cpuSeconds,
  machine,
  peakRssMb,
  percentiles,
  setUp,
  ts,
  until,
  storeLabel,
} from "./engine-support.js";
import { checkMetrics, reportMismatch } from "./metrics-check.js";

const JOBS = Number(process.env.BENCH_JOBS ?? "2000");
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? "30");
const WARMUP_S = 5;

const bench = await setUp("sustained");
try {
  const worker = await bench.startWorker(JOBS);
  const start = Math.ceil((Date.now() + 3000 + JOBS) / 1000) * 1000;
  // AddJobs, 1,000 per call: on a loaded machine 2,000 single AddJob calls overran the plan.
  await addJobsBulk(bench, JOBS, (i) => ({
    id: `sustained-${String(i)}`,
    trigger: { kind: { case: "interval", value: { seconds: 1, startDate: ts(start) } } },
  }));
  if (Date.now() > start) throw new Error("adding the jobs took longer than planned");
  const w0 = start + WARMUP_S * 1000;
  const w1 = w0 + WINDOW_S * 1000;
  await until(w0);
  const cpu0 = cpuSeconds(bench.server.pid);
  await bench.probe();
  await until(w1);
  const cpu1 = cpuSeconds(bench.server.pid);
  const probe = await bench.probe();
  // Runs of the window's last seconds may still be starting.
  await until(w1 + 3000);
  const rss = peakRssMb(bench.server.pid);
  // Firing stops; once every run ended, /metrics must agree with the runs table.
  const metricsCheck = await checkMetrics(bench);
  await worker.stop();
  const inWindow = worker.executions().filter((e) => e.scheduledTime >= w0 && e.scheduledTime < w1);
  const distinct = new Set(inWindow.map((e) => `${e.jobId}@${String(e.scheduledTime)}`));
  const expected = JOBS * WINDOW_S;
  const p = percentiles(inWindow.map((e) => e.started - e.scheduledTime));
  console.log(
    JSON.stringify({
      bench: "sustained",
      jobs: JOBS,
      window_s: WINDOW_S,
      expected,
      executions: inWindow.length,
      achieved_pct: Math.round((distinct.size / expected) * 10_000) / 100,
      duplicates: inWindow.length - distinct.size,
      missed: expected - distinct.size,
      lateness_ms_min: p.min,
      lateness_ms_p50: p.p50,
      lateness_ms_p95: p.p95,
      lateness_ms_p99: p.p99,
      lateness_ms_max: p.max,
      cpu_s_window: Math.round((cpu1 - cpu0) * 100) / 100,
      peak_rss_mb: rss,
      server_loop_delay_ms: probe.loop_delay_ms,
      server_gc: probe.gc,
      targets: { achieved_pct: 100, lateness_ms_p99: 50 },
      meets_targets: distinct.size === expected && inWindow.length === expected && p.p99 <= 50,
      metrics_check: metricsCheck,
      store: storeLabel(bench.store),
      ...machine(),
    }),
  );
  reportMismatch(metricsCheck);
} finally {
  await bench.close();
}
