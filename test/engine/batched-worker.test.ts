/**
 * The batched worker protocol over plain gRPC (@grpc/grpc-js and the .proto files, no SDK): a
 * worker whose hello says `accepts_batches` gets its assignments in RunAssignments, sends many
 * results in one RunResults message and gets their answers in RunResultAnswers. A batch with
 * one bad entry changes nothing. A batch whose transaction dies (the database cut mid-write) is
 * answered by nothing and committed by nothing; sent again in the next session, every result is
 * recorded once, and sent a third time it records nothing more.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventsOfText } from "../../server/src/store/sql/events/batch-text.js";
import {
  grpcJsClients,
  rawWorkerSession,
  type GrpcJsClients,
  type RawSession,
  type Reply,
} from "../support/grpc-js.js";
import { MYSQL_URL, createTestDatabase, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { TcpProxy } from "../support/proxy.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const HANDLER = "batch.run";

/** Opens a batched session for HANDLER and waits for its welcome. */
async function openSession(port: number, resumed: Reply[] = []): Promise<RawSession> {
  const session = rawWorkerSession(port);
  session.send({
    hello: {
      worker_id: "batch-worker",
      handlers: [{ handler: HANDLER, max_concurrency: 10 }],
      max_concurrency: 10,
      accepts_batches: true,
      resumed_leases: resumed,
    },
  });
  const welcome = await session.next();
  expect(welcome.payload).toBe("welcome");
  expect((welcome.welcome as Reply).accepts_batches).toBe(true);
  return session;
}

/** Reads assignment messages (batched or single) until `n` leases came. */
async function leases(session: RawSession, n: number): Promise<Reply[]> {
  const got: Reply[] = [];
  while (got.length < n) {
    const m = await session.next();
    if (m.payload === "assignments")
      for (const a of (m.assignments as { assignments: Reply[] }).assignments)
        got.push(a.lease as Reply);
    else if (m.payload === "assignment") got.push((m.assignment as Reply).lease as Reply);
    else throw new Error(`unexpected message ${JSON.stringify(m)}`);
  }
  return got;
}

/** Reads answer messages until `n` answers came. */
async function answers(
  session: RawSession,
  n: number,
): Promise<{ accepted: Reply[]; rejected: Reply[] }> {
  const accepted: Reply[] = [];
  const rejected: Reply[] = [];
  while (accepted.length + rejected.length < n) {
    const m = await session.next();
    if (m.payload === "result_answers") {
      const a = m.result_answers as { accepted: Reply[]; rejected: Reply[] };
      accepted.push(...a.accepted);
      rejected.push(...a.rejected);
    } else if (m.payload === "result_accepted") accepted.push(m.result_accepted as Reply);
    else if (m.payload === "result_rejected") rejected.push(m.result_rejected as Reply);
    else throw new Error(`unexpected message ${JSON.stringify(m)}`);
  }
  return { accepted, rejected };
}

const success = (lease: Reply, n: number) => ({
  lease,
  success: { result_json: JSON.stringify({ n }) },
});

describe("a batched worker over plain gRPC", () => {
  let db: TestStore;
  let node: TestNode;
  let c: GrpcJsClients;

  beforeAll(async () => {
    db = await createSqliteStore("metronome-batched-worker");
    node = await startTestNode(db.url, { METRONOME_POLL_INTERVAL: "0.05" });
    c = grpcJsClients(node.port);
    await c.job("AddJob", {
      job: { id: "b", handler: HANDLER, trigger: { cron: { hour: "3" } }, max_instances: 10 },
    });
  });

  afterAll(async () => {
    c.close();
    await node.stop();
    await db.drop();
  });

  it("sends results in one message and gets every answer once each is committed", async () => {
    const session = await openSession(node.port);
    try {
      const runIds: string[] = [];
      for (let i = 0; i < 5; i++)
        runIds.push(((await c.job("RunJobNow", { job_id: "b" })).run as Reply).run_id as string);
      const held = await leases(session, 5);
      expect(held.map((l) => l.run_id).sort()).toEqual([...runIds].sort());
      // One batch: four successes and one error whose retry policy (none) fails the run.
      session.send({
        results: {
          results: [
            ...held.slice(0, 4).map((l, i) => success(l, i)),
            { lease: held[4], error: { message: "no", type: "E" } },
          ],
        },
      });
      const { accepted, rejected } = await answers(session, 5);
      expect(rejected).toEqual([]);
      expect(accepted.map((a) => (a.lease as Reply).run_id).sort()).toEqual(
        held.map((l) => l.run_id).sort(),
      );
      const statuses = new Map(
        accepted.map((a) => [(a.lease as Reply).run_id, a.run_status as string]),
      );
      expect(statuses.get(held[4]?.run_id)).toBe("RUN_STATUS_FAILED");
      for (const [i, l] of held.slice(0, 4).entries()) {
        expect(statuses.get(l.run_id)).toBe("RUN_STATUS_SUCCEEDED");
        const run = (await c.run("GetRun", { run_id: l.run_id })).run as Reply;
        expect(run).toMatchObject({
          status: "RUN_STATUS_SUCCEEDED",
          result_json: `{"n":${String(i)}}`,
        });
      }
      // The same batch again: accepted again, nothing changes.
      session.send({ results: { results: held.slice(0, 2).map((l, i) => success(l, i + 10)) } });
      const again = await answers(session, 2);
      expect(again.accepted.map((a) => a.run_status)).toEqual([
        "RUN_STATUS_SUCCEEDED",
        "RUN_STATUS_SUCCEEDED",
      ]);
      const run = (await c.run("GetRun", { run_id: held[0]?.run_id })).run as Reply;
      expect(run.result_json).toBe('{"n":0}');
      expect(await session.end()).toBe(0);
    } finally {
      session.close();
    }
  });

  it("refuses a batch with one bad entry with INVALID_ARGUMENT naming it, recording none", async () => {
    const session = await openSession(node.port);
    try {
      const run = (await c.job("RunJobNow", { job_id: "b" })).run as Reply;
      const [lease] = await leases(session, 1);
      session.send({
        results: {
          results: [
            success(lease as Reply, 1),
            { lease: { ...lease, lease_token: "" }, success: {} },
          ],
        },
      });
      await expect(session.next()).rejects.toMatchObject({
        code: 3,
        details: expect.stringContaining("results.results[1].lease.lease_token") as unknown,
      });
      const after = (await c.run("GetRun", { run_id: run.run_id })).run as Reply;
      expect(after.status).toBe("RUN_STATUS_RUNNING");
    } finally {
      session.close();
    }
  });
});

describeMysql("a batch of results whose transaction dies", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let node: TestNode;
  let c: GrpcJsClients;
  let conn: mysql.Connection;

  beforeAll(async () => {
    db = await createTestDatabase("metronome_batched_worker");
    const target = new URL(MYSQL_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 3306) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    node = await startTestNode(viaProxy.toString(), {
      METRONOME_POLL_INTERVAL: "0.05",
      METRONOME_LEASE_DURATION: "60",
    });
    c = grpcJsClients(node.port);
    conn = await mysql.createConnection({ uri: db.url });
    await c.job("AddJob", {
      job: { id: "d", handler: HANDLER, trigger: { cron: { hour: "3" } }, max_instances: 10 },
    });
  });

  afterAll(async () => {
    c.close();
    await node.stop();
    await proxy.close();
    await conn.end();
    await db.drop();
  });

  const count = async (sql: string, params: unknown[]): Promise<number> => {
    const [rows] = await conn.query(sql, params);
    return Number((rows as { n: unknown }[])[0]?.n ?? 0);
  };

  /** job_executed events recorded for these runs (read directly, not through the proxy). */
  const executed = async (runIds: readonly unknown[]): Promise<number> => {
    const [rows] = await conn.query("SELECT events FROM event_log");
    return (rows as { events: string }[])
      .flatMap((r) => eventsOfText(r.events))
      .filter((e) => e.type === "job_executed" && runIds.includes(e.runId)).length;
  };

  it("loses nothing and duplicates nothing: unanswered, uncommitted, then recorded once", async () => {
    const first = await openSession(node.port);
    let held: Reply[];
    try {
      for (let i = 0; i < 4; i++) await c.job("RunJobNow", { job_id: "d" });
      held = await leases(first, 4);
      // The database stops answering, the batch goes out, then every connection is dropped:
      // its transaction cannot commit, and the session ends without an answer.
      void proxy.hold();
      first.send({ results: { results: held.map((l, i) => success(l, i)) } });
      proxy.cut();
      await expect(first.next()).rejects.toMatchObject({ code: 14 });
    } finally {
      first.close();
    }
    const ids = held.map((l) => l.run_id);
    expect(
      await count("SELECT COUNT(*) AS n FROM runs WHERE status = 'running' AND id IN (?)", [ids]),
    ).toBe(4);
    expect(await executed(ids)).toBe(0);

    proxy.restore();
    // The next session resumes the leases and sends the batch again: each recorded once.
    const second = await openSession(node.port, held);
    try {
      second.send({ results: { results: held.map((l, i) => success(l, i)) } });
      const { accepted, rejected } = await answers(second, 4);
      expect(rejected).toEqual([]);
      expect(accepted.every((a) => a.run_status === "RUN_STATUS_SUCCEEDED")).toBe(true);
      second.send({ results: { results: held.map((l, i) => success(l, i)) } });
      expect((await answers(second, 4)).accepted).toHaveLength(4);
      expect(await second.end()).toBe(0);
    } finally {
      second.close();
    }
    expect(
      await count("SELECT COUNT(*) AS n FROM runs WHERE status = 'succeeded' AND id IN (?)", [ids]),
    ).toBe(4);
    expect(await count("SELECT COUNT(*) AS n FROM runs WHERE job_id = 'd'", [])).toBe(4);
    // Events get their cursors after commit; the rows are there at commit.
    expect(await executed(ids)).toBe(4);
  });
});
