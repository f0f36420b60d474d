/**
 * A batched worker session gets the same assignment in every codec: binary sessions get the
 * assignments encoded by hand (api/convert/session-responses.ts), JSON sessions converted
 * messages (the JSON codec drops the pre-encoded bytes). Over gRPC (Connect's transport), and
 * Connect's protocol in binary and in JSON, each over HTTP/2: a manual run of a job with nested
 * args and kwargs arrives with its lease, its arguments in both forms and its times, and its
 * result is accepted.
 */
import { create, toJson } from "@bufbuild/protobuf";
import { ListValueSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import {
  SessionRequestSchema,
  WorkerService,
  type RunAssignment,
  type SessionRequest,
  type SessionResponse,
} from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import { startTestNode, type TestNode } from "../support/node.js";

const ARGS = [1, "x", { a: [true, null], é: -2.5 }];
const KWARGS = { k: 2.5, n: { m: "ünïcode", list: [] }, empty: {} };

/** Requests pushed by the test, read by the call. */
class Requests implements AsyncIterable<SessionRequest> {
  private readonly queued: SessionRequest[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(r: SessionRequest): void {
    this.queued.push(r);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SessionRequest> {
    for (;;) {
      const next = this.queued.shift();
      if (next !== undefined) yield next;
      else if (this.ended) return;
      else
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
    }
  }
}

describe("assignments in every codec", () => {
  let server: TestNode;
  beforeAll(async () => {
    server = await startTestNode("sqlite:///:memory:");
  });
  afterAll(() => server.stop());

  const transports: [string, () => Transport][] = [
    ["gRPC (binary)", () => createGrpcTransport({ baseUrl: server.url })],
    [
      "Connect binary over HTTP/2",
      () => createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    ],
    [
      "Connect JSON over HTTP/2",
      () =>
        createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: false }),
    ],
  ];

  it.each(transports)("%s", async (name, transport) => {
    const t = transport();
    const key = name.replace(/[^A-Za-z0-9]+/g, "-").replace(/-$/, "");
    const handler = `codec.${key}`;
    const jobs = createClient(JobService, t);
    await jobs.addJob({
      job: {
        id: key,
        name: `Job ${name}`,
        handler,
        argsJson: JSON.stringify(ARGS),
        kwargsJson: JSON.stringify(KWARGS),
        trigger: { kind: { case: "crontab", value: { expression: "0 0 1 1 *" } } },
      },
    });

    const requests = new Requests();
    requests.push(
      create(SessionRequestSchema, {
        payload: {
          case: "hello",
          value: {
            workerId: "codec-worker",
            handlers: [{ handler, maxConcurrency: 1 }],
            acceptsBatches: true,
          },
        },
      }),
    );
    const responses = createClient(WorkerService, t).session(requests)[Symbol.asyncIterator]();
    const next = async (): Promise<SessionResponse> => {
      const r = await responses.next();
      if (r.done === true) throw new Error("the session ended");
      return r.value;
    };
    expect((await next()).payload.case).toBe("welcome");

    const { run } = await jobs.runJobNow({ jobId: key });
    const message = await next();
    expect(message.payload.case).toBe("assignments");
    const assignments: RunAssignment[] =
      message.payload.case === "assignments" ? message.payload.value.assignments : [];
    expect(assignments).toHaveLength(1);
    const a = assignments[0];
    if (a === undefined) throw new Error("no assignment");
    expect(a.lease?.runId).toBe(run?.runId);
    expect(a.lease?.attempt).toBe(1);
    expect(a.lease?.leaseToken).toMatch(/^[\w-]{16}$/);
    expect({
      scheduler: a.scheduler,
      jobId: a.jobId,
      jobName: a.jobName,
      handler: a.handler,
      manual: a.manual,
      maxAttempts: a.maxAttempts,
      timeout: a.timeout,
    }).toEqual({
      scheduler: "default",
      jobId: key,
      jobName: `Job ${name}`,
      handler,
      manual: true,
      maxAttempts: 1,
      timeout: undefined,
    });
    expect(a.args === undefined ? null : toJson(ListValueSchema, a.args)).toEqual(ARGS);
    expect(a.kwargs).toEqual(KWARGS);
    expect(JSON.parse(a.argsJson)).toEqual(ARGS);
    expect(JSON.parse(a.kwargsJson)).toEqual(KWARGS);
    expect(a.scheduledTime === undefined ? 0 : timestampMs(a.scheduledTime)).toBe(
      run?.scheduledTime === undefined ? -1 : timestampMs(run.scheduledTime),
    );
    expect(a.fireTime).toBeDefined();

    requests.push(
      create(SessionRequestSchema, {
        payload: {
          case: "results",
          value: {
            results: [
              { lease: a.lease, outcome: { case: "success", value: { resultJson: '"done"' } } },
            ],
          },
        },
      }),
    );
    const answer = await next();
    expect(answer.payload.case).toBe("resultAnswers");
    if (answer.payload.case === "resultAnswers")
      expect(answer.payload.value.accepted.map((x) => x.lease?.runId)).toEqual([run?.runId]);
    requests.end();
    expect(await responses.next()).toMatchObject({ done: true });
  });
});
