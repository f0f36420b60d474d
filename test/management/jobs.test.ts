import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../../server/src/domain/errors.js";
import type { Job } from "../../server/src/domain/jobs.js";
import { JobManager } from "../../server/src/management/jobs.js";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import type { Store } from "../../server/src/store/port.js";
import { ManualClock } from "../support/clock.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const daily230 = { type: "cron" as const, fields: { hour: 2, minute: 30 }, timezone: "" };

describe("job management", () => {
  const store = SqliteStore.open(":memory:");
  const clock = new ManualClock(T0);
  const jobs = new JobManager(store, clock, {
    timezone: "UTC",
    settings: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
  });

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
    await jobs.configureScheduler("report", {
      timezone: "Asia/Shanghai",
      defaults: { maxInstances: 3, misfireGraceTimeMs: null },
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
    const changed = await jobs.modifyJob(
      "default",
      "mod",
      { name: "renamed", args: [2], kwargs: { ignored: true } },
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
    await expect(
      jobs.modifyJob("default", "mod", { name: "x" }, ["name"], 1),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(jobs.modifyJob("default", "mod", { name: "x" }, ["paused"])).rejects.toThrow(
      /cannot modify "paused"/,
    );
    await expect(jobs.modifyJob("default", "mod", {}, [])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("reschedules, pauses and resumes from now without catch-up", async () => {
    await jobs.addJob({ id: "p", handler: "a.b", trigger: daily230 });
    const re = await jobs.rescheduleJob("default", "p", {
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
      [{ id: "bad id!", handler: "a", trigger: daily230 }, "id"],
      [{ id: "x".repeat(192), handler: "a", trigger: daily230 }, "id"],
      [{ id: "ok1", handler: "", trigger: daily230 }, "handler"],
      [
        { id: "ok2", handler: "a", trigger: { ...daily230, fields: { hour: 25 } } },
        "trigger.fields.hour",
      ],
      [
        { id: "ok3", handler: "a", trigger: { ...daily230, timezone: "Nowhere/City" } },
        "trigger.timezone",
      ],
      [{ id: "ok4", handler: "a", trigger: daily230, args: ["x".repeat(70_000)] }, "args"],
      [{ id: "ok5", handler: "a", trigger: daily230, maxInstances: 0 }, "max_instances"],
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
      jobs.previewTrigger(
        { type: "crontab", expression: "0 9 * * 1-5", timezone: "" },
        Date.UTC(2026, 0, 2, 10),
        2,
      ),
    ).toEqual([Date.UTC(2026, 0, 5, 9), Date.UTC(2026, 0, 6, 9)]);
    expect(() => jobs.previewTrigger(daily230, T0, 0)).toThrow(/count/);
  });
});

describe("job management: review findings", () => {
  const store = SqliteStore.open(":memory:");
  const clock = new ManualClock(T0);
  const jobs = new JobManager(store, clock, {
    timezone: "UTC",
    settings: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
  });
  const every30s = { type: "interval" as const, seconds: 30, startDate: Number.NaN, timezone: "" };

  beforeAll(() => store.migrate());
  afterAll(() => store.close());

  it("REPLACE of the same interval without a start keeps its grid (a redeploy does not postpone it)", async () => {
    const first = await jobs.addJob({ id: "hb", handler: "hb", trigger: every30s });
    clock.advance(10_000);
    const again = await jobs.addJob({ id: "hb", handler: "hb", trigger: every30s }, "replace");
    expect(again).toEqual({ outcome: "replaced", job: first.job });
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
    const first = await jobs.configureScheduler("quiet", { paused: true });
    expect(first.created).toBe(true);
    expect(await jobs.configureScheduler("quiet", { paused: true })).toEqual({
      scheduler: first.scheduler,
      created: false,
    });
  });

  it("modifies other fields of a job whose trigger has no fire time left", async () => {
    const end = T0 + 3 * 3_600_000;
    await jobs.addJob({
      id: "ending",
      handler: "a",
      trigger: { type: "crontab", expression: "0 * * * *", timezone: "", endDate: end },
    });
    clock.set(end + 1);
    const renamed = await jobs.modifyJob("default", "ending", { name: "still here" }, ["name"]);
    expect(renamed.name).toBe("still here");
    await expect(
      jobs.modifyJob(
        "default",
        "ending",
        { trigger: { type: "crontab", expression: "0 * * * *", timezone: "", endDate: end } },
        ["trigger"],
      ),
    ).rejects.toThrow(/no fire time after now/);
    clock.set(T0);
  });

  it("does not create a scheduler when a call on one of its jobs fails", async () => {
    await expect(jobs.pauseJob("ghost", "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(jobs.modifyJob("ghost", "nope", { name: "x" }, ["name"])).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(jobs.getScheduler("ghost")).rejects.toBeInstanceOf(NotFoundError);
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
      jobs = new JobManager(store, clock, {
        timezone: "UTC",
        settings: { coalesce: true, maxInstances: 1, misfireGraceTimeMs: 60_000 },
      });
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
        ["modify", () => jobs.modifyJob("default", "kept", { name: "renamed" }, ["name"])],
        [
          "reschedule",
          () =>
            jobs.rescheduleJob("default", "kept", {
              type: "crontab",
              expression: "0 3 * * *",
              timezone: "",
            }),
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
