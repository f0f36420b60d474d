/**
 * Store benchmark: the MySQL store's InsertJob and GetJob with 16 concurrent callers in this
 * process, on a fresh MariaDB database, without the RPC layer. It separates the database path
 * from the RPC stack when reading `bench -- api`. Prints one JSON line.
 *
 *   npm run -s bench -- store             (3 s per phase)
 *   BENCH_SECONDS=10 npm run -s bench -- store
 */
import { cpus } from "node:os";
import type { Job } from "../server/src/domain/jobs.js";
import { MysqlStore } from "../server/src/store/mysql/store.js";
import { createTestDatabase } from "../test/support/database.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? "3");
const CALLERS = 16;

function job(id: string, now: number): Job {
  return {
    scheduler: "default",
    id,
    name: "bench",
    handler: "bench.noop",
    trigger: { type: "crontab", expression: "0 2 * * *", timezone: "UTC" },
    args: [1, "a"],
    kwargs: { k: "v" },
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeMs: 60_000,
    timeoutMs: null,
    retry: null,
    paused: false,
    nextRunTime: now + 86_400_000,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** Run `op` from CALLERS concurrent loops for SECONDS; calls per second and Node CPU per call. */
async function phase(
  op: (i: number) => Promise<unknown>,
): Promise<{ perS: number; cpuMs: number }> {
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < end) await op(n++);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return {
    perS: Math.round(n / SECONDS),
    cpuMs: Math.round(((cpu.user + cpu.system) / 1000 / n) * 1000) / 1000,
  };
}

const db = await createTestDatabase("metronome_bench");
const store = MysqlStore.open(db.url);
try {
  await store.migrate();
  const now = Date.now();
  const insert = await phase(async (i) => {
    if (!(await store.insertJob(job(`j${i}`, now)))) throw new Error(`duplicate j${i}`);
  });
  const get = await phase(async (i) => {
    if ((await store.getJob("default", `j${i % 1000}`)) === null)
      throw new Error(`missing j${i % 1000}`);
  });
  console.log(
    JSON.stringify({
      bench: "store",
      insert_per_s: insert.perS,
      get_per_s: get.perS,
      insert_node_cpu_ms: insert.cpuMs,
      get_node_cpu_ms: get.cpuMs,
      callers: CALLERS,
      seconds: SECONDS,
      node: process.version,
      cpu: cpus()[0]?.model ?? "unknown",
    }),
  );
} finally {
  await store.close();
  await db.drop();
}
