/**
 * Coalesce across an outage, on each store: a run prepared ahead (claimed up to LOOKAHEAD_MS
 * before its fire time) just before every node stopped must not run next to the coalesced run of
 * the fire times that passed during the outage. The stale run folds into the coalesced one
 * (missed, "coalesced into the run of …"); the job runs once, for the latest fire time.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ManualClock } from "../support/clock.js";
import {
  grpcJsClients,
  msOf,
  rawWorkerSession,
  type GrpcJsClients,
  type RawSession,
  type Reply,
  timestamp as ts,
} from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import type { TestStore } from "../support/stores.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const S = 1000;

describeEachStore("coalesce across a restart", restartCoalesce);

function restartCoalesce(makeStore: () => Promise<TestStore>): void {
  let db: TestStore;
  let node: TestNode;
  let c: GrpcJsClients;
  const clock = new ManualClock(T0);
  const env = { METRONOME_POLL_INTERVAL: "60", METRONOME_LEASE_DURATION: "600" };
  const sessions: RawSession[] = [];

  beforeAll(async () => {
    db = await makeStore();
    node = await startTestNode(db.url, env, clock);
    c = grpcJsClients(node.port);
  });

  afterAll(async () => {
    for (const s of sessions) s.close();
    c.close();
    await node.stop();
    await db.drop();
  });

  const rel = (r: Reply) => (msOf(r.scheduled_time as Reply) - T0) / S;

  async function runs(jobId: string): Promise<Reply[]> {
    const page = await c.run("ListRuns", { job_id: jobId });
    return ((page.runs ?? []) as Reply[]).reverse(); // oldest first
  }

  it("the run prepared before the outage folds into the coalesced run: one run, the latest", async () => {
    // Every 5 s from +5 s; coalesce, max_instances 1 and a grace of 60 s (the defaults).
    await c.job("AddJob", {
      job: {
        id: "co",
        handler: "h.co",
        trigger: { interval: { seconds: 5, start_date: ts(T0 + 5 * S) } },
        coalesce: true,
      },
    });
    clock.advance(4 * S);
    await node.node.engine.pass(); // 1 s before the +5 s fire time: its run is prepared
    expect((await runs("co")).map((r) => [rel(r), r.status])).toEqual([[5, "RUN_STATUS_PENDING"]]);
    c.close();
    await node.stop(); // every node down
    clock.advance(30 * S); // the fire times +5 … +30 s pass (within the grace)
    node = await startTestNode(db.url, env, clock);
    c = grpcJsClients(node.port);
    await node.node.engine.pass();

    const after = await runs("co");
    expect(after.map((r) => [rel(r), r.status])).toEqual([
      [5, "RUN_STATUS_MISSED"],
      [30, "RUN_STATUS_PENDING"],
      [35, "RUN_STATUS_PENDING"], // prepared ahead, as usual
    ]);
    expect(after[0]?.status_reason).toBe(
      `coalesced into the run of ${new Date(T0 + 30 * S).toISOString()}`,
    );
    expect(after[1]?.status_reason).toMatch(/^coalesced 4 earlier fire times/);

    // A worker connects: it runs the latest fire time, and nothing is skipped.
    const s = rawWorkerSession(node.port);
    sessions.push(s);
    s.send({
      hello: {
        worker_id: "w-co",
        handlers: [{ handler: "h.co", max_concurrency: 5 }],
        max_concurrency: 5,
      },
    });
    expect((await s.next()).payload).toBe("welcome");
    await node.node.engine.pass();
    const m = await s.next();
    expect(m.payload).toBe("assignment");
    expect(rel(m.assignment as Reply)).toBe(30);
    expect((await runs("co")).map((r) => [rel(r), r.status])).toEqual([
      [5, "RUN_STATUS_MISSED"],
      [30, "RUN_STATUS_RUNNING"],
      [35, "RUN_STATUS_PENDING"],
    ]);
  });
}
