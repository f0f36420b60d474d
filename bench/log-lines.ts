/**
 * Log lines: the CPU a process spends per JSON log line written to stdout (a pipe read by this
 * process), through the server's logger and through pino's default destination, in turns (3
 * rounds). The server logs a `run succeeded` line per run, so at thousands of runs a second
 * this is part of its CPU per run.
 *
 *   npm run -s bench -- log-lines
 *   BENCH_LINES=100000 BENCH_ROUNDS=5 npm run -s bench -- log-lines
 */
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3");
const MODES = ["metronome", "pino"] as const;

/** One child writing its lines; its CPU in ms. */
function run(mode: string): Promise<{ lines: number; cpu_ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(here, "log-lines-main.ts"), mode],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let bytes = 0;
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = err.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{") || bytes === 0) {
        reject(new Error(`log-lines ${mode}: exit ${String(code)}\n${err}`));
        return;
      }
      resolve(JSON.parse(last) as { lines: number; cpu_ms: number });
    });
  });
}

const perLine = new Map<string, number[]>(MODES.map((m) => [m, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? MODES : [...MODES].reverse();
  for (const mode of order) {
    const r = await run(mode);
    perLine.get(mode)?.push((r.cpu_ms * 1000) / r.lines);
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.floor(s.length / 2)] ?? NaN) * 100) / 100;
};
console.log(
  JSON.stringify({
    bench: "log-lines",
    rounds: ROUNDS,
    us_per_line_metronome: median(perLine.get("metronome") ?? []),
    us_per_line_pino_default: median(perLine.get("pino") ?? []),
    node: process.version,
    cpu: cpus()[0]?.model.trim(),
    cores: cpus().length,
  }),
);
