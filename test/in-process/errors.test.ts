/**
 * Malformed requests (each INVALID_ARGUMENT naming the field, the stored data unchanged), and
 * bearer tokens, through the API's router and interceptor in process
 * (test/support/in-process.ts), as Connect JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const valid = { id: "ok", handler: "reports.daily", trigger: { cron: { hour: "2" } } };
const withJob = (job: Record<string, unknown>) => ({ job: { ...valid, ...job } });

// [description, RPC path, request body, the field the error must name]
const malformed: [string, string, unknown, string][] = [
  ["id of the wrong type", "JobService/AddJob", withJob({ id: 5 }), "metronome.v1.Job.id"],
  [
    "args not a list",
    "JobService/AddJob",
    withJob({ args: { a: 1 } }),
    "google.protobuf.ListValue",
  ],
  ["unknown field", "JobService/AddJob", withJob({ colour: "red" }), "colour"],
  ["id with unsafe characters", "JobService/AddJob", withJob({ id: "a/../b" }), "job.id"],
  ["id with a space", "JobService/AddJob", withJob({ id: "daily report" }), "job.id"],
  ["id too long", "JobService/AddJob", withJob({ id: "x".repeat(192) }), "job.id"],
  [
    "scheduler with unsafe characters",
    "JobService/AddJob",
    withJob({ scheduler: "r e p" }),
    "job.scheduler",
  ],
  ["missing handler", "JobService/AddJob", withJob({ handler: "" }), "job.handler"],
  // A refused add to a scheduler that does not exist yet must not create it.
  [
    "bad trigger for a new scheduler",
    "JobService/AddJob",
    withJob({ scheduler: "fresh", trigger: { cron: { hour: "24" } } }),
    "job.trigger.cron.hour",
  ],
  [
    "one bad job of two for new schedulers",
    "JobService/AddJobs",
    {
      jobs: [
        { ...valid, scheduler: "fresh1" },
        { ...valid, scheduler: "fresh2", handler: "" },
      ],
    },
    "jobs[1].handler",
  ],
  [
    "handler with unsafe characters",
    "JobService/AddJob",
    withJob({ handler: "rm -rf" }),
    "job.handler",
  ],
  ["name with a control character", "JobService/AddJob", withJob({ name: "a\u0007b" }), "job.name"],
  ["name too long", "JobService/AddJob", withJob({ name: "名".repeat(192) }), "job.name"],
  ["missing trigger", "JobService/AddJob", withJob({ trigger: undefined }), "job.trigger"],
  ["trigger without a kind", "JobService/AddJob", withJob({ trigger: {} }), "job.trigger"],
  [
    "unknown time zone",
    "JobService/AddJob",
    withJob({ trigger: { cron: { hour: "2", timezone: "Mars/Olympus" } } }),
    "job.trigger.cron.timezone",
  ],
  [
    "hour out of range",
    "JobService/AddJob",
    withJob({ trigger: { cron: { hour: "24" } } }),
    "job.trigger.cron.hour",
  ],
  [
    "malformed crontab",
    "JobService/AddJob",
    withJob({ trigger: { crontab: { expression: "* * *" } } }),
    "job.trigger.crontab.expression",
  ],
  [
    "Feb 30 never fires",
    "JobService/AddJob",
    withJob({ trigger: { cron: { month: "2", day: "30" } } }),
    "job.trigger.cron",
  ],
  [
    "zero interval",
    "JobService/AddJob",
    withJob({ trigger: { interval: {} } }),
    "job.trigger.interval",
  ],
  [
    "end before start",
    "JobService/AddJob",
    withJob({
      trigger: {
        crontab: {
          expression: "0 * * * *",
          startDate: "2030-01-02T00:00:00Z",
          endDate: "2030-01-01T00:00:00Z",
        },
      },
    }),
    "job.trigger.crontab.end_date",
  ],
  [
    "bad sub-trigger",
    "JobService/AddJob",
    withJob({
      trigger: { anyOf: { triggers: [{ cron: { hour: "1" } }, { cron: { minute: "99" } }] } },
    }),
    "job.trigger.any_of.triggers[1].cron.minute",
  ],
  ["max_instances 0", "JobService/AddJob", withJob({ maxInstances: 0 }), "job.max_instances"],
  [
    "misfire no_limit false",
    "JobService/AddJob",
    withJob({ misfireGraceTime: { noLimit: false } }),
    "job.misfire_grace_time.no_limit",
  ],
  ["negative timeout", "JobService/AddJob", withJob({ timeout: "-5s" }), "job.timeout"],
  [
    "retry with 0 attempts",
    "JobService/AddJob",
    withJob({ retryPolicy: { maxAttempts: 0 } }),
    "job.retry_policy.max_attempts",
  ],
  [
    "empty field mask",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "" },
    "update_mask",
  ],
  [
    "unknown mask path",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "paused" },
    "update_mask",
  ],
  [
    "mask path of an immutable field",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "id" },
    "update_mask",
  ],
  [
    "mask unsetting the trigger",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "trigger" },
    "job.trigger",
  ],
  [
    "mask unsetting the handler",
    "JobService/ModifyJob",
    { job: { id: "seed" }, updateMask: "handler" },
    "job.handler",
  ],
  [
    "modify with a bad new trigger",
    "JobService/ModifyJob",
    { job: { id: "seed", trigger: { cron: { hour: "x" } } }, updateMask: "trigger" },
    "job.trigger.cron.hour",
  ],
  [
    "reschedule with a bad trigger",
    "JobService/RescheduleJob",
    { jobId: "seed", trigger: { crontab: { expression: "61 * * * *" } } },
    "trigger.crontab.expression",
  ],
  ["get with an unsafe id", "JobService/GetJob", { jobId: "../etc" }, "job_id"],
  ["negative page size", "JobService/ListJobs", { pageSize: -1 }, "page_size"],
  [
    "preview count too large",
    "TriggerService/PreviewTrigger",
    { trigger: { cron: { hour: "1" } }, count: 101 },
    "count",
  ],
  [
    "scheduler with a bad time zone",
    "SchedulerService/ConfigureScheduler",
    { name: "default", timezone: "Nowhere" },
    "timezone",
  ],
  [
    "scheduler with max_instances 0",
    "SchedulerService/ConfigureScheduler",
    { name: "default", jobDefaults: { maxInstances: 0 } },
    "job_defaults.max_instances",
  ],
  [
    "scheduler with a bad mask",
    "SchedulerService/ConfigureScheduler",
    { name: "default", updateMask: "paused" },
    "update_mask",
  ],
];

describe("malformed requests and bearer tokens", () => {
  let server: InProcessNode;
  let secured: InProcessNode;

  beforeAll(async () => {
    server = await startInProcessNode();
    secured = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: "s3cret,other" } });
  });
  afterAll(async () => {
    await server.stop();
    await secured.stop();
  });

  const call = (path: string, body: unknown) => server.postJson(`/metronome.v1.${path}`, body);
  const snapshot = async () => {
    const jobs = await call("JobService/ListJobs", { pageSize: 1000 });
    const schedulers = await call("SchedulerService/ListSchedulers", {});
    return { jobs: jobs.body, schedulers: schedulers.body };
  };

  it("rejects each malformed request naming the field, leaving the data unchanged", async () => {
    await call("JobService/AddJob", {
      job: {
        id: "seed",
        handler: "seed.job",
        trigger: { crontab: { expression: "0 1 * * *" } },
        args: [1],
      },
    });
    const before = await snapshot();
    for (const [description, path, body, field] of malformed) {
      const res = await call(path, body);
      expect.soft(res.body.code, description).toBe("invalid_argument");
      expect.soft(String(res.body.message), description).toContain(field);
    }
    // Over the payload limit: RESOURCE_EXHAUSTED, still naming the field.
    const big = await call("JobService/AddJob", withJob({ args: ["x".repeat(70_000)] }));
    expect(big.body).toMatchObject({ code: "resource_exhausted" });
    expect(String(big.body.message)).toMatch(
      /^job\.args: args and kwargs together must be at most 65536 bytes/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("requires a bearer token when tokens are configured (health stays open)", async () => {
    const get = (headers: Record<string, string>) =>
      secured.postJson("/metronome.v1.JobService/ListJobs", {}, headers);
    expect((await get({})).body).toMatchObject({ code: "unauthenticated" });
    expect((await get({ authorization: "Bearer wrong" })).body).toMatchObject({
      code: "unauthenticated",
    });
    const added = await secured.postJson(
      "/metronome.v1.JobService/AddJob",
      { job: { id: "guarded", handler: "a.b", trigger: { cron: { hour: "3" } } } },
      { authorization: "Bearer s3cret" },
    );
    expect(added.body).toMatchObject({ outcome: "ADD_JOB_OUTCOME_CREATED" });
    const ok = await get({ authorization: "Bearer other" });
    expect(ok.status).toBe(200);
    expect(ok.body.jobs).toMatchObject([{ id: "guarded" }]);
    expect((await secured.postJson("/grpc.health.v1.Health/Check", {})).body).toEqual({
      status: "SERVING",
    });
    // The same through a Connect client on the router transport.
    await expect(secured.client(JobService).listJobs({})).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    const listed = await secured
      .client(JobService, { authorization: "Bearer s3cret" })
      .listJobs({});
    expect(listed.jobs.map((j) => j.id)).toEqual(["guarded"]);
  });

  it("answers with the request id it was given, or one it made, errors included", async () => {
    const given = await server.postJson(
      "/metronome.v1.JobService/GetJob",
      { jobId: "nope" },
      { "x-request-id": "req-42" },
    );
    expect(given.body).toMatchObject({ code: "not_found" });
    expect(given.headers.get("x-request-id")).toBe("req-42");
    const made = await server.postJson("/metronome.v1.JobService/ListJobs", {});
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
