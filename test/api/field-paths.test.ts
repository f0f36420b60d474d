/**
 * The field path of every INVALID_ARGUMENT: the request's own field, in the proto's names
 * (snake_case, `[i]` for list items), whatever layer finds the fault — a message that cannot be
 * converted, a trigger rule, a job rule, a use case. A table of bad requests, each sent over
 * @grpc/grpc-js (protobuf binary on HTTP/2) and as Connect JSON on HTTP/1.1 to one node on the
 * embedded store; each answer must name exactly the expected path, and nothing is stored.
 */
import { fromJson, toBinary, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../../server/src/gen/metronome/v1/trigger_service_pb.js";
import { postJson } from "../support/connect-json.js";
import { startTestNode, type TestNode } from "../support/node.js";

const hourly = { cron: { minute: "0" } };
const job = (extra: Record<string, JsonValue>) => ({
  job: { id: "bad", handler: "paths.h", trigger: hourly, ...extra },
});
const withTrigger = (trigger: JsonValue) => job({ trigger });

// [RPC, request as proto JSON, the path the error must name]
const cases: [string, Record<string, JsonValue>, string][] = [
  // AddJob: the message, the job's fields, its trigger (every kind, nested combinators)
  ["JobService/AddJob", {}, "job"],
  ["JobService/AddJob", job({ id: "a b" }), "job.id"],
  ["JobService/AddJob", job({ scheduler: "r e p" }), "job.scheduler"],
  ["JobService/AddJob", job({ handler: "" }), "job.handler"],
  ["JobService/AddJob", job({ name: "a\u0007b" }), "job.name"],
  ["JobService/AddJob", job({ maxInstances: 0 }), "job.max_instances"],
  [
    "JobService/AddJob",
    job({ misfireGraceTime: { noLimit: false } }),
    "job.misfire_grace_time.no_limit",
  ],
  ["JobService/AddJob", job({ misfireGraceTime: { duration: "0s" } }), "job.misfire_grace_time"],
  ["JobService/AddJob", job({ timeout: "-5s" }), "job.timeout"],
  ["JobService/AddJob", job({ retryPolicy: { maxAttempts: 0 } }), "job.retry_policy.max_attempts"],
  [
    "JobService/AddJob",
    job({ retryPolicy: { maxAttempts: 2, initialBackoff: "-1s" } }),
    "job.retry_policy.initial_backoff",
  ],
  [
    "JobService/AddJob",
    job({ retryPolicy: { maxAttempts: 2, initialBackoff: "10s", maxBackoff: "5s" } }),
    "job.retry_policy.max_backoff",
  ],
  ["JobService/AddJob", job({ argsJson: "[1," }), "job.args_json"],
  ["JobService/AddJob", job({ kwargsJson: "[]" }), "job.kwargs_json"],
  ["JobService/AddJob", { job: { id: "bad", handler: "paths.h" } }, "job.trigger"],
  ["JobService/AddJob", withTrigger({}), "job.trigger"],
  ["JobService/AddJob", withTrigger({ cron: { hour: "24" } }), "job.trigger.cron.hour"],
  [
    "JobService/AddJob",
    withTrigger({ cron: { hour: "1", timezone: "Mars/Olympus" } }),
    "job.trigger.cron.timezone",
  ],
  ["JobService/AddJob", withTrigger({ cron: { month: "2", day: "30" } }), "job.trigger.cron"],
  [
    "JobService/AddJob",
    withTrigger({ crontab: { expression: "* * *" } }),
    "job.trigger.crontab.expression",
  ],
  [
    "JobService/AddJob",
    withTrigger({
      crontab: {
        expression: "0 * * * *",
        startDate: "2030-01-02T00:00:00Z",
        endDate: "2030-01-01T00:00:00Z",
      },
    }),
    "job.trigger.crontab.end_date",
  ],
  // A negative unit without a start date (the start is computed from it) and with one.
  ["JobService/AddJob", withTrigger({ interval: { seconds: -5 } }), "job.trigger.interval.seconds"],
  [
    "JobService/AddJob",
    withTrigger({ interval: { minutes: -1, startDate: "2030-01-01T00:00:00Z" } }),
    "job.trigger.interval.minutes",
  ],
  ["JobService/AddJob", withTrigger({ interval: {} }), "job.trigger.interval"],
  [
    "JobService/AddJob",
    withTrigger({ interval: { hours: 1, timezone: "Nowhere" } }),
    "job.trigger.interval.timezone",
  ],
  ["JobService/AddJob", withTrigger({ date: {} }), "job.trigger.date.run_date"],
  [
    "JobService/AddJob",
    withTrigger({ date: { runDate: "2030-01-01T00:00:00Z", timezone: "Nowhere" } }),
    "job.trigger.date.timezone",
  ],
  ["JobService/AddJob", withTrigger({ ...hourly, jitter: "-1s" }), "job.trigger.jitter"],
  ["JobService/AddJob", withTrigger({ ...hourly, jitter: "90000s" }), "job.trigger.jitter"],
  [
    "JobService/AddJob",
    withTrigger({ anyOf: { triggers: [{ cron: { hour: "1" } }, { cron: { minute: "99" } }] } }),
    "job.trigger.any_of.triggers[1].cron.minute",
  ],
  ["JobService/AddJob", withTrigger({ anyOf: { triggers: [] } }), "job.trigger.any_of.triggers"],
  [
    "JobService/AddJob",
    withTrigger({ anyOf: { triggers: [{}] } }),
    "job.trigger.any_of.triggers[0]",
  ],
  [
    "JobService/AddJob",
    withTrigger({ anyOf: { triggers: [{ interval: { seconds: -1 } }] } }),
    "job.trigger.any_of.triggers[0].interval.seconds",
  ],
  [
    "JobService/AddJob",
    withTrigger({
      allOf: {
        triggers: [
          { cron: { hour: "1" } },
          { anyOf: { triggers: [{ crontab: { expression: "61 * * * *" } }] } },
        ],
      },
    }),
    "job.trigger.all_of.triggers[1].any_of.triggers[0].crontab.expression",
  ],
  [
    "JobService/AddJob",
    withTrigger({ allOf: { triggers: [{ ...hourly, jitter: "5s" }] } }),
    "job.trigger.all_of.triggers[0].jitter",
  ],
  [
    "JobService/AddJob",
    withTrigger({ allOf: { triggers: [{ cron: { hour: "1" } }, { cron: { hour: "2" } }] } }),
    "job.trigger.all_of.triggers",
  ],
  [
    "JobService/AddJob",
    withTrigger({
      allOf: { triggers: [{ date: { runDate: "2030-01-01T00:00:00Z", timezone: "x" } }] },
    }),
    "job.trigger.all_of.triggers[0].date.timezone",
  ],

  // AddJobs: each job by its index
  ["JobService/AddJobs", { jobs: [] }, "jobs"],
  [
    "JobService/AddJobs",
    { jobs: [job({ id: "j0" }).job, job({ id: "j1", trigger: { cron: { hour: "25" } } }).job] },
    "jobs[1].trigger.cron.hour",
  ],
  ["JobService/AddJobs", { jobs: [job({ id: "j0" }).job, job({ id: "j0" }).job] }, "jobs[1].id"],
  ["JobService/AddJobs", { jobs: [{ id: "j0", handler: "paths.h" }] }, "jobs[0].trigger"],

  // ModifyJob: the mask, then the job's fields
  ["JobService/ModifyJob", { job: { id: "seed" }, updateMask: "" }, "update_mask"],
  ["JobService/ModifyJob", { job: { id: "seed" }, updateMask: "paused" }, "update_mask"],
  ["JobService/ModifyJob", { job: { id: "seed" }, updateMask: "trigger" }, "job.trigger"],
  ["JobService/ModifyJob", { job: { id: "seed" }, updateMask: "handler" }, "job.handler"],
  ["JobService/ModifyJob", { job: { name: "x" }, updateMask: "name" }, "job.id"],
  [
    "JobService/ModifyJob",
    { job: { id: "seed", name: "a\u0007b" }, updateMask: "name" },
    "job.name",
  ],
  [
    "JobService/ModifyJob",
    {
      job: { id: "seed", trigger: { anyOf: { triggers: [{ cron: { hour: "x" } }] } } },
      updateMask: "trigger",
    },
    "job.trigger.any_of.triggers[0].cron.hour",
  ],
  [
    "JobService/ModifyJob",
    { job: { id: "seed", retryPolicy: { maxAttempts: 101 } }, updateMask: "retryPolicy" },
    "job.retry_policy.max_attempts",
  ],

  // RescheduleJob: the trigger is the request's own field
  ["JobService/RescheduleJob", { jobId: "seed" }, "trigger"],
  [
    "JobService/RescheduleJob",
    { jobId: "seed", trigger: { crontab: { expression: "61 * * * *" } } },
    "trigger.crontab.expression",
  ],
  [
    "JobService/RescheduleJob",
    { jobId: "seed", trigger: { interval: { seconds: -5 } } },
    "trigger.interval.seconds",
  ],
  ["JobService/RescheduleJob", { jobId: "../x", trigger: hourly }, "job_id"],

  // Calls naming a job by scheduler and job_id
  ["JobService/GetJob", { jobId: "../etc" }, "job_id"],
  ["JobService/GetJob", { scheduler: "a b", jobId: "seed" }, "scheduler"],
  ["JobService/PauseJob", { jobId: "" }, "job_id"],
  ["JobService/ResumeJob", { jobId: "a b" }, "job_id"],
  ["JobService/RemoveJob", { jobId: "a b" }, "job_id"],
  ["JobService/RemoveAllJobs", { scheduler: "a b" }, "scheduler"],
  ["JobService/RunJobNow", { jobId: "a b" }, "job_id"],
  ["JobService/ListJobs", { pageSize: -1 }, "page_size"],
  ["JobService/ListJobs", { scheduler: "a b" }, "scheduler"],

  // TriggerService
  ["TriggerService/PreviewTrigger", { trigger: hourly, count: 101 }, "count"],
  ["TriggerService/PreviewTrigger", { count: 1 }, "trigger"],
  ["TriggerService/PreviewTrigger", { trigger: { cron: { hour: "x" } } }, "trigger.cron.hour"],
  ["TriggerService/PreviewTrigger", { trigger: hourly, timezone: "Nowhere" }, "timezone"],
  [
    "TriggerService/PreviewTrigger",
    { trigger: { allOf: { triggers: [hourly, { cron: { day: "32" } }] } } },
    "trigger.all_of.triggers[1].cron.day",
  ],

  // SchedulerService
  ["SchedulerService/ConfigureScheduler", { name: "fresh", timezone: "Nowhere" }, "timezone"],
  [
    "SchedulerService/ConfigureScheduler",
    { name: "fresh", jobDefaults: { maxInstances: 0 } },
    "job_defaults.max_instances",
  ],
  [
    "SchedulerService/ConfigureScheduler",
    { name: "fresh", jobDefaults: { misfireGraceTime: { noLimit: false } } },
    "job_defaults.misfire_grace_time.no_limit",
  ],
  ["SchedulerService/ConfigureScheduler", { name: "fresh", updateMask: "paused" }, "update_mask"],
  ["SchedulerService/ConfigureScheduler", { name: "a b" }, "name"],
  ["SchedulerService/GetScheduler", { name: "a b" }, "name"],
  ["SchedulerService/PauseScheduler", { name: "a b" }, "name"],
  ["SchedulerService/ResumeScheduler", { name: "a b" }, "name"],
  ["SchedulerService/ListSchedulers", { pageSize: -1 }, "page_size"],

  // RunService
  ["RunService/GetRun", { runId: "" }, "run_id"],
  ["RunService/CancelRun", { runId: "r1", reason: "x".repeat(2000) }, "reason"],
  ["RunService/ListRuns", { scheduler: "a b" }, "scheduler"],
  ["RunService/ListRuns", { jobId: "a b" }, "job_id"],
  ["RunService/ListRuns", { pageToken: "garbage" }, "page_token"],
];

/** The request message of each RPC (`Service/Method`). */
const REQUESTS = new Map<string, DescMessage>(
  [JobService, SchedulerService, TriggerService, RunService].flatMap((s) =>
    s.methods.map((m) => [`${s.name}/${m.name}`, m.input] as const),
  ),
);

/** A unary call through @grpc/grpc-js with the request's binary encoding: the status message. */
function grpcError(client: grpc.Client, rpc: string, body: Record<string, JsonValue>) {
  const schema = REQUESTS.get(rpc);
  if (schema === undefined) throw new Error(`no RPC ${rpc}`);
  const bytes = toBinary(schema, fromJson(schema, body));
  const same = (b: Buffer) => b;
  return new Promise<{ code: string; message: string }>((resolve) => {
    client.makeUnaryRequest(
      `/metronome.v1.${rpc}`,
      same,
      same,
      Buffer.from(bytes),
      (err: grpc.ServiceError | null) => {
        resolve({
          code: grpc.status[err?.code ?? grpc.status.OK],
          // As grpc-js reads it: the server encodes grpc-message as the gRPC spec says
          // (api/grpc-message.ts), so `:` and `[` arrive as sent.
          message: err?.details ?? "",
        });
      },
    );
  });
}

/** The path an INVALID_ARGUMENT message names: everything before its first `: `. */
const pathOf = (message: string) => message.slice(0, Math.max(0, message.indexOf(": ")));

describe("field paths of INVALID_ARGUMENT, over @grpc/grpc-js and Connect JSON", () => {
  let node: TestNode;
  let client: grpc.Client;

  beforeAll(async () => {
    node = await startTestNode("sqlite:///:memory:");
    client = new grpc.Client(`127.0.0.1:${String(node.port)}`, grpc.credentials.createInsecure());
    const seeded = await postJson(node.port, "/metronome.v1.JobService/AddJob", {
      job: { id: "seed", handler: "paths.h", trigger: hourly },
    });
    expect(seeded.body).toMatchObject({ outcome: "ADD_JOB_OUTCOME_CREATED" });
  });
  afterAll(async () => {
    client.close();
    await node.stop();
  });

  const snapshot = async () => ({
    jobs: (await postJson(node.port, "/metronome.v1.JobService/ListJobs", {})).body,
    schedulers: (await postJson(node.port, "/metronome.v1.SchedulerService/ListSchedulers", {}))
      .body,
  });

  it("names the request's field, in the proto's names, over @grpc/grpc-js", async () => {
    const before = await snapshot();
    for (const [rpc, body, path] of cases) {
      const { code, message } = await grpcError(client, rpc, body);
      expect.soft({ rpc, body, code, path: pathOf(message) }).toEqual({
        rpc,
        body,
        code: "INVALID_ARGUMENT",
        path,
      });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("names the same field as Connect JSON over HTTP/1.1", async () => {
    const before = await snapshot();
    for (const [rpc, body, path] of cases) {
      const res = await postJson(node.port, `/metronome.v1.${rpc}`, body);
      const message = String(res.body.message);
      expect.soft({ rpc, body, code: res.body.code, path: pathOf(message) }).toEqual({
        rpc,
        body,
        code: "invalid_argument",
        path,
      });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("gives the reason after the path, once", async () => {
    const res = await postJson(
      node.port,
      "/metronome.v1.JobService/AddJob",
      withTrigger({ interval: { seconds: -5 } }),
    );
    expect(res.body.message).toBe("job.trigger.interval.seconds: must be a number >= 0");
    const nested = await grpcError(client, "JobService/AddJobs", {
      jobs: [
        job({ id: "n0" }).job,
        job({ id: "n1", trigger: { allOf: { triggers: [hourly, { cron: { hour: "24" } }] } } }).job,
      ],
    });
    expect(nested.message).toBe(
      "jobs[1].trigger.all_of.triggers[1].cron.hour: 24 is out of range 0-23",
    );
  });
});
