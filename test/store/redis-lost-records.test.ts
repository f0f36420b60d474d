/**
 * The Redis store where Redis lost some of its keys (evicted under `maxmemory`, or any partial
 * loss): what is left of a run no longer stops the scripts that meet it. Retention once spun
 * for ever inside Redis on an entry of `{sched:S}:runs` whose run hash was gone (every client
 * then answered BUSY, and SCRIPT KILL was refused once the script had written).
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RedisStore } from "../../server/src/store/redis/store.js";
import { addRun, job, lease, must, pendingRun, T0, S } from "./contract/fixtures.js";
import { createRedisStore, describeRedis, REDIS_URL } from "../support/redis.js";

describeRedis("Redis runs whose hash is gone", () => {
  let raw: Redis;
  const opened: { store: RedisStore; drop: () => Promise<void> }[] = [];

  beforeAll(() => {
    raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    raw.on("error", () => undefined);
  });

  afterAll(async () => {
    raw.disconnect();
    for (const o of opened) {
      await o.store.close();
      await o.drop();
    }
  });

  /**
   * A store of its own for each case (retention walks every scheduler of the store: what one
   * case leaves must not be met by the next), and the name of its keys of scheduler "lost".
   */
  async function fresh(): Promise<{
    store: RedisStore;
    key: (suffix: string) => string;
    runSched: string;
  }> {
    const db = await createRedisStore("metronome_lost");
    const store = RedisStore.open(db.url);
    opened.push({ store, drop: db.drop });
    await store.migrate();
    return {
      store,
      key: (suffix) => `${db.name}{sched:lost}:${suffix}`,
      runSched: `${db.name}{g}:run-sched`,
    };
  }

  /**
   * `work`, with a watchdog: a script still running after 3 s is killed, which fails the case
   * instead of holding the test server. Redis refuses to kill a script that wrote: each case is
   * made so that retention as it was spun, if at all, before writing anything.
   */
  async function watched<T>(work: Promise<T>): Promise<T> {
    const watchdog = setTimeout(() => {
      void raw.script("KILL").catch(() => undefined);
    }, 3000);
    try {
      return await work;
    } finally {
      clearTimeout(watchdog);
    }
  }

  it("retention removes the entries of a run whose hash is gone instead of spinning on them", async () => {
    const { store, key, runSched } = await fresh();
    const r = await addRun(store, job("alone-j", { scheduler: "lost", handler: "h.lost" }), T0);
    await store.cancelRun(T0, r.id, "");
    await raw.del(key(`run:${r.id}`));
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 1000))).toBe(1);
    expect(await raw.zcard(key("runs"))).toBe(0);
    expect(await raw.hget(runSched, r.id)).toBeNull();
  });

  it("retention counts a lost run's entries as one deleted, and deletes the runs after it", async () => {
    // Made so that retention as it was stopped at its limit (it deleted the runs after the lost
    // one and kept the entry) rather than spinning after having written.
    const { store, key, runSched } = await fresh();
    const j = job("lost-j", { scheduler: "lost", handler: "h.lost" });
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await addRun(store, j, T0 + i * S));
    for (const r of runs) await store.cancelRun(T0, r.id, "");
    const [gone, next, last] = runs.map((r) => r.id);
    await raw.del(key(`run:${must(gone)}`));
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 2))).toBe(2);
    expect(await raw.zrange(key("runs"), 0, -1)).toEqual([last]);
    expect(await raw.hget(runSched, must(gone))).toBeNull();
    expect(await store.getRun(must(next))).toBeNull();
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 2))).toBe(1);
    expect(await raw.zcard(key("runs"))).toBe(0);
  });

  it("a run that a hand-out's hold brought back as a lone field is deleted as what is left of it", async () => {
    const { store, key } = await fresh();
    const r = await addRun(store, job("stub-j", { scheduler: "lost", handler: "h.stub" }), T0);
    await store.cancelRun(T0, r.id, "");
    await raw.del(key(`run:${r.id}`));
    await raw.hset(key(`run:${r.id}`), "held_until", String(T0));
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 1000))).toBe(1);
    expect(await raw.exists(key(`run:${r.id}`))).toBe(0);
    expect(await raw.zscore(key("runs"), r.id)).toBeNull();
  });

  it("retention's limit counts what is left of lost runs too: each call does a bounded part", async () => {
    const { store, key } = await fresh();
    const j = job("many-j", { scheduler: "lost", handler: "h.many" });
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await addRun(store, j, T0 + i * S));
    for (const r of runs) {
      await store.cancelRun(T0, r.id, "");
      await raw.del(key(`run:${r.id}`));
    }
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 2))).toBe(2);
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 2))).toBe(2);
    expect(await watched(store.deleteOldRuns(T0 + 10 * S, 2))).toBe(1);
    expect(await raw.zcard(key("runs"))).toBe(0);
  });

  it("a hand-out passes a pending run whose hash is gone and removes its entries, holding no new hash", async () => {
    const { store, key } = await fresh();
    const j = job("pending-j", { scheduler: "lost", handler: "h.pending" });
    const gone = await addRun(store, j, T0);
    const kept = await addRun(store, j, T0 + S);
    await raw.del(key(`run:${gone.id}`));
    expect((await lease(store, "h.pending", T0 + 2 * S)).map((r) => r.id)).toEqual([kept.id]);
    expect(await raw.exists(key(`run:${gone.id}`))).toBe(0);
    expect(await raw.zscore(key("pending:h.pending"), gone.id)).toBeNull();
    expect(await raw.zscore(key("pending"), gone.id)).toBeNull();
  });

  it("a claim passes a job whose hash is gone and removes its entry, holding no new hash", async () => {
    const { store, key } = await fresh();
    await store.insertJob(job("gone-j", { scheduler: "lost", nextRunTime: T0 }));
    await store.insertJob(job("kept-j", { scheduler: "lost", nextRunTime: T0 }));
    await raw.del(key("job:gone-j"));
    const claimed = await store.claimDueJobs({
      horizon: T0,
      limit: 10,
      plan: (j) => ({ runs: [pendingRun(j, T0)], nextRunTime: T0 + 60 * S }),
    });
    expect(claimed.runs.map((r) => r.jobId)).toEqual(["kept-j"]);
    expect(await raw.exists(key("job:gone-j"))).toBe(0);
    expect(await raw.zscore(key("jobs"), "gone-j")).toBeNull();
  });
});
