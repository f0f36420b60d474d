/**
 * An `and` trigger whose parts meet rarely, on each store with a manual clock. Its search for
 * the next common fire time is bounded (TRIGGER_LIMITS.maxAndRounds); a search that runs out of
 * rounds is not an ended trigger. Before the fix the trigger answered "no more fire times" and
 * the claim removed the job (`job_removed`, "no fire time left") after its first fire: two
 * intervals of 10,007 s and 10,009 s from one start meet again 3.2 years later, past 10,000
 * rounds of search. Now AddJob refuses such a trigger (INVALID_ARGUMENT naming the `and`), and a
 * job stored with one earlier is paused, not removed, when its next fire time cannot be found.
 */
import { expect, it } from "vitest";
import { engineHarness, T0 } from "../support/engine-harness.js";
import { rawSubscription, timestamp as ts, type Reply } from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";
import type { TriggerSpec } from "../../server/src/domain/triggers/index.js";

const S = 1000;
const START = T0 + 60 * S;

/** Every `seconds` from START. */
const every = (seconds: number) => ({ interval: { seconds, start_date: ts(START) } });
const everySpec = (seconds: number): TriggerSpec => ({
  type: "interval",
  seconds,
  startDate: START,
  timezone: "UTC",
});

describeEachStore("an and trigger whose search runs out", andSearch);

function andSearch(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);

  it("AddJob refuses parts whose next common fire time is beyond the search, naming the and", async () => {
    const added = h.c.job("AddJob", {
      job: {
        id: "rare",
        handler: "h.rare",
        trigger: { all_of: { triggers: [every(10_007), every(10_009)] } },
      },
    });
    await expect(added).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(
        /^job\.trigger\.all_of\.triggers: no common fire time at or after 2026-06-01T00:01:00\.001Z within 10000 rounds of search/,
      ) as unknown,
    });
    await expect(h.c.job("GetJob", { job_id: "rare" })).rejects.toMatchObject({ code: 5 });
  });

  it("a job stored with such a trigger is paused when its next fire time is not found, not removed", async () => {
    await h.c.job("AddJob", {
      job: { id: "stored", handler: "h.stored", trigger: every(10_007) },
    });
    // As an earlier version stored it: the store takes the trigger without validation.
    const changed = await h.node.node.store.updateJob("default", "stored", (j) => ({
      ...j,
      trigger: { type: "and", triggers: [everySpec(10_007), everySpec(10_009)] },
      nextRunTime: START,
    }));
    expect(changed?.nextRunTime).toBe(START);

    const sub = rawSubscription(h.node.port, {
      from_now: true,
      filter: { job_ids: ["stored"], types: ["EVENT_TYPE_JOB_MODIFIED"] },
    });
    try {
      expect(await sub.next()).toMatchObject({ live: true });
      await h.advance(START - h.clock.now());
      // The pause says why, naming the and (not "cannot be read by this version").
      const [paused] = await sub.events((got) => got.length > 0);
      expect(paused?.reason).toMatch(
        /^paused: all_of\.triggers: no common fire time at or after 2026-06-01T00:01:00\.001Z/,
      );
    } finally {
      sub.cancel();
    }
    const { job } = (await h.c.job("GetJob", { job_id: "stored" })) as { job: Reply };
    expect(job).toMatchObject({ id: "stored", paused: true });
    expect(job.next_run_time ?? null).toBeNull();
    // Resuming a second later asks the same question: refused, naming the and; the job stays.
    h.clock.advance(S);
    await expect(h.c.job("ResumeJob", { job_id: "stored" })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining("all_of.triggers: no common fire time") as unknown,
    });
    expect(await h.c.job("GetJob", { job_id: "stored" })).toMatchObject({
      job: { paused: true },
    });
  });
}
