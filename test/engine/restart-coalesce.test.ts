/**
 * Coalesce across an outage, on each store: a run prepared ahead (claimed up to LOOKAHEAD_MS
 * before its fire time) just before every node stopped must not run next to the coalesced run of
 * the fire times that passed during the outage. The stale run folds into the coalesced one
 * (missed, "coalesced into the run of …"); the job runs once, for the latest fire time.
 */
import { expect, it } from "vitest";
import { engineHarness, T0 } from "../support/engine-harness.js";
import { msOf, type Reply, timestamp as ts } from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;

describeEachStore("coalesce across a restart", restartCoalesce);

function restartCoalesce(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);
  const rel = (r: Reply) => (msOf(r.scheduled_time as Reply) - T0) / S;

  it("the run prepared before the outage folds into the coalesced run: one run, the latest", async () => {
    // Every 5 s from +5 s; coalesce, max_instances 1 and a grace of 60 s (the defaults).
    await h.c.job("AddJob", {
      job: {
        id: "co",
        handler: "h.co",
        trigger: { interval: { seconds: 5, start_date: ts(T0 + 5 * S) } },
        coalesce: true,
      },
    });
    await h.advance(4 * S); // 1 s before the +5 s fire time: its run is prepared
    expect((await h.runs("co")).map((r) => [rel(r), r.status])).toEqual([
      [5, "RUN_STATUS_PENDING"],
    ]);
    // Every node down while the fire times +5 … +30 s pass (within the grace).
    await h.restart(() => {
      h.clock.advance(30 * S);
    });

    const after = await h.runs("co");
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
    const s = await h.worker("w-co", "h.co");
    await h.advance(0);
    expect(rel(await h.next(s, "assignment"))).toBe(30);
    expect((await h.runs("co")).map((r) => [rel(r), r.status])).toEqual([
      [5, "RUN_STATUS_MISSED"],
      [30, "RUN_STATUS_RUNNING"],
      [35, "RUN_STATUS_PENDING"],
    ]);
  });

  it("after an outage shorter than two intervals the prepared run folds at hand-out: one run, the latest", async () => {
    const t0 = h.clock.now();
    const at = (r: Reply) => (msOf(r.scheduled_time as Reply) - t0) / S;
    await h.c.job("AddJob", {
      job: {
        id: "short",
        handler: "h.short",
        trigger: { interval: { seconds: 5, start_date: ts(t0 + 5 * S) } },
        coalesce: true,
      },
    });
    await h.advance(4 * S); // the +5 s run is prepared
    // Down from +4 s to +10 s: one fire time passes, the next is due as the node starts. The
    // claim makes one run (nothing to coalesce: only +10 s is overdue from next_run_time).
    await h.restart(() => {
      h.clock.advance(6 * S);
    });
    expect((await h.runs("short")).map((r) => [at(r), r.status])).toEqual([
      [5, "RUN_STATUS_PENDING"],
      [10, "RUN_STATUS_PENDING"],
    ]);
    // When a worker comes, both are due: the older folds into the latest.
    const s = await h.worker("w-short", "h.short");
    await h.advance(0);
    expect(at(await h.next(s, "assignment"))).toBe(10);
    const after = await h.runs("short");
    expect(after.map((r) => [at(r), r.status])).toEqual([
      [5, "RUN_STATUS_MISSED"],
      [10, "RUN_STATUS_RUNNING"],
    ]);
    expect(after[0]?.status_reason).toBe(
      `coalesced into the run of ${new Date(t0 + 10 * S).toISOString()}`,
    );
  });
}
