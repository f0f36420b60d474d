/**
 * Throughput: the most executions per second completed end to end — fired by the server, run by
 * an SDK worker process, result recorded — with many interval jobs every second (more than the
 * system completes, so it runs saturated). Counted from the runs table: runs that succeeded in
 * a measured window after a warm-up. Server, worker and driver are separate processes. At the
 * end, firing stops and `/metrics` is checked against the runs table (bench/metrics-check.ts):
 * `metrics_check` in the line, and a failing exit when they disagree.
 *
 * `cpu_s_per_s` splits the window's CPU by process (server, worker, this driver, and the
 * `mariadbd` or `mysqld` running on this machine, if any: 0 for other stores or a remote one)
 * beside the machine's idle time, each in core-seconds per second (idle: all cores together, up
 * to their number), from Linux's /proc (0 where it cannot be read): whether more executions need
 * less CPU per execution or only more concurrency.
 *
 * The jobs offer 12,000 runs per second by default, above the 10,000/s target (issue 13), so the
 * figure is what the system completes, not what the schedule offers (with 8,000 jobs, as before
 * 2026-12-05 13:30 UTC, no run could show more than 8,000/s).
 *
 *   npm run -s bench -- throughput
 *   BENCH_JOBS=6000 BENCH_SECONDS=20 npm run -s bench -- throughput
 */
import { addJobs, machine, setUp, ts, until, storeLabel } from "./engine-support.js";
import { checkMetrics, reportMismatch } from "./metrics-check.js";
import { cpuSecondsOr0, idleSeconds, localDbPid } from "./proc.js";

const JOBS = Number(process.env.BENCH_JOBS ?? "12000");
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? "20");
const WARMUP_S = 5;
const TARGET = 10_000;

const bench = await setUp("throughput");
try {
  const worker = await bench.startWorker(Math.min(10_000, JOBS));
  const start = Math.ceil((Date.now() + 3000 + JOBS / 2) / 1000) * 1000;
  await addJobs(
    bench,
    JOBS,
    (i) => ({
      id: `tp-${String(i)}`,
      trigger: { kind: { case: "interval", value: { seconds: 1, startDate: ts(start) } } },
    }),
    64,
  );
  const w0 = Math.max(Date.now(), start) + WARMUP_S * 1000;
  const w1 = w0 + WINDOW_S * 1000;
  const dbPid = localDbPid();
  const sample = () => {
    const own = process.cpuUsage();
    return {
      server: cpuSecondsOr0(bench.server.pid),
      worker: cpuSecondsOr0(worker.pid),
      database: cpuSecondsOr0(dbPid),
      driver: (own.user + own.system) / 1e6,
      idle: idleSeconds(),
    };
  };
  await until(w0);
  const cpu0 = sample();
  await until(w1);
  const cpu1 = sample();
  const perSecond = (k: keyof typeof cpu0) =>
    Math.round(((cpu1[k] - cpu0[k]) / WINDOW_S) * 100) / 100;
  const rows = await bench.rows<{ n: unknown }>(
    "SELECT COUNT(*) AS n FROM runs WHERE status = 'succeeded' AND finished_at >= ? AND finished_at < ?",
    [w0, w1],
  );
  const done = Number(rows[0]?.n ?? 0);
  const statusRows = await bench.rows<{ status: string; n: unknown }>(
    "SELECT status, COUNT(*) AS n FROM runs GROUP BY status",
  );
  const runsByStatus = Object.fromEntries(statusRows.map((r) => [r.status, Number(r.n)]));
  // The window's figures first, on stderr: they stand even if the check below fails.
  console.error(
    `measured: ${JSON.stringify({ executions_per_s: Math.round(done / WINDOW_S), runs_by_status: runsByStatus })}`,
  );
  // Firing stops; once every run ended, /metrics must agree with the runs table.
  const metricsCheck = await checkMetrics(bench);
  await worker.stop();
  const perS = Math.round(done / WINDOW_S);
  console.log(
    JSON.stringify({
      bench: "throughput",
      executions_per_s: perS,
      jobs: JOBS,
      window_s: WINDOW_S,
      server_cpu_s_per_s: perSecond("server"),
      cpu_s_per_s: {
        server: perSecond("server"),
        worker: perSecond("worker"),
        database: perSecond("database"),
        driver: perSecond("driver"),
        idle: perSecond("idle"),
      },
      runs_by_status: runsByStatus,
      target: TARGET,
      meets_target: perS >= TARGET,
      metrics_check: metricsCheck,
      store: storeLabel(bench.store),
      ...machine(),
    }),
  );
  reportMismatch(metricsCheck);
} finally {
  await bench.close();
}
