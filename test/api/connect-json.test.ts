/** The Connect protocol's JSON over plain HTTP/1.1, as `curl` speaks it, on the gRPC port. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { ManualClock } from "../support/clock.js";

describe("Connect JSON over HTTP/1.1", () => {
  let server: TestNode;
  const clock = new ManualClock(Date.parse("2026-03-02T08:00:00Z"));
  beforeAll(async () => {
    server = await startTestNode("sqlite:///:memory:", {}, clock);
  });
  afterAll(() => server.stop());

  const call = (path: string, body: unknown) =>
    postJson(server.port, `/metronome.v1.${path}`, body);

  it("adds, gets, lists, modifies and removes a job", async () => {
    const added = await call("JobService/AddJob", {
      job: {
        id: "sync_data",
        handler: "sync.data",
        trigger: { interval: { minutes: 5 } },
        args: ["a", 1],
        kwargs: { full: true },
      },
    });
    expect(added.httpVersion).toBe("1.1");
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({
      outcome: "ADD_JOB_OUTCOME_CREATED",
      job: {
        id: "sync_data",
        scheduler: "default",
        args: ["a", 1],
        kwargs: { full: true },
        nextRunTime: "2026-03-02T08:05:00Z",
        version: "1",
      },
    });
    const got = await call("JobService/GetJob", { jobId: "sync_data" });
    expect(got.body.job).toEqual((added.body as { job: unknown }).job);
    const listed = await call("JobService/ListJobs", {});
    expect((listed.body.jobs as { id: string }[]).map((j) => j.id)).toEqual(["sync_data"]);
    const modified = await call("JobService/ModifyJob", {
      job: { id: "sync_data", name: "Sync" },
      updateMask: "name",
      expectedVersion: "1",
    });
    expect(modified.body).toMatchObject({ job: { name: "Sync", version: "2" } });
    expect((await call("JobService/RemoveJob", { jobId: "sync_data" })).body).toEqual({});
  });

  it("previews a trigger and configures a scheduler", async () => {
    const preview = await call("TriggerService/PreviewTrigger", {
      trigger: { cron: { dayOfWeek: "mon-fri", hour: "9" }, jitter: "5s" },
      timezone: "Asia/Shanghai",
      after: "2026-03-06T02:00:00Z",
      count: 2,
    });
    expect(preview.body).toEqual({ fireTimes: ["2026-03-09T01:00:00Z", "2026-03-10T01:00:00Z"] });
    const configured = await call("SchedulerService/ConfigureScheduler", {
      name: "report",
      timezone: "Asia/Shanghai",
      jobDefaults: { misfireGraceTime: { duration: "30s" } },
    });
    expect(configured.body).toMatchObject({
      created: true,
      scheduler: {
        name: "report",
        timezone: "Asia/Shanghai",
        jobDefaults: { coalesce: true, maxInstances: 1, misfireGraceTime: { duration: "30s" } },
      },
    });
  });

  it("answers errors as Connect JSON with the code and the field", async () => {
    const bad = await call("JobService/AddJob", {
      job: { id: "x", handler: "h", trigger: { crontab: { expression: "0 9 * *" } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      code: "invalid_argument",
      message:
        "job.trigger.crontab.expression: expected 5 fields (minute hour day month weekday) or 6 with a leading second, got 4",
    });
    const missing = await call("JobService/GetJob", { jobId: "nope" });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: "not_found" });
  });

  it("serves the health check", async () => {
    const res = await postJson(server.port, "/grpc.health.v1.Health/Check", {});
    expect(res.body).toEqual({ status: "SERVING" });
  });
});
