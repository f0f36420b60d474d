/**
 * Coalesce of fires that waited for a worker, on each store with a manual clock
 * (docs/guarantees.md, "Coalesce of runs that wait for a worker"): while no worker serves a
 * coalescing job's handler, each fire time still becomes a run (pending, toward its grace); when
 * a worker comes, the runs of the fire times that passed fold into the run of the latest
 * (missed, "coalesced into the run of …") and the job runs once, as after an outage. Before the
 * fix they were handed out oldest first: with max_instances 1 the oldest ran and the others were
 * skipped; with a larger max_instances they all ran side by side.
 */
import { expect, it } from "vitest";
import { engineHarness } from "../support/engine-harness.js";
import {
  msOf,
  type Reply,
  type RawSession,
  rawSubscription,
  timestamp as ts,
} from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;

describeEachStore("coalesce of fires that waited for a worker", coalesceWaiting, {
  cluster: true,
});

function coalesceWaiting(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);

  /** A job every 10 s from 10 s on, with no misfire grace limit: its fires wait for a worker. */
  async function addJob(id: string, more: Record<string, unknown>): Promise<number> {
    const start = h.clock.now();
    await h.c.job("AddJob", {
      job: {
        id,
        handler: `h.${id}`,
        trigger: { interval: { seconds: 10, start_date: ts(start + 10 * S) } },
        misfire_grace_time: { no_limit: true },
        ...more,
      },
    });
    return start;
  }

  /** Fire times in seconds after `start`, with the runs' statuses. */
  async function states(id: string, start: number): Promise<[number, string][]> {
    return (await h.runs(id)).map((r) => [
      (msOf(r.scheduled_time as Reply) - start) / S,
      String(r.status).replace("RUN_STATUS_", ""),
    ]);
  }

  const at = (start: number, r: Reply) => (msOf(r.scheduled_time as Reply) - start) / S;
  const into = (t: number) => `coalesced into the run of ${new Date(t).toISOString()}`;

  it("five fires that waited run once, for the latest; the others fold into it", async () => {
    const start = await addJob("co", { coalesce: true, max_instances: 1 });
    for (let i = 0; i < 5; i++) await h.advance(10 * S);
    expect(await states("co", start)).toEqual([10, 20, 30, 40, 50].map((t) => [t, "PENDING"]));

    const sub = rawSubscription(h.node.port, {
      from_now: true,
      filter: { job_ids: ["co"], types: ["EVENT_TYPE_JOB_MISSED"] },
    });
    try {
      expect(await sub.next()).toMatchObject({ live: true });
      const w = await h.worker("w-co", "h.co", 5);
      await h.advance(0);
      const a = await h.next(w, "assignment");
      expect(at(start, a)).toBe(50);
      const runs = await h.runs("co");
      expect(await states("co", start)).toEqual([
        ...[10, 20, 30, 40].map((t) => [t, "MISSED"]),
        [50, "RUNNING"],
      ]);
      for (const r of runs.slice(0, 4)) expect(r.status_reason).toBe(into(start + 50 * S));
      // Each folded run has its job_missed event, with the same reason.
      const missed = await sub.events((got) => got.length >= 4);
      expect(missed.map((e) => [e.run_id, e.reason])).toEqual(
        runs.slice(0, 4).map((r) => [r.run_id, into(start + 50 * S)]),
      );

      // The job goes on from there: its next fire runs on time.
      w.send({ result: { lease: a.lease, success: {} } });
      await h.next(w, "result_accepted");
      await h.advance(10 * S);
      expect(at(start, await h.next(w, "assignment"))).toBe(60);
    } finally {
      sub.cancel();
    }
  });

  it("folds with a larger max_instances too (one run, not five side by side)", async () => {
    const start = await addJob("wide", { coalesce: true, max_instances: 5 });
    for (let i = 0; i < 5; i++) await h.advance(10 * S);
    const w = await h.worker("w-wide", "h.wide", 5);
    await h.advance(0);
    expect(at(start, await h.next(w, "assignment"))).toBe(50);
    expect(await states("wide", start)).toEqual([
      ...[10, 20, 30, 40].map((t) => [t, "MISSED"]),
      [50, "RUNNING"],
    ]);
  });

  it("a worker with one slot gets the latest too: the folded runs take no slot", async () => {
    const start = await addJob("one", { coalesce: true, max_instances: 1 });
    for (let i = 0; i < 4; i++) await h.advance(10 * S);
    const w: RawSession = await h.worker("w-one", "h.one", 1);
    // Each pass reads as many runs as the worker has slots; the node passes again at once while
    // it ends runs, and so does the test.
    for (let i = 0; i < 4; i++) await h.advance(0);
    expect(at(start, await h.next(w, "assignment"))).toBe(40);
    expect(await states("one", start)).toEqual([
      ...[10, 20, 30].map((t) => [t, "MISSED"]),
      [40, "RUNNING"],
    ]);
  });

  it("without coalesce each fire stays a run: the oldest runs, the others are skipped by max_instances", async () => {
    const start = await addJob("each", { coalesce: false, max_instances: 1 });
    for (let i = 0; i < 3; i++) await h.advance(10 * S);
    const w = await h.worker("w-each", "h.each", 5);
    await h.advance(0);
    expect(at(start, await h.next(w, "assignment"))).toBe(10);
    expect(await states("each", start)).toEqual([
      [10, "RUNNING"],
      [20, "SKIPPED"],
      [30, "SKIPPED"],
    ]);
  });

  it("a manual run (RunJobNow) that waited is not folded: it runs beside the latest fire", async () => {
    const start = await addJob("man", { coalesce: true, max_instances: 2 });
    await h.advance(10 * S);
    await h.c.job("RunJobNow", { job_id: "man" });
    await h.advance(10 * S);
    await h.advance(10 * S);
    const w = await h.worker("w-man", "h.man", 5);
    await h.advance(0);
    // In either order (the node's own pass may send one of them).
    const sent = [await h.next(w, "assignment"), await h.next(w, "assignment")].sort(
      (x, y) => Number(y.manual === true) - Number(x.manual === true),
    );
    expect(sent.map((r) => r.manual === true)).toEqual([true, false]);
    expect(at(start, sent[1] as Reply)).toBe(30);
    const runs = await h.runs("man");
    expect(runs.map((r) => [r.manual === true, String(r.status)])).toEqual([
      [false, "RUN_STATUS_MISSED"],
      [true, "RUN_STATUS_RUNNING"],
      [false, "RUN_STATUS_MISSED"],
      [false, "RUN_STATUS_RUNNING"],
    ]);
  });
}
