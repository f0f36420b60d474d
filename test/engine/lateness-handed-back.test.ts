/**
 * metronome_fire_lateness_seconds counts each run once, when its first attempt is sent to a
 * worker: a run leased ahead to a session that ends before the run's time (it was held, never
 * sent) is handed back and leased to another session, and is counted when that one gets it —
 * not at each lease (the first of which counted 0). A real node on a manual clock (SQLite), two
 * worker sessions over @grpc/grpc-js, /metrics scraped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../support/clock.js";
import {
  grpcJsClients,
  rawWorkerSession,
  timestamp as ts,
  type GrpcJsClients,
  type RawSession,
  type Reply,
} from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const S = 1000;
const HANDLER = "h.late";

describe("fire lateness of a run handed back before it was sent", () => {
  let db: TestStore;
  let node: TestNode;
  let c: GrpcJsClients;
  const clock = new ManualClock(T0);
  const sessions: RawSession[] = [];

  beforeAll(async () => {
    db = await createSqliteStore("lateness-handed-back");
    node = await startTestNode(
      db.url,
      { METRONOME_POLL_INTERVAL: "60", METRONOME_LEASE_DURATION: "600" },
      clock,
    );
    c = grpcJsClients(node.port);
  });

  afterAll(async () => {
    for (const s of sessions) s.close();
    c.close();
    await node.stop();
    await db.drop();
  });

  async function advance(ms: number): Promise<void> {
    clock.advance(ms);
    await node.node.engine.pass();
  }

  async function worker(id: string): Promise<RawSession> {
    const s = rawWorkerSession(node.port);
    sessions.push(s);
    s.send({
      hello: { worker_id: id, handlers: [{ handler: HANDLER, max_concurrency: 1 }] },
    });
    expect((await s.next()).payload).toBe("welcome");
    return s;
  }

  async function theRun(): Promise<Reply> {
    const page = await c.run("ListRuns", { job_id: "once" });
    const [run] = (page.runs ?? []) as Reply[];
    if (run === undefined) throw new Error("no run");
    return run;
  }

  /** The histogram's count and sum for the default scheduler, from /metrics. */
  async function lateness(): Promise<{ count: number; sum: number }> {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const value = (name: string): number =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${name}{scheduler="default"}`))
          ?.split(" ")
          .pop() ?? "0",
      );
    return {
      count: value("metronome_fire_lateness_seconds_count"),
      sum: value("metronome_fire_lateness_seconds_sum"),
    };
  }

  it("counts the run once, when the second session gets it", async () => {
    const first = await worker("w-first");
    await c.job("AddJob", {
      job: { id: "once", handler: HANDLER, trigger: { date: { run_date: ts(T0 + 10 * S) } } },
    });
    // 0.4 s before its time the run is leased ahead to the first session and held by the node.
    await advance(9.6 * S);
    expect(await theRun()).toMatchObject({ status: "RUN_STATUS_RUNNING", worker_id: "w-first" });

    // The first session ends before the run's time: the run, never sent, is handed back.
    await first.end();
    for (let tries = 0; (await theRun()).status !== "RUN_STATUS_PENDING"; tries++)
      if (tries > 200) throw new Error("the run was not handed back");
    expect(await lateness()).toEqual({ count: 0, sum: 0 });

    // The second session gets it at its time, 2 s late.
    const second = await worker("w-second");
    await advance(2.4 * S);
    const m = await second.next();
    expect(m.payload).toBe("assignment");
    const assignment = m.assignment as Reply;
    expect((assignment.lease as Reply).attempt).toBe(1);
    expect(await lateness()).toEqual({ count: 1, sum: 2 });

    second.send({ result: { lease: assignment.lease, success: {} } });
    expect((await second.next()).payload).toBe("result_accepted");
    expect(await theRun()).toMatchObject({ status: "RUN_STATUS_SUCCEEDED", attempt: 1 });
    expect(await lateness()).toEqual({ count: 1, sum: 2 });
  });
});
