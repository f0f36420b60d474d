import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../../server/src/domain/errors.js";
import { DEFAULT_LIMITS, type Job } from "../../server/src/domain/jobs.js";
import type { EventDraft } from "../../server/src/domain/events.js";
import { JobQuota } from "../../server/src/management/job-quota.js";
import { JobManager } from "../../server/src/management/jobs.js";
import { RunManager } from "../../server/src/management/runs.js";
import { SchedulerManager } from "../../server/src/management/schedulers.js";
import { previewTrigger } from "../../server/src/management/triggers.js";
import { Engine } from "../../server/src/engine/engine.js";
import { createLogger } from "../../server/src/logger.js";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import type { Store } from "../../server/src/store/port.js";
import { ManualClock } from "../support/clock.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
/**
 * The job, scheduler and run use cases over `store` and a (stopped) engine on it, with the
 * server defaults of these tests.
 */
function managers(store: Store, clock: ManualClock, cancelBatch?: number) {
  const engine = new Engine(store, clock, createLogger("silent"), {
    firing: false,
    nodeId: "test-node",
    leaseMs: 30_000,
    pollIntervalMs: 1000,
    runRetentionMs: 86_400_000,
  });
  const schedulers = new SchedulerManager(store, clock, engine, {
    timezone: "UTC",
    settings: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
  });
  return {
    schedulers,
    jobs: new JobManager(
      store,
      clock,
      schedulers,
      DEFAULT_LIMITS,
      "test-node",
      new JobQuota(store, null),
      cancelBatch,
    ),
    runs: new RunManager(engine),
  };
}

const daily230 = { type: "cron" as const, fields: { hour: 2, minute: 30 }, timezone: "" };

describe("job management", () => {
  const store = SqliteStore.open(":memory:");
  const clock = new ManualClock(T0);
  const { jobs, schedulers } = managers(store, clock);

  beforeAll(() => store.migrate());
  afterAll(() => store.close());

  it("adds a job with the scheduler's defaults and its next run time", async () => {
    const { job, outcome } = await jobs.addJob({
      id: "daily_report",
      handler: "reports.daily",
      trigger: daily230,
      args: ["u1"],
      kwargs: { action: "sync" },
    });
    expect(outcome).toBe("created");
    expect(job).toMatchObject({
      scheduler: "default",
      id: "daily_report",
      name: "reports.daily",
      coalesce: true,
      maxInstances: 1,
      misfireGraceTimeMs: 60_000,
      version: 1,
      paused: false,
    });
    expect(job.trigger).toEqual({ ...daily230, timezone: "UTC" });
    expect(job.nextRunTime).toBe(Date.UTC(2026, 0, 1, 2, 30));
    expect(await jobs.getJob("default", "daily_report")).toEqual(job);
  });

  it("creates a scheduler on first use and applies its time zone and defaults", async () => {
    await schedulers.configureScheduler({
      name: "report",
      timezone: "Asia/Shanghai",
      jobDefaults: { maxInstances: 3, misfireGraceTimeMs: null },
    });
    const { job } = await jobs.addJob({
      scheduler: "report",
      id: "r1",
      handler: "reports.daily",
      trigger: daily230,
    });
    expect(job.maxInstances).toBe(3);
    expect(job.misfireGraceTimeMs).toBeNull();
    expect(job.nextRunTime).toBe(Date.UTC(2026, 0, 1, 18, 30)); // 02:30 on Jan 2 in Shanghai
  });

  it("applies the conflict policy: error, keep existing, replace", async () => {
    const input = { id: "dup", handler: "a.b", trigger: daily230 };
    await jobs.addJob(input);
    await expect(jobs.addJob(input)).rejects.toBeInstanceOf(AlreadyExistsError);
    const kept = await jobs.addJob({ ...input, name: "new name" }, "keep_existing");
    expect(kept.outcome).toBe("kept");
    expect(kept.job.name).toBe("a.b");
    const replaced = await jobs.addJob({ ...input, name: "new name" }, "replace");
    expect(replaced).toMatchObject({ outcome: "replaced", job: { name: "new name", version: 2 } });
  });

  it("starts an interval one period after it is added unless a start is given", async () => {
    const { job } = await jobs.addJob({
      id: "heartbeat",
      handler: "hb",
      trigger: { type: "interval", seconds: 30, startDate: Number.NaN, timezone: "" },
    });
    expect(job.nextRunTime).toBe(T0 + 30_000);
  });

  it("modifies the masked fields only, with compare-and-set versions", async () => {
    const { job } = await jobs.addJob({ id: "mod", handler: "a.b", trigger: daily230, args: [1] });
    const { job: changed } = await jobs.modifyJob(
      { id: "mod", name: "renamed", args: [2], kwargs: { ignored: true } },
      ["name", "args"],
      job.version,
    );
    expect(changed).toMatchObject({
      name: "renamed",
      args: [2],
      kwargs: {},
      version: 2,
      nextRunTime: job.nextRunTime,
    });
    await expect(jobs.modifyJob({ id: "mod", name: "x" }, ["name"], 1)).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    await expect(jobs.modifyJob({ id: "mod", name: "x" }, ["paused"])).rejects.toThrow(
      /^update_mask: cannot modify "paused"/,
    );
    await expect(jobs.modifyJob({ id: "mod" }, [])).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("reschedules, pauses and resumes from now without catch-up", async () => {
    await jobs.addJob({ id: "p", handler: "a.b", trigger: daily230 });
    const { job: re } = await jobs.rescheduleJob("default", "p", {
      type: "crontab",
      expression: "0 3 * * *",
      timezone: "",
    });
    expect(re.nextRunTime).toBe(Date.UTC(2026, 0, 1, 3));
    const paused = await jobs.pauseJob("default", "p");
    expect(paused).toMatchObject({ paused: true, nextRunTime: null });
    clock.set(Date.UTC(2026, 0, 5, 12));
    const resumed = await jobs.resumeJob("default", "p");
    expect(resumed).toMatchObject({
      removed: false,
      job: { paused: false, nextRunTime: Date.UTC(2026, 0, 6, 3) },
    });
    clock.set(T0);
  });

  it("removes one job or all jobs of a scheduler", async () => {
    await jobs.addJob({ scheduler: "cleanup", id: "c1", handler: "a.b", trigger: daily230 });
    await jobs.addJob({ scheduler: "cleanup", id: "c2", handler: "a.b", trigger: daily230 });
    await jobs.removeJob("cleanup", "c1");
    await expect(jobs.removeJob("cleanup", "c1")).rejects.toBeInstanceOf(NotFoundError);
    expect(await jobs.removeAllJobs("cleanup")).toBe(1);
    await expect(jobs.getJob("cleanup", "c2")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("rejects bad input naming the field, and stores nothing", async () => {
    const bad: [object, string][] = [
      [{ id: "bad id!", handler: "a", trigger: daily230 }, "job.id"],
      [{ id: "x".repeat(192), handler: "a", trigger: daily230 }, "job.id"],
      [{ id: "ok1", handler: "", trigger: daily230 }, "job.handler"],
      [
        { id: "ok2", handler: "a", trigger: { ...daily230, fields: { hour: 25 } } },
        "job.trigger.cron.hour",
      ],
      [
        { id: "ok3", handler: "a", trigger: { ...daily230, timezone: "Nowhere/City" } },
        "job.trigger.cron.timezone",
      ],
      [{ id: "ok4", handler: "a", trigger: daily230, args: ["x".repeat(70_000)] }, "job.args"],
      [{ id: "ok5", handler: "a", trigger: daily230, maxInstances: 0 }, "job.max_instances"],
      [
        {
          id: "ok6",
          handler: "a",
          trigger: { type: "date", runDate: T0 - 1, timezone: "" },
          paused: false,
        },
        "trigger",
      ],
    ];
    for (const [input, field] of bad) {
      const err = await jobs.addJob(input as never).catch((e: unknown) => e);
      if (field === "trigger") {
        // A past date is fine (the engine decides misfires); it is stored.
        expect(err).toMatchObject({ outcome: "created" });
        continue;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
    }
    for (const id of ["ok1", "ok2", "ok3", "ok4", "ok5"]) {
      await expect(jobs.getJob("default", id)).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it("previews fire times without storing anything", () => {
    expect(
      previewTrigger(
        { type: "crontab", expression: "0 9 * * 1-5", timezone: "" },
        Date.UTC(2026, 0, 2, 10),
        2,
        "UTC",
      ),
    ).toEqual([Date.UTC(2026, 0, 5, 9), Date.UTC(2026, 0, 6, 9)]);
    expect(() => previewTrigger(daily230, T0, 0, "UTC")).toThrow(/count/);
  });
});

describe("job management: review findings", () => {
  const store = SqliteStore.open(":memory:");
  const clock = new ManualClock(T0);
  const { jobs, schedulers, runs } = managers(store, clock);
  const every30s = { type: "interval" as const, seconds: 30, startDate: Number.NaN, timezone: "" };

  beforeAll(() => store.migrate());
  afterAll(() => store.close());

  it("REPLACE of the same interval without a start keeps its grid (a redeploy does not postpone it)", async () => {
    const first = await jobs.addJob({ id: "hb", handler: "hb", trigger: every30s });
    clock.advance(10_000);
    const again = await jobs.addJob({ id: "hb", handler: "hb", trigger: every30s }, "replace");
    expect(again).toEqual({ outcome: "replaced", job: first.job, warnings: [] });
    const changed = await jobs.addJob(
      { id: "hb", handler: "hb", trigger: { ...every30s, seconds: 60 } },
      "replace",
    );
    expect(changed.job.nextRunTime).toBe(T0 + 10_000 + 60_000);
    clock.set(T0);
  });

  it("pausing a paused job or scheduler changes nothing", async () => {
    await jobs.addJob({ id: "pp", handler: "a", trigger: daily230 });
    const paused = await jobs.pauseJob("default", "pp");
    expect(await jobs.pauseJob("default", "pp")).toEqual(paused);
    await expect(schedulers.getScheduler("quiet")).rejects.toBeInstanceOf(NotFoundError);
    const first = await schedulers.pauseScheduler("quiet");
    expect(first).toMatchObject({ name: "quiet", paused: true });
    expect(await schedulers.pauseScheduler("quiet")).toEqual(first);
  });

  it("modifies other fields of a job whose trigger has no fire time left", async () => {
    const end = T0 + 3 * 3_600_000;
    await jobs.addJob({
      id: "ending",
      handler: "a",
      trigger: { type: "crontab", expression: "0 * * * *", timezone: "", endDate: end },
    });
    clock.set(end + 1);
    const { job: renamed } = await jobs.modifyJob({ id: "ending", name: "still here" }, ["name"]);
    expect(renamed.name).toBe("still here");
    await expect(
      jobs.modifyJob(
        {
          id: "ending",
          trigger: { type: "crontab", expression: "0 * * * *", timezone: "", endDate: end },
        },
        ["trigger"],
      ),
    ).rejects.toThrow(/^job\.trigger: has no fire time after now$/);
    clock.set(T0);
  });

  it("does not create a scheduler when a call on one of its jobs fails", async () => {
    await expect(jobs.pauseJob("ghost", "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      jobs.modifyJob({ scheduler: "ghost", id: "nope", name: "x" }, ["name"]),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(schedulers.getScheduler("ghost")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("cancels the runs of a removed job that have not started, with the job", async () => {
    await jobs.addJob({ scheduler: "gone", id: "g1", handler: "a", trigger: daily230 });
    await jobs.addJob({ scheduler: "gone", id: "g2", handler: "a", trigger: daily230 });
    const one = await runs.runJobNow("gone", "g1");
    const two = await runs.runJobNow("gone", "g2");
    expect([one.status, two.status]).toEqual(["pending", "pending"]);
    await jobs.removeJob("gone", "g1");
    expect(await runs.getRun(one.id)).toMatchObject({ status: "cancelled" });
    expect(await runs.getRun(two.id)).toMatchObject({ status: "pending" });
    expect(await jobs.removeAllJobs("gone")).toBe(1);
    expect(await runs.getRun(two.id)).toMatchObject({ status: "cancelled" });
  });

  it("creates nothing when a scheduler's configuration is refused", async () => {
    for (const req of [
      { name: "refused", jobDefaults: { maxInstances: 0 } },
      { name: "refused", timezone: "Nowhere" },
      { name: "refused", updateMask: ["paused"] },
    ]) {
      await expect(schedulers.configureScheduler(req)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(schedulers.getScheduler("refused")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("names the request's fields: AddJobs by index, ModifyJob and RescheduleJob", async () => {
    const fieldOf = (p: Promise<unknown>) =>
      p.then(
        () => "accepted",
        (err: unknown) => (err instanceof InvalidArgumentError ? err.field : String(err)),
      );
    const ok = { handler: "a", trigger: daily230 };
    expect(await fieldOf(jobs.addJobs([], "error"))).toBe("jobs");
    expect(
      await fieldOf(
        jobs.addJobs(
          [
            { id: "n0", ...ok },
            {
              id: "n1",
              ...ok,
              trigger: { type: "or", triggers: [every30s, { ...every30s, seconds: -1 }] },
            },
          ],
          "error",
        ),
      ),
    ).toBe("jobs[1].trigger.any_of.triggers[1].interval.seconds");
    expect(
      await fieldOf(
        jobs.addJobs(
          [
            { id: "n0", ...ok },
            { id: "n0", ...ok },
          ],
          "error",
        ),
      ),
    ).toBe("jobs[1].id");
    await jobs.addJob({ id: "m", ...ok });
    expect(
      await fieldOf(
        jobs.modifyJob(
          {
            id: "m",
            retry: { maxAttempts: 0, initialBackoffMs: 0, maxBackoffMs: 0, multiplier: 2 },
          },
          ["retry_policy"],
        ),
      ),
    ).toBe("job.retry_policy.max_attempts");
    expect(await fieldOf(jobs.modifyJob({ id: "m" }, ["trigger"]))).toBe("job.trigger");
    expect(
      await fieldOf(jobs.rescheduleJob("default", "m", { ...daily230, fields: { hour: 24 } })),
    ).toBe("trigger.cron.hour");
    expect(await fieldOf(jobs.rescheduleJob("default", "a b", daily230))).toBe("job_id");
    expect(await fieldOf(runs.runJobNow("a b", "m"))).toBe("scheduler");
  });

  it("removes a resumed job whose trigger has no fire time left", async () => {
    await jobs.addJob({
      id: "once",
      handler: "a",
      trigger: { type: "crontab", expression: "0 * * * *", timezone: "", endDate: T0 + 3_600_000 },
    });
    await jobs.pauseJob("default", "once");
    clock.set(T0 + 2 * 3_600_000);
    const resumed = await jobs.resumeJob("default", "once");
    expect(resumed.removed).toBe(true);
    await expect(jobs.getJob("default", "once")).rejects.toBeInstanceOf(NotFoundError);
    clock.set(T0);
  });

  it("rejects a page token that is not from this listing, and instants beyond year 9999", async () => {
    await expect(
      jobs.listJobs({ orderBy: "id", pageSize: 10, pageToken: "garbage" }),
    ).rejects.toThrow(/page_token/);
    const idToken = (await jobs.listJobs({ orderBy: "id", pageSize: 1 })).nextPageToken;
    await expect(
      jobs.listJobs({ orderBy: "next_run_time", pageSize: 10, pageToken: idToken }),
    ).rejects.toThrow(/page_token/);
    const far = await jobs
      .addJob({
        id: "far",
        handler: "a",
        trigger: { type: "interval", weeks: 1e6, startDate: Number.NaN, timezone: "" },
      })
      .catch((e: unknown) => e);
    expect(far).toBeInstanceOf(InvalidArgumentError);
    await expect(jobs.getJob("default", "far")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("job management: AddJobs' scheduler look-ups", () => {
  /** The store, counting the most scheduler reads at once, and the creations. */
  const counted = (store: Store) => {
    const seen = { inFlight: 0, mostAtOnce: 0, reads: 0, inserts: 0 };
    const wrapped: Store = Object.create(store) as Store;
    wrapped.getScheduler = async (name) => {
      seen.reads++;
      seen.mostAtOnce = Math.max(seen.mostAtOnce, ++seen.inFlight);
      try {
        return await store.getScheduler(name);
      } finally {
        seen.inFlight--;
      }
    };
    wrapped.insertScheduler = (s) => {
      seen.inserts++;
      return store.insertScheduler(s);
    };
    return { wrapped, seen };
  };
  const sqlite = SqliteStore.open(":memory:");
  const clock = new ManualClock(T0);
  const { wrapped, seen } = counted(sqlite);
  const { jobs } = managers(wrapped, clock);

  beforeAll(() => sqlite.migrate());
  afterAll(() => sqlite.close());

  it("adds 1,000 jobs to a new scheduler with one read and one creation", async () => {
    // The 1,000 jobs are added at once: each used to read the scheduler, find it missing and
    // insert it, 1,000 statements of each kind queued on the store's connections.
    const added = await jobs.addJobs(
      Array.from({ length: 1000 }, (_, i) => ({
        scheduler: "bulk",
        id: `j${String(i)}`,
        handler: "h.bulk",
        trigger: daily230,
      })),
      "error",
    );
    expect(added.every((a) => a.outcome === "created")).toBe(true);
    expect(seen.inserts).toBe(1);
    expect(seen.mostAtOnce).toBe(1);
    // The absent scheduler is remembered: each job's validation used to read it again.
    expect(seen.reads).toBe(1);
  });
});

/** createdAt is set once, when the job is created; every later change keeps it (both stores). */
function keepsCreatedAt(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  return () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const clock = new ManualClock(T0);
    let jobs: JobManager;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      await store.migrate();
      ({ jobs } = managers(store, clock));
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    it("ModifyJob, RescheduleJob, PauseJob, ResumeJob and a replacement keep createdAt", async () => {
      clock.set(T0);
      const { job } = await jobs.addJob({ id: "kept", handler: "a.b", trigger: daily230 });
      expect(job.createdAt).toBe(T0);
      const changes: [string, () => Promise<Job>][] = [
        [
          "modify",
          async () => (await jobs.modifyJob({ id: "kept", name: "renamed" }, ["name"])).job,
        ],
        [
          "reschedule",
          async () =>
            (
              await jobs.rescheduleJob("default", "kept", {
                type: "crontab",
                expression: "0 3 * * *",
                timezone: "",
              })
            ).job,
        ],
        ["pause", () => jobs.pauseJob("default", "kept")],
        ["resume", async () => (await jobs.resumeJob("default", "kept")).job],
        [
          "replace",
          async () =>
            (await jobs.addJob({ id: "kept", handler: "c.d", trigger: daily230 }, "replace")).job,
        ],
      ];
      for (const [i, [what, change]] of changes.entries()) {
        const at = T0 + (i + 1) * 60_000;
        clock.set(at);
        const changed = await change();
        expect({ what, createdAt: changed.createdAt, updatedAt: changed.updatedAt }).toEqual({
          what,
          createdAt: T0,
          updatedAt: at,
        });
        const stored = await jobs.getJob("default", "kept");
        expect({ what, createdAt: stored.createdAt }).toEqual({ what, createdAt: T0 });
      }
    });
  };
}

describe(
  "job management on SQLite: createdAt",
  keepsCreatedAt(() =>
    Promise.resolve({ store: SqliteStore.open(":memory:"), cleanup: () => Promise.resolve() }),
  ),
);

describeMysql(
  "job management on MySQL: createdAt",
  keepsCreatedAt(async () => {
    const db = await createTestDatabase();
    return { store: MysqlStore.open(db.url), cleanup: db.drop };
  }),
);

describe("job management: RemoveAllJobs of a backlog larger than one transaction", () => {
  const sqlite = SqliteStore.open(":memory:");
  // The store, counting the transactions that cancel the rest of a removal.
  let parts = 0;
  const store = new Proxy(sqlite, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      if (name !== "cancelPendingRuns") return value.bind(target) as unknown;
      return (...args: Parameters<Store["cancelPendingRuns"]>) => {
        parts++;
        return sqlite.cancelPendingRuns(...args);
      };
    },
  });
  const clock = new ManualClock(T0);
  const { jobs, runs } = managers(store, clock, 3);
  const events: EventDraft[] = [];
  sqlite.onEventsCommitted((drafts) => events.push(...drafts));

  beforeAll(() => sqlite.migrate());
  afterAll(() => sqlite.close());

  it("cancels every pending run, three per transaction, each with its event, before it answers", async () => {
    await jobs.addJob({ scheduler: "backlog", id: "b1", handler: "a", trigger: daily230 });
    await jobs.addJob({ scheduler: "backlog", id: "b2", handler: "a", trigger: daily230 });
    await jobs.addJob({ scheduler: "kept", id: "k", handler: "a", trigger: daily230 });
    const pending = [];
    for (let i = 0; i < 8; i++) pending.push(await runs.runJobNow("backlog", i < 5 ? "b1" : "b2"));
    const kept = await runs.runJobNow("kept", "k");
    events.length = 0;
    expect(await jobs.removeAllJobs("backlog")).toBe(2);
    for (const run of pending)
      expect(await runs.getRun(run.id)).toMatchObject({ status: "cancelled" });
    expect(await runs.getRun(kept.id)).toMatchObject({ status: "pending" });
    // 3 with the jobs, then 3, 2 (fewer than 3: the last).
    expect(parts).toBe(2);
    expect(events.map((e) => e.type).sort()).toEqual([
      "all_jobs_removed",
      ...Array<string>(8).fill("run_cancelled"),
    ]);
    expect(new Set(events.flatMap((e) => (e.runId === null ? [] : [e.runId])))).toEqual(
      new Set(pending.map((r) => r.id)),
    );
  });
});
