/**
 * How the Redis store meets contention (the contract's "changes while another node fires" shows
 * the outcome on every store): fences that claims and hand-outs pass by, and optimistic retries
 * that pause between attempts and give up with UNAVAILABLE instead of spinning.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Job } from "../../server/src/domain/jobs.js";
import { withDeadline } from "../../server/src/lib/deadline.js";
import { StoreTimeoutError, StoreUnavailableError } from "../../server/src/store/errors.js";
import type { PlanFn } from "../../server/src/store/port.js";
import {
  CONFLICT,
  ContendedError,
  MAX_ATTEMPTS,
  optimistic,
  pauseBefore,
} from "../../server/src/store/redis/optimistic.js";
import { Db } from "../../server/src/store/redis/db.js";
import { readJobDeletion } from "../../server/src/store/redis/jobs.js";
import { DELETE_JOB } from "../../server/src/store/redis/scripts/delete-job.js";
import { RedisStore } from "../../server/src/store/redis/store.js";
import { addRun, job, lease, leaseOf, must, pendingRun, S, T0 } from "./contract/fixtures.js";
import { createRedisStore, describeRedis, REDIS_URL } from "../support/redis.js";

const once: PlanFn = (j: Job) => ({
  runs: [pendingRun(j, j.nextRunTime ?? 0)],
  nextRunTime: (j.nextRunTime ?? 0) + 60 * S,
});

describe("optimistic retries on Redis", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("read again after each conflict, with the number of conflicts so far, until the commit holds", async () => {
    const rounds: number[] = [];
    const result = await optimistic("test", (round) => {
      rounds.push(round);
      return Promise.resolve(round < 3 ? CONFLICT : "done");
    });
    expect(result).toBe("done");
    expect(rounds).toEqual([0, 1, 2, 3]);
  });

  it("give up with UNAVAILABLE after MAX_ATTEMPTS conflicts in a row, naming the operation", async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const outcome = optimistic("deleteAllJobs", () => {
      attempts++;
      return Promise.resolve(CONFLICT);
    }).catch((err: unknown) => err);
    await vi.runAllTimersAsync();
    const err = await outcome;
    expect(err).toBeInstanceOf(ContendedError);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(String((err as Error).cause)).toContain("deleteAllJobs");
    expect(attempts).toBe(MAX_ATTEMPTS);
  });

  it("stop at the call's deadline instead of trying again", async () => {
    let attempts = 0;
    const err = await withDeadline(Date.now() - 1, () =>
      optimistic("updateJob", () => {
        attempts++;
        return Promise.resolve(CONFLICT);
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreTimeoutError);
    expect(attempts).toBe(1);
  });

  it("pause a random time below a cap that doubles with each conflict, up to 100 ms", () => {
    const caps = [1, 2, 3, 4, 5, 6, 7, 8, 40].map((round) => pauseBefore(round, () => 0.999999));
    expect(caps).toEqual([1, 3, 7, 15, 31, 63, 99, 99, 99]);
    expect(pauseBefore(5, () => 0)).toBe(0);
  });
});

describeRedis("Redis fences", () => {
  let db: Awaited<ReturnType<typeof createRedisStore>>;
  let store: RedisStore;
  let raw: Redis;
  const fence = (suffix: string) => `${db.name}{sched:fenced}:${suffix}`;

  beforeAll(async () => {
    db = await createRedisStore("metronome_fences");
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

  it("claims pass a fenced job by, and every job of a fenced scheduler, until the fence comes down", async () => {
    for (const id of ["a", "b", "c"])
      await store.insertJob(job(id, { scheduler: "fenced", nextRunTime: T0 }));
    await raw.set(fence("fence:a"), "token", "PX", 60_000);
    const first = await store.claimDueJobs({ horizon: T0, limit: 10, plan: once });
    expect(first.runs.map((r) => r.jobId).sort()).toEqual(["b", "c"]);
    await raw.set(fence("fence"), "token", "PX", 60_000);
    await raw.del(fence("fence:a"));
    expect((await store.claimDueJobs({ horizon: T0, limit: 10, plan: once })).jobs).toBe(0);
    await raw.del(fence("fence"));
    const last = await store.claimDueJobs({ horizon: T0, limit: 10, plan: once });
    expect(last.runs.map((r) => r.jobId)).toEqual(["a"]);
  });

  it("hand-outs leave the runs of a fenced job pending, and every run of a fenced scheduler", async () => {
    const x = await addRun(store, job("x", { scheduler: "fenced", handler: "h.fenced" }), T0);
    const y = await addRun(store, job("y", { scheduler: "fenced", handler: "h.fenced" }), T0);
    await raw.set(fence("fence:x"), "token", "PX", 60_000);
    expect((await lease(store, "h.fenced", T0)).map((r) => r.id)).toEqual([y.id]);
    await raw.set(fence("fence"), "token", "PX", 60_000);
    await raw.del(fence("fence:x"));
    expect(await lease(store, "h.fenced", T0)).toEqual([]);
    await raw.del(fence("fence"));
    expect((await lease(store, "h.fenced", T0)).map((r) => r.id)).toEqual([x.id]);
  });

  it("a change takes its fence down when it ends: none is left standing", async () => {
    await store.insertJob(job("gone", { scheduler: "fenced", nextRunTime: T0 + 60 * S }));
    expect(await store.deleteAllJobs("fenced", { cancelPendingRunsAt: T0 })).toBeGreaterThan(0);
    expect(await raw.keys(fence("fence*"))).toEqual([]);
  });
});

describeRedis("a job's delete and a run of it turning pending meanwhile", () => {
  let db: Awaited<ReturnType<typeof createRedisStore>>;
  let store: RedisStore;
  let redis: Redis;
  let raw: Db;

  beforeAll(async () => {
    db = await createRedisStore("metronome_delete_race");
    store = RedisStore.open(db.url);
    await store.migrate();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    redis.on("error", () => undefined);
    raw = new Db(redis, db.name);
  });

  afterAll(async () => {
    redis.disconnect();
    await store.close();
    await db.drop();
  });

  it("a commit from a read before a retry of the job's run was put back conflicts; the delete then cancels it", async () => {
    const retry = { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2 };
    const j = job("raced", { scheduler: "race", handler: "h.race", retry });
    const run = await addRun(store, j, T0);
    const [taken] = await lease(store, "h.race", T0);
    expect(taken?.id).toBe(run.id);
    const now = T0 + 2 * S;
    // The delete reads while the run is running (nothing pending to cancel)...
    const stale = await readJobDeletion(raw, "race", "raced", { cancelPendingRunsAt: now });
    if (stale === false) throw new Error("the job is there");
    // ...then the attempt fails and its retry is put back pending, before the delete commits.
    const [verdict] = await store.completeRuns(T0 + S, [
      {
        lease: leaseOf(must(taken)),
        outcome: {
          kind: "error",
          error: { message: "boom", type: "Boom", stack: "", nonRetryable: false },
        },
      },
    ]);
    expect(verdict?.accepted === true ? verdict.run.status : verdict).toBe("pending");
    expect(await raw.run(DELETE_JOB, stale)).toBe(CONFLICT);
    expect(await store.getJob("race", "raced")).not.toBeNull();
    expect((await store.getRun(run.id))?.status).toBe("pending");
    // Read again (as the optimistic loop does): the delete cancels the retry with the job.
    expect(await store.deleteJob("race", "raced", { cancelPendingRunsAt: now })).toBe(true);
    expect(await store.getRun(run.id)).toMatchObject({
      status: "cancelled",
      statusReason: "job removed",
    });
  });
});
