/**
 * The child of bench/log-lines.ts: writes BENCH_LINES `run succeeded` lines (as the server logs
 * one per run) to stdout through one logger, 200 per event-loop turn, and prints its CPU time on
 * stderr as JSON once every line was handed to the destination and flushed.
 *
 *   mode "metronome": the server's logger (createLogger, JSON lines; its stdout destination)
 *   mode "pino":      pino with its own default destination (what the server used before)
 */
import { pino, type Logger } from "pino";
import { createLogger } from "../server/src/logger.js";

const mode = process.argv[2];
const lines = Number(process.env.BENCH_LINES ?? "200000");
const settings = { base: { service: "metronome" }, timestamp: pino.stdTimeFunctions.isoTime };
const log: Logger =
  mode === "metronome"
    ? createLogger("info", { node: "bench" })
    : mode === "pino"
      ? pino({ ...settings, base: { ...settings.base, node: "bench" } })
      : (() => {
          throw new Error(`unknown mode ${String(mode)}`);
        })();

const cpu0 = process.cpuUsage();
let written = 0;
function turn(): void {
  for (let k = 0; k < 200 && written < lines; k++, written++)
    log.info(
      {
        runId: "0123456789abcdef0123456789abcdef",
        scheduler: "default",
        jobId: `sustained-${String(written)}`,
        handler: "bench.record",
        attempt: 1,
        worker: "bench-worker-0",
        ms: 12,
      },
      "run succeeded",
    );
  if (written < lines) {
    setImmediate(turn);
    return;
  }
  log.flush(() => {
    const u = process.cpuUsage(cpu0);
    process.stderr.write(
      `${JSON.stringify({ mode, lines, cpu_ms: (u.user + u.system) / 1000 })}\n`,
    );
  });
}
turn();
