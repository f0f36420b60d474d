/**
 * A worker written with @grpc/grpc-js and the .proto files alone (no SDK), following
 * docs/protocol.md: it registers, receives a run when its job fires, heartbeats, reports
 * results and errors, sees retries and the fencing of a stale lease, and ends its session.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  grpcJsClients,
  list,
  rawWorkerSession,
  struct,
  unstruct,
  unvalue,
  type GrpcJsClients,
  type RawSession,
  type Reply,
  timestamp as ts,
  msOf,
} from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

describe("a worker over plain gRPC", () => {
  let db: TestStore;
  let node: TestNode;
  let c: GrpcJsClients;
  let session: RawSession;

  beforeAll(async () => {
    db = await createSqliteStore("metronome-raw-worker");
    node = await startTestNode(db.url, {
      METRONOME_POLL_INTERVAL: "0.05",
      METRONOME_LEASE_DURATION: "3",
    });
    c = grpcJsClients(node.port);
    session = rawWorkerSession(node.port);
  });

  afterAll(async () => {
    session.close();
    c.close();
    await node.stop();
    await db.drop();
  });

  const next = async (kind: string): Promise<Reply> => {
    const m = await session.next();
    expect(m.payload, JSON.stringify(m)).toBe(kind);
    return m[kind] as Reply;
  };

  it("registers and is welcomed with the lease terms", async () => {
    session.send({
      hello: {
        worker_id: "py-worker-1",
        handlers: [{ handler: "raw.echo", max_concurrency: 2 }],
        max_concurrency: 2,
        labels: { lang: "python" },
      },
    });
    const welcome = await next("welcome");
    expect(welcome).toMatchObject({
      worker_id: "py-worker-1",
      lease_duration: { seconds: "3" },
      heartbeat_interval: { seconds: "1" },
    });
    expect(welcome.session_id).not.toBe("");
  });

  it("receives the run of a date job when it fires, with args and kwargs intact", async () => {
    const runDate = Date.now() + 400;
    const kwargs = { report: { id: 7, tags: ["a", "b"] }, dry: false, none: null };
    await c.job("AddJob", {
      job: {
        id: "once",
        handler: "raw.echo",
        trigger: { date: { run_date: ts(runDate) } },
        args: list(["x", 2, 1.5]),
        kwargs: struct(kwargs),
      },
    });
    const a = await next("assignment");
    expect(Date.now()).toBeGreaterThanOrEqual(runDate);
    expect(a).toMatchObject({
      job_id: "once",
      scheduler: "default",
      handler: "raw.echo",
      manual: false,
      max_attempts: 1,
      lease: { attempt: 1 },
    });
    expect(msOf(a.scheduled_time as Reply)).toBe(runDate);
    expect((a.args as { values: Reply[] }).values.map(unvalue)).toEqual(["x", 2, 1.5]);
    expect(unstruct(a.kwargs as Reply)).toEqual(kwargs);

    const lease = a.lease as Reply;
    session.send({ heartbeat: { active_leases: [lease] } });
    session.send({
      result: { lease, success: { result: { structValue: struct({ echoed: ["x", 2] }) } } },
    });
    const accepted = await next("result_accepted");
    expect(accepted).toMatchObject({ lease, run_status: "RUN_STATUS_SUCCEEDED" });

    const run = (await c.run("GetRun", { run_id: lease.run_id })).run as Reply;
    expect(run).toMatchObject({
      status: "RUN_STATUS_SUCCEEDED",
      worker_id: "py-worker-1",
      attempt: 1,
    });
    expect(unvalue(run.result as Reply)).toEqual({ echoed: ["x", 2] });
    // A date job is removed after its fire; its run stays.
    await expect(c.job("GetJob", { job_id: "once" })).rejects.toMatchObject({ code: 5 });

    // The same result again (say, after a reconnect) is accepted again, changing nothing.
    session.send({ result: { lease, success: { result: { numberValue: 1 } } } });
    expect(await next("result_accepted")).toMatchObject({ run_status: "RUN_STATUS_SUCCEEDED" });
  });

  it("reports errors: a retry follows with a new attempt, a stale lease is fenced off", async () => {
    await c.job("AddJob", {
      job: {
        id: "flaky",
        handler: "raw.echo",
        trigger: { cron: { hour: "3" } },
        retry_policy: { max_attempts: 2, initial_backoff: { nanos: 100_000_000 } },
      },
    });
    const now = (await c.job("RunJobNow", { job_id: "flaky" })).run as Reply;
    const first = await next("assignment");
    expect(first).toMatchObject({
      lease: { run_id: now.run_id, attempt: 1 },
      max_attempts: 2,
      manual: true,
    });
    const error = { message: "db down", type: "OperationalError", stack: "Traceback ..." };
    session.send({ result: { lease: first.lease, error } });
    expect(await next("result_accepted")).toMatchObject({ run_status: "RUN_STATUS_PENDING" });

    const second = await next("assignment");
    expect(second.lease).toMatchObject({ run_id: now.run_id, attempt: 2 });
    expect((second.lease as Reply).lease_token).not.toBe((first.lease as Reply).lease_token);
    // The first attempt's lease is no longer the run's: its late result is rejected.
    session.send({ result: { lease: first.lease, success: {} } });
    expect(await next("result_rejected")).toMatchObject({
      reason: "RESULT_REJECTION_REASON_LEASE_EXPIRED",
    });
    session.send({ result: { lease: second.lease, error: { ...error, non_retryable: true } } });
    expect(await next("result_accepted")).toMatchObject({ run_status: "RUN_STATUS_FAILED" });
    const run = (await c.run("GetRun", { run_id: now.run_id })).run as Reply;
    expect(run).toMatchObject({
      status: "RUN_STATUS_FAILED",
      attempt: 2,
      error: { message: "db down", type: "OperationalError", non_retryable: true },
    });
  });

  it("gets a cancellation for a run cancelled through the API", async () => {
    const run = (await c.job("RunJobNow", { job_id: "flaky" })).run as Reply;
    const a = await next("assignment");
    await c.run("CancelRun", { run_id: run.run_id, reason: "operator" });
    expect(await next("cancellation")).toMatchObject({
      lease: a.lease,
      reason: "CANCELLATION_REASON_CANCELLED",
      message: "operator",
    });
    session.send({ result: { lease: a.lease, success: {} } });
    expect(await next("result_rejected")).toMatchObject({
      reason: "RESULT_REJECTION_REASON_CANCELLED",
    });
  });

  it("a violation of the protocol ends the stream with INVALID_ARGUMENT", async () => {
    const bad = rawWorkerSession(node.port);
    try {
      bad.send({ heartbeat: { active_leases: [] } });
      await expect(bad.next()).rejects.toMatchObject({
        code: 3,
        details: expect.stringContaining("hello") as unknown,
      });
    } finally {
      bad.close();
    }
  });

  it("ends the session with OK when the worker closes its side", async () => {
    expect(await session.end()).toBe(0);
  });
});
