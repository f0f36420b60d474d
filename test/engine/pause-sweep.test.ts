/**
 * A long scheduler pause and the sweeper, on each store with a manual clock. Runs prepared
 * ahead (up to 2 s before their fire times) are withdrawn when the scheduler is paused
 * (commit 1875b42), so the sweeper never finds them pending past their misfire grace during the
 * pause and marks them missed ("no worker took it within its misfire grace"): the pause's fire
 * times follow the misfire rules at the resume, with coalesce one run. Before that commit they
 * were withdrawn only at the resume, and a pause longer than the grace left them missed.
 */
import { expect, it } from "vitest";
import { engineHarness } from "../support/engine-harness.js";
import { duration as dur, msOf, timestamp as ts, type Reply } from "../support/grpc-js.js";
import { describeEachStore } from "../support/mysql.js";
import type { TestStore } from "../support/stores.js";

const S = 1000;

describeEachStore("a long scheduler pause and the sweeper", pauseSweep);

function pauseSweep(makeStore: () => Promise<TestStore>): void {
  const h = engineHarness(makeStore);
  const list = async () =>
    ((await h.c.run("ListRuns", { scheduler: "paused" })).runs ?? []) as Reply[];

  it("marks no prepared run missed during the pause; the resume coalesces", async () => {
    await h.c.job("AddJob", {
      job: {
        scheduler: "paused",
        id: "p",
        handler: "h.p",
        trigger: { interval: { seconds: 1, start_date: ts(h.clock.now() + S) } },
        coalesce: true,
        misfire_grace_time: { duration: dur(5 * S) },
      },
    });
    await h.advance(0); // claimed ahead: runs prepared for the next 2 s
    expect((await list()).map((r) => r.status)).toEqual([
      "RUN_STATUS_PENDING",
      "RUN_STATUS_PENDING",
    ]);

    await h.c.scheduler("PauseScheduler", { name: "paused" });
    // A minute of pause, the sweeper looking every 10 s (it sweeps misfires every 5 s).
    for (let i = 0; i < 6; i++) await h.advance(10 * S);
    expect(await list()).toEqual([]);

    await h.c.scheduler("ResumeScheduler", { name: "paused" });
    await h.node.node.engine.pass();
    const due = (await list()).filter((r) => msOf(r.scheduled_time as Reply) <= h.clock.now());
    expect(due.map((r) => r.status)).toEqual(["RUN_STATUS_PENDING"]);
    expect(due[0]?.status_reason).toMatch(/^coalesced 59 earlier fire times/);
  });
}
