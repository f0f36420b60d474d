/**
 * `/metrics` scraped during an engine run: a node on MariaDB (listening on port 0) fires interval
 * jobs whose runs succeed, fail, are skipped (max_instances) and missed (no worker), with an SDK
 * worker; the text is parsed with parse-prometheus-text-format — a parser independent of
 * prom-client, so a malformed exposition fails here — and once every run has ended its counters
 * equal the runs table's counts by status, and the lateness histogram's count (its `+Inf` bucket:
 * the parser drops `_count` and labels of histograms, one scheduler is used) equals the runs that
 * started.
 */
import { NonRetryableError, Worker, MetronomeClient } from "@metronome/sdk";
import mysql from "mysql2/promise";
import parse, { type ParsedFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};
const FINAL = ["succeeded", "failed", "timed_out", "cancelled", "missed", "skipped"];

async function until<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${String(timeoutMs)} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeMysql("/metrics during an engine run", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let node: TestNode | undefined;
  let worker: Worker | undefined;
  let client: MetronomeClient | undefined;

  const query = async <T>(sql: string): Promise<T[]> => {
    if (!db) throw new Error("no database");
    const conn = await mysql.createConnection({ uri: db.url });
    try {
      return (await conn.query(sql))[0] as T[];
    } finally {
      await conn.end();
    }
  };
  const scrape = async (): Promise<ParsedFamily[]> => {
    const res = await fetch(`${node?.url ?? ""}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await res.text());
  };
  const family = (all: ParsedFamily[], name: string): ParsedFamily => {
    const f = all.find((x) => x.name === name);
    if (f === undefined) throw new Error(`no ${name} in /metrics`);
    return f;
  };
  const counts = (f: ParsedFamily, label: string): Map<string, number> =>
    new Map(f.metrics.map((m) => [m.labels?.[label] ?? "", Number(m.value)]));

  beforeAll(async () => {
    db = await createTestDatabase();
    node = await startTestNode(db.url, { METRONOME_POLL_INTERVAL: "0.1" });
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    worker = new Worker({ baseUrl: node.url, workerId: "metrics-worker", logger: quiet });
    worker.register("m.ok", () => "ok");
    worker.register("m.fail", () => {
      throw new NonRetryableError("no");
    });
    // Longer than the job's interval: the next fire finds it running (max_instances 1).
    worker.register(
      "m.slow",
      (_a, _k, ctx) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1500);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve();
          });
        }),
    );
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await worker?.stop();
    await node?.stop();
    await db?.drop();
  }, 40_000);

  it("counts runs by status as the runs table does, and every start in the lateness histogram", async () => {
    const c = client as MetronomeClient;
    const every = (seconds: number) => ({
      kind: { case: "interval" as const, value: { seconds } },
    });
    for (const id of ["ok-1", "ok-2", "ok-3"])
      await c.jobs.addJob({ job: { id, handler: "m.ok", trigger: every(1) } });
    await c.jobs.addJob({ job: { id: "fail", handler: "m.fail", trigger: every(1) } });
    await c.jobs.addJob({
      job: { id: "slow", handler: "m.slow", trigger: every(1), maxInstances: 1 },
    });
    await c.jobs.addJob({
      job: {
        id: "unserved",
        handler: "m.nobody",
        trigger: every(1),
        misfireGraceTime: { value: { case: "duration", value: { seconds: 1n } } },
      },
    });

    // While the jobs fire: the exposition parses, and names the metrics of docs/metrics.md.
    await until(
      () =>
        query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM runs WHERE status IN ('succeeded', 'failed', 'skipped', 'missed')",
        ),
      (r) => Number(r[0]?.n) >= 24,
      "24 ended runs",
    );
    const during = await scrape();
    for (const name of [
      "metronome_runs_total",
      "metronome_misfires_total",
      "metronome_skips_total",
      "metronome_fire_lateness_seconds",
      "metronome_runs_waiting_for_worker",
      "metronome_active_leases",
      "metronome_worker_sessions",
      "metronome_worker_sessions_by_handler",
      "metronome_event_log_lag_seconds",
      "metronome_event_read_lag_seconds",
      "metronome_store_operation_seconds",
      "metronome_rpc_requests_total",
      "metronome_db_pool_connections",
    ])
      family(during, name);
    expect(family(during, "metronome_fire_lateness_seconds").type).toBe("HISTOGRAM");
    expect(counts(family(during, "metronome_worker_sessions_by_handler"), "handler")).toEqual(
      new Map([
        ["m.ok", 1],
        ["m.fail", 1],
        ["m.slow", 1],
      ]),
    );
    expect(Number(family(during, "metronome_worker_sessions").metrics[0]?.value)).toBe(1);
    const pools = family(during, "metronome_db_pool_max_connections").metrics;
    const limits = new Map(pools.map((m) => [m.labels?.pool, Number(m.value)]));
    expect([limits.get("api"), limits.get("engine"), limits.get("events")]).toEqual([20, 10, 3]);
    const rpcs = family(during, "metronome_rpc_requests_total").metrics;
    expect(rpcs).toContainEqual({
      value: "6",
      labels: { method: "metronome.v1.JobService/AddJob", code: "OK" },
    });

    // Stop firing (pending runs are cancelled), let the running ones end.
    await c.jobs.removeAllJobs({ scheduler: "default" });
    await until(
      () =>
        query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM runs WHERE status IN ('pending', 'running')",
        ),
      (r) => Number(r[0]?.n) === 0,
      "every run ended",
    );
    const table = new Map(
      (
        await query<{ status: string; n: unknown }>(
          "SELECT status, COUNT(*) AS n FROM runs GROUP BY status",
        )
      ).map((r) => [r.status, Number(r.n)]),
    );
    for (const s of ["succeeded", "failed", "skipped", "missed"])
      expect(table.get(s), s).toBeGreaterThan(0);
    const [started] = await query<{ n: unknown }>(
      "SELECT COUNT(*) AS n FROM runs WHERE started_at IS NOT NULL",
    );
    // The events of the last changes reach the node's counters once read back from the log.
    const after = await until(
      scrape,
      (m) => {
        const byStatus = counts(family(m, "metronome_runs_total"), "status");
        return FINAL.every((s) => (byStatus.get(s) ?? 0) === (table.get(s) ?? 0));
      },
      "counters equal to the runs table",
      20_000,
    );
    const runs = family(after, "metronome_runs_total");
    expect(runs.metrics.every((m) => m.labels?.scheduler === "default")).toBe(true);
    expect(counts(runs, "status")).toEqual(
      new Map(FINAL.filter((s) => table.has(s)).map((s) => [s, table.get(s)])),
    );
    expect(Number(family(after, "metronome_misfires_total").metrics[0]?.value)).toBe(
      table.get("missed"),
    );
    expect(Number(family(after, "metronome_skips_total").metrics[0]?.value)).toBe(
      table.get("skipped"),
    );
    const lateness = family(after, "metronome_fire_lateness_seconds").metrics;
    expect(lateness).toHaveLength(1);
    expect(Number(lateness[0]?.buckets?.["+Inf"])).toBe(Number(started?.n));
    expect(
      family(after, "metronome_runs_waiting_for_worker").metrics.every(
        (m) => Number(m.value) === 0,
      ),
    ).toBe(true);
    expect(
      family(after, "metronome_active_leases").metrics.every((m) => Number(m.value) === 0),
    ).toBe(true);
  }, 180_000);
});
