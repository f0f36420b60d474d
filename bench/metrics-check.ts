/**
 * The check an engine benchmark ends with (issue 15's acceptance for `/metrics`): firing stops
 * (every job removed: pending runs are cancelled), the runs in flight end, and then the server's
 * `/metrics` — parsed with parse-prometheus-text-format, a parser independent of prom-client —
 * must agree with the runs table: `metronome_runs_total` by status equals the table's count of
 * each final status, and the lateness histogram's count equals the runs that started. The
 * counters come from the event log, which the server reads a little after each commit: they are
 * scraped until they agree or a deadline passes.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import parse, { type ParsedFamily } from "parse-prometheus-text-format";
import type { Bench } from "./engine-support.js";

const FINAL = ["succeeded", "failed", "timed_out", "cancelled", "missed", "skipped"] as const;
/** How long the runs in flight may take to end, and the counters to catch up. */
const SETTLE_MS = 60_000;
const AGREE_MS = 20_000;
/** RemoveAllJobs answered UNAVAILABLE this many times: the check fails. */
const REMOVE_TRIES = 5;

export interface MetricsCheck {
  /** The runs table's count of each final status. */
  readonly runs_table: Record<string, number>;
  /** `metronome_runs_total` summed by status. */
  readonly runs_metric: Record<string, number>;
  /** Runs that started (the table's `started_at` set). */
  readonly runs_started: number;
  /** `metronome_fire_lateness_seconds`'s count (its `+Inf` buckets, over schedulers). */
  readonly lateness_count: number;
  readonly match: boolean;
}

async function pause(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function scrape(bench: Bench): Promise<ParsedFamily[]> {
  const res = await fetch(`http://127.0.0.1:${String(bench.server.port)}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${String(res.status)}`);
  return parse(await res.text());
}

function sumBy(families: ParsedFamily[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of families.find((f) => f.name === name)?.metrics ?? []) {
    const key = m.labels?.[label] ?? "";
    out[key] = (out[key] ?? 0) + Number(m.value);
  }
  return out;
}

function latenessCount(families: ParsedFamily[]): number {
  const f = families.find((x) => x.name === "metronome_fire_lateness_seconds");
  return (f?.metrics ?? []).reduce((n, m) => n + Number(m.buckets?.["+Inf"] ?? 0), 0);
}

async function readTable(
  bench: Bench,
): Promise<{ byStatus: Record<string, number>; started: number }> {
  const rows = await bench.rows<{ status: string; n: unknown }>(
    "SELECT status, COUNT(*) AS n FROM runs GROUP BY status",
  );
  const byStatus: Record<string, number> = {};
  for (const s of FINAL) {
    const n = Number(rows.find((r) => r.status === s)?.n ?? 0);
    if (n > 0) byStatus[s] = n;
  }
  const [started] = await bench.rows<{ n: unknown }>(
    "SELECT COUNT(*) AS n FROM runs WHERE started_at IS NOT NULL",
  );
  return { byStatus, started: Number(started?.n ?? 0) };
}

const same = (a: Record<string, number>, b: Record<string, number>): boolean =>
  FINAL.every((s) => (a[s] ?? 0) === (b[s] ?? 0));

/**
 * RemoveAllJobs, repeated while it answers UNAVAILABLE, as docs/guarantees.md tells callers: a
 * saturated run leaves tens of thousands of pending runs, whose cancellation (2,000 per
 * transaction) can outlast the call's store deadline (METRONOME_STORE_TIMEOUT, 10 s) while the
 * machine is loaded; each try goes on where the last one stopped.
 */
async function removeAll(bench: Bench): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      await bench.jobs.removeAllJobs({ scheduler: "default" });
      return;
    } catch (err) {
      const unavailable = err instanceof ConnectError && err.code === Code.Unavailable;
      if (!unavailable || tries === REMOVE_TRIES) throw err;
      console.error(`bench: RemoveAllJobs answered UNAVAILABLE (try ${String(tries)}); again`);
    }
  }
}

/**
 * Stops firing, lets the runs in flight end (the worker must still be running), and compares
 * `/metrics` with the runs table.
 */
export async function checkMetrics(bench: Bench): Promise<MetricsCheck> {
  await removeAll(bench);
  const settleBy = Date.now() + SETTLE_MS;
  for (;;) {
    const [active] = await bench.rows<{ n: unknown }>(
      "SELECT COUNT(*) AS n FROM runs WHERE status IN ('pending', 'running')",
    );
    if (Number(active?.n ?? 0) === 0) break;
    if (Date.now() > settleBy) throw new Error("runs were still pending or running after 60 s");
    await pause(200);
  }
  const table = await readTable(bench);
  const agreeBy = Date.now() + AGREE_MS;
  for (;;) {
    const families = await scrape(bench);
    const runsMetric = sumBy(families, "metronome_runs_total", "status");
    const lateness = latenessCount(families);
    const match = same(runsMetric, table.byStatus) && lateness === table.started;
    if (match || Date.now() > agreeBy)
      return {
        runs_table: table.byStatus,
        runs_metric: runsMetric,
        runs_started: table.started,
        lateness_count: lateness,
        match,
      };
    await pause(200);
  }
}

/** Prints why the check failed (stderr) and sets a failing exit code. */
export function reportMismatch(check: MetricsCheck): void {
  if (check.match) return;
  console.error(
    `/metrics disagrees with the runs table: runs_total ${JSON.stringify(check.runs_metric)} vs table ${JSON.stringify(check.runs_table)}; lateness count ${String(check.lateness_count)} vs runs started ${String(check.runs_started)}`,
  );
  process.exitCode = 1;
}
