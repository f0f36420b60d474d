/**
 * Quotas and rate limits (docs/security.md), through the router and its interceptor in process:
 * requests per second per key and per scheduler on a clock the test moves (refused with
 * RESOURCE_EXHAUSTED, google.rpc.RetryInfo and retry-after, then accepted once the bucket has
 * refilled), jobs per scheduler, event subscriptions per key; and that a refused call changed
 * nothing in the store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { fromJson } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import {
  QuotaFailureSchema,
  RetryInfoSchema,
} from "../../server/src/gen/google/rpc/error_details_pb.js";
import { Health } from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import {
  ConflictPolicy,
  JobService,
  type AddJobRequest,
} from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { TriggerSchema } from "../../server/src/gen/metronome/v1/trigger_pb.js";
import {
  WorkerService,
  type SessionRequest,
} from "../../server/src/gen/metronome/v1/worker_service_pb.js";
import { ManualClock } from "../support/clock.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const job = (scheduler: string, id: string): NonNullable<AddJobRequest["job"]> =>
  ({
    scheduler,
    id,
    handler: "jobs.h",
    trigger: fromJson(TriggerSchema, { date: { runDate: "2100-01-01T00:00:00Z" } }),
  }) as NonNullable<AddJobRequest["job"]>;

/** The error a call failed with (the test fails if it succeeded). */
async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

/** The retry delay of a refusal in milliseconds (google.rpc.RetryInfo), if it has one. */
function retryDelayMs(err: ConnectError): number | undefined {
  const [info] = err.findDetails(RetryInfoSchema);
  return info?.retryDelay === undefined ? undefined : durationMs(info.retryDelay);
}

const subjects = (err: ConnectError): string[] =>
  err.findDetails(QuotaFailureSchema).flatMap((f) => f.violations.map((v) => v.subject));

describe("requests per second", () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  let n: InProcessNode;
  beforeAll(async () => {
    n = await startInProcessNode({
      clock,
      env: {
        METRONOME_AUTH_TOKENS: "token-a,token-b",
        METRONOME_RATE_PER_KEY: "2",
        METRONOME_BURST_PER_KEY: "2",
        METRONOME_RATE_PER_SCHEDULER: "1",
        METRONOME_BURST_PER_SCHEDULER: "1",
      },
    });
  });
  afterAll(async () => {
    await n.stop();
  });

  it("a key over its rate gets RESOURCE_EXHAUSTED with the delay, then passes once it refilled", async () => {
    clock.advance(60_000); // every bucket full
    const a = n.client(SchedulerService, bearer("token-a"));
    await a.listSchedulers({});
    await a.listSchedulers({});
    const err = await refusal(a.listSchedulers({}));
    expect(err.code).toBe(Code.ResourceExhausted);
    // Two per second: the next token comes in 500 ms.
    expect(retryDelayMs(err)).toBe(500);
    expect(err.metadata.get("retry-after")).toBe("1");
    expect(err.rawMessage).toBe(
      "too many requests from env:1 (2 requests per second, burst 2): retry in 0.500 s",
    );
    expect(subjects(err)).toEqual(["env:1"]);
    // Connect JSON (curl): HTTP 429, the same details and the retry-after header.
    const json = await n.postJson(
      "/metronome.v1.SchedulerService/ListSchedulers",
      {},
      bearer("token-a"),
    );
    expect(json.status).toBe(429);
    expect(json.headers.get("retry-after")).toBe("1");
    expect(json.body).toMatchObject({
      code: "resource_exhausted",
      details: [{ type: "google.rpc.RetryInfo" }, { type: "google.rpc.QuotaFailure" }],
    });
    // Another key has its own bucket; the health service has none.
    await n.client(SchedulerService, bearer("token-b")).listSchedulers({});
    for (let i = 0; i < 10; i++) await n.client(Health).check({});

    clock.advance(499);
    expect(retryDelayMs(await refusal(a.listSchedulers({})))).toBe(1);
    clock.advance(1);
    await a.listSchedulers({});
    expect(retryDelayMs(await refusal(a.listSchedulers({})))).toBe(500);
  });

  it("a scheduler over its rate refuses every key's calls naming it; the refused call changed nothing", async () => {
    clock.advance(60_000);
    const a = n.client(JobService, bearer("token-a"));
    const b = n.client(JobService, bearer("token-b"));
    await a.addJob({ job: job("busy", "first") });
    const err = await refusal(b.addJob({ job: job("busy", "second") }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(retryDelayMs(err)).toBe(1000);
    expect(err.rawMessage).toMatch(
      /^too many requests naming scheduler:busy \(1 request per second, burst 1\): retry in 1\.000 s$/,
    );
    expect(subjects(err)).toEqual(["scheduler:busy"]);
    // AddJobs naming the busy scheduler and a quiet one: refused as a whole.
    const both = await refusal(b.addJobs({ jobs: [job("quiet", "q1"), job("busy", "second")] }));
    expect(subjects(both)).toEqual(["scheduler:busy"]);
    expect(await n.node.store.getJob("busy", "second")).toBeNull();
    expect(await n.node.store.getJob("quiet", "q1")).toBeNull();
    // The refusals took no token of key b, nor of the quiet scheduler.
    await b.addJob({ job: job("quiet", "q1") });
    await b.listJobs({ scheduler: "other" });

    clock.advance(1000);
    await b.addJob({ job: job("busy", "second") });
    expect(await n.node.store.countJobs("busy")).toBe(2);
  });

  it("a stream is charged as it opens: a worker session and a subscription", async () => {
    clock.advance(60_000);
    const events = n.client(EventService, bearer("token-a"));
    await n.client(SchedulerService, bearer("token-a")).listSchedulers({});
    await n.client(SchedulerService, bearer("token-a")).listSchedulers({});
    const stream = events.subscribe({ filter: { schedulers: ["busy"] } });
    const err = await refusal(stream[Symbol.asyncIterator]().next());
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(retryDelayMs(err)).toBe(500);
    // A worker session: its hello is not read, the key's bucket is empty.
    const stop = new AbortController();
    const hello: AsyncIterable<SessionRequest> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<SessionRequest>>((resolve) => {
            stop.signal.addEventListener("abort", () => {
              resolve({ done: true, value: undefined });
            });
          }),
      }),
    };
    try {
      const session = n
        .client(WorkerService, bearer("token-a"))
        .session(hello, { signal: stop.signal });
      const refused = await refusal(session[Symbol.asyncIterator]().next());
      expect(refused.code).toBe(Code.ResourceExhausted);
      expect(retryDelayMs(refused)).toBe(500);
    } finally {
      stop.abort();
    }
  });
});

describe("jobs per scheduler and subscriptions per key", () => {
  let n: InProcessNode;
  beforeAll(async () => {
    n = await startInProcessNode({
      env: {
        METRONOME_AUTH_TOKENS: "token-c,token-d",
        METRONOME_MAX_JOBS_PER_SCHEDULER: "3",
        METRONOME_MAX_SUBSCRIBERS_PER_KEY: "2",
      },
    });
  });
  afterAll(async () => {
    await n.stop();
  });

  it("a scheduler holds at most the limit; re-adding a job it holds passes; a refused call adds nothing", async () => {
    const c = n.client(JobService, bearer("token-c"));
    await c.addJobs({ jobs: [job("full", "j1"), job("full", "j2"), job("full", "j3")] });
    const err = await refusal(c.addJob({ job: job("full", "j4") }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe(
      'scheduler "full" may hold at most 3 jobs: it holds 3 and the call adds 1 (remove jobs first)',
    );
    expect(subjects(err)).toEqual(["scheduler:full"]);
    // Waiting does not make room: no retry delay.
    expect(retryDelayMs(err)).toBeUndefined();
    expect(err.metadata.get("retry-after")).toBeNull();

    await c.addJob({ job: job("full", "j1"), conflictPolicy: ConflictPolicy.REPLACE });
    await c.addJob({ job: job("full", "j2"), conflictPolicy: ConflictPolicy.KEEP_EXISTING });
    await expect(c.addJob({ job: job("full", "j3") })).rejects.toMatchObject({
      code: Code.AlreadyExists,
    });
    const mixed = await refusal(
      c.addJobs({
        jobs: [job("elsewhere", "e1"), job("full", "j2"), job("full", "j5")],
        conflictPolicy: ConflictPolicy.REPLACE,
      }),
    );
    expect(mixed.code).toBe(Code.ResourceExhausted);
    expect(await n.node.store.getJob("elsewhere", "e1")).toBeNull();
    expect(await n.node.store.getJob("full", "j5")).toBeNull();
    expect(await n.node.store.countJobs("full")).toBe(3);

    await c.removeJob({ scheduler: "full", jobId: "j3" });
    await c.addJob({ job: job("full", "j4") });
    expect(await n.node.store.countJobs("full")).toBe(3);
  });

  it("concurrent adds on one node never pass the limit", async () => {
    const c = n.client(JobService, bearer("token-c"));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => c.addJob({ job: job("race", `r${String(i)}`) })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    for (const r of results)
      if (r.status === "rejected")
        expect(ConnectError.from(r.reason).code).toBe(Code.ResourceExhausted);
    expect(await n.node.store.countJobs("race")).toBe(3);
  });

  it("a key holds at most the limit of open subscriptions; ending one frees its place", async () => {
    const quotas = n.node.api.quotas;
    if (quotas === undefined) throw new Error("the node has no quotas");
    const open = (token: string, signal: AbortSignal) => {
      const stream = n.client(EventService, bearer(token)).subscribe({}, { signal });
      const it = stream[Symbol.asyncIterator]();
      return it.next().then(() => it);
    };
    const stop = new AbortController();
    const first = new AbortController();
    try {
      await open("token-c", first.signal);
      await open("token-c", stop.signal);
      expect(quotas.subscriptionsOf("env:1")).toBe(2);
      const err = await refusal(open("token-c", stop.signal));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toBe(
        "too many event subscriptions of env:1 on this node (at most 2): end one first",
      );
      expect(subjects(err)).toEqual(["env:1"]);
      expect(quotas.subscriptionsOf("env:1")).toBe(2);
      // Another key has its own places.
      await open("token-d", stop.signal);

      first.abort();
      await expect.poll(() => quotas.subscriptionsOf("env:1")).toBe(1);
      await open("token-c", stop.signal);
      expect(quotas.subscriptionsOf("env:1")).toBe(2);
    } finally {
      first.abort();
      stop.abort();
    }
    await expect
      .poll(() => quotas.subscriptionsOf("env:1") + quotas.subscriptionsOf("env:2"))
      .toBe(0);
  });
});
