/**
 * RemoveJob on Redis reads only the job's pending runs (as the SQL stores cancel only those),
 * from a per-job index (`{sched:S}:job-pending:<job>`), not its whole run history: a job with
 * 250,000 runs could not be removed (each attempt read and walked them all until its deadline).
 * A store written before the index existed is migrated (migrate() indexes the runs then pending)
 * and until then removes jobs as before.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Job } from "../../server/src/domain/jobs.js";
import { runFields } from "../../server/src/store/redis/codec.js";
import { Db } from "../../server/src/store/redis/db.js";
import { indexPendingOfJobs } from "../../server/src/store/redis/pending-of-jobs.js";
import { RedisStore } from "../../server/src/store/redis/store.js";
import { addRun, job, lease, leaseOf, must, pendingRun, S, T0 } from "./contract/fixtures.js";
import { createRedisStore, describeRedis, REDIS_URL } from "../support/redis.js";

describeRedis("RemoveJob on Redis", () => {
  let db: Awaited<ReturnType<typeof createRedisStore>>;
  let store: RedisStore;
  let raw: Redis;
  const key = (s: string, suffix: string) => `${db.name}{sched:${s}}:${suffix}`;

  beforeAll(async () => {
    db = await createRedisStore("metronome_removal");
    store = RedisStore.open(db.url);
    await store.migrate();
    raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    raw.on("error", () => undefined);
  });

  afterAll(async () => {
    raw.disconnect();
    await store.close();
    await db.drop();
  });

  /** `n` runs of the job that ended long ago, written as the store writes them. */
  async function history(j: Job, n: number): Promise<void> {
    const pipe = raw.pipeline();
    for (let i = 0; i < n; i++) {
      const at = T0 - 40 * 86_400 * S + i * S;
      const r = pendingRun(j, at, {
        id: `${j.id}-old-${String(i).padStart(6, "0")}`,
        status: "succeeded",
        dueAt: null,
        expiresAt: null,
        finishedAt: at,
      });
      pipe.hset(key(j.scheduler, `run:${r.id}`), { ...runFields(r), rev: "2" });
      pipe.zadd(key(j.scheduler, "runs"), at, r.id);
      pipe.zadd(key(j.scheduler, `job-runs:${j.id}`), at, r.id);
      pipe.hset(key(j.scheduler, `fired:${j.id}`), `${String(at)}/0`, r.id);
      pipe.hset(`${db.name}{g}:run-sched`, r.id, j.scheduler);
    }
    await pipe.exec();
  }

  /** The commands of this store's keys that Redis ran (scripts' included) while `work` did. */
  async function commandsDuring(work: () => Promise<unknown>): Promise<string[][]> {
    const seen: string[][] = [];
    const monitor = await raw.monitor();
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(db.name))) seen.push(args);
    });
    try {
      await work();
      // MONITOR tells what ran a little after it ran: a command on a key of this store ends it.
      await raw.get(`${db.name}{g}:monitor-end`);
      for (let i = 0; i < 100 && !seen.some((a) => a[1]?.endsWith("monitor-end")); i++)
        await new Promise((r) => setTimeout(r, 10));
    } finally {
      monitor.disconnect();
    }
    return seen;
  }

  it("reads and walks a bounded number of the job's runs, however many ended runs it has", async () => {
    const j = job("long-lived", { scheduler: "removal", handler: "h.removal" });
    await store.insertJob(j);
    await history(j, 2000);
    const due = await addRun(store, j, T0);
    const prepared = await addRun(store, j, T0 + 3600 * S, { manual: false });
    const seen = await commandsDuring(() =>
      store.deleteJob("removal", j.id, { cancelPendingRunsAt: T0 + S }),
    );
    const onRuns = seen.filter((a) =>
      a.some((x) => x.includes(":run:") || x.includes("job-runs:")),
    );
    // The due run and the prepared one, read and written; not the 2,000 that ended.
    expect(onRuns.length).toBeGreaterThan(0);
    expect(onRuns.length).toBeLessThanOrEqual(20);
    expect(onRuns.flat().join(" ")).not.toContain("old-");
    expect(await store.getJob("removal", j.id)).toBeNull();
    expect(await store.getRun(due.id)).toMatchObject({
      status: "cancelled",
      statusReason: "job removed",
    });
    expect(await store.getRun(prepared.id)).toBeNull();
    expect(await raw.exists(key("removal", `job-pending:${j.id}`))).toBe(0);
  });

  it("the index follows each run in and out of pending: leased, put back for a retry, ended", async () => {
    const retry = { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 };
    const j = job("retried", { scheduler: "removal", handler: "h.retried", retry });
    const run = await addRun(store, j, T0);
    const index = key("removal", `job-pending:${j.id}`);
    expect(await raw.smembers(index)).toEqual([run.id]);
    const [taken] = await lease(store, "h.retried", T0);
    expect(await raw.smembers(index)).toEqual([]);
    const error = { message: "boom", type: "Boom", stack: "", nonRetryable: false };
    await store.completeRuns(T0 + S, [
      { lease: leaseOf(must(taken)), outcome: { kind: "error", error } },
    ]);
    expect(await raw.smembers(index)).toEqual([run.id]);
    await store.cancelRun(T0 + 2 * S, run.id, "no more");
    expect(await raw.smembers(index)).toEqual([]);
  });

  it("a store written before the index removes jobs as before, and migrate() builds the index", async () => {
    const j = job("from-before", { scheduler: "removal-old", handler: "h.old" });
    const k = job("also-before", { scheduler: "removal-old", handler: "h.old" });
    const runs = [await addRun(store, j, T0), await addRun(store, j, T0 + S)];
    const other = await addRun(store, k, T0);
    // As a store written by an earlier version: no index, and not migrated to one.
    await raw.del(
      key("removal-old", `job-pending:${j.id}`),
      key("removal-old", `job-pending:${k.id}`),
    );
    await raw.del(`${db.name}{g}:indexed`);
    expect(await store.pendingMigrations()).toBe(1);
    expect(await store.deleteJob("removal-old", j.id, { cancelPendingRunsAt: T0 + 2 * S })).toBe(
      true,
    );
    for (const r of runs)
      expect((await store.getRun(r.id))?.status, "cancelled without the index").toBe("cancelled");
    await store.migrate();
    expect(await store.pendingMigrations()).toBe(0);
    expect(await raw.smembers(key("removal-old", `job-pending:${k.id}`))).toEqual([other.id]);
    expect(await store.deleteJob("removal-old", k.id, { cancelPendingRunsAt: T0 })).toBe(true);
    expect((await store.getRun(other.id))?.status).toBe("cancelled");
  });

  it("the migration indexes a scheduler's pending runs part by part, every one of them", async () => {
    const j = job("many-pending", { scheduler: "removal-parts", handler: "h.parts" });
    const runs = [];
    for (let i = 0; i < 7; i++) runs.push(await addRun(store, j, T0 + (i % 3) * S));
    const index = key("removal-parts", `job-pending:${j.id}`);
    await raw.del(index);
    await raw.srem(`${db.name}{g}:indexed`, "job-pending");
    const direct = new Db(raw, db.name);
    await indexPendingOfJobs(direct, 2);
    expect((await raw.smembers(index)).sort()).toEqual(runs.map((r) => r.id).sort());
    expect(await store.pendingMigrations()).toBe(0);
  });
});
