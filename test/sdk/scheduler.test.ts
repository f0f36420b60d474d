/**
 * The SDK's management side against a real node (on the embedded SQLite store) and a real SDK
 * worker: every form of addJob (string mode, trigger objects, keywords), job objects,
 * get/pause/resume/reschedule/modify/remove, typed errors, run now and runs, cancellation,
 * scheduledJob, and SchedulerManager's named instances with their settings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  AndTrigger,
  CronTrigger,
  CrontabTrigger,
  DateTrigger,
  EVENT_JOB_AT_RISK,
  EVENT_JOB_EXECUTED,
  FailedPreconditionError,
  IntervalTrigger,
  InvalidArgumentError,
  MetronomeClient,
  NotFoundError,
  OrTrigger,
  SchedulerManager,
  Worker,
  defineHandler,
  type MetronomeEvent,
  type Scheduler,
} from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const processUser = defineHandler(
  "users.process",
  ([userId]: [string], { action = "default" }: { action?: string }) => ({ userId, action }),
);
const slow = defineHandler("users.slow", async (_args: [], _kwargs: Record<string, never>, ctx) => {
  await new Promise<void>((resolve) => {
    ctx.signal.addEventListener("abort", () => {
      resolve();
    });
  });
  return "stopped";
});
const dailyReport = defineHandler("reports.daily", () => "done");

describe("the SDK's scheduler", () => {
  let db: TestStore;
  let node: TestNode;
  let client: MetronomeClient;
  let scheduler: Scheduler;
  let worker: Worker;

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    client = new MetronomeClient({ baseUrl: node.url, logger: quiet });
    scheduler = client.scheduler("sdk");
    worker = new Worker({ baseUrl: node.url, logger: quiet, workerId: "sdk-scheduler" });
    worker.register(processUser).register(slow).register(dailyReport);
    await worker.start();
  });
  afterAll(async () => {
    await scheduler.shutdown();
    client.close();
    await worker.stop({ graceMs: 1000 });
    await node.stop();
    await db.drop();
  });

  it("adds jobs in string mode, with trigger objects and with keywords", async () => {
    const a = await scheduler.addJob(dailyReport, "cron", {
      hour: 2,
      minute: 30,
      id: "daily_report",
    });
    expect(a).toMatchObject({ id: "daily_report", scheduler: "sdk", handler: "reports.daily" });
    if (!(a.trigger instanceof CronTrigger)) throw new Error("not a CronTrigger");
    expect(a.trigger.fields).toMatchObject({ hour: "2", minute: "30" });
    expect(a.nextRunTime?.getUTCHours()).toBe(2);

    const b = await scheduler.addJob(dailyReport, new CronTrigger({ dayOfWeek: "mon", hour: 9 }), {
      id: "weekly_summary",
    });
    expect(b.nextRunTime?.getUTCDay()).toBe(1);
    const c = await scheduler.addJob(dailyReport, CronTrigger.fromCrontab("0 2 * * *"), {
      id: "daily_task",
    });
    expect(c.trigger).toBeInstanceOf(CrontabTrigger);
    const d = await scheduler.addJob(dailyReport, "interval", { seconds: 30, id: "heartbeat" });
    expect(d.trigger).toBeInstanceOf(IntervalTrigger);
    const runAt = new Date(Date.now() + 3_600_000);
    const e = await scheduler.addJob(dailyReport, new DateTrigger({ runDate: runAt }), {
      id: "delayed_task",
    });
    expect(e.nextRunTime?.getTime()).toBe(runAt.getTime());
    const f = await scheduler.addJob({
      func: dailyReport,
      trigger: new OrTrigger([
        new CronTrigger({ hour: 1 }),
        // The first Saturday of the month at noon.
        new AndTrigger([
          new CronTrigger({ dayOfWeek: "sat", hour: 12 }),
          new CronTrigger({ day: "1-7", hour: 12 }),
        ]),
      ]),
      id: "combined",
      name: "Combined schedule",
    });
    expect(f.name).toBe("Combined schedule");
    expect(f.trigger).toBeInstanceOf(OrTrigger);

    const ids = (await scheduler.getJobs()).map((j) => j.id);
    expect(ids).toEqual([
      "combined",
      "daily_report",
      "daily_task",
      "delayed_task",
      "heartbeat",
      "weekly_summary",
    ]);
    expect(await scheduler.getJob("nope")).toBeNull();
    expect((await scheduler.getJob("heartbeat"))?.trigger).toBeInstanceOf(IntervalTrigger);
  });

  it("stores names and arguments with quotes and backslashes exactly", async () => {
    const tricky = `O'Brien \\ "q" \\'; DROP TABLE jobs; -- 你好`;
    const job = await scheduler.addJob(processUser, "interval", {
      hours: 1,
      id: "tricky",
      name: tricky,
      args: [tricky],
      kwargs: { action: tricky },
    });
    expect(job).toMatchObject({ name: tricky, args: [tricky], kwargs: { action: tricky } });
    expect(await scheduler.getJob("tricky")).toMatchObject({ name: tricky, args: [tricky] });
    await scheduler.removeJob("tricky");
  });

  it("maps errors to typed classes", async () => {
    await expect(
      scheduler.addJob(dailyReport, "cron", { hour: 2, id: "daily_report" }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    const replaced = await scheduler.addJob(dailyReport, "cron", {
      hour: 4,
      id: "daily_report",
      replaceExisting: true,
    });
    expect(replaced.nextRunTime?.getUTCHours()).toBe(4);
    const bad = await scheduler
      .addJob(dailyReport, "cron", { hour: 25, id: "bad" })
      .catch((err: unknown) => err);
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as InvalidArgumentError).field).toBe("job.trigger.cron.hour");
    await expect(scheduler.pauseJob("nope")).rejects.toBeInstanceOf(NotFoundError);
    const job = await scheduler.getJob("heartbeat");
    await expect(
      scheduler.modifyJob("heartbeat", { name: "x" }, (job?.version ?? 0) + 5),
    ).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it("pauses, resumes, reschedules, modifies and removes", async () => {
    const paused = await scheduler.pauseJob("heartbeat");
    expect(paused).toMatchObject({ paused: true, nextRunTime: null });
    const resumed = await scheduler.resumeJob("heartbeat");
    expect(resumed).toMatchObject({ paused: false, removed: false });
    expect(resumed.nextRunTime).toBeInstanceOf(Date);
    const moved = await scheduler.rescheduleJob(
      "daily_task",
      new CronTrigger({ hour: 3, minute: 0 }),
    );
    expect(moved.nextRunTime?.getUTCHours()).toBe(3);
    const moved2 = await scheduler.rescheduleJob("daily_task", "cron", { hour: 5 });
    expect(moved2.nextRunTime?.getUTCHours()).toBe(5);
    const modified = await scheduler.modifyJob("heartbeat", {
      name: "Heartbeat",
      maxInstances: 2,
      misfireGraceTime: null,
      timeout: 10,
    });
    expect(modified).toMatchObject({
      name: "Heartbeat",
      maxInstances: 2,
      misfireGraceTime: null,
      timeout: 10,
    });
    const retried = await scheduler.modifyJob("heartbeat", {
      retry: { maxAttempts: 3, initialBackoff: 2, maxBackoff: 60, multiplier: 3 },
      coalesce: false,
    });
    expect(retried).toMatchObject({
      coalesce: false,
      retry: { maxAttempts: 3, initialBackoff: 2, maxBackoff: 60, multiplier: 3 },
      name: "Heartbeat",
    });
    await scheduler.removeJob("delayed_task");
    expect(await scheduler.getJob("delayed_task")).toBeNull();
    await expect(scheduler.removeJob("delayed_task")).rejects.toBeInstanceOf(NotFoundError);
    expect(await scheduler.removeAllJobs()).toBe(5);
    expect(await scheduler.getJobs()).toEqual([]);
  });

  it("runs a job now with typed args, reads its runs and cancels one", async () => {
    const done: MetronomeEvent[] = [];
    let resolveDone: () => void = () => undefined;
    const executed = new Promise<void>((resolve) => (resolveDone = resolve));
    scheduler.addListener((e) => {
      done.push(e);
      resolveDone();
    }, EVENT_JOB_EXECUTED);
    await scheduler.listening();
    await scheduler.addJob(processUser, "cron", {
      hour: 3,
      id: "process_user_sync",
      args: ["user123"],
      kwargs: { action: "sync" },
    });
    const run = await scheduler.runJob("process_user_sync");
    expect(run).toMatchObject({ jobId: "process_user_sync", manual: true });
    await executed;
    expect(done[0]).toMatchObject({
      type: "job_executed",
      jobId: "process_user_sync",
      result: { userId: "user123", action: "sync" },
    });
    const runs = await scheduler.getRuns({ jobId: "process_user_sync", statuses: ["succeeded"] });
    expect(runs.map((r) => [r.runId, r.status, r.result])).toEqual([
      [run.runId, "succeeded", { userId: "user123", action: "sync" }],
    ]);
    expect(run.runId).toBe(done[0]?.type === "job_executed" ? done[0].runId : undefined);
    // The deprecated alias answers the same, and stays out of spreads and JSON.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the alias under test
    expect(run.id).toBe(run.runId);
    expect(Object.keys(run)).not.toContain("id");

    await scheduler.addJob(slow, "interval", { hours: 1, id: "slow" });
    const started = await scheduler.runJob("slow");
    const cancelled = await scheduler.cancelRun(started.runId, "no longer needed");
    expect(cancelled).toMatchObject({ status: "cancelled", statusReason: "no longer needed" });
  }, 20_000);

  it('"crontab" in string mode; warnings about numeric days returned and logged once', async () => {
    const warned: unknown[] = [];
    const logger = {
      ...quiet,
      warn: (o: Record<string, unknown> | string) => {
        if (typeof o === "object") warned.push(o.warning);
      },
    };
    const own = new MetronomeClient({ baseUrl: node.url, logger });
    try {
      const s = own.scheduler("foot-guns");
      const weekdays = await s.addJob(dailyReport, "crontab", {
        expression: "0 9 * * 1-5",
        id: "weekdays",
        startDate: new Date(Date.UTC(2030, 0, 1)),
      });
      if (!(weekdays.trigger instanceof CrontabTrigger)) throw new Error("not a CrontabTrigger");
      expect(weekdays.trigger.expression).toBe("0 9 * * 1-5");
      // Crontab numbering: 1-5 is Monday to Friday; 2030-01-01 is a Tuesday.
      expect(weekdays.nextRunTime?.toISOString()).toBe("2030-01-01T09:00:00.000Z");
      expect(weekdays.warnings).toEqual([]);
      const moved = await s.rescheduleJob("weekdays", "crontab", { expression: "0 10 * * 0" });
      expect(moved.nextRunTime?.getUTCDay()).toBe(0); // 0 = Sunday in crontab

      // The field form numbers days from 0 = Monday: "1-5" is Tuesday to Saturday.
      const first = await s.addJob(dailyReport, "cron", { dayOfWeek: "1-5", hour: 9, id: "f1" });
      const warning =
        'job.trigger.cron.day_of_week: "1-5" numbers the days from 0 = Monday (the cron field form, as in APScheduler 3), so it means "tue-sat", not what crontab means by the same numbers (0 and 7 = Sunday). Write day names to say which days you mean (e.g. "mon-fri" for Monday to Friday), or use a crontab trigger for crontab numbering';
      expect(first.warnings).toEqual([warning]);
      const again = await s.addJob(dailyReport, "cron", { dayOfWeek: "1-5", hour: 9, id: "f2" });
      expect(again.warnings).toEqual([warning]);
      const rescheduled = await s.rescheduleJob("f2", "cron", { dayOfWeek: 0 });
      expect(rescheduled.warnings).toEqual([expect.stringContaining('so it means "mon"')]);
      const named = await s.modifyJob("f2", { trigger: new CronTrigger({ dayOfWeek: "mon-fri" }) });
      expect(named.warnings).toEqual([]);
      expect((await s.getJob("f1"))?.warnings).toEqual([]);
      // Logged once per text, however many answers carried it.
      expect(warned).toEqual([warning, rescheduled.warnings[0]]);

      // A crontab line in a cron field is refused with a hint.
      const err = await s
        .addJob(dailyReport, "cron", { minute: "0 9 * * 1-5", id: "f3" })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).message).toMatch(/use a crontab trigger/);
      await s.removeAllJobs();
    } finally {
      own.close();
    }
  });

  it("workerCount and job_at_risk tell of a handler no worker serves", async () => {
    const s = client.scheduler("at-risk");
    const risks: MetronomeEvent[] = [];
    let seen: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (seen = resolve));
    s.addListener((e) => {
      risks.push(e);
      seen();
    }, EVENT_JOB_AT_RISK);
    await s.listening();
    const served = await s.addJob(dailyReport, "cron", { hour: 3, id: "served" });
    expect(served.workerCount).toBe(1); // the worker of this suite registered reports.daily
    const orphan = await s.addJob("nobody.serves", "cron", { hour: 3, id: "orphan" });
    expect(orphan.workerCount).toBe(0);
    expect((await s.getJobs()).map((j) => [j.id, j.workerCount])).toEqual([
      ["orphan", 0],
      ["served", 1],
    ]);
    const run = await s.runJob("orphan");
    await arrived;
    expect(risks).toEqual([
      expect.objectContaining({
        type: "job_at_risk",
        code: EVENT_JOB_AT_RISK,
        scheduler: "at-risk",
        jobId: "orphan",
        handler: "nobody.serves",
        runId: run.runId,
        manual: true,
        reason: "no connected worker serves the handler",
      }),
    ]);
    await s.removeAllJobs();
    await s.shutdown();
  });

  it("scheduledJob adds its job at start, replacing one from an earlier deploy", async () => {
    const s = client.scheduler("decorated");
    const handler = s.scheduledJob(new IntervalTrigger({ minutes: 5 }), { name: "Sync" })(
      defineHandler("sync.external", () => undefined),
    );
    expect(handler.name).toBe("sync.external");
    expect(await s.getJobs()).toEqual([]);
    await s.start();
    await s.start(); // a second deploy declares it again: replaced, not duplicated
    const jobs = await s.getJobs();
    expect(jobs.map((j) => [j.id, j.name, j.handler])).toEqual([
      ["sync.external", "Sync", "sync.external"],
    ]);
  });

  it("scheduledJob with id: undefined (an unset variable) uses the handler name", async () => {
    const s = client.scheduler("decorated-undefined-id");
    const unset: string | undefined = process.env.METRONOME_TEST_UNSET_JOB_ID;
    s.scheduledJob(new IntervalTrigger({ minutes: 5 }), { id: unset, name: "Sync" })(
      defineHandler("sync.unset", () => undefined),
    );
    await s.start();
    await s.start(); // the next deploy: replaced, not a second job with a generated id
    const jobs = await s.getJobs();
    expect(jobs.map((j) => [j.id, j.name])).toEqual([["sync.unset", "Sync"]]);
  });
});

describe("SchedulerManager", () => {
  describe("named instances with settings", () => {
    let db: TestStore;
    let node: TestNode;

    beforeAll(async () => {
      db = await createSqliteStore();
      node = await startTestNode(db.url);
      SchedulerManager.configure({ baseUrl: node.url, logger: quiet });
    });
    afterAll(async () => {
      await SchedulerManager.shutdown();
      await node.stop();
      await db.drop();
    });

    it("gives one scheduler per name and applies its time zone and job defaults", async () => {
      const scheduler = SchedulerManager.getInstance();
      expect(SchedulerManager.getInstance("default")).toBe(scheduler);
      const report = SchedulerManager.getInstance("report", {
        timezone: "Asia/Shanghai",
        jobDefaults: { coalesce: true, maxInstances: 3, misfireGraceTime: 60 },
      });
      expect(report.name).toBe("report");
      const job = await report.addJob("reports.build", "cron", { hour: 2, id: "nightly" });
      // 02:00 in Shanghai is 18:00 UTC; the scheduler's defaults apply to the job.
      expect(job.nextRunTime?.getUTCHours()).toBe(18);
      expect(job).toMatchObject({ maxInstances: 3, coalesce: true, misfireGraceTime: 60 });
      const plain = await scheduler.addJob("reports.build", "cron", { hour: 2, id: "nightly" });
      expect(plain.nextRunTime?.getUTCHours()).toBe(2);
      expect(plain.maxInstances).toBe(1);
    });

    it("after shutdown, getInstance connects again with the configuration it had", async () => {
      await SchedulerManager.shutdown();
      // Not METRONOME_URL or 127.0.0.1:8080: the node configured above, which has the job.
      const again = SchedulerManager.getInstance("report");
      expect(await again.getJob("nightly")).toMatchObject({ id: "nightly", maxInstances: 3 });
    });
  });
});
