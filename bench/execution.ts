/**
 * The execution path's store operations alone: what each execution costs MariaDB and the store's
 * code in Node, without the RPC layer, the server's loops or a worker. 8,000 interval jobs (every
 * second) on a fresh MariaDB database go through the MySQL store's port as the engine drives it,
 * one synthetic second after another: claims of 200 jobs (each fire time one run, the jobs
 * advanced), leases of up to 1,000 runs to one worker (job_submitted), and results of 200 a
 * transaction (job_executed). The operations run one after another, so the figures are costs,
 * not a rate the server reaches: the end-to-end rate is `bench throughput`'s.
 *
 * MariaDB's CPU comes from its process (a local database only); it includes its background
 * threads (purge of the rows each status change leaves behind, flushing), so the per-execution
 * figure is what the database spends per run in all. Prints one JSON line.
 *
 *   npm run -s bench -- execution
 *   BENCH_SECONDS=10 BENCH_JOBS=4000 npm run -s bench -- execution
 *   BENCH_FROM_START=1 npm run -s bench -- execution   (claims without a drain's position)
 *   npm run -s bench -- compare REF execution --rounds 5      (a store change, A/B)
 */
import { cpus } from "node:os";
import { runEvents } from "../server/src/domain/events.js";
import type { Job } from "../server/src/domain/jobs.js";
import { planFires, type Lease, type Run } from "../server/src/domain/runs.js";
import { compileTrigger } from "../server/src/domain/triggers/index.js";
import { newRunId } from "../server/src/engine/ids.js";
import mysql, { type Connection, type RowDataPacket } from "mysql2/promise";
import { MysqlStore } from "../server/src/store/mysql/store.js";
import type { Store } from "../server/src/store/port.js";
import { createTestDatabase } from "../test/support/database.js";
import { cpuSecondsOr0, localDbPid } from "./proc.js";

const JOBS = Number(process.env.BENCH_JOBS ?? "8000");
/** Synthetic seconds measured, after WARMUP_S. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? "6");
const WARMUP_S = 2;
const CLAIM_BATCH = 200;
const LEASE_BATCH = 1000;
const RESULT_BATCH = 200;
const HANDLER = "bench.noop";
/** Every claim from the start of the due range, as before drains (for an A/B of the two). */
const FROM_START = process.env.BENCH_FROM_START === "1";
const NODE = "bench-node";

function job(i: number, t0: number): Job {
  return {
    scheduler: "default",
    id: `job-${String(i).padStart(5, "0")}`,
    name: `bench job ${String(i)}`,
    handler: HANDLER,
    trigger: { type: "interval", seconds: 1, startDate: t0 + (i % 1000), timezone: "UTC" },
    args: [i, "a"],
    kwargs: { k: "v" },
    coalesce: false,
    maxInstances: 1,
    misfireGraceTimeMs: 60_000,
    timeoutMs: null,
    retry: null,
    paused: false,
    nextRunTime: t0 + (i % 1000),
    createdAt: t0,
    updatedAt: t0,
    version: 1,
  };
}

type Phase = "claim" | "lease" | "result" | "purge";
const PHASES: readonly Phase[] = ["claim", "lease", "result", "purge"];

/** CPU seconds by phase, MariaDB's and this process's (the warm-up's are reset). */
const spent = {
  db: { claim: 0, lease: 0, result: 0, purge: 0 },
  node: { claim: 0, lease: 0, result: 0, purge: 0 },
};
let dbPid = 0;
let status: Connection | undefined;

/** Runs `body` and adds the CPU both sides used to `phase`; then waits for the purge. */
async function timed<T>(phase: Phase, body: () => Promise<T>): Promise<T> {
  const db0 = cpuSecondsOr0(dbPid);
  const node0 = process.cpuUsage();
  try {
    return await body();
  } finally {
    const node = process.cpuUsage(node0);
    spent.node[phase] += (node.user + node.system) / 1e6;
    spent.db[phase] += cpuSecondsOr0(dbPid) - db0;
    await purged();
  }
}

/**
 * Waits (up to 5 s) until InnoDB has purged what the phase's changes left behind (the old
 * versions of rows and index entries), so that its background work is counted apart, as
 * `purge`, instead of in the next phase.
 */
async function purged(): Promise<void> {
  if (status === undefined) return;
  const db0 = cpuSecondsOr0(dbPid);
  const end = performance.now() + 5000;
  for (;;) {
    const [rows] = await status.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS LIKE 'Innodb_history_list_length'",
    );
    if (Number(rows[0]?.Value ?? 0) === 0 || performance.now() > end) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  spent.db.purge += cpuSecondsOr0(dbPid) - db0;
}

/**
 * One synthetic second at `now`, each phase in one block (so that the CPU read around it is
 * its own): every job due claimed, every run leased, every result recorded.
 */
async function second(store: Store, now: number): Promise<number> {
  await timed("claim", async () => {
    let after: number | undefined;
    for (;;) {
      const claimed = await store.claimDueJobs(
        {
          horizon: now,
          limit: CLAIM_BATCH,
          // As the engine drains (engine/firing.ts): each claim from where the last one stopped.
          ...(after === undefined || FROM_START ? {} : { after }),
          plan: (j) =>
            planFires(j, compileTrigger(j.trigger), { now, horizon: now, newId: newRunId }),
        },
        (c) => runEvents(c.runs, now, NODE),
      );
      if (claimed.jobs < CLAIM_BATCH) break;
      after = claimed.through;
    }
  });
  const leased = await timed("lease", async () => {
    const all: Run[] = [];
    for (let op = 0; ; op++) {
      const { taken } = await store.leaseRuns(
        {
          now,
          slots: new Map([[HANDLER, LEASE_BATCH]]),
          total: LEASE_BATCH,
          workerId: "bench-worker",
          leaseToken: `token-${String(now)}-${String(op)}`,
          leaseMs: 30_000,
          paused: [],
        },
        (r) => runEvents([...r.ended, ...r.taken], now, NODE),
      );
      all.push(...taken);
      if (taken.length < LEASE_BATCH) return all;
    }
  });
  return timed("result", async () => {
    for (let i = 0; i < leased.length; i += RESULT_BATCH) {
      const items = leased.slice(i, i + RESULT_BATCH).map((r) => ({
        lease: { runId: r.id, attempt: r.attempt, token: r.leaseToken ?? "" } satisfies Lease,
        outcome: { kind: "success" as const, result: null },
      }));
      const verdicts = await store.completeRuns(now, items, (vs) =>
        runEvents(
          vs.flatMap((v) => (v.accepted && v.recorded ? [v.run] : [])),
          now,
          NODE,
        ),
      );
      const lost = verdicts.filter((v) => !v.accepted).length;
      if (lost > 0) throw new Error(`${String(lost)} results rejected`);
    }
    return leased.length;
  });
}

dbPid = localDbPid();
const db = await createTestDatabase("metronome_bench");
const store = MysqlStore.open(db.url);
try {
  await store.migrate();
  status = await mysql.createConnection(db.url);
  const t0 = Math.ceil(Date.now() / 1000) * 1000;
  for (let i = 0; i < JOBS; i += 500)
    await Promise.all(
      Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => store.insertJob(job(i + k, t0))),
    );
  let now = t0 + 999;
  for (let s = 0; s < WARMUP_S; s++, now += 1000) await second(store, now);
  for (const p of PHASES) spent.db[p] = spent.node[p] = 0;
  const wall0 = performance.now();
  let executions = 0;
  for (let s = 0; s < SECONDS; s++, now += 1000) {
    const n = await second(store, now);
    if (n !== JOBS)
      throw new Error(`second ${String(s)}: ${String(n)} executions of ${String(JOBS)}`);
    executions += n;
  }
  const wallS = (performance.now() - wall0) / 1000;
  const us = (s: number) => Math.round((s / executions) * 1e6 * 10) / 10;
  const perPhase = (side: Record<Phase, number>) => ({
    all: us(PHASES.reduce((sum, p) => sum + side[p], 0)),
    ...Object.fromEntries(PHASES.map((p) => [p, us(side[p])])),
  });
  console.log(
    JSON.stringify({
      bench: "execution",
      executions,
      jobs: JOBS,
      executions_per_s_serial: Math.round(executions / wallS),
      database_cpu_us_per_execution: dbPid === 0 ? null : perPhase(spent.db),
      node_cpu_us_per_execution: perPhase(spent.node),
      store: "mariadb",
      node: process.version,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
    }),
  );
} finally {
  await status?.end();
  await store.close();
  await db.drop();
}
