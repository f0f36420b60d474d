/**
 * Every JobService answer carries the same job in every codec: binary calls get the job encoded
 * by hand (api/convert/job-bytes.ts), JSON calls converted messages. Over gRPC, gRPC-Web and
 * Connect's protocol in binary, Connect's in JSON (Connect's transports over HTTP/2), and over
 * @grpc/grpc-js reading proto/ (a decoder that knows nothing of Metronome's code): AddJob, AddJobs,
 * GetJob, ListJobs, ModifyJob, RescheduleJob, PauseJob and ResumeJob answer one job with nested
 * args and kwargs, every setting, bounds and a jitter of 1.001 s (which protobuf could not encode
 * before it was rounded to the millisecond: 1000.9999999999999 ms).
 */
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema, type Job } from "../../server/src/gen/metronome/v1/job_pb.js";
import {
  AddJobOutcome,
  AddJobRequestSchema,
  AddJobResponseSchema,
  ConflictPolicy,
  JobService,
} from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { ManualClock } from "../support/clock.js";
import { grpcJsClients, unstruct } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";

const NOW = Date.parse("2026-03-02T08:00:00Z");

/** A job of `scheduler` with every field the API takes set. */
function jobOf(scheduler: string, id: string) {
  return {
    scheduler,
    id,
    name: "Nightly report ☾",
    handler: "reports.nightly",
    trigger: {
      kind: {
        case: "cron" as const,
        value: {
          hour: "3",
          minute: "15",
          dayOfWeek: "mon-fri",
          timezone: "Europe/Paris",
          startDate: { seconds: BigInt(NOW / 1000) },
          endDate: { seconds: BigInt(NOW / 1000 + 365 * 86_400) },
        },
      },
      jitter: { seconds: 1n, nanos: 1_000_000 },
    },
    argsJson: JSON.stringify([1, "x", { a: [true, null], é: -2.5 }, 2 ** 53 - 1]),
    kwargsJson: JSON.stringify({ k: 2.5, n: { m: "ünïcode", list: [] }, empty: {} }),
    coalesce: false,
    maxInstances: 3,
    misfireGraceTime: { value: { case: "duration" as const, value: { seconds: 30n } } },
    timeout: { seconds: 90n },
    retryPolicy: {
      maxAttempts: 4,
      initialBackoff: { seconds: 2n },
      maxBackoff: { seconds: 60n },
      backoffMultiplier: 1.5,
    },
  };
}

/** A job as JSON, without what differs between the codecs' jobs (their scheduler). */
function comparable(job: Job | undefined): unknown {
  expect(job).toBeDefined();
  const { scheduler, ...rest } = toJson(JobSchema, job as Job) as Record<string, unknown>;
  expect(scheduler).toMatch(/^codec-/);
  return rest;
}

describe("jobs in every codec", () => {
  let server: TestNode;
  const clock = new ManualClock(NOW);
  beforeAll(async () => {
    server = await startTestNode("sqlite:///:memory:", {}, clock);
  });
  afterAll(() => server.stop());

  const transports: [string, () => Transport][] = [
    ["gRPC", () => createGrpcTransport({ baseUrl: server.url })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" })],
    ["Connect binary", () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" })],
    [
      "Connect JSON",
      () =>
        createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: false }),
    ],
  ];

  /** Each codec's answers, in call order, as comparable JSON. */
  const answers = new Map<string, unknown[]>();

  it.each(transports)("%s", async (name, transport) => {
    const scheduler = `codec-${name.replace(/[^A-Za-z]+/g, "-")}`;
    const jobs = createClient(JobService, transport());
    const seen: unknown[] = [];
    const added = await jobs.addJob({ job: jobOf(scheduler, "report") });
    expect(added.job?.trigger?.jitter).toMatchObject({ seconds: 1n, nanos: 1_000_000 });
    expect(added.job?.workerCount).toBe(0);
    seen.push(comparable(added.job), added.outcome, added.warnings);
    const bulk = await jobs.addJobs({
      jobs: [jobOf(scheduler, "report"), jobOf(scheduler, "second")],
      conflictPolicy: ConflictPolicy.KEEP_EXISTING,
    });
    for (const r of bulk.results) seen.push(comparable(r.job), r.outcome);
    seen.push(comparable((await jobs.getJob({ scheduler, jobId: "report" })).job));
    const page = await jobs.listJobs({ scheduler, pageSize: 1 });
    expect(page.jobs.map((j) => j.id)).toEqual(["report"]);
    expect(page.nextPageToken).not.toBe("");
    const rest = await jobs.listJobs({ scheduler, pageToken: page.nextPageToken });
    expect(rest.jobs.map((j) => j.id)).toEqual(["second"]);
    seen.push(...page.jobs.map(comparable), ...rest.jobs.map(comparable));
    const modified = await jobs.modifyJob({
      job: { scheduler, id: "report", name: "Renamed" },
      updateMask: { paths: ["name"] },
    });
    expect(modified.job?.name).toBe("Renamed");
    seen.push(comparable(modified.job));
    const rescheduled = await jobs.rescheduleJob({
      scheduler,
      jobId: "report",
      trigger: {
        kind: {
          case: "interval",
          // From an hour on: never due while the clock stands still, so the engine leaves the
          // job as the calls make it.
          value: { minutes: 90, startDate: { seconds: BigInt(NOW / 1000 + 3600) } },
        },
        jitter: { nanos: 7_000_000 },
      },
    });
    seen.push(comparable(rescheduled.job));
    const paused = await jobs.pauseJob({ scheduler, jobId: "report" });
    expect(paused.job?.paused).toBe(true);
    seen.push(comparable(paused.job));
    const resumed = await jobs.resumeJob({ scheduler, jobId: "report" });
    expect(resumed.job?.paused).toBe(false);
    seen.push(comparable(resumed.job), resumed.removed);
    answers.set(name, seen);
  });

  it("answer the same jobs in every codec", () => {
    const json = answers.get("Connect JSON");
    expect(json).toHaveLength(15);
    for (const [name] of transports) expect([name, answers.get(name)]).toEqual([name, json]);
  });

  it("answer a job that a client reading proto/ decodes", async () => {
    const clients = grpcJsClients(server.port);
    try {
      const got = (await clients.job("GetJob", { scheduler: "codec-gRPC", job_id: "second" }))
        .job as Record<string, unknown>;
      expect(got).toMatchObject({
        id: "second",
        scheduler: "codec-gRPC",
        max_instances: 3,
        coalesce: false,
        trigger: { jitter: { seconds: "1", nanos: 1_000_000 } },
        retry_policy: { max_attempts: 4, backoff_multiplier: 1.5 },
      });
      expect(unstruct(got.kwargs as Record<string, unknown>)).toEqual({
        k: 2.5,
        n: { m: "ünïcode", list: [] },
        empty: {},
      });
      expect(got.args_json).toBe(
        JSON.stringify([1, "x", { a: [true, null], é: -2.5 }, 2 ** 53 - 1]),
      );
    } finally {
      clients.close();
    }
  });

  it("answer a binary call with the job encoded by hand, after the other fields", async () => {
    // The reflective encoder writes fields in number order, `job` (1) first; the job encoded by
    // hand rides as an unknown field, written after `outcome` (2).
    const client = new grpc.Client(
      `127.0.0.1:${String(server.port)}`,
      grpc.credentials.createInsecure(),
    );
    try {
      const request = toBinary(
        AddJobRequestSchema,
        create(AddJobRequestSchema, {
          job: jobOf("codec-gRPC", "second"),
          conflictPolicy: ConflictPolicy.KEEP_EXISTING,
        }),
      );
      const answer = await new Promise<Buffer>((resolve, reject) => {
        client.makeUnaryRequest(
          "/metronome.v1.JobService/AddJob",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(request),
          (err, res) => {
            if (err !== null || res === undefined) reject(err ?? new Error("no answer"));
            else resolve(res);
          },
        );
      });
      // outcome (field 2, a varint): KEPT_EXISTING, then the job (field 1).
      expect([...answer.subarray(0, 3)]).toEqual([0x10, AddJobOutcome.KEPT_EXISTING, 0x0a]);
      const decoded = fromBinary(AddJobResponseSchema, answer);
      expect(decoded.job?.id).toBe("second");
      // The job as AddJobs added it in the gRPC test above (not due: the engine left it alone).
      expect(comparable(decoded.job)).toEqual((answers.get("gRPC") ?? [])[5]);
    } finally {
      client.close();
    }
  });
});
