/**
 * Every management RPC through @grpc/grpc-js + @grpc/proto-loader (reading proto/), against a
 * real node on HTTP/2, once on the embedded SQLite store and once on a real MariaDB database.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ManualClock } from "../support/clock.js";
import {
  grpcJsClients,
  iso,
  list,
  seconds,
  struct,
  unstruct,
  unvalue,
  type GrpcJsClients,
  type Reply,
} from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import type { TestStore } from "../support/stores.js";

const NOW = "2026-03-02T08:00:00.000Z"; // a Monday

describeEachStore(
  "management RPCs over @grpc/grpc-js",
  (createStore) => {
    let db: TestStore;
    let server: TestNode;
    let c: GrpcJsClients;
    const clock = new ManualClock(Date.parse(NOW));

    beforeAll(async () => {
      db = await createStore();
      server = await startTestNode(db.url, {}, clock);
      c = grpcJsClients(server.port);
    });
    afterAll(async () => {
      c.close();
      await server.stop();
      await db.drop();
    });

    const job = (r: Reply) => r.job as Reply;
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "OK",
        (e: unknown) => status[(e as { code: number }).code],
      );

    it("configures, gets, lists, pauses and resumes schedulers", async () => {
      const configured = await c.scheduler("ConfigureScheduler", {
        name: "report",
        timezone: "Asia/Shanghai",
        job_defaults: { max_instances: 3, misfire_grace_time: { no_limit: true } },
      });
      expect(configured.created).toBe(true);
      expect(configured.scheduler).toMatchObject({
        name: "report",
        timezone: "Asia/Shanghai",
        paused: false,
        job_defaults: {
          coalesce: true,
          max_instances: 3,
          misfire_grace_time: { no_limit: true, value: "no_limit" },
        },
      });
      const again = await c.scheduler("ConfigureScheduler", {
        name: "report",
        job_defaults: { coalesce: false },
      });
      expect(again.created).toBe(false);
      expect(again.scheduler).toMatchObject({
        timezone: "Asia/Shanghai",
        job_defaults: { coalesce: false, max_instances: 3 },
      });
      // A mask naming an unset field resets it to the server default.
      const reset = await c.scheduler("ConfigureScheduler", {
        name: "report",
        update_mask: { paths: ["job_defaults.max_instances"] },
      });
      expect(reset.scheduler).toMatchObject({
        job_defaults: { coalesce: false, max_instances: 1 },
      });

      expect((await c.scheduler("GetScheduler", { name: "report" })).scheduler).toMatchObject({
        name: "report",
      });
      expect(await code(c.scheduler("GetScheduler", { name: "nobody" }))).toBe("NOT_FOUND");
      await c.scheduler("ConfigureScheduler", { name: "cleanup" });
      const page1 = await c.scheduler("ListSchedulers", { page_size: 1 });
      expect((page1.schedulers as Reply[]).map((s) => s.name)).toEqual(["cleanup"]);
      const page2 = await c.scheduler("ListSchedulers", {
        page_size: 1,
        page_token: page1.next_page_token,
      });
      expect((page2.schedulers as Reply[]).map((s) => s.name)).toEqual(["report"]);
      expect(page2.next_page_token).toBe("");

      expect((await c.scheduler("PauseScheduler", { name: "report" })).scheduler).toMatchObject({
        paused: true,
      });
      expect((await c.scheduler("ResumeScheduler", { name: "report" })).scheduler).toMatchObject({
        paused: false,
      });
    });

    it("adds jobs with each conflict policy, and gets them back intact", async () => {
      const request = {
        job: {
          id: "daily_report",
          handler: "reports.daily",
          trigger: { cron: { hour: "2", minute: "30" } },
          args: list(["user123", 42, 1.5, true, null, ["nested"]]),
          kwargs: struct({ action: "sync", 数据: { deep: [1, 2] } }),
        },
      };
      const added = await c.job("AddJob", request);
      expect(added.outcome).toBe("ADD_JOB_OUTCOME_CREATED");
      expect(job(added)).toMatchObject({
        id: "daily_report",
        scheduler: "default",
        name: "reports.daily",
        version: "1",
        paused: false,
      });
      expect(iso(job(added).next_run_time)).toBe("2026-03-03T02:30:00.000Z");
      expect(await code(c.job("AddJob", request))).toBe("ALREADY_EXISTS");
      const kept = await c.job("AddJob", {
        ...request,
        conflict_policy: "CONFLICT_POLICY_KEEP_EXISTING",
        job: { ...request.job, name: "other" },
      });
      expect(kept).toMatchObject({
        outcome: "ADD_JOB_OUTCOME_KEPT_EXISTING",
        job: { name: "reports.daily", version: "1" },
      });
      const replaced = await c.job("AddJob", {
        ...request,
        conflict_policy: "CONFLICT_POLICY_REPLACE",
        job: { ...request.job, name: "Daily report" },
      });
      expect(replaced).toMatchObject({
        outcome: "ADD_JOB_OUTCOME_REPLACED",
        job: { name: "Daily report", version: "2" },
      });

      const got = job(await c.job("GetJob", { job_id: "daily_report" }));
      expect((got.args as { values: Reply[] }).values.map(unvalue)).toEqual([
        "user123",
        42,
        1.5,
        true,
        null,
        ["nested"],
      ]);
      expect(unstruct(got.kwargs as Reply)).toEqual({ action: "sync", 数据: { deep: [1, 2] } });
      expect(got.trigger).toMatchObject({ cron: { hour: "2", minute: "30", timezone: "UTC" } });

      const generated = job(
        await c.job("AddJob", { job: { handler: "hb", trigger: { interval: { seconds: 30 } } } }),
      );
      expect(generated.id).toMatch(/^[0-9a-f]{32}$/);
      expect(iso(generated.next_run_time)).toBe("2026-03-02T08:00:30.000Z");
      await c.job("RemoveJob", { job_id: generated.id });
    });

    it("lists with filters, order and pages", async () => {
      for (const [id, hour] of [
        ["b", "5"],
        ["a", "7"],
        ["c", "6"],
      ] as const) {
        await c.job("AddJob", {
          job: {
            scheduler: "listing",
            id,
            handler: id === "a" ? "h.a" : "h.other",
            trigger: { cron: { hour } },
          },
        });
      }
      await c.job("PauseJob", { scheduler: "listing", job_id: "c" });
      const ids = async (req: object) =>
        ((await c.job("ListJobs", { scheduler: "listing", ...req })).jobs as Reply[]).map(
          (j) => j.id,
        );
      expect(await ids({})).toEqual(["a", "b", "c"]);
      expect(await ids({ order_by: "JOB_ORDER_NEXT_RUN_TIME" })).toEqual(["b", "a", "c"]);
      expect(await ids({ handler: "h.a" })).toEqual(["a"]);
      expect(await ids({ paused: true })).toEqual(["c"]);
      expect(await ids({ paused: false })).toEqual(["a", "b"]);
      expect(await ids({ id_prefix: "b" })).toEqual(["b"]);
      const first = await c.job("ListJobs", { scheduler: "listing", page_size: 2 });
      expect((first.jobs as Reply[]).map((j) => j.id)).toEqual(["a", "b"]);
      const second = await c.job("ListJobs", {
        scheduler: "listing",
        page_size: 2,
        page_token: first.next_page_token,
      });
      expect((second.jobs as Reply[]).map((j) => j.id)).toEqual(["c"]);
      expect(second.next_page_token).toBe("");
    });

    it("modifies by field mask with compare-and-set, reschedules, pauses and resumes", async () => {
      const added = job(
        await c.job("AddJob", {
          job: {
            id: "mod",
            handler: "a.b",
            trigger: { crontab: { expression: "0 9 * * *" } },
            args: list([1]),
          },
        }),
      );
      const modified = job(
        await c.job("ModifyJob", {
          job: { id: "mod", name: "renamed", args: list([2]), max_instances: 4 },
          update_mask: { paths: ["name", "args", "max_instances"] },
          expected_version: added.version,
        }),
      );
      expect(modified).toMatchObject({ name: "renamed", max_instances: 4, version: "2" });
      expect(
        await code(
          c.job("ModifyJob", {
            job: { id: "mod", name: "x" },
            update_mask: { paths: ["name"] },
            expected_version: "1",
          }),
        ),
      ).toBe("FAILED_PRECONDITION");

      const rescheduled = job(
        await c.job("RescheduleJob", {
          job_id: "mod",
          trigger: { crontab: { expression: "0 3 * * *", timezone: "Asia/Shanghai" } },
        }),
      );
      expect(iso(rescheduled.next_run_time)).toBe("2026-03-02T19:00:00.000Z");

      const paused = job(await c.job("PauseJob", { job_id: "mod" }));
      expect(paused.paused).toBe(true);
      expect(paused.next_run_time).toBeNull();
      clock.set(Date.parse("2026-03-10T00:00:00Z"));
      const resumed = await c.job("ResumeJob", { job_id: "mod" });
      expect(resumed.removed).toBe(false);
      expect(iso(job(resumed).next_run_time)).toBe("2026-03-10T19:00:00.000Z");
      clock.set(Date.parse(NOW));
    });

    it("removes one job and all jobs of a scheduler", async () => {
      await c.job("AddJob", {
        job: { scheduler: "gone", id: "g1", handler: "a", trigger: { cron: { hour: "1" } } },
      });
      await c.job("AddJob", {
        job: { scheduler: "gone", id: "g2", handler: "a", trigger: { cron: { hour: "1" } } },
      });
      expect(await c.job("RemoveJob", { scheduler: "gone", job_id: "g1" })).toEqual({});
      expect(await code(c.job("RemoveJob", { scheduler: "gone", job_id: "g1" }))).toBe("NOT_FOUND");
      expect(await c.job("RemoveAllJobs", { scheduler: "gone" })).toEqual({ removed_count: "1" });
      expect(await code(c.job("GetJob", { scheduler: "gone", job_id: "g2" }))).toBe("NOT_FOUND");
    });

    it("previews fire times", async () => {
      const res = await c.trigger("PreviewTrigger", {
        trigger: { crontab: { expression: "0 9 * * 1-5", timezone: "Asia/Shanghai" } },
        after: seconds("2026-03-06T02:00:00Z"),
        count: 2,
      });
      expect((res.fire_times as unknown[]).map(iso)).toEqual([
        "2026-03-09T01:00:00.000Z",
        "2026-03-10T01:00:00.000Z",
      ]);
    });

    it("adds jobs in bulk: all validated first, then each added with the conflict policy", async () => {
      const cron = { cron: { hour: "4" } };
      await c.job("AddJob", { job: { id: "bulk-existing", handler: "h.bulk", trigger: cron } });
      const added = (await c.job("AddJobs", {
        jobs: [
          { id: "bulk-1", handler: "h.bulk", trigger: cron, args: list([1]) },
          { id: "bulk-existing", handler: "h.other", trigger: cron },
          { handler: "h.bulk", trigger: cron },
        ],
      })) as { results: Reply[] };
      expect(added.results.map((r) => r.outcome)).toEqual([
        "ADD_JOB_OUTCOME_CREATED",
        "ADD_JOB_OUTCOME_ALREADY_EXISTS",
        "ADD_JOB_OUTCOME_CREATED",
      ]);
      expect(job(added.results[1] as Reply)).toMatchObject({
        id: "bulk-existing",
        handler: "h.bulk",
      });
      expect(String(job(added.results[2] as Reply).id)).toMatch(/^[0-9a-f]{32}$/);
      const replaced = (await c.job("AddJobs", {
        jobs: [{ id: "bulk-existing", handler: "h.other", trigger: cron }],
        conflict_policy: "CONFLICT_POLICY_REPLACE",
      })) as { results: Reply[] };
      expect(replaced.results[0]).toMatchObject({
        outcome: "ADD_JOB_OUTCOME_REPLACED",
        job: { handler: "h.other" },
      });

      // One invalid job fails the call, naming it, and nothing is added.
      const invalid = c.job("AddJobs", {
        jobs: [
          { id: "bulk-never-1", handler: "h.bulk", trigger: cron },
          { id: "bulk-never-2", handler: "h.bulk", trigger: { cron: { hour: "25" } } },
        ],
      });
      await expect(invalid).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringContaining("jobs[1].trigger.cron.hour") as unknown,
      });
      expect(await code(c.job("GetJob", { job_id: "bulk-never-1" }))).toBe("NOT_FOUND");
      await expect(
        c.job("AddJobs", {
          jobs: [
            { id: "bulk-twice", handler: "h.bulk", trigger: cron },
            { id: "bulk-twice", handler: "h.bulk", trigger: cron },
          ],
        }),
      ).rejects.toMatchObject({ details: expect.stringContaining("jobs[1].id") as unknown });
      expect(await code(c.job("GetJob", { job_id: "bulk-twice" }))).toBe("NOT_FOUND");
      expect(await code(c.job("AddJobs", { jobs: [] }))).toBe("INVALID_ARGUMENT");
    });

    it("answers the standard health check", async () => {
      expect(await c.health("Check", { service: "" })).toEqual({ status: "SERVING" });
      expect(await c.health("Check", { service: "metronome.v1.JobService" })).toEqual({
        status: "SERVING",
      });
      expect(await code(c.health("Check", { service: "nope" }))).toBe("NOT_FOUND");
    });

    it("runs a job now, then gets, lists and cancels the run", async () => {
      await c.job("AddJob", {
        job: {
          id: "run_now",
          handler: "reports.adhoc",
          trigger: { cron: { hour: "3" } },
          args: list(["a", 1]),
          kwargs: struct({ k: "v" }),
        },
      });
      const { run } = (await c.job("RunJobNow", { job_id: "run_now" })) as { run: Reply };
      expect(run).toMatchObject({
        job_id: "run_now",
        scheduler: "default",
        handler: "reports.adhoc",
        manual: true,
        attempt: 1,
        status: "RUN_STATUS_PENDING",
      });
      const runId = run.run_id as string;
      expect(((await c.run("GetRun", { run_id: runId })) as { run: Reply }).run).toMatchObject({
        run_id: runId,
        status: "RUN_STATUS_PENDING",
      });
      const listed = (await c.run("ListRuns", { job_id: "run_now" })) as { runs: Reply[] };
      expect(listed.runs.map((r) => r.run_id)).toEqual([runId]);
      const pendingOnly = (await c.run("ListRuns", {
        job_id: "run_now",
        statuses: ["RUN_STATUS_SUCCEEDED"],
      })) as { runs?: Reply[] };
      expect(pendingOnly.runs ?? []).toEqual([]);
      // A second manual run is another run (max_instances is decided when runs are handed out).
      const second = (await c.job("RunJobNow", { job_id: "run_now" })) as { run: Reply };
      expect(second.run).toMatchObject({ status: "RUN_STATUS_PENDING", manual: true });
      expect(second.run.run_id).not.toBe(runId);
      const cancelled = (await c.run("CancelRun", { run_id: runId, reason: "not today" })) as {
        run: Reply;
      };
      expect(cancelled.run).toMatchObject({
        status: "RUN_STATUS_CANCELLED",
        status_reason: "not today",
      });
      // Cancelling again changes nothing; a run that ended otherwise cannot be cancelled.
      expect(((await c.run("CancelRun", { run_id: runId })) as { run: Reply }).run).toMatchObject({
        status: "RUN_STATUS_CANCELLED",
        status_reason: "not today",
      });
      await c.run("CancelRun", { run_id: second.run.run_id });
      expect(await code(c.run("GetRun", { run_id: "nope" }))).toBe("NOT_FOUND");
      expect(await code(c.job("RunJobNow", { job_id: "nope" }))).toBe("NOT_FOUND");
      expect(await code(c.run("ListRuns", { statuses: ["RUN_STATUS_UNSPECIFIED"] }))).toBe(
        "INVALID_ARGUMENT",
      );
    });
  },
  { cluster: true },
);
