/**
 * Input a hostile client sends that decoding accepts: unknown enum values, garbage page tokens,
 * NaN, Infinity and empty values in args and kwargs, timestamps out of range, a refused
 * ConfigureScheduler. Each is INVALID_ARGUMENT naming the field in the proto's names, logs
 * nothing at error level, and leaves the store as it was. In process (the wire does not matter
 * here; test/api/undecodable.test.ts sends bodies that do not decode).
 */
import { Writable } from "node:stream";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/src/logger.js";
import { JobSchema, type Job } from "../../server/src/gen/metronome/v1/job_pb.js";
import { TriggerSchema } from "../../server/src/gen/metronome/v1/trigger_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../../server/src/gen/metronome/v1/trigger_service_pb.js";
import { RunService } from "../../server/src/gen/metronome/v1/run_service_pb.js";
import { RunStatus } from "../../server/src/gen/metronome/v1/run_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const valid = { id: "ok", handler: "reports.daily", trigger: { cron: { hour: "2" } } };
const withJob = (job: Record<string, unknown>) => ({ job: { ...valid, ...job } });

// [description, RPC path, Connect JSON body, the field the error must name]
const refusedJson: [string, string, unknown, string][] = [
  [
    "conflict_policy 99",
    "JobService/AddJob",
    { ...withJob({}), conflictPolicy: 99 },
    "conflict_policy",
  ],
  [
    "conflict_policy -1",
    "JobService/AddJob",
    { ...withJob({}), conflictPolicy: -1 },
    "conflict_policy",
  ],
  [
    "AddJobs conflict_policy 7",
    "JobService/AddJobs",
    { jobs: [valid], conflictPolicy: 7 },
    "conflict_policy",
  ],
  ["order_by 42", "JobService/ListJobs", { orderBy: 42 }, "order_by"],
  ["statuses[1] 99", "RunService/ListRuns", { statuses: [1, 99] }, "statuses[1]"],
  [
    "ListSchedulers garbage page_token",
    "SchedulerService/ListSchedulers",
    { pageToken: "garbage!" },
    "page_token",
  ],
  [
    "ListSchedulers base64 page_token",
    "SchedulerService/ListSchedulers",
    { pageToken: "eHl6" },
    "page_token",
  ],
  ["ListJobs garbage page_token", "JobService/ListJobs", { pageToken: "garbage" }, "page_token"],
  [
    "ListJobs token of the wrong shape",
    "JobService/ListJobs",
    { pageToken: "WzEsMl0" },
    "page_token",
  ],
  ["ListRuns garbage page_token", "RunService/ListRuns", { pageToken: "garbage" }, "page_token"],
  [
    "a negative interval",
    "JobService/AddJob",
    withJob({ trigger: { interval: { seconds: -5 } } }),
    "job.trigger.interval.seconds",
  ],
  [
    "ConfigureScheduler refused",
    "SchedulerService/ConfigureScheduler",
    { name: "x", jobDefaults: { maxInstances: 0 } },
    "job_defaults.max_instances",
  ],
];

/** A valid job (id `bad`, an hourly crontab) with `fields` set over it. */
function job(fields: MessageInitShape<typeof JobSchema>): Job {
  const j = create(JobSchema, fields);
  j.id ||= "bad";
  j.handler ||= "a.b";
  j.trigger ??= create(TriggerSchema, {
    kind: { case: "crontab", value: { expression: "0 * * * *" } },
  });
  return j;
}
const number = (value: number) => ({ kind: { case: "numberValue" as const, value } });

describe("hostile input that decodes", () => {
  let server: InProcessNode;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startInProcessNode({
      log: createLogger(
        "info",
        {},
        {
          destination: new Writable({
            write(chunk: Buffer, _encoding, done) {
              lines.push(chunk.toString());
              done();
            },
          }),
        },
      ),
    });
    await server.postJson("/metronome.v1.JobService/AddJob", { job: { ...valid, id: "seed" } });
  });
  afterAll(() => server.stop());

  const snapshot = async () => {
    const jobs = await server.postJson("/metronome.v1.JobService/ListJobs", { pageSize: 1000 });
    const schedulers = await server.postJson("/metronome.v1.SchedulerService/ListSchedulers", {});
    return { jobs: jobs.body, schedulers: schedulers.body };
  };
  const errorLines = () => lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);

  it.each(refusedJson)("%s → INVALID_ARGUMENT naming %s", async (_, path, body, field) => {
    const before = await snapshot();
    const res = await server.postJson(`/metronome.v1.${path}`, body);
    expect(res.body.code).toBe("invalid_argument");
    expect(String(res.body.message)).toMatch(new RegExp(`^${field.replace(/[[\]]/g, "\\$&")}: `));
    expect(await snapshot()).toEqual(before);
    expect(errorLines()).toEqual([]);
  });

  it("a refused ConfigureScheduler creates no scheduler", async () => {
    await server.postJson("/metronome.v1.SchedulerService/ConfigureScheduler", {
      name: "x",
      jobDefaults: { maxInstances: 0 },
    });
    const got = await server.postJson("/metronome.v1.SchedulerService/GetScheduler", { name: "x" });
    expect(got.body.code).toBe("not_found");
  });

  // [description, the job, the field the error must name]
  const refusedJobs: [string, Job, string][] = [
    ["NaN in args", job({ args: { values: [number(1), number(Number.NaN)] } }), "job.args[1]"],
    [
      "Infinity in args",
      job({ args: { values: [number(Number.POSITIVE_INFINITY)] } }),
      "job.args[0]",
    ],
    [
      "an empty value in args",
      job({ args: { values: [{ kind: { case: undefined } }] } }),
      "job.args[0]",
    ],
    [
      "NaN nested in args",
      job({
        args: {
          values: [{ kind: { case: "listValue", value: { values: [number(Number.NaN)] } } }],
        },
      }),
      "job.args[0][0]",
    ],
    ["NaN in kwargs", job({ kwargs: { n: Number.NaN } }), 'job.kwargs["n"]'],
    [
      "-Infinity nested in kwargs",
      job({ kwargs: { a: { b: [Number.NEGATIVE_INFINITY] } } }),
      'job.kwargs["a"]["b"][0]',
    ],
    [
      "run_date nanos 2e9",
      job({
        trigger: {
          kind: { case: "date", value: { runDate: { seconds: 4_102_444_800n, nanos: 2e9 } } },
        },
      }),
      "job.trigger.date.run_date.nanos",
    ],
    [
      "start_date before year 1",
      job({
        trigger: {
          kind: {
            case: "interval",
            value: { seconds: 5, startDate: { seconds: -62_135_596_801n, nanos: 0 } },
          },
        },
      }),
      "job.trigger.interval.start_date",
    ],
    [
      "a NaN retry multiplier",
      job({ retryPolicy: { maxAttempts: 2, backoffMultiplier: Number.NaN } }),
      "job.retry_policy.backoff_multiplier",
    ],
    [
      "a timeout with nanos of the wrong sign",
      job({ timeout: { seconds: 5n, nanos: -1 } }),
      "job.timeout.nanos",
    ],
  ];

  it.each(refusedJobs)("AddJob with %s → INVALID_ARGUMENT naming %s", async (_, bad, field) => {
    const before = await snapshot();
    const jobs = server.client(JobService);
    const err = await jobs.addJob({ job: bad }).then(
      () => null,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage.startsWith(`${field}: `)).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(errorLines()).toEqual([]);
  });

  it("PreviewTrigger after a time before year 1 → INVALID_ARGUMENT naming after", async () => {
    const triggers = server.client(TriggerService);
    const err = await triggers
      .previewTrigger({
        trigger: { kind: { case: "crontab", value: { expression: "0 * * * *" } } },
        after: { seconds: -62_135_596_801n, nanos: 0 },
        count: 1,
      })
      .then(
        () => null,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/^after: /);
  });

  it("valid requests next to the refused ones still work", async () => {
    const schedulers = server.client(SchedulerService);
    const runs = server.client(RunService);
    expect((await schedulers.listSchedulers({})).schedulers.length).toBeGreaterThan(0);
    expect((await runs.listRuns({ statuses: [RunStatus.PENDING] })).runs).toEqual([]);
    const added = await server.client(JobService).addJob({
      job: job({ id: "fine", args: { values: [number(1.5)] }, kwargs: { n: 2 } }),
    });
    expect(added.job?.kwargs).toEqual({ n: 2 });
  });
});
