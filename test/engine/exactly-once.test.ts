/**
 * Exactly once across nodes: three `metronome serve` processes on one MariaDB database, 500
 * jobs due in the same second, a worker on each node, and one node killed with SIGKILL as soon
 * as it has handed out runs. Afterwards every (job, fire time) has exactly one run, and the runs
 * the killed node had handed out are finished by the other nodes once their leases expire.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AutoWorker } from "../support/auto-worker.js";
import { grpcJsClients, type GrpcJsClients, timestamp as ts } from "../support/grpc-js.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { startServerProcess, type ServerProcess } from "../support/processes.js";

const JOBS = 500;
const LEASE_S = 2;
const HANDLER = "eo.run";

describeMysql("exactly once with three nodes and a crash", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let conn: mysql.Connection;
  const servers: ServerProcess[] = [];
  const clients: GrpcJsClients[] = [];
  const workers: AutoWorker[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("metronome_exactly_once");
    conn = await mysql.createConnection({ uri: db.url });
    for (let i = 0; i < 3; i++) {
      servers.push(
        await startServerProcess(`eo-node-${String(i)}`, db.url, {
          env: {
            METRONOME_POLL_INTERVAL: "0.1",
            METRONOME_LEASE_DURATION: String(LEASE_S),
            METRONOME_SHUTDOWN_GRACE: "1",
          },
          timeoutMs: 60_000,
        }),
      );
    }
    for (const s of servers) clients.push(grpcJsClients(s.port));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) await w.stop();
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => (s.running() ? s.stop() : Promise.resolve())));
    await conn.end();
    await db.drop();
  }, 60_000);

  async function count(sql: string): Promise<number> {
    const [rows] = await conn.query(sql);
    return Number((rows as { n: unknown }[])[0]?.n ?? 0);
  }

  /** Polls the database until `check` holds (the runs are finished by other processes). */
  async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error("condition not reached in time");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("every (job, fire time) has exactly one run, and the killed node's runs are finished", async () => {
    for (const [i, s] of servers.entries()) {
      const w = new AutoWorker(s.port, HANDLER, {
        workMs: 300,
        concurrency: 200,
        id: `w${String(i)}`,
      });
      await w.start();
      workers.push(w);
    }
    const due = Date.now() + 3000;
    await Promise.all(
      Array.from({ length: JOBS }, (_, i) =>
        (clients[i % 3] as GrpcJsClients).job("AddJob", {
          job: {
            id: `eo-${String(i).padStart(3, "0")}`,
            handler: HANDLER,
            trigger: { date: { run_date: ts(due) } },
            retry_policy: { max_attempts: 3, initial_backoff: { seconds: "0" } },
          },
        }),
      ),
    );
    const victim = workers[0] as AutoWorker;
    // Kill node 0 as soon as it has handed out runs: it holds claims and leases.
    await victim.until(() => victim.received.length > 0);
    await (servers[0] as ServerProcess).kill();
    const orphaned = victim.received.filter((r) => r.attempt === 1).map((r) => r.runId);
    victim.crash();

    await waitFor(
      async () =>
        (await count("SELECT COUNT(*) AS n FROM runs WHERE status = 'succeeded'")) === JOBS,
      60_000,
    );
    expect(await count("SELECT COUNT(*) AS n FROM runs")).toBe(JOBS);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM (SELECT job_id FROM runs GROUP BY scheduler, job_id, scheduled_time HAVING COUNT(*) > 1) d",
      ),
    ).toBe(0);
    expect(await count("SELECT COUNT(DISTINCT job_id) AS n FROM runs")).toBe(JOBS);
    expect(await count("SELECT COUNT(*) AS n FROM jobs")).toBe(0); // date jobs end after firing

    // The killed node's runs went to the other nodes' workers as second attempts, and only
    // after their first attempt's lease had expired: never two attempts at once.
    expect(orphaned.length).toBeGreaterThan(0);
    const retried = workers
      .slice(1)
      .flatMap((w) => w.received)
      .filter((r) => orphaned.includes(r.runId));
    expect(new Set(retried.map((r) => r.runId))).toEqual(new Set(orphaned));
    for (const r of retried) {
      expect(r.attempt).toBeGreaterThanOrEqual(2);
      const first = victim.received.find((v) => v.runId === r.runId);
      expect(r.receivedAt - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(LEASE_S * 1000 - 50);
    }
    // Every execution that completed was of a distinct run.
    const executed = workers.slice(1).reduce((n, w) => n + w.accepted, 0);
    expect(executed).toBe(JOBS - 0 - victim.accepted);
  }, 120_000);
});
