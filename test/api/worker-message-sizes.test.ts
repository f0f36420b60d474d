/**
 * The sizes of a worker session's messages, with a worker written from the protos with
 * @grpc/grpc-js at its default settings (a 4 MiB receive limit): the session reads messages far
 * larger than the API's other calls (SESSION_READ_MAX_BYTES). A result_json or a stack of 400 KB
 * is read whole: the first fails its run as ResultTooLarge, the second is cut, and the session
 * goes on; a RunResults of six 60 KB results, a heartbeat of 6,000 leases and a hello resuming
 * 10,000 leases are read and answered. Assignments the worker receives are cut into messages
 * under 4 MiB: forty runs whose kwargs are 60 KB each reach a batching worker and complete.
 * Before, every call shared one limit of 4 × METRONOME_MAX_PAYLOAD_BYTES + 64 KiB (320 KiB): each
 * of those requests ended the session with RESOURCE_EXHAUSTED and left its runs RUNNING, and the
 * forty assignments went out as one 4.8 MB message that grpc-js refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  grpcJsClients,
  rawWorkerSession,
  type GrpcJsClients,
  type RawSession,
  type Reply,
} from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const HANDLER = "sizes.run";
const OLD_LIMIT = 4 * 65_536 + 65_536;

/** Opens a session for HANDLER and waits for its welcome. */
async function openSession(
  port: number,
  hello: Record<string, unknown> = {},
): Promise<{ session: RawSession; welcome: Reply }> {
  const session = rawWorkerSession(port);
  session.send({
    hello: {
      worker_id: "sizes-worker",
      handlers: [{ handler: HANDLER }],
      max_concurrency: 50,
      accepts_batches: true,
      ...hello,
    },
  });
  const welcome = await session.next();
  expect(welcome.payload).toBe("welcome");
  return { session, welcome };
}

/** Reads assignment messages until `n` assignments came; also how many messages carried them. */
async function assignments(
  session: RawSession,
  n: number,
): Promise<{ assignments: Reply[]; messages: number }> {
  const got: Reply[] = [];
  let messages = 0;
  while (got.length < n) {
    const m = await session.next();
    messages++;
    if (m.payload === "assignments")
      got.push(...(m.assignments as { assignments: Reply[] }).assignments);
    else if (m.payload === "assignment") got.push(m.assignment as Reply);
    else throw new Error(`unexpected message ${m.payload as string}`);
  }
  return { assignments: got, messages };
}

/** Reads answer messages until `n` answers came. */
async function answers(session: RawSession, n: number): Promise<Reply[]> {
  const got: Reply[] = [];
  while (got.length < n) {
    const m = await session.next();
    if (m.payload === "result_answers") {
      const a = m.result_answers as { accepted: Reply[]; rejected: Reply[] };
      got.push(...a.accepted, ...a.rejected);
    } else if (m.payload === "result_accepted") got.push(m.result_accepted as Reply);
    else if (m.payload === "result_rejected") got.push(m.result_rejected as Reply);
    else throw new Error(`unexpected message ${m.payload as string}`);
  }
  return got;
}

/** Reads `n` cancellations. */
async function cancellations(session: RawSession, n: number): Promise<Reply[]> {
  const got: Reply[] = [];
  while (got.length < n) {
    const m = await session.next();
    if (m.payload !== "cancellation") throw new Error(`unexpected message ${m.payload as string}`);
    got.push(m.cancellation as Reply);
  }
  return got;
}

/** `n` leases no run has (each answered LEASE_LOST), of realistic sizes. */
function unknownLeases(n: number, prefix: string): Reply[] {
  return Array.from({ length: n }, (_, i) => ({
    run_id: `${prefix}-${String(i).padStart(8, "0")}-0000-0000-000000000000`,
    attempt: 1,
    lease_token: String(i).padStart(32, "0"),
  }));
}

/** A JSON string value of about `bytes` bytes. */
const jsonOf = (bytes: number): string => JSON.stringify("x".repeat(bytes - 2));

describe("the sizes of worker session messages", () => {
  let db: TestStore;
  let node: TestNode;
  let c: GrpcJsClients;

  beforeAll(async () => {
    db = await createSqliteStore("metronome-worker-message-sizes");
    node = await startTestNode(db.url, { METRONOME_POLL_INTERVAL: "0.05" });
    c = grpcJsClients(node.port);
    await c.job("AddJob", {
      job: { id: "small", handler: HANDLER, trigger: { cron: { hour: "3" } }, max_instances: 50 },
    });
    // Just under the default payload limit (65,536 bytes of args + kwargs JSON).
    await c.job("AddJob", {
      job: {
        id: "heavy",
        handler: HANDLER,
        trigger: { cron: { hour: "3" } },
        max_instances: 50,
        kwargs: { fields: { data: { stringValue: "k".repeat(60_000) } } },
      },
    });
  });

  afterAll(async () => {
    c.close();
    await node.stop();
    await db.drop();
  });

  const runNow = async (jobId: string, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push(((await c.job("RunJobNow", { job_id: jobId })).run as Reply).run_id as string);
    return ids;
  };
  const getRun = async (runId: string): Promise<Reply> =>
    (await c.run("GetRun", { run_id: runId })).run as Reply;

  it("fails a 400 KB result as ResultTooLarge, cuts a 400 KB stack, and the session goes on", async () => {
    const { session } = await openSession(node.port);
    try {
      const ids = await runNow("small", 3);
      const leases = (await assignments(session, 3)).assignments.map((a) => a.lease as Reply);
      const [big, stacked, small] = leases as [Reply, Reply, Reply];
      const resultJson = jsonOf(400_000);
      expect(resultJson.length).toBeGreaterThan(OLD_LIMIT);

      session.send({ result: { lease: big, success: { result_json: resultJson } } });
      expect(await answers(session, 1)).toEqual([
        expect.objectContaining({ lease: big, run_status: "RUN_STATUS_FAILED" }),
      ]);
      expect(await getRun(big.run_id as string)).toMatchObject({
        status: "RUN_STATUS_FAILED",
        error: { type: "ResultTooLarge", message: "the result is larger than 65536 bytes of JSON" },
      });

      session.send({
        result: {
          lease: stacked,
          error: { message: "boom", type: "Boom", stack: "s".repeat(400_000), non_retryable: true },
        },
      });
      expect(await answers(session, 1)).toEqual([
        expect.objectContaining({ lease: stacked, run_status: "RUN_STATUS_FAILED" }),
      ]);
      const failed = await getRun(stacked.run_id as string);
      expect(failed).toMatchObject({ status: "RUN_STATUS_FAILED", error: { type: "Boom" } });
      expect(((failed.error as Reply).stack as string).length).toBe(16_384);

      // The same session answers the next result.
      session.send({ result: { lease: small, success: { result_json: '{"ok":true}' } } });
      expect(await answers(session, 1)).toEqual([
        expect.objectContaining({ lease: small, run_status: "RUN_STATUS_SUCCEEDED" }),
      ]);
      expect(new Set(leases.map((l) => l.run_id))).toEqual(new Set(ids));
      expect(await session.end()).toBe(0);
    } finally {
      session.close();
    }
  });

  it("records every result of a RunResults of six 60 KB results", async () => {
    const { session } = await openSession(node.port);
    try {
      await runNow("small", 6);
      const leases = (await assignments(session, 6)).assignments.map((a) => a.lease as Reply);
      const results = leases.map((lease, i) => ({
        lease,
        success: { result_json: JSON.stringify({ i, pad: "p".repeat(60_000) }) },
      }));
      session.send({ results: { results } });
      const got = await answers(session, 6);
      expect(got.map((a) => a.run_status)).toEqual(Array(6).fill("RUN_STATUS_SUCCEEDED"));
      for (const [i, lease] of leases.entries()) {
        const run = await getRun(lease.run_id as string);
        expect(run.status).toBe("RUN_STATUS_SUCCEEDED");
        expect(JSON.parse(run.result_json as string)).toMatchObject({ i });
      }
      expect(await session.end()).toBe(0);
    } finally {
      session.close();
    }
  });

  it("welcomes a hello resuming 10,000 leases and answers each", async () => {
    const { session } = await openSession(node.port, {
      max_concurrency: 10_000,
      resumed_leases: unknownLeases(10_000, "resumed"),
    });
    try {
      // Every resumed lease is unknown: each is answered LEASE_LOST after the welcome.
      const lost = await cancellations(session, 10_000);
      expect(new Set(lost.map((l) => l.reason))).toEqual(
        new Set(["CANCELLATION_REASON_LEASE_LOST"]),
      );
      expect(await session.end()).toBe(0);
    } finally {
      session.close();
    }
  });

  it("answers a heartbeat of 6,000 leases", async () => {
    const { session } = await openSession(node.port, { max_concurrency: 10_000 });
    try {
      const listed = unknownLeases(6_000, "beat");
      session.send({ heartbeat: { active_leases: listed } });
      const lost = await cancellations(session, 6_000);
      expect(new Set(lost.map((l) => (l.lease as Reply).run_id))).toEqual(
        new Set(listed.map((l) => l.run_id)),
      );
      expect(await session.end()).toBe(0);
    } finally {
      session.close();
    }
  });

  it("sends forty assignments of 60 KB kwargs in messages a default grpc-js client reads", async () => {
    // Pending before the worker connects: one hand-out pass leases all forty to it.
    const ids = await runNow("heavy", 40);
    const { session } = await openSession(node.port);
    try {
      const got = await assignments(session, 40);
      // 40 × ~120 KB (kwargs as a Struct and as JSON text) is over 4 MiB: two messages at least.
      expect(got.messages).toBeGreaterThanOrEqual(2);
      expect(new Set(got.assignments.map((a) => (a.lease as Reply).run_id))).toEqual(new Set(ids));
      for (const a of got.assignments)
        expect((a.kwargs_json as string).length).toBeGreaterThan(60_000);
      session.send({
        results: {
          results: got.assignments.map((a) => ({
            lease: a.lease,
            success: { result_json: "1" },
          })),
        },
      });
      const answered = await answers(session, 40);
      expect(answered.map((a) => a.run_status)).toEqual(Array(40).fill("RUN_STATUS_SUCCEEDED"));
      expect(await session.end()).toBe(0);
    } finally {
      session.close();
    }
  });
});
