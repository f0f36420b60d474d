/**
 * Scale: 100,000 stored jobs (a daily cron each) plus 100 jobs every second. Measures the insert
 * rate of the 100,000 through the API (AddJobs, 1,000 per call), the start-up time of a server restarted on them (spawn to
 * listening), its peak RSS, and the lateness of the frequent jobs while the large table is
 * there. Server, SDK worker and driver are separate processes on MariaDB.
 *
 *   npm run -s bench -- scale
 *   BENCH_JOBS=20000 npm run -s bench -- scale
 */
import {
  addJobs,
  addJobsBulk,
  machine,
  peakRssMb,
  percentiles,
  setUp,
  ts,
  until,
  storeLabel,
} from "./engine-support.js";

const STORED = Number(process.env.BENCH_JOBS ?? "100000");
const FREQUENT = 100;
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? "20");

const bench = await setUp("scale");
try {
  // Through AddJobs (bulk import), 1,000 jobs per call, 4 calls in flight.
  const insertRate = await addJobsBulk(bench, STORED, (i) => ({
    id: `daily-${String(i)}`,
    trigger: {
      kind: {
        case: "cron",
        value: { hour: String(i % 24), minute: String(i % 60), timezone: "UTC" },
      },
    },
  }));
  await bench.server.stop();
  const { readyMs } = await bench.startServer();
  const worker = await bench.startWorker(FREQUENT * 2);
  const start = Math.ceil((Date.now() + 3000) / 1000) * 1000;
  await addJobs(bench, FREQUENT, (i) => ({
    id: `frequent-${String(i)}`,
    trigger: { kind: { case: "interval", value: { seconds: 1, startDate: ts(start) } } },
  }));
  const w0 = start + 2000;
  const w1 = w0 + WINDOW_S * 1000;
  await until(w1 + 2000);
  const rss = peakRssMb(bench.server.pid);
  await worker.stop();
  // The frequent jobs' runs only: daily jobs whose fire time falls in the window run there too.
  const frequent = worker
    .executions()
    .filter(
      (e) => e.jobId.startsWith("frequent-") && e.scheduledTime >= w0 && e.scheduledTime < w1,
    );
  const p = percentiles(frequent.map((e) => e.started - e.scheduledTime));
  const expected = FREQUENT * WINDOW_S;
  console.log(
    JSON.stringify({
      bench: "scale",
      stored_jobs: STORED,
      insert_rate_per_s: Math.round(insertRate),
      startup_to_ready_ms: Math.round(readyMs),
      peak_rss_mb: rss,
      frequent_jobs: FREQUENT,
      frequent_expected: expected,
      frequent_executions: frequent.length,
      lateness_ms_p50: p.p50,
      lateness_ms_p95: p.p95,
      lateness_ms_p99: p.p99,
      lateness_ms_max: p.max,
      targets: { insert_rate_per_s: 5000, startup_to_ready_ms: 2000, peak_rss_mb: 300 },
      meets_targets: insertRate >= 5000 && readyMs <= 2000 && rss <= 300,
      store: storeLabel(bench.store),
      ...machine(),
    }),
  );
} finally {
  await bench.close();
}
