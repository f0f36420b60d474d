/**
 * max_instances when the job's worker has no free slot, on each store with a manual clock
 * (docs/guarantees.md, max_instances): a fire time that comes while the job has max_instances
 * runs running is skipped at that time, even though no worker could take it. Before the fix the
 * hand-out, which runs only for sessions with a free slot, decided it: the fire stayed pending
 * while the only slot was taken, went to the worker late once the slot freed (its job then had
 * none running), and a long run left its fires pending until their grace ended them as missed.
 */
import { expect, it } from "vitest";
import { engineHarness } from "../support/engine-harness.js";
import {
  type Reply,
  rawSubscription,
  timestamp as ts,
  duration as dur,
  msOf,
} from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;

describeEachStore("max_instances with no free slot", busyWorker, { cluster: true });

function busyWorker(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);
  const { clock, advance, runs } = h;
  /**
   * The set-up of a case: a worker (`w-<id>`) with one slot for handler `h.<id>`, and job `id`
   * on it firing every 10 s from 10 s on (max_instances 1, `more` on top), its first run
   * assigned to the worker.
   */
  const firstRunning = async (id: string, more: Record<string, unknown> = {}) => {
    const w = await h.worker(`w-${id}`, `h.${id}`, 1);
    const start = clock.now();
    await h.c.job("AddJob", {
      job: {
        id,
        handler: `h.${id}`,
        trigger: { interval: { seconds: 10, start_date: ts(start + 10 * S) } },
        max_instances: 1,
        ...more,
      },
    });
    await advance(10 * S);
    const first = await h.next(w, "assignment");
    return { w, start, first };
  };

  it("a fire that comes while the job runs on the worker's only slot is skipped, not run late or missed", async () => {
    const { w, start, first } = await firstRunning("long", {
      misfire_grace_time: { duration: dur(30 * S) },
    });
    // The run outlasts eight fire times, and its misfire grace (30 s) three times over.
    for (let i = 0; i < 8; i++) await advance(10 * S);
    const during = await runs("long");
    const at = (r: Reply) => (msOf(r.scheduled_time as Reply) - start) / S;
    expect(during.map((r) => [at(r), r.status])).toEqual([
      [10, "RUN_STATUS_RUNNING"],
      ...[20, 30, 40, 50, 60, 70, 80, 90].map((t) => [t, "RUN_STATUS_SKIPPED"]),
    ]);
    for (const r of during.slice(1)) expect(r.status_reason).toBe("max_instances 1 reached");
    // The slot frees: nothing of the job is left to run late.
    w.send({ result: { lease: first.lease, success: {} } });
    await h.next(w, "result_accepted");
    // The next fire time runs on time: it is the worker's next assignment.
    await advance(10 * S);
    const next = await h.next(w, "assignment");
    expect(at(next)).toBe(100);
    expect(msOf(next.scheduled_time as Reply)).toBe(clock.now());
  });

  it("the node looks at the fire at its time by itself: no pass is run by the test then", async () => {
    await firstRunning("self");
    // The next fire's run is made ahead (within 2 s of its time), pending, the slot taken.
    await advance(8500);
    expect((await runs("self")).map((r) => r.status)).toEqual([
      "RUN_STATUS_RUNNING",
      "RUN_STATUS_PENDING",
    ]);
    const sub = rawSubscription(h.node.port, {
      from_now: true,
      filter: { job_ids: ["self"], types: ["EVENT_TYPE_JOB_MAX_INSTANCES"] },
    });
    try {
      expect(await sub.next()).toMatchObject({ live: true });
      clock.advance(1500); // the fire time: only the node's own timer acts
      const [skipped] = await sub.events((got) => got.length > 0);
      expect(skipped).toMatchObject({ type: "EVENT_TYPE_JOB_MAX_INSTANCES", job_id: "self" });
      expect((await runs("self")).map((r) => r.status)).toEqual([
        "RUN_STATUS_RUNNING",
        "RUN_STATUS_SKIPPED",
      ]);
    } finally {
      sub.cancel();
    }
  });

  it("a fire that finds the worker busy with another job's run waits for the slot and runs", async () => {
    const w = await h.worker("w-shared", "h.shared", 1);
    const at = clock.now() + 10 * S;
    const add = (id: string, when: number) =>
      h.c.job("AddJob", {
        job: { id, handler: "h.shared", trigger: { date: { run_date: ts(when) } } },
      });
    await add("shared-a", at);
    await add("shared-b", at + 5 * S);
    await advance(10 * S);
    const a = await h.next(w, "assignment");
    expect(a.job_id).toBe("shared-a");
    await advance(5 * S); // shared-b's job has room: it waits for the slot
    expect((await runs("shared-b")).map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
    w.send({ result: { lease: a.lease, success: {} } });
    const got = [await w.next(), await w.next()];
    expect(got.map((m) => m.payload).sort()).toEqual(["assignment", "result_accepted"]);
    expect((await runs("shared-b")).map((r) => r.status)).toEqual(["RUN_STATUS_RUNNING"]);
  });
}
