/**
 * Jitter and runs prepared ahead, through the API on each store with a manual clock: a run whose
 * nominal time has passed but whose jittered fire time has not is not due yet, so a change of
 * its job (PauseJob, ModifyJob, RescheduleJob) applies to it (docs/guarantees.md: a paused job creates no
 * runs; jitter only shifts when a fire happens). Before the fix such a run was left in place and
 * went to a worker at its jittered time, paused or not, with the old arguments.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ManualClock } from "../support/clock.js";
import {
  grpcJsClients,
  rawWorkerSession,
  type GrpcJsClients,
  type RawSession,
  type Reply,
  timestamp as ts,
  msOf,
} from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import type { TestStore } from "../support/stores.js";

const T0 = Date.parse("2026-06-01T00:00:00Z");
const S = 1000;
const HOUR = 3600 * S;

describeEachStore("jitter and prepared runs", jitterRules);

function jitterRules(makeStore: () => Promise<TestStore>): void {
  let db: TestStore;
  let node: TestNode;
  let c: GrpcJsClients;
  const clock = new ManualClock(T0);
  const sessions: RawSession[] = [];

  beforeAll(async () => {
    db = await makeStore();
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

  async function runs(jobId: string): Promise<Reply[]> {
    return ((await c.run("ListRuns", { job_id: jobId })).runs ?? []) as Reply[];
  }

  /**
   * An hourly job with an hour of jitter, its first fire an hour from now; the clock moved to
   * that nominal time, when its run is made: answers the nominal time and the run, due later.
   */
  async function jitteredRunMade(id: string): Promise<{ nominal: number; run: Reply }> {
    const nominal = clock.now() + HOUR;
    await c.job("AddJob", {
      job: {
        id,
        handler: `h.${id}`,
        trigger: { interval: { hours: 1, start_date: ts(nominal) }, jitter: { seconds: 3600 } },
        args: { values: [{ stringValue: "old" }] },
        misfire_grace_time: { no_limit: true },
      },
    });
    await advance(nominal - clock.now());
    const made = await runs(id);
    expect(made).toHaveLength(1);
    const run = made[0] as Reply;
    expect(msOf(run.scheduled_time as Reply)).toBe(nominal);
    expect(run.status).toBe("RUN_STATUS_PENDING");
    // Jittered: not due yet (a zero delay has odds of one in 3.6 million).
    expect(msOf(run.fire_time as Reply)).toBeGreaterThan(clock.now());
    return { nominal, run };
  }

  it("PauseJob after the nominal time but before the jittered time: the run is withdrawn", async () => {
    const { run } = await jitteredRunMade("paused");
    const paused = (await c.job("PauseJob", { job_id: "paused" })).job as Reply;
    expect(paused.paused).toBe(true);
    expect(await runs("paused")).toEqual([]);
    await advance(msOf(run.fire_time as Reply) - clock.now() + S);
    expect(await runs("paused")).toEqual([]);
  });

  it("ModifyJob after the nominal time but before the jittered time: the fire gets the new arguments", async () => {
    const w = rawWorkerSession(node.port);
    sessions.push(w);
    w.send({
      hello: {
        worker_id: "w-modified",
        handlers: [{ handler: "h.modified", max_concurrency: 1 }],
        max_concurrency: 1,
      },
    });
    expect((await w.next()).payload).toBe("welcome");
    const { nominal, run } = await jitteredRunMade("modified");
    const modified = (
      await c.job("ModifyJob", {
        job: { id: "modified", args: { values: [{ stringValue: "new" }] } },
        update_mask: { paths: ["args"] },
      })
    ).job as Reply;
    // The withdrawn fire time is the job's next one again: it is made anew, with the new args.
    expect(msOf(modified.next_run_time as Reply)).toBe(nominal);
    await advance(0); // claimed again (the change may have woken the node to do it already)
    const made = await runs("modified");
    expect(made.map((r) => msOf(r.scheduled_time as Reply))).toEqual([nominal]);
    expect(made[0]?.run_id).not.toBe(run.run_id);
    // Handed out at its (new) jittered time, at once if that has passed (no misfire limit).
    await advance(Math.max(0, msOf(made[0]?.fire_time as Reply) - clock.now()) + S);
    const m = await w.next();
    expect(m.payload).toBe("assignment");
    const a = m.assignment as Reply;
    expect(a.lease).toMatchObject({ run_id: made[0]?.run_id });
    expect(JSON.parse(String(a.args_json))).toEqual(["new"]);
  });

  it("RescheduleJob after the nominal time but before the jittered time: the old fire is withdrawn", async () => {
    const { nominal, run } = await jitteredRunMade("rescheduled");
    const later = nominal + 10 * HOUR;
    const rescheduled = (
      await c.job("RescheduleJob", {
        job_id: "rescheduled",
        trigger: { interval: { hours: 1, start_date: ts(later) } },
      })
    ).job as Reply;
    expect(msOf(rescheduled.next_run_time as Reply)).toBe(later);
    await advance(msOf(run.fire_time as Reply) - clock.now() + S);
    expect(await runs("rescheduled")).toEqual([]);
  });
}
