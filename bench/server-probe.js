// @ts-check
/**
 * Loaded into the benchmarked server process (`node --import bench/server-probe.js …`): it
 * measures the event loop's delay (perf_hooks.monitorEventLoopDelay, sampled every 10 ms; a
 * figure is how much later than due a sample ran) and garbage collection
 * (PerformanceObserver 'gc'). Each SIGUSR2 writes the figures since the previous one to
 * BENCH_PROBE_FILE as one JSON object and starts a new window, so a benchmark signals at the
 * start of its window (discarding what came before) and at its end.
 */
import { renameSync, writeFileSync } from "node:fs";
import process from "node:process";
import {
  PerformanceObserver,
  constants,
  monitorEventLoopDelay,
  performance,
} from "node:perf_hooks";

const file = process.env.BENCH_PROBE_FILE;
if (file !== undefined && file !== "") {
  const RESOLUTION_MS = 10;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  let seq = 0;
  let since = performance.now();
  const gc = { count: 0, ms: 0, maxMs: 0, major: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      const kind = /** @type {{ kind?: number }} */ (e.detail ?? {}).kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.major++;
        gc.majorMs += e.duration;
      }
    }
  }).observe({ entryTypes: ["gc"] });
  // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
  const ms = (/** @type {number} */ ns) =>
    Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
  process.on("SIGUSR2", () => {
    const now = performance.now();
    // Written aside and renamed: the benchmark polls the file and must never read it half written.
    writeFileSync(
      `${file}.tmp`,
      JSON.stringify({
        seq: ++seq,
        window_s: Math.round((now - since) / 10) / 100,
        loop_delay_ms: {
          p50: ms(delay.percentile(50)),
          p99: ms(delay.percentile(99)),
          max: ms(delay.max),
        },
        gc: {
          count: gc.count,
          total_ms: Math.round(gc.ms),
          max_ms: Math.round(gc.maxMs * 10) / 10,
          major: gc.major,
          major_ms: Math.round(gc.majorMs),
        },
      }),
    );
    renameSync(`${file}.tmp`, file);
    delay.reset();
    since = now;
    Object.assign(gc, { count: 0, ms: 0, maxMs: 0, major: 0, majorMs: 0 });
  });
}
